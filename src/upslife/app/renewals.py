"""The customer sends MyRenewals to a partner (SPEC R2, R4, R5, N7).

The owner (or a user their devices are shared with, who may download reports, SPEC S3)
mails the MyRenewals report as an attachment, CSV or XLSX, to the connected reseller or
to any address they give. The report is written by :mod:`upslife.formats` with the
MyRenewals layout, whose rows have no operational field at all (SPEC R2: no status, load,
charge, runtime, temperature or firmware), in order of eligibility for renewal (R4), and
lists only the devices the sender may see (R5). The mail goes through the outbox; one to
the connected reseller is only sent while that connection is still ACCEPTED (N7).

Decisions (docs/application.md): each call sends one new mail (its key names the
instant); the body names the customer's company and the sender, nothing else of the
account; an attachment above :data:`MAX_ATTACHMENT_BYTES` is refused (mail servers
reject larger messages), and nothing is queued.
"""

from __future__ import annotations

import enum
import io
from datetime import date
from typing import Final

import attrs

from upslife import formats
from upslife._validation import require_email
from upslife.app import reporting
from upslife.app.context import Context
from upslife.app.mails import Attachment, PlainMail
from upslife.app.names import canonical_email
from upslife.app.sweep import enqueue_mail
from upslife.errors import InvalidInput, NotPermitted, ResellerNotConnected
from upslife.invitations import InvitationState
from upslife.notifications import Recipient
from upslife.rendering.templates import clean
from upslife.reports import RenewalRow, plan_license_sku_of, renewal_rows, sorted_for_renewal
from upslife.sharing import Action

__all__ = ["MAX_ATTACHMENT_BYTES", "RenewalsSent", "ReportFormat", "send_renewals"]

MAX_ATTACHMENT_BYTES: Final = 10 * 1024 * 1024
"""The largest report a mail carries (10 MiB; its base64 form is a third larger)."""

XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportFormat(enum.Enum):
    """The file a report is attached as."""

    CSV = "csv"
    XLSX = "xlsx"

    @classmethod
    def parse(cls, value: ReportFormat | str) -> ReportFormat:
        if isinstance(value, ReportFormat):
            return value
        if isinstance(value, str):
            for member in cls:
                if value.strip().lower() == member.value:
                    return member
        raise InvalidInput(f"a report is sent as csv or xlsx, got {value!r}")


@attrs.frozen
class RenewalsSent:
    """What :func:`send_renewals` queued: the mail's key, its recipient, the rows."""

    key: str
    to: str
    rows: int
    filename: str
    to_reseller: bool


def _attachment(rows: list[RenewalRow], fmt: ReportFormat, today: date) -> Attachment:
    name = f"MyRenewals-{today.isoformat()}.{fmt.value}"
    if fmt is ReportFormat.XLSX:
        binary = io.BytesIO()
        formats.write_xlsx(binary, formats.MY_RENEWALS, rows)
        data, kind = binary.getvalue(), XLSX_TYPE
    else:
        text = io.StringIO(newline="")
        formats.write_csv(text, formats.MY_RENEWALS, rows)
        data, kind = text.getvalue().encode("utf-8"), "text/csv"
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            f"the MyRenewals report is {len(data)} bytes, above the {MAX_ATTACHMENT_BYTES} a "
            "mail may carry: export it with `upslife report renewals` and share the file"
        )
    return Attachment(name, kind, data)


def send_renewals(
    ctx: Context,
    owner_id: str,
    *,
    by: str,
    to: str | None = None,
    fmt: ReportFormat | str = ReportFormat.CSV,
) -> RenewalsSent:
    """Mail the owner's MyRenewals report to a partner (SPEC R2).

    Args:
        owner_id: whose fleet the report is of.
        by: who sends it: the owner, or a user some of its devices are shared with (the
            report then lists those devices only, SPEC R5).
        to: the address to send it to; ``None`` sends it to the connected reseller.
        fmt: ``"csv"`` or ``"xlsx"`` (the ``xlsx`` extra).

    Raises:
        ResellerNotConnected: ``to`` is ``None`` and no reseller is connected now (N7).
        NotPermitted: ``by`` sees none of the owner's devices.
        InvalidEmail: ``to`` is not an address. Nothing is queued on any refusal.
    """
    owner = ctx.store.get_owner(canonical_email(owner_id))
    sender = canonical_email(by)
    form = ReportFormat.parse(fmt)
    now = ctx.now()
    connection = ctx.store.current_invitation(owner.id)
    if connection is not None and connection.state_at(now) is not InvitationState.ACCEPTED:
        connection = None
    if to is None:
        if connection is None:
            raise ResellerNotConnected(
                f"{owner.id} has no connected reseller to send MyRenewals to: give an "
                "address, or invite a reseller first (SPEC I1, N7)"
            )
        address = connection.reseller_email
    else:
        address = require_email(canonical_email(to), "to")
    devices = list(reporting.report_devices(ctx, owner.id, user=sender))
    if sender != owner.id and not devices:
        raise NotPermitted(None, Action.DOWNLOAD_REPORTS)
    today = ctx.today(owner, now)
    rows = sorted_for_renewal(
        renewal_rows(devices, today, plan_license_sku=plan_license_sku_of(ctx.catalog))
    )
    attachment = _attachment(rows, form, today)
    to_reseller = connection is not None and address == connection.reseller_email
    company = owner.contact.company
    on_behalf = "" if sender == owner.id else f" ({sender}, on behalf of {company})"
    noun = "UPS unit" if len(rows) == 1 else "UPS units"
    text = (
        f"{company}{on_behalf} sends you its MyRenewals report of {today:%d %B %Y}: "
        f"{len(rows)} {noun}, in order of eligibility for renewal, with the plan, "
        "warranty and battery dates and the SKUs each needs.\n\n"
        f"The report is attached as {attachment.filename}.\n"
    )
    mail = PlainMail(
        f"renewals:{owner.id}:{address}:{now.isoformat()}",
        address,
        clean(f"MyRenewals report from {company}"),
        text,
        connection_id=connection.id if to_reseller and connection is not None else None,
        attachments=(attachment,),
    )
    recipient = Recipient.reseller(address) if to_reseller else Recipient.owner(address)
    enqueue_mail(ctx.store, owner, recipient, mail, now)
    return RenewalsSent(mail.key, address, len(rows), attachment.filename, to_reseller)
