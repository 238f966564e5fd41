"""A reseller chooses its own delivery (SPEC N10, I5).

The choice between one message per notice and one daily digest belongs to the recipient:
a reseller with hundreds of customers chooses once, by its address, and the sweep folds
the notices of all its customers into one digest a day (:func:`upslife.app.sweep._held`).
A reseller has no account (SPEC I5): it chooses through a signed link of any mail it
received, the same reusable Unsubscribe token, which names the invitation (a notice)
or the digest the mail was; or the operator sets it by address.

Decisions (docs/application.md): the choice applies to notices planned from then on
(messages already queued go as they were queued); a reseller that never chose takes
each customer's older per-connection setting (``Owner.reseller_delivery``), so stores
written before this keep their behaviour; the owner's own preference stays on the owner.
"""

from __future__ import annotations

import attrs

from upslife._validation import require_email
from upslife.app.context import Context
from upslife.app.names import canonical_email
from upslife.errors import InvalidInput, NotFound, TokenTampered
from upslife.invitations import DIGEST_SUBJECT, TokenAction, verify
from upslife.notifications import DeliveryPreference, Recipient, RecipientKind

__all__ = ["ResellerDelivery", "choose_by_link", "choose_delivery", "parse_preference"]


@attrs.frozen
class ResellerDelivery:
    """A reseller's delivery choice as stored: ``None`` when it has not chosen."""

    reseller_email: str
    preference: DeliveryPreference | None


def parse_preference(value: object) -> DeliveryPreference | None:
    """``DeliveryPreference``, its name or value (``"daily-digest"``), or ``None``."""
    if value is None or isinstance(value, DeliveryPreference):
        return value
    if isinstance(value, str):
        text = value.strip()
        for member in DeliveryPreference:
            if text.lower() == member.value or text.upper() == member.name:
                return member
    raise InvalidInput(
        f"a delivery is {' or '.join(repr(p.value) for p in DeliveryPreference)}, got {value!r}"
    )


def choose_delivery(
    ctx: Context, reseller_email: str, preference: DeliveryPreference | str | None
) -> ResellerDelivery:
    """Record how the reseller at ``reseller_email`` takes its notices, for every customer
    at once (SPEC N10); ``None`` forgets its choice."""
    address = require_email(canonical_email(reseller_email), "reseller_email")
    chosen = parse_preference(preference)
    ctx.store.set_delivery(Recipient.reseller(address), chosen)
    return ResellerDelivery(address, chosen)


def choose_by_link(
    ctx: Context, token: str, preference: DeliveryPreference | str | None
) -> ResellerDelivery:
    """The reseller chooses through the signed link of a mail it received (SPEC I5).

    Raises the token's typed refusal (``TokenTampered``, ``TokenExpired``, ...) for a bad
    link; the choice is made only for the address that mail went to.
    """
    chosen = parse_preference(preference)
    verified = verify(
        ctx.require_keyring(), token, action=TokenAction.UNSUBSCRIBE, now=ctx.now()
    )
    subject = verified.invitation_id
    try:
        if subject.startswith(DIGEST_SUBJECT):
            item = ctx.store.get_item(subject.removeprefix(DIGEST_SUBJECT))
            if item.recipient.kind is not RecipientKind.RESELLER:
                raise TokenTampered("this link names no reseller digest")
            address = item.recipient.address
        else:
            address = ctx.store.get_invitation(subject).reseller_email
    except NotFound:
        raise TokenTampered("the mail this link names is not known") from None
    ctx.store.set_delivery(Recipient.reseller(address), chosen)
    return ResellerDelivery(address, chosen)
