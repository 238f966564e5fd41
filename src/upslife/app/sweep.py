"""The daily sweep: plan the notices due, fold digests, deliver through the outbox.

Three steps, each safe to interrupt at any point and to run again:

1. **plan** (:func:`~upslife.app.schedule.plan_scheduled`, which reads the stored
   schedule; :func:`plan_notices`, which recomputes every due device, is its reference and
   gives the same notices) reads only the devices whose indexed ``next_notice_on``
   is on or before the latest local date on Earth, computes each one's notices for its
   owner's local "today" (SPEC D1, N1–N7), and writes them to the outbox keyed by their
   idempotency key (N9) together with the stages sent and the device's next notice date.
   Each page of due devices is read and planned in one transaction (each device inside it
   atomic on its own), so a page costs one commit, not one per device. A crash before the
   commit loses nothing (the page's devices are still due); a crash after it repeats
   nothing (the keys exist, the dates moved on).
2. **digests** (:func:`fold_digests`) gathers the held notices of recipients who chose a
   daily digest into one digest item per recipient and day (N10).
3. **deliver** (:func:`deliver`) claims pending items with a lease (``FOR UPDATE SKIP
   LOCKED`` on PostgreSQL, so several workers never take the same item), checks consent
   again at the moment of sending (N7), renders, sends, and marks each item. A failed send
   is retried with exponential backoff; a refusal gives up. A crash between sending and
   marking sends that one item again after its lease; its ``Message-ID`` (derived from the
   key) lets the receiving side (and the Maildir outbox) drop the copy.
"""

from __future__ import annotations

import logging
import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

import attrs

from upslife._validation import require_instant
from upslife.app import payloads
from upslife.app.clock import local_date
from upslife.app.facts import facts_of
from upslife.app.links import DEFAULT_PUBLIC_URL, Link, Links
from upslife.app.mails import (
    PlainMail,
    owner_notice_mail,
    render_plain,
    signed_invitation_mail,
    signed_share_mail,
)
from upslife.app.preflight import preflight
from upslife.app.templating import templates_for
from upslife.catalog import Catalog
from upslife.errors import (
    ConcurrentUpdate,
    ConfigurationError,
    DamagedRecord,
    DeliveryFailed,
    InvalidInput,
    TemporaryFailure,
    UnknownDevice,
)
from upslife.invitations import (
    DIGEST_SUBJECT,
    INVITATION_LIFETIME,
    Invitation,
    InvitationState,
    Keyring,
    OwnerNotice,
    TokenAction,
    expire,
    sign,
)
from upslife.notifications import (
    DEFAULT_DUE_GRACE_DAYS,
    DeliveryPreference,
    DeviceFacts,
    Digest,
    LifecycleEvent,
    Notice,
    Recipient,
    RecipientKind,
    SentStage,
    Stage,
    due_notices,
    lifecycle_events,
    next_notice_date,
    sent_stages,
)
from upslife.ports import (
    ChatSender,
    DeliveryStatus,
    Device,
    MailSender,
    OutboxItem,
    Owner,
    Store,
)
from upslife.rendering import DEFAULT_TEMPLATES, Templates, render_chat, render_email
from upslife.reports import plan_license_sku_of
from upslife.sharing import DEFAULT_RETENTION, Share, ShareState

__all__ = [
    "HELD_FOR_DIGEST",
    "DeliveryReport",
    "DeliverySettings",
    "PlanReport",
    "SweepReport",
    "deliver",
    "device_notices",
    "earliest_local_date",
    "enqueue_mail",
    "expire_invitations",
    "fold_digests",
    "outbox_items",
    "plan_notices",
    "sweep",
    "tell_owner",
    "useful_until",
]

log = logging.getLogger(__name__)

# The latest UTC offset in use (Kiribati, UTC+14): no owner's "today" is later than this.
_MAX_UTC_OFFSET = timedelta(hours=14)
_MIN_UTC_OFFSET = timedelta(hours=12)  # Baker Island, UTC-12: the last place a day ends

HELD_FOR_DIGEST = datetime(9999, 12, 31, tzinfo=UTC)
"""The ``next_attempt_at`` of a notice waiting to be folded into a daily digest (SPEC N10):
never claimable on its own; :func:`fold_digests` marks it DIGESTED and queues the digest."""


