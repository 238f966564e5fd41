"""The daily sweep: plan the notices due, fold digests, deliver through the outbox.

Three steps, each safe to interrupt at any point and to run again:

1. **plan** (:func:`plan_notices`) reads only the devices whose indexed ``next_notice_on``
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
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta

import attrs

from upslife._validation import require_instant
from upslife.app import payloads
from upslife.app.clock import local_date
from upslife.app.facts import facts_of, refresh_next_notice
from upslife.app.links import DEFAULT_PUBLIC_URL, Link, Links
from upslife.app.mails import (
    PlainMail,
    owner_notice_mail,
    render_plain,
    signed_invitation_mail,
    signed_share_mail,
)
from upslife.catalog import Catalog
from upslife.errors import ConcurrentUpdate, DeliveryFailed, InvalidInput, UpslifeError
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
    Digest,
    Notice,
    Recipient,
    RecipientKind,
    due_notices,
    lifecycle_events,
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
from upslife.rendering import render_chat, render_email
from upslife.sharing import DEFAULT_RETENTION, Share, ShareState

__all__ = [
    "HELD_FOR_DIGEST",
    "DeliveryReport",
    "DeliverySettings",
    "PlanReport",
    "SweepReport",
    "deliver",
    "earliest_local_date",
    "enqueue_mail",
    "expire_invitations",
    "fold_digests",
    "plan_notices",
    "sweep",
    "tell_owner",
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


def _public_url(value: object) -> str:
    return Links(value).public_url


@attrs.frozen
class DeliverySettings:
    """How messages are addressed and retried.

    ``public_url`` is where ``upslife.web`` is reached: every mailed link (invitation accept
    and decline, one-click unsubscribe, share accept) is built from it by
    :class:`~upslife.app.links.Links`, signed with ``keyring`` at delivery (SPEC I5,
    RFC 8058), and the ``Message-ID`` domain is its host. ``sign_up_url`` is where the share
    page sends a user who has no account yet (SPEC S2). Retries wait
    ``backoff * 2 ** (attempts - 1)``, capped at ``max_backoff``, up to ``max_attempts``.
    """

    sender: str = "notices@upslife.invalid"
    public_url: str = attrs.field(default=DEFAULT_PUBLIC_URL, converter=_public_url)
    sign_up_url: str | None = None
    keyring: Keyring | None = None
    unsubscribe_valid_for: timedelta = timedelta(days=365)
    max_attempts: int = 8
    backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=6)
    lease_seconds: float = 300.0
    batch: int = 200

    @property
    def links(self) -> Links:
        """The deployment's links, from ``public_url`` (one source for mails and routes)."""
        return Links(self.public_url)


def _held(owner: Owner, kind: RecipientKind) -> bool:
    if kind is RecipientKind.OWNER:
        return owner.owner_delivery is DeliveryPreference.DAILY_DIGEST
    if kind is RecipientKind.RESELLER:
        return owner.reseller_delivery is DeliveryPreference.DAILY_DIGEST
    return False


def _reseller(inv: Invitation | None, now: datetime) -> tuple[str | None, InvitationState | None]:
    if inv is None:
        return None, None
    return inv.reseller_email, inv.state_at(now)


