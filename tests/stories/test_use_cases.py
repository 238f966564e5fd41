"""The use cases issue 12 added, each told the way its user goes: through
:class:`~upslife.app.Lifecycle` on a SQLite file or PostgreSQL (``conftest.store``),
ending at what the person sees (a mail in the outbox, its attachment, the event log).

Every use case is also tried with bad input: it raises an ``UpslifeError`` subclass and
the store is exactly as it was (SPEC D5).
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.stories.conftest import KEYRING, World, body
from upslife import formats
from upslife.adapters.sqlite import SqliteStore
from upslife.app import DeliverySettings, Lifecycle
from upslife.app.deletion import DELETED_REASON
from upslife.entitlements import TRIAL_MONTHS, add_months
from upslife.errors import (
    AlreadyExists,
    ConfigurationError,
    InvalidEmail,
    InvalidInput,
    NotPermitted,
    ResellerNotConnected,
    ShareExpired,
    TokenExpired,
    UnknownCode,
    UnknownDevice,
    UnknownOwner,
    UpslifeError,
)
from upslife.hardware.simulator import SimulatedTransport, SimulatedUps
from upslife.invitations import TokenAction
from upslife.notifications import DeliveryPreference, Recipient, Severity
from upslife.ports import DeliveryStatus, OutboxItem, Store
from upslife.rendering.templates import templates_from_doc
from upslife.reports import OPERATIONAL_FIELDS, Vitals, inventory_rows
from upslife.sharing import Action, Outcome, ShareState

OWNER = "ops@acme.example"
MSP = "noc@msp.example"
RESELLER = "sales@partner.example"
INSTALLER = "installer@partner.example"
FIRST, SECOND = "AS2300000001", "AS2300000002"
# Registered on 2025-06-01, their trials end on 2025-12-01: at START (2025-11-03) the
# 30-day plan-expiry notice of each is due (SPEC E2, N2).
REGISTERED = date(2025, 6, 1)


def outbox(store: Store) -> tuple[OutboxItem, ...]:
    return tuple(store.items())


def fleet(world: World) -> None:
    """The owner, two devices, and the first shared with an MSP who accepted."""
    world.owner(OWNER)
    for serial in (FIRST, SECOND):
        world.service.register_device(OWNER, serial, "SMT1500C", on=REGISTERED)
    made = world.service.share(FIRST, MSP, by=OWNER)
    world.service.accept_share_link(made.token)


class TestActivationCodesReachTheInstaller:
    def test_an_issued_code_is_mailed_to_the_installer_once(self, world: World) -> None:
        # SPEC E6: the code is sent to the Installer Email of the order (N9: once)
        issued = world.service.issue_code(
            "ORDER-42", "ADVANCED", "3Y", 4, "Installer@Partner.example"
        )
        world.sweep()
        world.sweep()

        (mail,) = world.mails_to(INSTALLER)
        assert issued.installer_email == INSTALLER
        assert "ORDER-42" in str(mail["Subject"])
        text = body(mail)
        assert "    ORDER-42\n" in text
        assert "4 Advanced licenses of 3 years" in text

    def test_the_mailed_code_is_the_one_that_assigns(self, world: World) -> None:
        # SPEC E6: what the installer reads is what the owner types
        world.owner(OWNER)
        world.service.register_device(OWNER, "AS2312345678", "SMT1500C", on=date(2025, 10, 1))
        world.service.issue_code("ORDER-43", "STANDARD", "1Y", 1, INSTALLER)
        world.sweep()
        (mail,) = world.mails_to(INSTALLER)
        typed = body(mail).split("\n\n")[1].strip()

        (lic,) = world.service.assign_code(typed, "AS2312345678", by=OWNER)

        assert lic.id == "ORDER-43#1"

    @pytest.mark.parametrize(
        ("args", "error"),
        [
            (("ORDER-1", "STANDARD", "1Y", 0, INSTALLER), InvalidInput),
            (("ORDER-1", "BASIC", "1Y", 1, INSTALLER), InvalidInput),
            (("ORDER-1", "GOLD", "1Y", 1, INSTALLER), UpslifeError),
            (("ORDER-1", "STANDARD", "2Y", 1, INSTALLER), InvalidInput),
            (("ORDER-1", "STANDARD", "1Y", 1, "not an address"), InvalidInput),
            (("", "STANDARD", "1Y", 1, INSTALLER), InvalidInput),
        ],
    )
    def test_bad_input_is_refused_and_nothing_is_queued(
        self, world: World, args: tuple[object, ...], error: type[Exception]
    ) -> None:
        # SPEC D5
        with pytest.raises(error):
            world.service.issue_code(*args)  # type: ignore[arg-type]
        assert outbox(world.store) == ()
        with pytest.raises(UnknownCode):
            world.store.get_code("ORDER-1")

    def test_a_code_issued_twice_is_refused_and_mailed_once(self, world: World) -> None:
        # SPEC E6, D5: the second call changes nothing, not even the mail
        world.service.issue_code("ORDER-44", "STANDARD", "1Y", 2, INSTALLER)
        before = outbox(world.store)
        with pytest.raises(AlreadyExists):
            world.service.issue_code("ORDER-44", "ADVANCED", "5Y", 9, "other@partner.example")
        assert outbox(world.store) == before
        assert world.store.get_code("ORDER-44").quantity == 2
        world.sweep()
        assert world.mails_to("other@partner.example") == []
        assert len(world.mails_to(INSTALLER)) == 1


class TestDeletingADevice:
    def test_the_owner_deletes_a_device_and_nothing_more_goes_out_about_it(
        self, world: World
    ) -> None:
        # SPEC S3, S4, S5, N7: shares revoked, unsent mail suppressed, log kept
        fleet(world)
        world.mail.down = True
        world.sweep()  # both trial notices are queued, the server is down
        queued = [i for i in outbox(world.store) if i.serial == FIRST]
        assert queued
        assert all(i.status is DeliveryStatus.PENDING for i in queued)

        done = world.service.delete_device(FIRST.lower(), by=OWNER)

        assert done.revoked == (MSP,)
        assert done.suppressed == len(queued)
        for queued_item in queued:
            stored = world.store.get_item(queued_item.key)
            assert stored.status is DeliveryStatus.SUPPRESSED
            assert stored.last_error == DELETED_REASON
        world.mail.down = False
        world.clock.advance(timedelta(hours=1))
        world.sweep()
        sent = " ".join(body(m) + str(m["Subject"]) for m in world.mail.sent)
        assert SECOND in sent
        assert FIRST not in sent
        with pytest.raises(UnknownDevice):
            world.service.device(FIRST)
        assert world.service.shared_with_me(MSP) == ()
        today = world.service.today_for(OWNER)
        rows = inventory_rows(list(world.service.report_devices(OWNER, user=OWNER)), today)
        assert [r.serial for r in rows] == [SECOND]
        log = world.service.event_log(OWNER)
        (deleted,) = [e for e in log if e.action is Action.DELETE_DEVICE]
        assert (deleted.actor, deleted.device, deleted.severity) == (
            OWNER,
            FIRST,
            Severity.CRITICAL,
        )
        assert any(e.action is Action.REVOKE_SHARE and MSP in e.message for e in log)
        assert any(e.action is Action.ACCEPT_SHARE for e in log)  # the log is kept

    def test_a_shared_user_may_not_delete_and_the_refusal_is_logged(self, world: World) -> None:
        # SPEC S3: every privilege but deleting and transferring; S5: refusals are logged
        fleet(world)
        world.sweep()
        before = (
            outbox(world.store),
            world.store.get_sharing(OWNER),
            world.store.get_device(FIRST),
            world.store.licenses_of(FIRST),
            world.store.sent_stages(FIRST),
        )

        with pytest.raises(NotPermitted):
            world.service.delete_device(FIRST, by=MSP)

        after = (
            outbox(world.store),
            world.store.get_sharing(OWNER),
            world.store.get_device(FIRST),
            world.store.licenses_of(FIRST),
            world.store.sent_stages(FIRST),
        )
        assert after == before
        (refused,) = [e for e in world.service.event_log(OWNER) if e.outcome is Outcome.REFUSED]
        assert (refused.actor, refused.action, refused.reason) == (
            MSP,
            Action.DELETE_DEVICE,
            "NotPermitted",
        )

    @pytest.mark.parametrize(
        ("serial", "by", "error"),
        [
            ("AS0000000000", OWNER, UnknownDevice),
            (FIRST, "stranger@elsewhere.example", NotPermitted),
            (FIRST, "not an address", UpslifeError),
            (FIRST, 42, InvalidInput),
            (None, OWNER, InvalidInput),
        ],
    )
    def test_bad_input_is_refused_and_changes_nothing(
        self, world: World, serial: object, by: object, error: type[Exception]
    ) -> None:
        # SPEC D5
        fleet(world)
        before = (outbox(world.store), world.store.get_sharing(OWNER), world.store.count_devices())
        with pytest.raises(error):
            world.service.delete_device(serial, by=by)  # type: ignore[arg-type]
        after = (outbox(world.store), world.store.get_sharing(OWNER), world.store.count_devices())
        assert after == before

    def test_a_digest_queued_before_the_deletion_leaves_the_device_out(
        self, world: World
    ) -> None:
        # SPEC N10 x S3: the digest was folded with both devices; it goes with one
        fleet(world)
        record = world.store.get_owner(OWNER)
        world.store.save_owner(
            attrs.evolve(record, owner_delivery=DeliveryPreference.DAILY_DIGEST)
        )
        world.mail.down = True
        world.sweep()
        digests = [i for i in outbox(world.store) if i.key.startswith("digest")]
        assert len(digests) == 1

        world.service.delete_device(FIRST, by=OWNER)
        world.mail.down = False
        world.clock.advance(timedelta(hours=1))
        world.sweep()

        (digest,) = [m for m in world.mails_to(OWNER) if "lifecycle" in str(m["Subject"])]
        assert SECOND in body(digest)
        assert FIRST not in body(digest)
        assert world.store.get_item(digests[0].key).status is DeliveryStatus.SENT

    def test_a_failed_notice_retried_after_the_deletion_is_not_sent(self, world: World) -> None:
        # SPEC S3: a failed item stays FAILED on deletion (the record of the failure); an
        # operator who retries it later does not mail about a device that is gone
        fleet(world)
        world.mail.refuse = True
        world.sweep()
        failed = [i for i in outbox(world.store) if i.serial == FIRST]
        assert failed
        assert all(i.status is DeliveryStatus.FAILED for i in failed)
        world.service.delete_device(FIRST, by=OWNER)
        assert all(world.store.get_item(i.key).status is DeliveryStatus.FAILED for i in failed)
        world.mail.refuse = False
        for failed_item in failed:
            world.service.retry_outbox_item(failed_item.key)
        world.sweep()
        assert not [m for m in world.mail.sent if FIRST in str(m["Subject"]) + body(m)]
        for failed_item in failed:
            assert world.store.get_item(failed_item.key).status is DeliveryStatus.SUPPRESSED

    def test_the_serial_of_a_deleted_device_can_be_registered_anew(self, world: World) -> None:
        # decision (docs/application.md): deleting frees the serial; nothing of the old
        # registration comes back but its first day: the trial is granted once (SPEC E2)
        fleet(world)
        world.service.issue_code("ORDER-9", "ADVANCED", "1Y", 1, INSTALLER)
        world.service.assign_code("ORDER-9", FIRST, by=OWNER)
        world.service.delete_device(FIRST, by=OWNER)
        again = world.service.register_device(OWNER, FIRST, "SMT1500C", on=date(2025, 11, 3))
        assert again.registered_again
        assert again.device.registered_on == REGISTERED
        assert world.store.licenses_of(FIRST) == ()  # the ADVANCED license is gone
        cov = world.service.coverage(FIRST)
        assert cov.plan_on(date(2025, 11, 3)).name == "STANDARD"  # the rest of the trial
        assert cov.plan_on(again.trial_ends_on).name == "BASIC"
        assert again.trial_ends_on == add_months(REGISTERED, TRIAL_MONTHS)
        assert world.store.get_code("ORDER-9").remaining == 0  # a used license stays used
        assert world.store.get_sharing(OWNER).shares[0].state is ShareState.REVOKED


def attachments(message: Message) -> list[tuple[str, str, bytes]]:
    """(file name, MIME type, bytes) of every attachment of a sent mail."""
    found = []
    for part in message.walk():
        if part.get_content_disposition() == "attachment":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            found.append((str(part.get_filename()), part.get_content_type(), data))
    return found


def connect(world: World, owner: str = OWNER) -> None:
    links = world.service.invite_reseller(owner, RESELLER)
    world.service.respond(links.accept_token, TokenAction.ACCEPT)


def polled_fleet(world: World) -> None:
    """:func:`fleet`, and both UPS units polled: their vitals are stored (SPEC R1, R3)."""
    fleet(world)
    world.service.register_device(OWNER, "AS2300000000", "SMT1500C", on=date(2025, 1, 10))
    units = {
        f"ups{i}": SimulatedUps.smart_ups_1500(serial=serial)
        for i, serial in enumerate((FIRST, SECOND))
    }
    assert world.service.poll(SimulatedTransport(units)).updated == (FIRST, SECOND)


class TestSendingMyRenewalsToAPartner:
    def test_the_connected_reseller_receives_the_report_as_a_csv_attachment(
        self, world: World
    ) -> None:
        # SPEC R2, R4: MyRenewals, in renewal order, and nothing operational
        polled_fleet(world)
        connect(world)
        world.sweep()  # the day's notices go first

        sent = world.service.send_renewals(OWNER, by=OWNER)
        world.sweep()

        assert (sent.to, sent.rows, sent.to_reseller) == (RESELLER, 3, True)
        (mail,) = [m for m in world.mails_to(RESELLER) if "MyRenewals" in str(m["Subject"])]
        assert "Acme Hosting" in str(mail["Subject"])
        ((name, kind, data),) = attachments(mail)
        assert (name, kind) == ("MyRenewals-2025-11-03.csv", "text/csv")
        table = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        assert tuple(table[0]) == formats.MY_RENEWALS.headers
        # the trial of AS2300000000 ended on 2025-07-10; the two others end on 2025-12-01
        serials = [row[1] for row in table[1:]]
        assert serials == [FIRST, SECOND, "AS2300000000"]
        reported = world.store.get_device(FIRST).vitals
        assert reported is not None
        assert reported.status is not None
        assert reported.firmware_version is not None
        for cell in {c for row in table[1:] for c in row}:
            assert reported.status not in cell
            assert reported.firmware_version not in cell
        headers = " ".join(formats.MY_RENEWALS.headers).lower()
        for word in ("status", "load", "charge", "runtime", "temperature", "firmware"):
            assert word not in headers

    def test_any_address_the_owner_gives_receives_it_as_xlsx(self, world: World) -> None:
        # SPEC R2: "or any address the owner gives"
        openpyxl = pytest.importorskip("openpyxl")
        polled_fleet(world)

        sent = world.service.send_renewals(
            OWNER, by=OWNER, to="Buyer@Integrator.example", fmt="xlsx"
        )
        world.sweep()

        assert (sent.to, sent.to_reseller) == ("buyer@integrator.example", False)
        (mail,) = world.mails_to("buyer@integrator.example")
        ((name, _, data),) = attachments(mail)
        assert name.endswith(".xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        assert tuple(rows[0]) == formats.MY_RENEWALS.headers
        assert [r[1] for r in rows[1:]] == [FIRST, SECOND, "AS2300000000"]

    def test_a_shared_user_sends_only_the_devices_shared_with_them(self, world: World) -> None:
        # SPEC S3 (download reports), R5 (only what they may see)
        polled_fleet(world)
        world.service.send_renewals(OWNER, by=MSP, to="buyer@integrator.example")
        world.sweep()
        (mail,) = world.mails_to("buyer@integrator.example")
        assert MSP in body(mail)
        ((_, _, data),) = attachments(mail)
        table = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        assert [row[1] for row in table[1:]] == [FIRST]

    def test_a_reseller_disconnected_before_sending_receives_nothing(self, world: World) -> None:
        # SPEC N7: consent is checked again at the moment of sending
        polled_fleet(world)
        connect(world)
        sent = world.service.send_renewals(OWNER, by=OWNER)
        world.service.disconnect_reseller(OWNER)
        world.sweep()
        assert world.mails_to(RESELLER) == []
        assert world.store.get_item(sent.key).status is DeliveryStatus.SUPPRESSED

    @pytest.mark.parametrize(
        ("owner", "by", "to", "fmt", "error"),
        [
            (OWNER, OWNER, None, "csv", ResellerNotConnected),
            (OWNER, OWNER, "not an address", "csv", InvalidEmail),
            (OWNER, OWNER, 42, "csv", InvalidInput),
            (OWNER, OWNER, "a@b.example", "pdf", InvalidInput),
            (OWNER, "stranger@elsewhere.example", "a@b.example", "csv", NotPermitted),
            ("nobody@nowhere.example", OWNER, "a@b.example", "csv", UnknownOwner),
        ],
    )
    def test_bad_input_is_refused_and_nothing_is_queued(
        self, world: World, owner: str, by: str, to: object, fmt: str, error: type[Exception]
    ) -> None:
        # SPEC D5
        polled_fleet(world)
        before = outbox(world.store)
        with pytest.raises(error):
            world.service.send_renewals(owner, by=by, to=to, fmt=fmt)  # type: ignore[arg-type]
        assert outbox(world.store) == before


_TOKEN = st.text(alphabet="QXZJKVW", min_size=6, max_size=12)


@settings(max_examples=15, deadline=None)
@given(status=_TOKEN, firmware=_TOKEN, sensitivity=_TOKEN, test_result=_TOKEN)
def test_no_polled_value_ever_reaches_the_mailed_myrenewals(
    status: str, firmware: str, sensitivity: str, test_result: str
) -> None:
    # SPEC R2 as a property: whatever the UPS reported, the attachment never shows it
    with tempfile.TemporaryDirectory() as where:
        store = SqliteStore(Path(where) / "fleet.db")
        try:
            world = World(store)
            world.owner(OWNER)
            world.service.register_device(OWNER, FIRST, "SMT1500C", on=REGISTERED)
            vitals = Vitals(
                status=status,
                firmware_version=firmware,
                input_sensitivity=sensitivity,
                self_test_result=test_result,
                load_percent=77.25,
                runtime_seconds=98765,
                observed_at=datetime(2025, 11, 3, 8, tzinfo=UTC),
            )
            store.save_device(attrs.evolve(store.get_device(FIRST), vitals=vitals))
            world.service.send_renewals(OWNER, by=OWNER, to="buyer@integrator.example")
            world.sweep()
            (mail,) = world.mails_to("buyer@integrator.example")
            ((_, _, data),) = attachments(mail)
            text = data.decode("utf-8") + body(mail)
            for value in (status, firmware, sensitivity, test_result, "77.25", "98765"):
                assert value not in text
            assert not OPERATIONAL_FIELDS & set(formats.MY_RENEWALS.keys)
        finally:
            store.close()


def customers(world: World, count: int = 3) -> list[tuple[str, str]]:
    """``count`` owners with a device each, each inviting the same reseller: the owner
    ids, and the unsubscribe token each invitation mail carries."""
    made = []
    for i in range(count):
        owner = f"ops@customer{i}.example"
        world.owner(owner, company=f"Customer {i}")
        world.service.register_device(owner, f"AS23000001{i:02d}", "SMT1500C", on=REGISTERED)
        links = world.service.invite_reseller(owner, RESELLER)
        made.append((owner, links.unsubscribe_token))
        world.service.respond(links.accept_token, TokenAction.ACCEPT)
    return made


class TestAResellerChoosesItsOwnDelivery:
    def test_one_choice_by_the_reseller_gives_one_digest_for_every_customer(
        self, world: World
    ) -> None:
        # SPEC N10: the preference belongs to the recipient, not to each customer
        (first, token), *others = customers(world)

        chosen = world.service.set_reseller_delivery_by_link(token, "daily-digest")
        world.sweep()

        assert chosen.reseller_email == RESELLER
        (digest,) = world.mails_to(RESELLER)
        text = body(digest)
        for i in range(3):
            assert f"Customer {i}" in text
        for owner in [first] + [o for o, _ in others]:  # owners keep their own choice
            (notice,) = world.mails_to(owner)
            assert "Plan Expires" in str(notice["Subject"])

    def test_the_resellers_choice_wins_over_a_customers_older_setting(
        self, world: World
    ) -> None:
        made = customers(world)
        record = world.store.get_owner(made[0][0])
        world.store.save_owner(
            attrs.evolve(record, reseller_delivery=DeliveryPreference.DAILY_DIGEST)
        )
        world.service.set_reseller_delivery("Sales@Partner.example", "immediate")
        world.sweep()
        assert len(world.mails_to(RESELLER)) == 3

    def test_a_reseller_that_forgets_its_choice_gets_each_customers_setting_again(
        self, world: World
    ) -> None:
        made = customers(world, 2)
        for owner, _ in made:
            record = world.store.get_owner(owner)
            world.store.save_owner(
                attrs.evolve(record, reseller_delivery=DeliveryPreference.DAILY_DIGEST)
            )
        world.service.set_reseller_delivery(RESELLER, DeliveryPreference.IMMEDIATE)
        forgotten = world.service.set_reseller_delivery(RESELLER, None)
        world.sweep()
        assert forgotten.preference is None
        assert len(world.mails_to(RESELLER)) == 1  # the older per-customer digests

    def test_a_choice_applies_to_notices_planned_after_it(self, world: World) -> None:
        # decision: what is queued goes as it was queued
        customers(world, 2)
        world.mail.down = True
        world.sweep()
        world.service.set_reseller_delivery(RESELLER, "daily-digest")
        world.mail.down = False
        world.clock.advance(timedelta(hours=1))
        world.sweep()
        assert len(world.mails_to(RESELLER)) == 2

    @pytest.mark.parametrize(
        ("address", "preference", "error"),
        [
            ("not an address", "daily-digest", InvalidEmail),
            (None, "daily-digest", InvalidInput),
            (RESELLER, "weekly", InvalidInput),
            (RESELLER, 7, InvalidInput),
        ],
    )
    def test_bad_input_is_refused_and_changes_nothing(
        self, world: World, address: object, preference: object, error: type[Exception]
    ) -> None:
        # SPEC D5
        world.service.set_reseller_delivery(RESELLER, "immediate")
        with pytest.raises(error):
            world.service.set_reseller_delivery(address, preference)  # type: ignore[arg-type]
        assert world.store.delivery_of(Recipient.reseller(RESELLER)) is (
            DeliveryPreference.IMMEDIATE
        )

    def test_a_bad_link_is_refused_and_changes_nothing(self, world: World) -> None:
        # SPEC I5: tampered, wrong action, or naming nothing known
        world.owner(OWNER)
        links = world.service.invite_reseller(OWNER, RESELLER)
        token = links.unsubscribe_token
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        for token in (tampered, links.accept_token, "", "nonsense"):
            with pytest.raises(UpslifeError):
                world.service.set_reseller_delivery_by_link(token, "daily-digest")
        with pytest.raises(InvalidInput):
            world.service.set_reseller_delivery_by_link(links.unsubscribe_token, "hourly")
        assert world.store.delivery_of(Recipient.reseller(RESELLER)) is None


BASIC_DEVICE = "AS2022120100"  # registered 2022-12-01: its trial is long over (SPEC E1)
OWNER_TEMPLATE = {
    "subject": "[Acme fleet] $title: $serial",
    "text": "Dear team,\n\n$title\n$model $serial, due $due, needs $sku.\n",
    "html": "<p>$title</p><p>$model $serial, due $due, needs $sku.</p>",
}
RESELLER_TEMPLATE = {
    "subject": "[Acme for partners] $title: $serial",
    "text": (
        "$company ($full_name, $job_role, $email, $phone) needs\n"
        "$model $serial, due $due: $sku\n"
    ),
    "html": "<p>$company $full_name $job_role $email $phone</p><p>$model $serial $due $sku</p>",
}


def subjects_about(world: World, address: str, serial: str) -> list[str]:
    return [str(m["Subject"]) for m in world.mails_to(address) if serial in str(m["Subject"])]


def mixed_fleet(world: World) -> None:
    """A device on its STANDARD trial (plan expiry due) and one on BASIC (warranty due)."""
    world.owner(OWNER)
    world.service.register_device(OWNER, FIRST, "SMT1500C", on=REGISTERED)
    world.service.register_device(OWNER, BASIC_DEVICE, "SMT1500C", on=date(2022, 12, 1))
    assert world.service.coverage(BASIC_DEVICE).plan_on(date(2025, 11, 3)).name == "BASIC"


class TestCustomizableEmails:
    def test_the_owners_templates_shape_the_mail_of_devices_whose_plan_allows_them(
        self, world: World
    ) -> None:
        # SPEC E10: customizable emails are STANDARD; BASIC devices get the default
        mixed_fleet(world)
        world.service.set_email_templates(OWNER, {"owner": OWNER_TEMPLATE})

        world.sweep()

        (custom,) = subjects_about(world, OWNER, FIRST)
        assert custom == f"[Acme fleet] Standard Plan Expires on 1 December 2025: {FIRST}"
        (default,) = subjects_about(world, OWNER, BASIC_DEVICE)
        assert default == f"Warranty Expires on 1 December 2025: SMT1500C {BASIC_DEVICE}"
        (mail,) = [m for m in world.mails_to(OWNER) if FIRST in str(m["Subject"])]
        assert body(mail).startswith("Dear team,")

    def test_the_reseller_gets_the_owners_reseller_template(self, world: World) -> None:
        # SPEC E10, N6: a customized reseller mail still carries every N6 detail
        mixed_fleet(world)
        connect(world)
        world.service.set_email_templates(
            OWNER, {"owner": OWNER_TEMPLATE, "reseller": RESELLER_TEMPLATE}
        )
        world.sweep()
        (custom,) = subjects_about(world, RESELLER, FIRST)
        assert custom.startswith("[Acme for partners] ")
        (default,) = subjects_about(world, RESELLER, BASIC_DEVICE)
        assert default.startswith("Warranty Expires on")

    def test_the_operators_templates_are_the_default_and_an_owner_can_go_back_to_it(
        self, world: World
    ) -> None:
        # the service's house templates replace the shipped ones for everyone
        house = templates_from_doc(
            {"owner": {**OWNER_TEMPLATE, "subject": "[Operator] $title: $serial"}}
        )
        world.service = Lifecycle(
            world.store,
            clock=world.clock,
            keyring=KEYRING,
            settings=DeliverySettings(keyring=KEYRING, templates=house),
        )
        mixed_fleet(world)
        world.service.set_email_templates(OWNER, {"owner": OWNER_TEMPLATE})
        assert world.service.set_email_templates(OWNER, None).email_templates is None
        world.sweep()
        for serial in (FIRST, BASIC_DEVICE):
            (subject,) = subjects_about(world, OWNER, serial)
            assert subject.startswith("[Operator] ")

    @pytest.mark.parametrize(
        "templates",
        [
            {"owner": {**OWNER_TEMPLATE, "subject": "$titel: $serial"}},  # a typo
            {"owner": {**OWNER_TEMPLATE, "subject": "two\nlines"}},
            {"owner": {**OWNER_TEMPLATE, "text": "costs 5$ now $serial"}},  # a stray $
            {"owner": {**OWNER_TEMPLATE, "text": "$title only"}},  # leaves out the device
            {"reseller": {**RESELLER_TEMPLATE, "text": "$model $serial $due $sku"}},  # N6
            {"owner": {"subject": "$title"}},  # parts missing
            {"ownr": OWNER_TEMPLATE},  # no such template
            {"owner_by_kind": {"BATTERY": OWNER_TEMPLATE}},  # no such kind
            ["owner"],
            "owner",
        ],
    )
    def test_bad_templates_are_refused_when_set_and_the_old_ones_stay(
        self, world: World, templates: object
    ) -> None:
        # SPEC E10, D5: validated when set; a refusal changes nothing
        mixed_fleet(world)
        kept = world.service.set_email_templates(OWNER, {"owner": OWNER_TEMPLATE}).email_templates
        with pytest.raises(InvalidInput):
            world.service.set_email_templates(OWNER, templates)  # type: ignore[arg-type]
        assert world.service.email_templates(OWNER) == kept
        world.sweep()
        (subject,) = subjects_about(world, OWNER, FIRST)
        assert subject.startswith("[Acme fleet] ")

    def test_templates_for_an_unknown_owner_are_refused(self, world: World) -> None:
        with pytest.raises(UnknownOwner):
            world.service.set_email_templates("nobody@nowhere.example", {"owner": OWNER_TEMPLATE})


class TestRetentionAndShareExpiryAreConfigurable:
    def service(self, world: World, **config: Any) -> None:
        world.service = Lifecycle(world.store, clock=world.clock, keyring=KEYRING, **config)

    def test_a_share_invitation_lasts_as_long_as_configured(self, world: World) -> None:
        # SPEC S2: "expire like reseller invitations (configurable, 7 days by default)"

        self.service(world, share_valid_for=timedelta(days=2))
        world.owner(OWNER)
        world.service.register_device(OWNER, FIRST, "SMT1500C", on=REGISTERED)
        made = world.service.share(FIRST, MSP, by=OWNER)
        assert made.share.expires_at == world.clock.now() + timedelta(days=2)
        world.sweep()
        (mail,) = world.mails_to(MSP)
        assert "expires on 05 November 2025 at 09:00 UTC" in body(mail)

        world.clock.advance(timedelta(days=2))
        with pytest.raises(TokenExpired):  # the link expires with the invitation
            world.service.accept_share_link(made.token)
        with pytest.raises(ShareExpired):  # and so does accepting while signed in
            world.service.accept_share(FIRST, MSP)
        assert world.service.shared_with_me(MSP) == ()

    def test_by_default_a_share_invitation_lasts_seven_days(self, world: World) -> None:
        world.owner(OWNER)
        world.service.register_device(OWNER, FIRST, "SMT1500C", on=REGISTERED)
        made = world.service.share(FIRST, MSP, by=OWNER)
        world.clock.advance(timedelta(days=7) - timedelta(seconds=1))
        assert world.service.accept_share_link(made.token).outcome.value == "accepted"

    def test_the_event_log_keeps_what_it_is_configured_to_keep(self, world: World) -> None:
        # SPEC S5: "The event log keeps 30 days (configurable)"
        self.service(world, log_retention=timedelta(days=3))
        world.owner(OWNER)
        world.service.register_device(OWNER, FIRST, "SMT1500C", on=REGISTERED)
        world.service.share(FIRST, MSP, by=OWNER)
        world.clock.advance(timedelta(days=3) - timedelta(seconds=1))
        assert [e.action for e in world.service.event_log(OWNER)] == [Action.SHARE]
        world.clock.advance(timedelta(seconds=1))
        assert world.service.event_log(OWNER) == ()
        world.clock.advance(timedelta(seconds=1))
        assert world.sweep().log_entries_pruned == 1
        assert world.store.log_of(OWNER, since=world.clock.now() - timedelta(days=365)) == ()

    def test_by_default_the_event_log_keeps_thirty_days(self, world: World) -> None:
        world.owner(OWNER)
        world.service.register_device(OWNER, FIRST, "SMT1500C", on=REGISTERED)
        world.service.share(FIRST, MSP, by=OWNER)
        world.clock.advance(timedelta(days=29))
        assert world.sweep().log_entries_pruned == 0
        assert [e.action for e in world.service.event_log(OWNER)] == [Action.SHARE]

    @pytest.mark.parametrize(
        "config",
        [
            {"log_retention": timedelta(0)},
            {"log_retention": timedelta(days=-1)},
            {"log_retention": timedelta.max},
            {"share_valid_for": timedelta(0)},
            {"share_valid_for": 7},
        ],
    )
    def test_a_duration_that_is_not_one_is_a_configuration_error(
        self, world: World, config: dict[str, object]
    ) -> None:

        with pytest.raises(ConfigurationError):
            self.service(world, **config)