@attrs.frozen
class PlanReport:
    """What :func:`plan_notices` did: rows read, devices due, notices written."""

    devices_read: int = 0
    devices_due: int = 0
    notices_planned: int = 0
    by_kind: Mapping[str, int] = attrs.field(factory=dict)
    damaged: tuple[tuple[str, str], ...] = ()
    """Devices set aside, with the reason: a stored document that cannot be read, or any
    error planning that one device. The others are planned; these stay due."""


@attrs.frozen
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    suppressed: int = 0


@attrs.frozen
class SweepReport:
    plan: PlanReport
    digests: int
    delivery: DeliveryReport
    log_entries_pruned: int = 0
    deferred: str | None = None
    """Why nothing was delivered this run (the mail server unreachable at the preflight):
    the notices wait in the outbox; run again later."""


def _public_url(value: object) -> str:
    return Links(value).public_url


@attrs.frozen
class DeliverySettings:
    """How messages are addressed and retried.

    ``public_url`` is where ``upslife.web`` is reached: every mailed link (invitation accept
    and decline, one-click unsubscribe, share accept) is built from it by
    :class:`~upslife.app.links.Links`, signed with ``keyring`` at delivery (SPEC I5,
    RFC 8058), and the ``Message-ID`` domain is its host. ``sign_up_url`` is where the share
    page sends a user who has no account yet (SPEC S2).

    A transient failure is retried, waiting ``backoff * 2 ** (attempts - 1)`` capped at
    ``max_backoff``, for as long as the message is useful (:func:`useful_until`), never
    less than ``min_retry_days`` after the day it was planned for: bounded by time and
    usefulness, not by a count of attempts, so a mail server down for days loses nothing.

    ``templates`` are the service's own email templates: what a device whose plan lacks
    customizable emails, or an owner who set none, gets (SPEC E10, :mod:`.templating`).
    """

    sender: str = "notices@upslife.invalid"
    public_url: str = attrs.field(default=DEFAULT_PUBLIC_URL, converter=_public_url)
    sign_up_url: str | None = None
    keyring: Keyring | None = None
    unsubscribe_valid_for: timedelta = timedelta(days=365)
    min_retry_days: int = 3
    backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=6)
    lease_seconds: float = 300.0
    batch: int = 200
    templates: Templates = DEFAULT_TEMPLATES

    @property
    def links(self) -> Links:
        """The deployment's links, from ``public_url`` (one source for mails and routes)."""
        return Links(self.public_url)


_Choices = dict[str, DeliveryPreference | None]


def _held(store: Store, owner: Owner, recipient: Recipient, choices: _Choices) -> bool:
    """Whether a notice to ``recipient`` waits for the daily digest (SPEC N10).

    The owner's own preference is on the owner. A reseller's is its own, one for all its
    customers (:mod:`upslife.app.reseller_delivery`); a reseller that never chose takes
    the customer's older per-connection setting. ``choices`` caches the store's answers
    for one planning run."""
    if recipient.kind is RecipientKind.OWNER:
        return owner.owner_delivery is DeliveryPreference.DAILY_DIGEST
    if recipient.kind is RecipientKind.RESELLER:
        if recipient.address not in choices:
            choices[recipient.address] = store.delivery_of(recipient)
        chosen = choices[recipient.address] or owner.reseller_delivery
        return chosen is DeliveryPreference.DAILY_DIGEST
    return False


def _reseller(inv: Invitation | None, now: datetime) -> tuple[str | None, InvitationState | None]:
    if inv is None:
        return None, None
    return inv.reseller_email, inv.state_at(now)


def device_notices(
    facts: DeviceFacts,
    events: Sequence[LifecycleEvent],
    sent: Sequence[SentStage],
    owner: Owner,
    reseller: tuple[str | None, InvitationState | None],
    today: date,
    due_grace_days: int,
) -> tuple[tuple[Notice, ...], tuple[SentStage, ...], date | None]:
    """A due device's notices of ``today`` recomputed from its facts (SPEC N1–N9), the
    stages they send and the device's next stage date after them (N2, N4). Both planners
    recompute a device with it: the reference for every due device, the stored schedule
    for an entry a write marked stale."""
    reseller_email, reseller_state = reseller
    notices = due_notices(
        facts,
        today,
        owner=owner.contact,
        reseller_email=reseller_email,
        reseller_state=reseller_state,
        chat_routes=owner.chat_routes,
        sent=sent,
        due_grace_days=due_grace_days,
        events=events,
    )
    new_sent = sent_stages(notices)
    nxt = next_notice_date(
        events, (*sent, *new_sent), after=today, due_grace_days=due_grace_days
    )
    return notices, new_sent, nxt


