"""The reseller invitation mail and the owner's notices about it (SPEC I1, I4, I5, N6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from upslife.invitations import TokenAction

from .conftest import RESELLER, Fleet


def test_the_invitation_carries_only_the_company_name_and_signed_links(fleet: Fleet) -> None:
    # SPEC N6, I5
    links = fleet.service.invite_reseller(fleet.owner_id, RESELLER, invitation_id="inv-7")
    fleet.service.sweep(fleet.mail)
    (mail,) = fleet.mail.sent
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert mail["To"] == RESELLER
    assert "Acme Hosting" in str(mail["Subject"])
    assert links.accept_token in text
    assert links.decline_token in text
    for private in ("Ada Lovelace", "IT manager", "+33 1 23 45 67 89", fleet.owner_id):
        assert private not in text
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    fleet.service.sweep(fleet.mail)
    assert len(fleet.mail.sent) == 1  # sent once (SPEC N9)


def test_the_owner_is_told_when_the_reseller_declines(fleet: Fleet) -> None:
    # SPEC I4
    links = fleet.service.invite_reseller(fleet.owner_id, RESELLER)
    fleet.service.respond(links.decline_token, TokenAction.DECLINE)
    fleet.service.sweep(fleet.mail)
    subjects = {str(m["To"]): str(m["Subject"]) for m in fleet.mail.sent}
    assert subjects[fleet.owner_id] == "Your reseller declined the invitation"


def test_the_owner_is_told_when_the_reseller_unsubscribes(fleet: Fleet) -> None:
    # SPEC I4, I6
    links = fleet.service.invite_reseller(fleet.owner_id, RESELLER)
    fleet.service.respond(links.accept_token, TokenAction.ACCEPT)
    fleet.service.respond(links.unsubscribe_token, TokenAction.UNSUBSCRIBE)
    fleet.service.sweep(fleet.mail)
    owner = [m for m in fleet.mail.sent if m["To"] == fleet.owner_id]
    assert [str(m["Subject"]) for m in owner] == ["Your reseller unsubscribed from renewal support"]


def test_an_expired_invitation_is_reported_when_the_owner_invites_again(fleet: Fleet) -> None:
    # SPEC I2, I4, I6: the expiry is settled (and told) before a new invitation.
    fleet.service.invite_reseller(fleet.owner_id, RESELLER, invitation_id="old")
    fleet.clock.set(fleet.clock.now() + timedelta(days=8))
    fleet.service.invite_reseller(fleet.owner_id, "other@reseller.example", invitation_id="new")
    fleet.clock.set(datetime(2025, 11, 9, 9, tzinfo=UTC))
    fleet.service.sweep(fleet.mail)
    subjects = sorted(str(m["Subject"]) for m in fleet.mail.sent)
    assert "Your reseller invitation expired" in subjects
    assert fleet.store.get_invitation("old").state.value == "expired"


def test_an_invitation_no_longer_pending_is_not_mailed_late(fleet: Fleet) -> None:
    # SPEC I2: delivery that first runs after the 7 days sends no stale invitation.
    fleet.service.invite_reseller(fleet.owner_id, RESELLER, invitation_id="late")
    fleet.clock.set(fleet.clock.now() + timedelta(days=7))
    report = fleet.service.sweep(fleet.mail)
    assert [m["To"] for m in fleet.mail.sent] == [fleet.owner_id]  # told of the expiry (I4)
    assert report.delivery.suppressed == 1


def test_the_sweep_expires_an_invitation_after_seven_days_and_tells_the_owner(
    fleet: Fleet,
) -> None:
    # SPEC I2, I4
    start = fleet.clock.now()
    fleet.service.invite_reseller(fleet.owner_id, RESELLER, invitation_id="week")
    fleet.service.sweep(fleet.mail)  # the invitation goes out
    fleet.clock.set(start + timedelta(days=7) - timedelta(microseconds=1))
    fleet.service.sweep(fleet.mail)
    assert fleet.store.get_invitation("week").state.value == "pending"
    fleet.clock.set(start + timedelta(days=7))
    fleet.service.sweep(fleet.mail)
    assert fleet.store.get_invitation("week").state.value == "expired"
    owner = [str(m["Subject"]) for m in fleet.mail.sent if m["To"] == fleet.owner_id]
    assert owner == ["Your reseller invitation expired"]
    fleet.service.sweep(fleet.mail)  # once
    assert len([m for m in fleet.mail.sent if m["To"] == fleet.owner_id]) == 1
