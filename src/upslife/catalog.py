"""The model catalog (SPEC C1): battery, warranty and service-life facts per UPS model.

Placeholder kept minimal until the catalog data lands; the value types are final.
"""

from __future__ import annotations

import enum

__all__ = ["Chemistry"]


class Chemistry(enum.Enum):
    """Battery chemistry of a model; it decides battery life and the trial bonus (SPEC E8, E9)."""

    LEAD_ACID = "lead-acid"
    LITHIUM_ION = "lithium-ion"