def _plan_device(
    store: Store,
    catalog: Catalog,
    device: Device,
    owner: Owner,
    reseller: tuple[str | None, InvitationState | None],
    today: date,
    now: datetime,
    due_grace_days: int,
    choices: _Choices,
) -> tuple[int, tuple[Notice, ...]]:
    """Plan one due device: its notices into the outbox, its stages and next date saved,
    atomically (a savepoint inside the page's transaction). Returns (items added, notices)."""
    facts = facts_of(store, catalog, device)
    events = lifecycle_events(facts, plan_license_sku=plan_license_sku_of(catalog))
    sent = store.sent_stages(device.serial)
    notices, new_sent, nxt = device_notices(
        facts, events, sent, owner, reseller, today, due_grace_days
    )
    updated = attrs.evolve(device, next_notice_on=nxt)
    items = outbox_items(store, owner, device.serial, notices, (today, now), choices)
    return store.enqueue(items, new_sent, device=updated), notices


def outbox_items(
    store: Store,
    owner: Owner,
    serial: str,
    notices: Sequence[Notice],
    when: tuple[date, datetime],
    choices: _Choices,
) -> list[OutboxItem]:
    """The outbox items of one device's notices of ``today``: held for a daily digest
    (SPEC N10) or ready ``now``; both planners write exactly these."""
    today, now = when
    return [
        OutboxItem(
            key=n.key,
            serial=serial,
            owner_id=owner.id,
            recipient=n.recipient,
            day=today,
            payload=payloads.encode(n),
            next_attempt_at=HELD_FOR_DIGEST if _held(store, owner, n.recipient, choices) else now,
        )
        for n in notices
    ]


def plan_notices(
    store: Store,
    catalog: Catalog,
    now: datetime,
    *,
    batch: int = 500,
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
    on_device: Callable[[str], None] | None = None,
    shard: tuple[int, int] | None = None,
) -> PlanReport:
    """Write the notices due at instant ``now`` to the outbox (step 1 of the sweep).

    ``shard=(i, n)`` plans only the devices whose serial hashes to ``i`` of ``n``: ``n``
    workers, each with its own shard, split the planning between them (delivery splits by
    itself through leased claims). Planning the same device twice is harmless — the
    outbox keys are unique — but wasted work.

    Due devices are read ``batch`` at a time; each page is read and planned in one
    transaction, so a page costs one commit (a commit waits for the disk: one per device
    would take most of the sweep's time, docs/performance.md). ``on_device`` is called for
    each due device once its page has committed (progress bars, fault-injection tests).
    """
    require_instant(now, "now")
    part, parts = _check_shard(shard)
    horizon = (now + _MAX_UTC_OFFSET).date()
    owners: dict[str, Owner] = {}
    resellers: dict[str, tuple[str | None, InvitationState | None]] = {}
    days: dict[str, date] = {}  # the owner-local date at ``now``, per time zone (SPEC D1)
    choices: _Choices = {}  # each reseller's own choice of delivery (SPEC N10)
    read = due = planned = 0
    by_kind: dict[str, int] = defaultdict(int)
    damaged: list[tuple[str, str]] = []
    after: str | None = None
    while True:
        committed: list[str] = []
        with store.transaction():
            devices, cursor = _due_page(store, horizon, after, batch, damaged)
            for device in devices:
                read += 1
                if parts > 1 and zlib.crc32(device.serial.encode()) % parts != part:
                    continue
                try:
                    with store.transaction():  # a savepoint: one device's failure is its own
                        owner = owners.get(device.owner_id)
                        if owner is None:
                            owner = owners[device.owner_id] = store.get_owner(device.owner_id)
                            invitation = store.current_invitation(owner.id)
                            resellers[owner.id] = _reseller(invitation, now)
                        today = days.get(owner.timezone)
                        if today is None:
                            today = days[owner.timezone] = local_date(now, owner.timezone)
                        if device.next_notice_on is None or device.next_notice_on > today:
                            continue
                        added, notices = _plan_device(
                            store, catalog, device, owner, resellers[owner.id], today, now,
                            due_grace_days, choices,
                        )
                except TemporaryFailure:
                    raise
                except Exception as e:  # isolate the device, report it, plan the others
                    damaged.append((device.serial, _reason(e)))
                    log.warning("device %s set aside: %s", device.serial, _reason(e))
                    continue
                due += 1
                planned += added
                for n in notices:
                    by_kind[f"{n.kind.value}/{n.stage.value}"] += 1
                committed.append(device.serial)
        if on_device is not None:
            for serial in committed:
                on_device(serial)
        if cursor is None:
            break
        after = cursor
    log.info("planned %d notice(s) for %d due device(s) of %d read", planned, due, read)
    return PlanReport(read, due, planned, dict(by_kind), tuple(damaged))


