"""The reseller connection (SPEC I1–I7). Placeholder: the state enum is final."""

from __future__ import annotations

import enum

__all__ = ["InvitationState"]


class InvitationState(enum.Enum):
    """States of a reseller invitation and connection (SPEC I1)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DISCONNECTED = "disconnected"
    OPTED_OUT = "opted-out"