def _plan_device(
    store: Store,
    catalog: Catalog,
    device: Device,
    owner: Owner,
    reseller: tuple[str | None, InvitationState | None],
    today: date,
    now: datetime,
    due_grace_days: int,
) -> tuple[int, tuple[Notice, ...]]:
    """Plan one due device: its notices into the outbox, its stages and next date saved,
    atomically (a savepoint inside the page's transaction). Returns (items added, notices)."""
    facts = facts_of(store, catalog, device)
    events = lifecycle_events(facts)
    sent = store.sent_stages(device.serial)
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
    updated = refresh_next_notice(
        device,
        facts,
        (*sent, *new_sent),
        after=today,
        due_grace_days=due_grace_days,
        events=events,
    )
    items = [
        OutboxItem(
            key=n.key,
            serial=device.serial,
            owner_id=owner.id,
            recipient=n.recipient,
            day=today,
            payload=payloads.encode(n),
            next_attempt_at=HELD_FOR_DIGEST if _held(owner, n.recipient.kind) else now,
        )
        for n in notices
    ]
    return store.enqueue(items, new_sent, device=updated), notices


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
    read = due = planned = 0
    by_kind: dict[str, int] = defaultdict(int)
    after: str | None = None
    while True:
        committed: list[str] = []
        with store.transaction():
            devices = store.devices_due(horizon, after=after, limit=batch)
            for device in devices:
                read += 1
                if parts > 1 and zlib.crc32(device.serial.encode()) % parts != part:
                    continue
                owner = owners.get(device.owner_id)
                if owner is None:
                    owner = owners[device.owner_id] = store.get_owner(device.owner_id)
                    resellers[owner.id] = _reseller(store.current_invitation(owner.id), now)
                today = days.get(owner.timezone)
                if today is None:
                    today = days[owner.timezone] = local_date(now, owner.timezone)
                if device.next_notice_on is None or device.next_notice_on > today:
                    continue
                due += 1
                added, notices = _plan_device(
                    store, catalog, device, owner, resellers[owner.id], today, now, due_grace_days
                )
                planned += added
                for n in notices:
                    by_kind[f"{n.kind.value}/{n.stage.value}"] += 1
                committed.append(device.serial)
        if on_device is not None:
            for serial in committed:
                on_device(serial)
        if not devices:
            break
        after = devices[-1].serial
    log.info("planned %d notice(s) for %d due device(s) of %d read", planned, due, read)
    return PlanReport(read, due, planned, dict(by_kind))


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
        device, user = message.share_device, message.share_user
        if device is not None and user is not None and not _share_pending(store, device, user, now):
            return None, None
        return message, None
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
    if settings.keyring is None:
        raise DeliveryFailed(f"{what} need a signing keyring (SPEC I5)", permanent=True)
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
    mail.send(
        render_email(
            message,
            sender=settings.sender,
            unsubscribe_url=unsubscribe,
            sent_at=now,
            message_id_domain=domain,
        )
    )


def deliver(
    store: Store,
    mail: MailSender,
    now: datetime,
    *,
    chat: ChatSender | None = None,
    settings: DeliverySettings | None = None,
    worker: str = "sweep",
) -> DeliveryReport:
    """Send every pending item whose time has come (step 3 of the sweep)."""
    settings = settings or DeliverySettings()
    sent = failed = retrying = suppressed = 0
    while True:
        claimed = store.claim(
            now, worker=worker, limit=settings.batch, lease_seconds=settings.lease_seconds
        )
        if not claimed:
            break
        for item in claimed:
            try:
                message, connection = _with_consent(store, item, payloads.decode(item.payload), now)
                if message is None:
                    reason = "no consent, or no longer pending, at sending time (SPEC N7, I2)"
                    store.mark_suppressed(item.key, reason=reason, at=now)
                    suppressed += 1
                    continue
                _send(store, item, message, connection, (mail, chat), settings, now)
            except DeliveryFailed as e:
                attempts = item.attempts + 1
                give_up = e.permanent or attempts >= settings.max_attempts
                wait = min(settings.backoff * 2 ** (attempts - 1), settings.max_backoff)
                store.mark_failed(
                    item.key, error=str(e), retry_at=None if give_up else now + wait, at=now
                )
                log.warning("delivery of %s failed (attempt %d): %s", item.key, attempts, e)
                if give_up:
                    failed += 1
                else:
                    retrying += 1
                continue
            except UpslifeError as e:  # a payload or template that can never be sent
                store.mark_failed(item.key, error=str(e), retry_at=None, at=now)
                failed += 1
                continue
            store.mark_sent(item.key, now)
            sent += 1
    return DeliveryReport(sent, failed, retrying, suppressed)


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
) -> SweepReport:
    """The daily job: plan, fold digests, deliver, and drop event-log entries past their
    retention (SPEC S5, 30 days by default). Idempotent; run it as often as you like.
    Several workers share one store with ``shard=(i, n)`` each (see :func:`plan_notices`)."""
    expire_invitations(store, now)
    planned = plan_notices(store, catalog, now, due_grace_days=due_grace_days, shard=shard)
    parallel = shard is not None and shard[1] > 1
    # With parallel workers, another may still be planning today: fold only the days that
    # are over everywhere.
    digests = fold_digests(store, now, before=earliest_local_date(now) if parallel else None)
    delivered = deliver(store, mail, now, chat=chat, settings=settings, worker=worker)
    pruned = store.prune_log(now - log_retention)
    return SweepReport(planned, digests, delivered, pruned)