def _due_page(
    store: Store, horizon: date, after: str | None, limit: int, damaged: list[tuple[str, str]]
) -> tuple[tuple[Device, ...], str | None]:
    """A page of due devices and the serial to read on from (None: no more). A page that
    holds a damaged device document is read again one device at a time up to it, and that
    device is set aside in ``damaged``: one bad document never stops the sweep."""
    try:
        devices = store.devices_due(horizon, after=after, limit=limit)
        return devices, devices[-1].serial if devices else None
    except DamagedRecord:
        pass
    found: list[Device] = []
    cursor = after
    while len(found) < limit:
        try:
            one = store.devices_due(horizon, after=cursor, limit=1)
        except DamagedRecord as e:
            damaged.append((e.key, str(e)))
            log.warning("device %s set aside: %s", e.key, e)
            return tuple(found), e.key
        if not one:
            break
        found.append(one[0])
        cursor = one[0].serial
    return tuple(found), cursor if found else None


def earliest_local_date(now: datetime) -> date:
    """The earliest owner-local date anywhere at ``now`` (UTC-12): every day before it is
    over for every owner (SPEC D1)."""
    return (require_instant(now, "now") - _MIN_UTC_OFFSET).date()


def enqueue_mail(
    store: Store, owner: Owner, recipient: Recipient, mail: PlainMail, now: datetime
) -> None:
    """Queue an account mail in the outbox under its key (sent once, SPEC N9)."""
    item = OutboxItem(
        key=mail.key,
        serial=None,
        owner_id=owner.id,
        recipient=recipient,
        day=local_date(now, owner.timezone),
        payload=payloads.encode(mail),
        next_attempt_at=now,
    )
    store.enqueue([item], ())


def tell_owner(store: Store, owner: Owner, notice: OwnerNotice, now: datetime) -> None:
    """SPEC I4: the owner hears of a decline, an expiry or an opt-out, by mail."""
    mail = owner_notice_mail(notice, owner.contact.email)
    enqueue_mail(store, owner, Recipient.owner(owner.contact.email), mail, now)


def expire_invitations(store: Store, now: datetime) -> int:
    """Expire the reseller invitations whose 7 days are over, telling each owner
    (SPEC I2, I4). Reads only the pending invitations; idempotent."""
    expired = 0
    # sent at or before now - 7 days: at exactly 7 x 24 h the invitation has expired (I2)
    cutoff = require_instant(now) - INVITATION_LIFETIME + timedelta(microseconds=1)
    for pending in store.pending_invitations(sent_before=cutoff):
        updated, notice = expire(pending, now)
        if updated.state is not InvitationState.EXPIRED:
            continue
        try:
            with store.transaction():
                store.save_invitation(updated, expected=pending)
                if notice is not None:
                    tell_owner(store, store.get_owner(updated.owner_id), notice, now)
        except ConcurrentUpdate:
            continue  # accepted, declined or cancelled meanwhile: that one stands (SPEC I2)
        expired += 1
    return expired


def _check_shard(shard: tuple[int, int] | None) -> tuple[int, int]:
    if shard is None:
        return 0, 1
    part, parts = shard
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise InvalidInput(f"shard count must be a whole number above zero, got {parts!r}")
    if isinstance(part, bool) or not isinstance(part, int) or not 0 <= part < parts:
        raise InvalidInput(f"shard must be in 0..{parts - 1}, got {part!r}")
    return part, parts


