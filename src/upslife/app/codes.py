"""Activation codes reach the installer (SPEC E6, E11).

Issuing a code records it and, in the same transaction, queues the mail that carries it
to the order's Installer Email through the outbox: the mail is keyed by the code, so it
is sent once, retried while the mail server is down, and survives a crash (SPEC N9). A
code that exists already is refused before anything is queued.

A code belongs to no account (SPEC E6): the outbox files its mail under the installer's
address, and its day is the UTC date of issue (there is no owner whose calendar to use).
"""

from __future__ import annotations

from datetime import UTC

from upslife.app import payloads
from upslife.app.context import Context
from upslife.app.mails import PlainMail
from upslife.app.names import canonical_email
from upslife.entitlements import ActivationCode, Plan, Term
from upslife.notifications import Recipient
from upslife.ports import OutboxItem
from upslife.rendering.templates import clean

__all__ = ["activation_code_mail", "issue_code"]


def activation_code_mail(code: ActivationCode) -> PlainMail:
    """The mail that hands a new code to the installer of the order (SPEC E6): the code,
    what it is worth, and how it is used. Its key is the code's, so it goes once."""
    noun = "license" if code.quantity == 1 else "licenses"
    years = code.term.months // 12
    term = f"{years} year" if years == 1 else f"{years} years"
    text = (
        "Your activation code for APC Smart-UPS lifecycle licenses:\n\n"
        f"    {code.code}\n\n"
        f"It holds {code.quantity} {code.plan.title} {noun} of {term} each. "
        "Assign any part of it to any of your UPS units, on any day, until it is used "
        "up: each license starts from the day it is assigned (or after the time a unit "
        "has left, when it renews the plan in force).\n\n"
        "The code is not tied to an account: the owner of a UPS, or anyone the UPS is "
        "shared with, can assign it. Keep it safe.\n"
    )
    subject = f"Your activation code {code.code}: {code.quantity} {code.plan.title} {noun}"
    return PlainMail(
        f"activation-code:{code.code}",
        code.installer_email,
        clean(f"{subject}, {term}"),
        text,
    )


def issue_code(
    ctx: Context,
    code: str,
    plan: Plan | str,
    term: Term | str,
    quantity: int,
    installer_email: str,
) -> ActivationCode:
    """Record an activation code of an order and mail it to its installer (SPEC E6).

    Volume promotions apply to its quantity (E11). The code and its mail are written in
    one transaction: a duplicate code (``AlreadyExists``) or bad input queues nothing.
    """
    issued = ActivationCode.issue(
        code, plan, term, quantity, canonical_email(installer_email), promotions=ctx.promotions
    )
    mail = activation_code_mail(issued)
    now = ctx.now()
    item = OutboxItem(
        key=mail.key,
        serial=None,
        owner_id=issued.installer_email,
        recipient=Recipient.owner(issued.installer_email),
        day=now.astimezone(UTC).date(),
        payload=payloads.encode(mail),
        next_attempt_at=now,
    )
    with ctx.store.transaction():
        ctx.store.add_code(issued)
        ctx.store.enqueue([item], ())
    return issued
