"""``upslife demo``: a realistic sample fleet, a year of daily sweeps, a summary.

Everything goes through the real use cases on the real embedded store (SQLite) into a
real Maildir outbox, with a fixed, advancing clock, so the run is the same every time.
"""

from __future__ import annotations

import base64
import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import attrs

from upslife.adapters.chatdir import DirectoryChatSender
from upslife.adapters.maildir import MaildirSender
from upslife.adapters.sqlite import SqliteStore
from upslife.app import DeliverySettings, FixedClock, Lifecycle
from upslife.app.links import DEFAULT_PUBLIC_URL
from upslife.catalog import Catalog
from upslife.entitlements import Plan
from upslife.errors import InvalidInput
from upslife.hardware.simulator import SimulatedTransport, SimulatedUps
from upslife.invitations import Keyring, SigningKey, TokenAction
from upslife.notifications import ChatKind, ChatRoute, Contact, DeliveryPreference
from upslife.ports import Owner
from upslife.sharing import ShareVia

__all__ = ["DemoResult", "run_demo"]

START = date(2025, 1, 1)
DEMO_KEY = Keyring(SigningKey("demo", b"upslife-demo-signing-key-32-bytes!"))
COMPANIES = [
    ("Acme Hosting", "Ada Lovelace", "IT manager", "Europe/Paris"),
    ("Globex Clinics", "Grace Hopper", "Facilities lead", "America/New_York"),
    ("Initech Retail", "Alan Turing", "Store operations", "Europe/London"),
    ("Umbrella Labs", "Katherine Johnson", "Lab manager", "Asia/Tokyo"),
    ("Stark Logistics", "Hedy Lamarr", "Network engineer", "Australia/Sydney"),
]
RESELLER = "renewals@powerpartner.example"
MSP_USER = "noc@managed-services.example"


@attrs.frozen
class DemoResult:
    directory: Path
    database: Path
    outbox: Path
    devices: int
    days: int
    notices_by_kind: dict[str, int]
    messages: int
    licenses_assigned: int
    upgrades: int
    renewals_in_year: int
    chat_messages: int
    example_serial: str
    shared: tuple[str, ...] = ()
    polled: int = 0
    digests: int = 0
    chat_routes: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()

    @property
    def last_day(self) -> date:
        """The day of the last sweep (its clock read 12:00 UTC)."""
        return START + timedelta(days=self.days - 1)


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


MAX_DEVICES = 10_000
MAX_DAYS = 3_660