def fold_digests(store: Store, now: datetime, *, before: date | None = None) -> int:
    """Fold held notices into one digest item per recipient and day (SPEC N10).

    A reseller with many customers gets one message a day across all of them. The digest's
    key is stable, so folding again after a crash adds nothing. Fold a day only once every
    notice of it is planned: a single sweep folds after its own planning; workers planning
    in parallel fold only the days ``before`` one that is over everywhere (see
    :func:`sweep`), so their digests go out a day later but whole.
    """
    groups: dict[tuple[str, str, date], list[tuple[OutboxItem, Notice]]] = defaultdict(list)
    for item in store.items(status=DeliveryStatus.PENDING):
        if item.next_attempt_at != HELD_FOR_DIGEST or item.digest_key is not None:
            continue
        if before is not None and item.day >= before:
            continue
        notice = payloads.decode(item.payload)
        if isinstance(notice, Notice):
            key = (item.recipient.kind.value, item.recipient.address, item.day)
            groups[key].append((item, notice))
    for members in groups.values():
        first = members[0][0]
        digest = Digest(first.recipient, first.day, tuple(n for _, n in members))
        store.fold_into_digest(
            OutboxItem(
                key=digest.key,
                serial=None,
                owner_id=first.owner_id,
                recipient=digest.recipient,
                day=first.day,
                payload=payloads.encode(digest),
                next_attempt_at=now,
            ),
            [item.key for item, _ in members],
        )
    return len(groups)


def _connected(store: Store, owner_id: str, reseller: str, now: datetime) -> Invitation | None:
    """SPEC N7: the owner's invitation if ``reseller`` is connected at this moment."""
    inv = store.current_invitation(owner_id)
    if inv is None or inv.state_at(now) is not InvitationState.ACCEPTED:
        return None
    return inv if inv.reseller_email == reseller else None


def _pending_share(store: Store, serial: str, user: str, now: datetime) -> Share | None:
    """The share invitation of ``serial`` to ``user`` if it is still open (SPEC S2)."""
    try:
        device = store.get_device(serial)
    except LookupError:
        return None
    for share in store.get_sharing(device.owner_id).shares:
        if share.device == serial and share.user == user:
            return share if share.state_at(now) is ShareState.PENDING else None
    return None


def _share_pending(store: Store, serial: str, user: str, now: datetime) -> bool:
    """Whether the share invitation of ``serial`` to ``user`` is still open (SPEC S2)."""
    return _pending_share(store, serial, user, now) is not None


def _signed_share_mail(
    store: Store, message: PlainMail, settings: DeliverySettings, now: datetime
) -> PlainMail:
    """A queued share invitation with its accept link signed now (never stored)."""
    assert message.share_device is not None
    assert message.share_user is not None
    share = _pending_share(store, message.share_device, message.share_user, now)
    if share is None:  # checked by _with_consent a moment ago; changed since
        raise DeliveryFailed("the share is no longer pending (SPEC S2)", permanent=True)
    device = store.get_device(share.device)
    owner = store.get_owner(device.owner_id)
    return signed_share_mail(
        share,
        settings.links,
        _keyring_for(settings, "share invitations, for their accept link,"),
        company=owner.contact.company,
        model=device.model,
        sign_up_url=settings.sign_up_url,
    )


def _of_registered_devices(store: Store, message: Notice | Digest) -> Notice | Digest | None:
    """The message without the notices of devices deleted since it was queued (SPEC S3);
    ``None`` if nothing is left. Deleting a device suppresses its pending items, but a
    digest folded before, or a failed item requeued after, still names it."""
    if isinstance(message, Notice):
        try:
            store.get_device(message.serial)
        except UnknownDevice:
            return None
        return message
    digest = message
    kept: list[Notice] = []
    for notice in digest.notices:
        try:
            store.get_device(notice.serial)
        except UnknownDevice:
            continue
        kept.append(notice)
    if not kept:
        return None
    if len(kept) == len(digest.notices):
        return digest
    return Digest(digest.recipient, digest.day, tuple(kept))


