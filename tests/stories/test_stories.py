"""Each story of the source documents, from the first call to what the person sees.

Every test drives :class:`~upslife.app.Lifecycle` on a real SQLite file or PostgreSQL
(``conftest.store``) and ends where the user ends: a report row, a mail in the outbox,
the owner's event log.
"""

from __future__ import annotations

import re
from datetime import date

import attrs
import pytest

from tests.stories.conftest import World, body
from upslife.entitlements import Plan
from upslife.errors import (
    InvitationDisconnected,
    ShareLimitReached,
    TokenReplayed,
)
from upslife.hardware.nut import NutTransport
from upslife.hardware.simulator import SimulatedTransport, SimulatedUps
from upslife.invitations import InvitationState, TokenAction
from upslife.notifications import DeliveryPreference, EventKind
from upslife.reports import (
    OPERATIONAL_FIELDS,
    inventory_rows,
    operational_rows,
    renewal_rows,
)
from upslife.sharing import Outcome

OWNER = "ops@acme.example"
RESELLER = "sales@partner.example"
MSP = "noc@msp.example"


def _token(text: str, path: str) -> str:
    found = re.search(rf"/{path}/(\S+)", text)
    assert found, f"no /{path}/ link in {text!r}"
    return found.group(1)


class TestPolledVitalsReachTheReports:
    def test_what_the_ups_reported_is_in_my_inventory_and_the_operational_report(
        self, world: World
    ) -> None:
        # SPEC R1, R3: register, poll, and the reports show the reading
        world.owner(OWNER)
        world.service.register_device(OWNER, "AS2312345678", "SMC1500IC", on=date(2025, 6, 1))
        ups = SimulatedUps.smart_ups_1500(serial="as2312345678")  # the UPS's own spelling
        transport = SimulatedTransport({"ups1": ups})

        report = world.service.poll(transport)

        assert report.updated == ("AS2312345678",)
        devices = list(world.service.report_devices(OWNER, user=OWNER))
        today = world.service.today_for(OWNER)
        (inventory,) = inventory_rows(devices, today)
        (operational,) = operational_rows(devices)
        assert inventory.status == "OL"
        assert inventory.load_percent == 17.6
        assert inventory.charge_percent == 100.0
        assert inventory.runtime_seconds == 57 * 60
        assert inventory.temperature_c == 24.5
        assert inventory.firmware_version == "UPS 15.5 (ID18)"
        assert inventory.update_available is True  # the catalog knows SMC 18.2 (SPEC R1)
        assert operational.status == "OL"
        assert operational.observed_at == world.clock.now()
        (renewal,) = renewal_rows(devices, today)
        assert not OPERATIONAL_FIELDS & set(type(renewal).__annotations__)  # SPEC R2

    def test_a_ups_read_through_a_real_upsd_shows_in_the_reports(
        self, world: World, nut_url: str
    ) -> None:
        # SPEC R1, R3: the same story against NUT's upsd serving a Smart-UPS 1500 dump
        world.owner(OWNER)
        world.service.register_device(OWNER, "AS2312345678", "SMT1500C", on=date(2025, 6, 1))
        with NutTransport.from_url(nut_url, timeout=5) as transport:
            report = world.service.poll(transport)
        assert report.updated == ("AS2312345678",)
        devices = list(world.service.report_devices(OWNER, user=OWNER))
        (inventory,) = inventory_rows(devices, world.service.today_for(OWNER))
        (operational,) = operational_rows(devices)
        assert (inventory.status, inventory.load_percent, inventory.charge_percent) == (
            "OL CHRG",
            17.6,
            100.0,
        )
        assert (inventory.runtime_seconds, inventory.temperature_c) == (3420, 24.5)
        assert inventory.firmware_version == operational.firmware_version == "UPS 15.5 (ID18)"
        assert operational.observed_at == world.clock.now()

    def test_a_device_found_by_any_spelling_of_its_serial(self, world: World) -> None:
        # every entry point takes the canonical serial
        world.owner("Ops@Acme.example")
        world.service.register_device(OWNER, "AS2399000111", "SMT1500C", on=date(2025, 6, 1))
        assert world.service.device("as2399000111").serial == "AS2399000111"
        assert "Standard" in world.service.explain(" as2399000111 ")
        world.service.issue_code("ORDER-1", "STANDARD", "1Y", 1, "installer@partner.example")
        world.service.assign_code("ORDER-1", "as2399000111", by="OPS@acme.example")
        assert world.service.coverage("AS2399000111").paid_until == date(2026, 12, 1)  # E4a