def run_demo(
    directory: Path,
    *,
    devices: int = 48,
    days: int = 365,
    seed: int = 2026,
    progress: Callable[[int, int], None] | None = None,
    database: Path | None = None,
    public_url: str = DEFAULT_PUBLIC_URL,
) -> DemoResult:
    """Build the sample fleet in ``directory`` and sweep ``days`` days from 2025-01-01.

    ``devices`` is 1 to 10,000 and ``days`` 1 to 3,660; anything else is refused
    (``InvalidInput``) before anything is written. ``database`` is the SQLite file to
    build (default ``directory/upslife.db``); it is started afresh.

    Every feature shows: owners on three continents, trials, renewals, upgrades, a
    connected reseller (one with a daily digest), an accepted share with a
    managed-service user, a Slack route, and the UPS units' vitals polled through the
    simulator (so the Operational report has readings).

    Every mailed link points at ``public_url``; ``upslife.toml`` in ``directory`` holds the
    demo's database, Maildir, signing key and ``public_url``, so ``upslife --config
    DIR/upslife.toml --on LAST-DAY serve`` serves those links (docs/web.md).
    """
    for name, value, most in (("devices", devices, MAX_DEVICES), ("days", days, MAX_DAYS)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise InvalidInput(
                f"demo --{name} must be a whole number from 1 to {most}, got {value!r}"
            )
    settings = DeliverySettings(keyring=DEMO_KEY, public_url=public_url)
    directory.mkdir(parents=True, exist_ok=True)
    database = database if database is not None else directory / "upslife.db"
    outbox = directory / "outbox"
    for stale in database.parent.glob(database.name + "*"):
        stale.unlink()
    rng = random.Random(seed)
    store = SqliteStore(database)
    clock = FixedClock(_at(date(2022, 1, 1)))
    service = Lifecycle(store, clock=clock, keyring=DEMO_KEY, settings=settings)
    mail = MaildirSender(outbox)
    _write_config(directory / "upslife.toml", database, outbox, settings.public_url)
    chat = DirectoryChatSender(directory / "chat")
    models = [m for m in Catalog.default().models if not m.startswith("SMTL")][:12]
    owners = []
    for n, (company, name, role, tz) in enumerate(COMPANIES):
        slug = company.split()[0].lower()
        contact = Contact(company, name, f"it@{slug}.example", role, f"+1 555 01{n:02d}")
        account = Owner(
            f"it@{slug}.example",
            contact,
            tz,
            chat_routes=(ChatRoute(ChatKind.SLACK, "ops-alerts"),) if n == 0 else (),
            chat_webhooks=(("ops-alerts", "https://hooks.slack.invalid/demo"),) if n == 0 else (),
            reseller_delivery=DeliveryPreference.DAILY_DIGEST
            if n == 1
            else DeliveryPreference.IMMEDIATE,
        )
        owners.append(service.add_owner(account).id)

    # Registrations spread over 2022-2025; trials, renewals and upgrades before the year.
    registered: list[tuple[str, str, date]] = []
    for n in range(devices):
        owner = owners[n % len(owners)]
        day = date(2022, 3, 1) + timedelta(days=rng.randrange(0, 1000))
        serial = f"AS{2200 + n:04d}{rng.randrange(10**6):06d}"
        clock.set(_at(day))
        installed = day - timedelta(days=rng.randrange(0, 200))
        service.register_device(
            owner, serial, rng.choice(models), on=day, battery_installed_on=installed
        )
        registered.append((owner, serial, day))
    registered.sort(key=lambda r: r[2])

    assigned = upgrades = 0
    # Enough licenses for any fleet size: each device renews at most a few times a year.
    stock = 4 * devices + 10
    installer = "installer@powerpartner.example"
    service.issue_code("PARTNER-STD-1Y", Plan.STANDARD, "1Y", stock, installer)
    service.issue_code("PARTNER-STD-3Y", Plan.STANDARD, "3Y", stock, installer)
    service.issue_code("ONLINE-ADV-1Y", Plan.ADVANCED, "1Y", stock, installer)
    for owner, serial, day in registered:
        roll = rng.random()
        if roll < 0.45:  # renewed during the trial: appended (SPEC E4a)
            clock.set(_at(day + timedelta(days=rng.randrange(60, 170))))
            code = "PARTNER-STD-3Y" if rng.random() < 0.3 else "PARTNER-STD-1Y"
            assigned += len(service.assign_code(code, serial, by=owner))
        if roll < 0.15:  # and upgraded later: STANDARD pauses (SPEC E4c, E4d)
            clock.set(_at(day + timedelta(days=rng.randrange(200, 400))))
            assigned += len(service.assign_code("ONLINE-ADV-1Y", serial, by=owner))
            upgrades += 1

    # A connected reseller for the first two customers, an MSP user for the first.
    clock.set(_at(date(2024, 12, 1)))
    for owner in owners[:2]:
        links = service.invite_reseller(owner, RESELLER)
        service.respond(links.accept_token, TokenAction.ACCEPT)
    # The first customer shares up to 3 devices; sharing needs a paid plan (SPEC E10), so
    # a device on BASIC gets a 1-year license first. The user accepts through the link.
    first = owners[0]
    shared: list[str] = []
    for _, serial, _ in [r for r in registered if r[0] == first][:3]:
        if service.coverage(serial).plan_on(date(2024, 12, 1)) is Plan.BASIC:
            assigned += len(service.assign_code("PARTNER-STD-1Y", serial, by=first))
        invitation = service.share(serial, MSP_USER, by=first, via=ShareVia.LINK)
        service.accept_share_link(invitation.token)
        shared.append(serial)

    # The UPS units report their vitals (the simulator stands in for NUT or Modbus);
    # one of them reports a failed battery.
    simulated = SimulatedTransport()
    for n, (_, serial, _) in enumerate(registered):
        ups = SimulatedUps.smart_ups_1500(
            serial=serial,
            load_percent=float(rng.randrange(5, 80)),
            battery_installed_on=None,
            battery_replace_by=None,
            manufactured_on=None,
            battery_manufactured_on=None,
        )
        if n == len(registered) // 2:
            ups.fail_battery()
        simulated.add(f"ups{n}", ups)
    clock.set(_at(START - timedelta(days=1)))
    polled = service.poll(simulated, workers=4).read

    # A year of daily sweeps; half the customers renew some days after their 30-day notice.
    kinds: Counter[str] = Counter()
    renewals = digests = 0
    for offset in range(days):
        day = START + timedelta(days=offset)
        clock.set(_at(day, 12))
        report = service.sweep(mail, chat=chat)
        kinds.update(report.plan.by_kind)
        digests += report.digests
        for owner, serial, _ in registered:
            cov = service.coverage(serial)
            expires = cov.expires_on(day)
            if expires is not None and (expires - day).days == 25 and rng.random() < 0.5:
                assigned += len(service.assign_code("PARTNER-STD-1Y", serial, by=owner))
                renewals += 1
        if progress is not None:
            progress(offset + 1, days)
    messages = sum(1 for _ in mail.messages())
    chat_messages = sum(1 for _ in chat.posted())
    store.close()
    return DemoResult(
        directory,
        database,
        outbox,
        devices,
        days,
        dict(kinds),
        messages,
        assigned,
        upgrades,
        renewals,
        chat_messages,
        registered[0][1],
        tuple(shared),
        polled,
        digests,
        ("slack:ops-alerts",),
        tuple(owners),
    )


def _write_config(path: Path, database: Path, outbox: Path, public_url: str) -> None:
    secret = base64.b64encode(DEMO_KEY.current.secret).decode()
    path.write_text(
        "# The demo's settings: upslife --config THIS-FILE --on LAST-DAY serve\n"
        "[upslife]\n"
        f"db = {json.dumps(str(database.resolve()))}\n"
        f"mail = {json.dumps('maildir://' + str(outbox.resolve()))}\n"
        f"secret = {json.dumps(secret)}\n"
        f"secret_id = {json.dumps(DEMO_KEY.current.key_id)}\n"
        f"public_url = {json.dumps(public_url)}\n",
        encoding="utf-8",
    )


def text_progress(done: int, total: int) -> None:
    """A progress bar on standard error, redrawn in place (the caller shows it on a
    terminal only: :func:`upslife.cli._common.show_progress`)."""
    width = 30
    filled = width * done // total
    bar = f"sweeping [{'#' * filled}{'.' * (width - filled)}] {done}/{total} days"
    sys.stderr.write("\r" + bar + ("\n" if done == total else ""))
    sys.stderr.flush()