def _with_consent(
    store: Store, item: OutboxItem, message: Notice | Digest | PlainMail, now: datetime
) -> tuple[Notice | Digest | PlainMail | None, Invitation | None]:
    """What may still go to the recipient now, and the connection that allows it.

    Account mails pass: the invitation asks for consent and carries only the company name,
    but only while the invitation is still pending.
    """
    if isinstance(message, PlainMail):
        if message.invitation_id is not None:
            invitation = store.get_invitation(message.invitation_id)
            if invitation.state_at(now) is not InvitationState.PENDING:
                return None, None
        if message.connection_id is not None:  # to the connected reseller (SPEC N7)
            connection = store.get_invitation(message.connection_id)
            if connection.state_at(now) is not InvitationState.ACCEPTED:
                return None, None
        device, user = message.share_device, message.share_user
        if device is not None and user is not None and not _share_pending(store, device, user, now):
            return None, None
        return message, None
    remaining = _of_registered_devices(store, message)
    if remaining is None:
        return None, None
    message = remaining
    if item.recipient.kind is not RecipientKind.RESELLER:
        return message, None
    if isinstance(message, Notice):
        inv = _connected(store, item.owner_id, item.recipient.address, now)
        return (message, inv) if inv else (None, None)
    kept: list[Notice] = []
    allowed: Invitation | None = None
    for notice in message.notices:
        owner_id = store.get_device(notice.serial).owner_id
        inv = _connected(store, owner_id, item.recipient.address, now)
        if inv is not None:
            kept.append(notice)
            allowed = allowed or inv
    if not kept:
        return None, None
    if len(kept) == len(message.notices):
        return message, allowed
    return Digest(message.recipient, message.day, tuple(kept)), allowed


def _keyring_for(settings: DeliverySettings, what: str) -> Keyring:
    """The keyring that signs a mail's links at delivery. Without it the item waits for
    the setting (the preflight refuses such a sweep first): not the mail's fault."""
    if settings.keyring is None:
        raise ConfigurationError(
            f"{what} need the signing secret (SPEC I5): set UPSLIFE_SECRET (secret in "
            "the configuration file)",
            setting="UPSLIFE_SECRET",
        )
    return settings.keyring


def _unsubscribe_url(settings: DeliverySettings, subject: str, now: datetime) -> str:
    """The one-click unsubscribe link of a reseller mail: it names the invitation of a
    notice, or the digest's outbox key, so one click ends every connection the digest
    speaks for (SPEC I5, N10)."""
    keyring = _keyring_for(settings, "reseller notices, for their unsubscribe link,")
    expires = now + settings.unsubscribe_valid_for
    token = sign(keyring, subject, TokenAction.UNSUBSCRIBE, expires)
    return settings.links.url(Link.UNSUBSCRIBE, token)


def _send(
    store: Store,
    item: OutboxItem,
    message: Notice | Digest | PlainMail,
    connection: Invitation | None,
    senders: tuple[MailSender, ChatSender | None],
    settings: DeliverySettings,
    now: datetime,
) -> None:
    mail, chat = senders
    domain = settings.links.message_id_domain
    if isinstance(message, PlainMail):
        if message.invitation_id is not None:  # its links are signed now, never stored
            message = signed_invitation_mail(
                store.get_invitation(message.invitation_id),
                settings.links,
                _keyring_for(settings, "the invitation's accept and decline links"),
                now=now,
                unsubscribe_valid_for=settings.unsubscribe_valid_for,
            )
        elif message.share_device is not None and not message.text:
            message = _signed_share_mail(store, message, settings, now)
        mail.send(
            render_plain(message, sender=settings.sender, sent_at=now, message_id_domain=domain)
        )
        return
    if item.recipient.kind is RecipientKind.CHAT:
        url = store.get_owner(item.owner_id).webhook_for(item.recipient.address)
        if chat is None or url is None or item.recipient.chat is None:
            raise DeliveryFailed(
                f"no webhook configured for chat route {item.recipient.address!r}", permanent=True
            )
        chat.post(url, render_chat(message, item.recipient.chat))
        return
    unsubscribe = None
    if connection is not None:
        subject = DIGEST_SUBJECT + item.key if isinstance(message, Digest) else connection.id
        unsubscribe = _unsubscribe_url(settings, subject, now)
    templates = templates_for(store, message, settings.templates)
    mail.send(
        render_email(
            message,
            sender=settings.sender,
            templates=templates,
            unsubscribe_url=unsubscribe,
            sent_at=now,
            message_id_domain=domain,
        )
    )