class TestTheResellerConnection:
    def test_an_accept_link_after_the_owner_disconnected_says_disconnected(
        self, world: World
    ) -> None:
        # SPEC I3: the distinct "disconnected" outcome, not "already used"
        world.owner(OWNER)
        links = world.service.invite_reseller(OWNER, RESELLER)
        world.sweep()
        (invitation,) = world.mails_to(RESELLER)
        accept = _token(body(invitation), "accept")
        assert accept == links.accept_token
        world.service.respond(accept, TokenAction.ACCEPT)
        with pytest.raises(TokenReplayed):
            world.service.respond(accept, TokenAction.ACCEPT)
        world.service.disconnect_reseller(OWNER)

        with pytest.raises(InvitationDisconnected):
            world.service.respond(accept, TokenAction.ACCEPT)

    def test_one_unsubscribe_from_a_digest_opts_out_of_every_customer_it_spoke_for(
        self, world: World
    ) -> None:
        # SPEC N10 x I5 x I4: three customers, one digest, one click
        owners = [f"ops@customer{i}.example" for i in range(3)]
        for i, owner in enumerate(owners):
            world.owner(owner, company=f"Customer {i}")
            world.service.register_device(owner, f"AS23000000{i}", "SMT1500C", on=date(2025, 6, 1))
            record = world.store.get_owner(owner)
            world.store.save_owner(
                attrs.evolve(record, reseller_delivery=DeliveryPreference.DAILY_DIGEST)
            )
            links = world.service.invite_reseller(owner, RESELLER)
            world.service.respond(links.accept_token, TokenAction.ACCEPT)
        # the trials end on 2025-12-01: their 30-day stage (2025-11-01) is the one due now
        world.sweep()
        digests = world.mails_to(RESELLER)  # the invitation mails are moot: all accepted
        assert len(digests) == 1, [m["Subject"] for m in world.mail.sent]
        unsubscribe = str(digests[0]["List-Unsubscribe"]).strip("<>")
        token = _token(unsubscribe, "unsubscribe")

        done = world.service.unsubscribe(token)

        assert len(done.invitations) == 3
        assert len(done.notices) == 3
        for owner in owners:
            current = world.store.current_invitation(owner)
            assert current is not None
            assert current.state is InvitationState.OPTED_OUT
        world.sweep()
        told = {str(m["To"]) for m in world.mail.sent if "unsubscribed" in str(m["Subject"])}
        assert told == set(owners)
        again = world.service.unsubscribe(token)  # reusable, tells no one twice
        assert again.notices == ()

    def test_a_reminder_is_for_the_current_plan_expiry_not_an_old_one(
        self, world: World
    ) -> None:
        # SPEC N8: the trial lapsed long ago; the license ends in 20 days
        world.owner(OWNER)
        world.service.register_device(OWNER, "AS2300000009", "SMT1500C", on=date(2022, 1, 10))
        world.clock.set(world.clock.now().replace(year=2024, month=12, day=1))
        world.service.issue_code("O-9", "STANDARD", "1Y", 1, "installer@partner.example")
        world.service.assign_code("O-9", "AS2300000009", by=OWNER)
        links = world.service.invite_reseller(OWNER, RESELLER)
        world.service.respond(links.accept_token, TokenAction.ACCEPT)
        world.clock.set(world.clock.now().replace(year=2025, month=11, day=11))

        notice = world.service.send_reminder("AS2300000009", EventKind.PLAN_EXPIRY, by=OWNER)

        assert notice.due == date(2025, 12, 1)


class TestSharingWithAManagedServiceUser:
    def test_share_accept_by_the_mailed_link_list_assign_and_the_log_shows_it(
        self, world: World
    ) -> None:
        # SPEC S2, S3, S5, E6
        world.owner(OWNER)
        world.service.register_device(OWNER, "AS2312345678", "SMT1500C", on=date(2025, 10, 1))
        world.service.share("AS2312345678", MSP, by=OWNER)
        world.sweep()
        (invitation,) = world.mails_to(MSP)
        token = _token(body(invitation), "share")
        view = world.service.view_share(token)
        assert view.company == "Acme Hosting"
        assert view.share.user == MSP
        assert world.service.shared_with_me(MSP) == ()  # viewing changed nothing

        accepted = world.service.accept_share_link(token)

        assert accepted.outcome.value == "accepted"
        (listed,) = world.service.shared_with_me(MSP)
        assert (listed.serial, listed.owner_id) == ("AS2312345678", OWNER)
        with pytest.raises(TokenReplayed):
            world.service.accept_share_link(token)
        world.service.issue_code("ORDER-7", Plan.ADVANCED, "1Y", 1, "installer@partner.example")
        world.service.assign_code("ORDER-7", "AS2312345678", by=MSP)
        log = world.service.event_log(OWNER)
        assert any(e.actor == MSP and e.action.name == "APPLY_LICENSE" for e in log)
        assert any(e.actor == MSP and e.action.name == "ACCEPT_SHARE" for e in log)

    def test_a_sixth_user_is_refused_and_the_refusal_is_logged(self, world: World) -> None:
        # SPEC S1, S5
        world.owner(OWNER)
        world.service.register_device(OWNER, "AS2312345678", "SMT1500C", on=date(2025, 10, 1))
        for i in range(5):
            world.service.share("AS2312345678", f"user{i}@msp.example", by=OWNER)
        with pytest.raises(ShareLimitReached):
            world.service.share("AS2312345678", "sixth@msp.example", by=OWNER)
        refused = [e for e in world.service.event_log(OWNER) if e.outcome is Outcome.REFUSED]
        assert len(refused) == 1
        assert refused[0].reason == "ShareLimitReached"

    def test_a_user_without_an_account_is_asked_to_sign_up_first(self, world: World) -> None:
        # SPEC S2: the library reports the state; nothing changes until they have one
        world.owner(OWNER)
        world.service.register_device(OWNER, "AS2312345678", "SMT1500C", on=date(2025, 10, 1))
        made = world.service.share("AS2312345678", MSP, by=OWNER, user_has_account=False)
        world.sweep()
        (invitation,) = world.mails_to(MSP)
        assert "sign up first" in body(invitation)

        first = world.service.accept_share_link(made.token)
        assert first.outcome.value == "sign-up-required"
        assert world.service.shared_with_me(MSP) == ()
        second = world.service.accept_share_link(made.token, user_has_account=True)
        assert second.outcome.value == "accepted"