# The stage that takes over from each stage of a dated event, in days before the due date
# (SPEC N2): a 90-day notice is worth sending until the 30-day one is due, and so on.
_NEXT_STAGE_DAYS_BEFORE_DUE: Final = {Stage.D90: 30, Stage.D30: 7, Stage.D7: 1}
_REMINDER_USEFUL_DAYS: Final = 7
_FAILURE_USEFUL_DAYS: Final = 14
_ACCOUNT_MAIL_USEFUL_DAYS: Final = 7
_CONSECUTIVE_TRANSIENT_LIMIT: Final = 5
_Outcome = Literal["sent", "suppressed", "failed", "retrying"]


def _notice_useful_until(notice: Notice) -> date:
    if notice.stage is Stage.REMINDER:
        return notice.sent_on + timedelta(days=_REMINDER_USEFUL_DAYS)
    if notice.due is None:  # a battery failure: worth telling until it is dealt with
        return notice.sent_on + timedelta(days=_FAILURE_USEFUL_DAYS)
    before = _NEXT_STAGE_DAYS_BEFORE_DUE.get(notice.stage)
    if before is None:  # the due-date notice: until the grace days are over (SPEC N3)
        return notice.due + timedelta(days=DEFAULT_DUE_GRACE_DAYS)
    return notice.due - timedelta(days=before)


def useful_until(
    item: OutboxItem, message: Notice | Digest | PlainMail, settings: DeliverySettings
) -> date:
    """The last owner-local day worth retrying ``item``: until its event's next stage takes
    over (a 90-day notice until the 30-day one, ..., the due-date notice until its grace
    days end), a digest as long as any of its notices, an account mail a week (an
    invitation no longer pending is suppressed anyway, SPEC I2). Never before
    ``min_retry_days`` after the item's day."""
    if isinstance(message, Notice):
        last = _notice_useful_until(message)
    elif isinstance(message, Digest):
        last = max((_notice_useful_until(n) for n in message.notices), default=item.day)
    else:
        last = item.day + timedelta(days=_ACCOUNT_MAIL_USEFUL_DAYS)
    return max(last, item.day + timedelta(days=settings.min_retry_days))


def _retry_at(item: OutboxItem, settings: DeliverySettings, now: datetime) -> datetime:
    attempts = item.attempts + 1
    wait = min(settings.backoff * (1 << min(attempts - 1, 30)), settings.max_backoff)
    return now + wait


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or "(no message)"
    return f"{type(error).__name__}: {text}"[:1000]


def deliver(
    store: Store,
    mail: MailSender,
    now: datetime,
    *,
    chat: ChatSender | None = None,
    settings: DeliverySettings | None = None,
    worker: str = "sweep",
) -> DeliveryReport:
    """Send every pending item whose time has come (step 3 of the sweep).

    Each item is handled on its own: whatever is raised for one item (a payload that no
    longer decodes, a header that cannot be built, a bug) marks that item FAILED with the
    reason, and the others go on. A transient failure (:class:`DeliveryFailed` not
    permanent) is retried while the item is useful (:func:`useful_until`); after five in a
    row the mail server is taken to be down: the rest of the batch is put back untouched
    and the report's ``retrying`` counts them too. A :class:`TemporaryFailure` of the store
    stops the run (the claimed items' leases lapse, nothing is lost).
    """
    settings = settings or DeliverySettings()
    sent = failed = retrying = suppressed = 0
    in_a_row = 0
    while True:
        claimed = store.claim(
            now, worker=worker, limit=settings.batch, lease_seconds=settings.lease_seconds
        )
        if not claimed:
            break
        for index, item in enumerate(claimed):
            if in_a_row >= _CONSECUTIVE_TRANSIENT_LIMIT:
                rest = [i.key for i in claimed[index:]]
                store.requeue(rest, at=now + settings.backoff)
                retrying += len(rest)
                log.warning("mail server looks down: %d item(s) left for later", len(rest))
                return DeliveryReport(sent, failed, retrying, suppressed)
            outcome = _deliver_one(store, item, (mail, chat), settings, now)
            in_a_row = in_a_row + 1 if outcome == "retrying" else 0
            if outcome == "sent":
                sent += 1
            elif outcome == "suppressed":
                suppressed += 1
            elif outcome == "failed":
                failed += 1
            else:
                retrying += 1
    return DeliveryReport(sent, failed, retrying, suppressed)


def _deliver_one(
    store: Store,
    item: OutboxItem,
    senders: tuple[MailSender, ChatSender | None],
    settings: DeliverySettings,
    now: datetime,
) -> _Outcome:
    """Deliver one claimed item and mark it; returns what became of it."""
    message: Notice | Digest | PlainMail | None = None
    try:
        message = payloads.decode(item.payload)
        allowed, connection = _with_consent(store, item, message, now)
        if allowed is None:
            reason = "no consent, or no longer pending, at sending time (SPEC N7, I2)"
            store.mark_suppressed(item.key, reason=reason, at=now)
            return "suppressed"
        _send(store, item, allowed, connection, senders, settings, now)
    except TemporaryFailure:
        raise  # the store itself is unavailable: stop, the leases lapse, nothing is lost
    except (DeliveryFailed, ConfigurationError) as e:
        permanent = isinstance(e, DeliveryFailed) and e.permanent
        attempts = item.attempts + 1
        if not permanent and message is not None:
            last_day = useful_until(item, message, settings)
            if earliest_local_date(now) > last_day:
                reason = f"gave up: not delivered by {last_day.isoformat()}, when it stopped "
                reason += f"being useful, after {attempts} attempt(s); last error: {e}"
                store.mark_failed(item.key, error=reason, retry_at=None, at=now)
                log.warning("delivery of %s given up: %s", item.key, reason)
                return "failed"
            store.mark_failed(
                item.key, error=str(e), retry_at=_retry_at(item, settings, now), at=now
            )
            log.warning("delivery of %s failed (attempt %d), will retry: %s", item.key, attempts, e)
            return "retrying"
        store.mark_failed(item.key, error=str(e), retry_at=None, at=now)
        log.warning("delivery of %s refused for good: %s", item.key, e)
        return "failed"
    except Exception as e:  # this one item can never be sent as it is; the others go on
        store.mark_failed(item.key, error=_reason(e), retry_at=None, at=now)
        log.warning("delivery of %s failed for good: %s", item.key, _reason(e), exc_info=True)
        return "failed"
    store.mark_sent(item.key, now)
    return "sent"


def sweep(
    store: Store,
    catalog: Catalog,
    mail: MailSender,
    now: datetime,
    *,
    chat: ChatSender | None = None,
    settings: DeliverySettings | None = None,
    worker: str = "sweep",
    due_grace_days: int = DEFAULT_DUE_GRACE_DAYS,
    log_retention: timedelta = DEFAULT_RETENTION,
    shard: tuple[int, int] | None = None,
    on_device: Callable[[str], None] | None = None,
) -> SweepReport:
    """The daily job: plan, fold digests, deliver, and drop event-log entries past their
    retention (SPEC S5, 30 days by default). Idempotent; run it as often as you like.
    ``on_device`` is called with each due device's serial once it is planned (progress).

    It starts with :func:`~upslife.app.preflight.preflight`: a missing signing secret or
    mail settings the server refuses raise :class:`ConfigurationError` before anything
    changes; a mail server unreachable now leaves delivery for a later run
    (``SweepReport.deferred``).
    Several workers share one store with ``shard=(i, n)`` each (see :func:`plan_notices`)."""
    settings = settings or DeliverySettings()
    # Before anything changes: a missing setting refuses the sweep (ConfigurationError).
    deferred = preflight(store, mail, settings.keyring)
    expire_invitations(store, now)
    from upslife.app.schedule import plan_scheduled  # it builds on this module's steps

    planned = plan_scheduled(
        store, catalog, now, due_grace_days=due_grace_days, shard=shard, on_device=on_device
    )
    parallel = shard is not None and shard[1] > 1
    # With parallel workers, another may still be planning today: fold only the days that
    # are over everywhere.
    digests = fold_digests(store, now, before=earliest_local_date(now) if parallel else None)
    if deferred is None:
        delivered = deliver(store, mail, now, chat=chat, settings=settings, worker=worker)
    else:
        log.info("nothing delivered this run, the mail server is unavailable: %s", deferred)
        delivered = DeliveryReport()
    pruned = store.prune_log(now - log_retention)
    return SweepReport(planned, digests, delivered, pruned, deferred)
