"""The reseller connection, as an executable spec (SPEC I1–I4, I6, I7, N7, D1).

Signed link tokens (SPEC I5) are in ``test_tokens.py``.
"""

from __future__ import annotations

import doctest
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

import upslife.invitations
from upslife.errors import (
    InvalidEmail,
    InvalidInput,
    InvitationAlreadyAccepted,
    InvitationCancelled,
    InvitationDeclined,
    InvitationDisconnected,
    InvitationError,
    InvitationExpired,
    InvitationNotAccepted,
    InvitationNotSettled,
    InvitationOptedOut,
    InvitationTimeReversed,
    NaiveDatetime,
    ResellerAlreadyInvited,
    RuleViolation,
    UpslifeError,
)
from upslife.invitations import (
    INVITATION_LIFETIME,
    Invitation,
    InvitationState,
    OwnerNotice,
    OwnerNoticeKind,
    ResellerPrompt,
    accept,
    cancel,
    decline,
    disconnect,
    expire,
    invite,
    is_connected,
    opt_out,
    settle,
    should_prompt_reseller,
    unsubscribe,
)

S = InvitationState
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)
OWNER = "owner-1"
RESELLER = "sales@reseller.example"
COMPANY = "Acme Ltd"

# What each state answers to a step that needs a PENDING invitation (SPEC I3), and to one
# that needs an ACCEPTED connection (its PENDING entry). Written out here, independently of
# the implementation, so the table itself is the spec.
REFUSAL: dict[InvitationState, type[InvitationError]] = {
    S.PENDING: InvitationNotAccepted,
    S.ACCEPTED: InvitationAlreadyAccepted,
    S.EXPIRED: InvitationExpired,
    S.CANCELLED: InvitationCancelled,
    S.DECLINED: InvitationDeclined,
    S.DISCONNECTED: InvitationDisconnected,
    S.OPTED_OUT: InvitationOptedOut,
}
NOTICE_OF: dict[InvitationState, OwnerNoticeKind] = {
    S.DECLINED: OwnerNoticeKind.DECLINED,
    S.EXPIRED: OwnerNoticeKind.EXPIRED,
    S.OPTED_OUT: OwnerNoticeKind.OPTED_OUT,
}


def sent(at: datetime = T0, *, invitation_id: str = "inv-1") -> Invitation:
    """A fresh PENDING invitation sent at ``at``."""
    return invite(OWNER, RESELLER, COMPANY, at, current=None, invitation_id=invitation_id)


def in_state(state: InvitationState, at: datetime = T0) -> Invitation:
    """An invitation sent at ``at`` and brought into ``state`` by the public transitions."""
    pending = sent(at)
    responded = at + HOUR
    if state is S.PENDING:
        return pending
    if state is S.ACCEPTED:
        return accept(pending, responded)
    if state is S.DECLINED:
        return decline(pending, responded)[0]
    if state is S.CANCELLED:
        return cancel(pending, responded)
    if state is S.EXPIRED:
        return expire(pending, pending.expires_at)[0]
    if state is S.DISCONNECTED:
        return disconnect(accept(pending, responded), responded + HOUR)
    return opt_out(accept(pending, responded), responded + HOUR)[0]


aware_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.timezones()
)
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10))


# --------------------------------------------------------------------------- the value


class TestInvitationValue:
    def test_the_state_names_and_values_are_fixed_for_other_modules(self) -> None:
        # SPEC I1
        assert {s.name: s.value for s in InvitationState} == {
            "PENDING": "pending",
            "ACCEPTED": "accepted",
            "DECLINED": "declined",
            "EXPIRED": "expired",
            "CANCELLED": "cancelled",
            "DISCONNECTED": "disconnected",
            "OPTED_OUT": "opted-out",
        }

    def test_a_new_invitation_is_pending_and_carries_only_the_owners_company_name(self) -> None:
        # SPEC I1, N6: the invitation carries the company name and nothing else of the customer
        inv = sent()
        assert inv.state is S.PENDING
        assert inv.company_name == COMPANY
        assert {f.name for f in attrs.fields(Invitation)} == {
            "id",
            "owner_id",
            "reseller_email",
            "company_name",
            "sent_at",
            "state",
            "responded_at",
            "ended_at",
        }

    def test_instants_are_stored_in_utc(self) -> None:
        # SPEC D1
        paris = datetime(2025, 3, 1, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
        inv = sent(paris)
        assert inv.sent_at == T0
        assert inv.sent_at.tzinfo is UTC

    def test_a_malformed_reseller_email_is_refused(self) -> None:
        with pytest.raises(InvalidEmail):
            invite(OWNER, "not an email", COMPANY, T0, current=None, invitation_id="inv-1")

    @pytest.mark.parametrize("blank", ["", "   "])
    def test_a_blank_company_name_is_refused(self, blank: str) -> None:
        with pytest.raises(InvalidInput):
            invite(OWNER, RESELLER, blank, T0, current=None, invitation_id="inv-1")

    def test_an_invitation_whose_instants_contradict_its_state_cannot_be_built(self) -> None:
        inv = sent()
        with pytest.raises(InvalidInput):
            attrs.evolve(inv, state=S.ACCEPTED)  # accepted, but when?
        with pytest.raises(InvalidInput):
            attrs.evolve(inv, state=S.ACCEPTED, responded_at=inv.expires_at)  # too late
        with pytest.raises(InvalidInput):
            attrs.evolve(inv, state=S.EXPIRED, responded_at=inv.expires_at - MICROSECOND)
        with pytest.raises(InvalidInput):
            attrs.evolve(inv, state=S.DECLINED, responded_at=T0 - HOUR)  # before it was sent
        accepted = accept(inv, T0 + HOUR)
        with pytest.raises(InvalidInput):
            attrs.evolve(accepted, state=S.DISCONNECTED, ended_at=T0)  # ended before accepted


# --------------------------------------------------------------------------- I1


class TestOneResellerAtATime:
    # SPEC I1
    def test_inviting_while_an_invitation_is_pending_is_refused(self) -> None:
        current = sent()
        with pytest.raises(ResellerAlreadyInvited, match="cancel it first") as refused:
            invite(
                OWNER,
                "other@reseller.example",
                COMPANY,
                T0 + HOUR,
                current=current,
                invitation_id="inv-2",
            )
        assert refused.value.invitation_id == current.id

    # SPEC I1
    def test_inviting_while_connected_is_refused(self) -> None:
        current = in_state(S.ACCEPTED)
        with pytest.raises(ResellerAlreadyInvited, match="disconnect first"):
            invite(
                OWNER,
                "other@reseller.example",
                COMPANY,
                T0 + 2 * HOUR,
                current=current,
                invitation_id="inv-2",
            )

    # SPEC I1
    def test_after_cancelling_the_owner_can_invite_another_reseller(self) -> None:
        cancelled = cancel(sent(), T0 + HOUR)
        new = invite(
            OWNER,
            "other@reseller.example",
            COMPANY,
            T0 + HOUR,
            current=cancelled,
            invitation_id="inv-2",
        )
        assert new.state is S.PENDING
        assert new.reseller_email == "other@reseller.example"

    # SPEC I1
    @pytest.mark.parametrize("state", [S.DECLINED, S.EXPIRED, S.CANCELLED])
    def test_an_invitation_that_ended_unanswered_does_not_block_a_new_one(
        self, state: InvitationState
    ) -> None:
        current = in_state(state)
        new = invite(
            OWNER, RESELLER, COMPANY, current.last_at, current=current, invitation_id="inv-2"
        )
        assert new.state is S.PENDING

    # SPEC I1, I2
    def test_an_expired_invitation_still_pending_in_storage_must_be_settled_first(self) -> None:
        stale = sent()
        with pytest.raises(InvitationNotSettled):
            invite(OWNER, RESELLER, COMPANY, stale.expires_at, current=stale, invitation_id="inv-2")
        settled, notice = settle(stale, stale.expires_at)
        assert settled.state is S.EXPIRED
        assert notice is not None
        new = invite(
            OWNER, RESELLER, COMPANY, stale.expires_at, current=settled, invitation_id="inv-2"
        )
        assert new.state is S.PENDING

    def test_the_current_invitation_must_be_the_same_owners(self) -> None:
        current = cancel(sent(), T0 + HOUR)
        with pytest.raises(InvalidInput, match="belongs to owner"):
            invite("owner-2", RESELLER, COMPANY, T0 + HOUR, current=current, invitation_id="x")

    def test_a_new_invitation_needs_a_new_id(self) -> None:
        current = cancel(sent(), T0 + HOUR)
        with pytest.raises(InvalidInput, match="already used"):
            invite(OWNER, RESELLER, COMPANY, T0 + HOUR, current=current, invitation_id="inv-1")


# --------------------------------------------------------------------------- I2


class TestSevenDayExpiry:
    # SPEC I2
    def test_an_invitation_expires_seven_times_24_hours_after_it_was_sent(self) -> None:
        assert sent().expires_at == T0 + timedelta(hours=7 * 24)
        assert timedelta(hours=7 * 24) == INVITATION_LIFETIME

    # SPEC I2
    def test_accepting_one_microsecond_before_the_expiry_works(self) -> None:
        inv = sent()
        accepted = accept(inv, T0 + timedelta(hours=7 * 24) - MICROSECOND)
        assert accepted.state is S.ACCEPTED
        assert accepted.accepted_at == T0 + timedelta(hours=7 * 24) - MICROSECOND

    # SPEC I2, I3
    def test_accepting_at_the_expiry_instant_fails_with_the_expired_error(self) -> None:
        inv = sent()
        with pytest.raises(InvitationExpired) as refused:
            accept(inv, T0 + timedelta(hours=7 * 24))
        assert refused.value.invitation_id == inv.id

    # SPEC I2
    def test_seven_days_are_elapsed_time_across_a_daylight_saving_change(self) -> None:
        # Europe/Paris moves to summer time on 2025-03-30: 7 wall-clock days after
        # 2025-03-27 10:00 is only 6 days 23 hours of elapsed time.
        paris = ZoneInfo("Europe/Paris")
        at = datetime(2025, 3, 27, 10, 0, tzinfo=paris)
        inv = sent(at)
        wall_clock_week = datetime(2025, 4, 3, 10, 0, tzinfo=paris)
        assert accept(inv, wall_clock_week).state is S.ACCEPTED
        with pytest.raises(InvitationExpired):
            accept(inv, wall_clock_week + HOUR)

    # SPEC I2
    @given(sent_at=aware_instants, after=offsets)
    def test_accepting_works_exactly_when_less_than_seven_days_have_passed(
        self, sent_at: datetime, after: timedelta
    ) -> None:
        inv = sent(sent_at)
        now = sent_at.astimezone(UTC) + after  # elapsed time: add in UTC, not on the wall clock
        if after < INVITATION_LIFETIME:
            assert accept(inv, now).state is S.ACCEPTED
        else:
            with pytest.raises(InvitationExpired):
                accept(inv, now)

    # SPEC I2
    def test_the_state_shown_for_a_stale_pending_invitation_is_expired(self) -> None:
        inv = sent()
        assert inv.state_at(inv.expires_at - MICROSECOND) is S.PENDING
        assert inv.state_at(inv.expires_at) is S.EXPIRED
        assert inv.state is S.PENDING  # stored state moves only through expire/settle


# --------------------------------------------------------------------------- I3


class TestRefusedAcceptance:
    # SPEC I3
    @pytest.mark.parametrize(
        ("state", "error"),
        [
            (S.EXPIRED, InvitationExpired),
            (S.CANCELLED, InvitationCancelled),
            (S.DECLINED, InvitationDeclined),
            (S.DISCONNECTED, InvitationDisconnected),
            (S.OPTED_OUT, InvitationOptedOut),
            (S.ACCEPTED, InvitationAlreadyAccepted),
        ],
    )
    def test_accepting_fails_with_a_distinct_typed_error_that_names_the_invitation(
        self, state: InvitationState, error: type[InvitationError]
    ) -> None:
        inv = in_state(state)
        with pytest.raises(error) as refused:
            accept(inv, inv.last_at + MICROSECOND)
        assert type(refused.value) is error
        assert refused.value.invitation_id == inv.id
        assert refused.value.action == "accept"

    # SPEC I3
    def test_an_invitation_still_pending_in_storage_but_past_expiry_is_refused_as_expired(
        self,
    ) -> None:
        inv = sent()
        with pytest.raises(InvitationExpired):
            accept(inv, inv.expires_at + timedelta(days=30))

    # SPEC I3
    def test_the_refusal_errors_are_distinct_rule_violations_under_one_base(self) -> None:
        errors = set(REFUSAL.values())
        assert len(errors) == len(REFUSAL)
        for error in errors:
            assert issubclass(error, InvitationError)
        assert issubclass(InvitationError, RuleViolation)
        assert issubclass(InvitationError, UpslifeError)

    # SPEC I3
    def test_an_accepted_invitation_cannot_be_accepted_again(self) -> None:
        accepted = in_state(S.ACCEPTED)
        with pytest.raises(InvitationAlreadyAccepted):
            accept(accepted, T0 + 2 * HOUR)

    # SPEC I3
    @pytest.mark.parametrize("state", [s for s in S if s is not S.PENDING])
    @pytest.mark.parametrize("step", [decline, cancel], ids=["decline", "cancel"])
    def test_decline_and_cancel_need_a_pending_invitation_too(
        self, state: InvitationState, step: Callable[[Invitation, datetime], object]
    ) -> None:
        inv = in_state(state)
        with pytest.raises(REFUSAL[state]):
            step(inv, inv.last_at)

    # SPEC I1
    @pytest.mark.parametrize("state", [s for s in S if s is not S.ACCEPTED])
    @pytest.mark.parametrize("step", [disconnect, opt_out], ids=["disconnect", "opt_out"])
    def test_disconnect_and_opt_out_need_an_accepted_connection(
        self, state: InvitationState, step: Callable[[Invitation, datetime], object]
    ) -> None:
        inv = in_state(state)
        with pytest.raises(REFUSAL[state]):
            step(inv, inv.last_at)

    # SPEC I1
    def test_a_pending_invitation_past_its_expiry_cannot_be_disconnected_either(self) -> None:
        inv = sent()
        with pytest.raises(InvitationExpired):
            disconnect(inv, inv.expires_at)


# --------------------------------------------------------------------------- I4


class TestOwnerNotices:
    # SPEC I4
    def test_the_owner_is_told_when_the_reseller_declines(self) -> None:
        declined, notice = decline(sent(), T0 + HOUR)
        assert declined.state is S.DECLINED
        assert notice == OwnerNotice(OwnerNoticeKind.DECLINED, "inv-1", OWNER, RESELLER, T0 + HOUR)

    # SPEC I4
    def test_the_owner_is_told_when_the_invitation_expires(self) -> None:
        inv = sent()
        expired, notice = expire(inv, inv.expires_at + HOUR)
        assert expired.state is S.EXPIRED
        assert expired.responded_at == inv.expires_at + HOUR
        assert notice == OwnerNotice(
            OwnerNoticeKind.EXPIRED, "inv-1", OWNER, RESELLER, inv.expires_at + HOUR
        )

    # SPEC I4
    def test_the_owner_is_told_when_the_reseller_opts_out(self) -> None:
        opted_out, notice = opt_out(in_state(S.ACCEPTED), T0 + 2 * HOUR)
        assert opted_out.state is S.OPTED_OUT
        assert notice.kind is OwnerNoticeKind.OPTED_OUT
        assert notice.at == T0 + 2 * HOUR

    # SPEC I4
    def test_the_sweep_before_the_expiry_changes_nothing_and_tells_nobody(self) -> None:
        inv = sent()
        assert expire(inv, inv.expires_at - MICROSECOND) == (inv, None)
        assert settle(inv, inv.expires_at - MICROSECOND) == (inv, None)

    # SPEC I4
    @pytest.mark.parametrize("state", [s for s in S if s is not S.PENDING])
    def test_the_sweep_refuses_an_invitation_that_is_not_pending(
        self, state: InvitationState
    ) -> None:
        inv = in_state(state)
        with pytest.raises(REFUSAL[state]):
            expire(inv, inv.last_at + timedelta(days=30))

    # SPEC I4
    @pytest.mark.parametrize("state", [s for s in S if s is not S.PENDING])
    def test_settling_an_invitation_that_left_pending_changes_nothing(
        self, state: InvitationState
    ) -> None:
        inv = in_state(state)
        assert settle(inv, inv.last_at + timedelta(days=30)) == (inv, None)

    # SPEC I4
    def test_cancel_accept_and_disconnect_send_no_owner_notice(self) -> None:
        # They return a bare Invitation: there is no notice to deliver.
        assert isinstance(cancel(sent(), T0 + HOUR), Invitation)
        assert isinstance(accept(sent(), T0 + HOUR), Invitation)
        assert isinstance(disconnect(in_state(S.ACCEPTED), T0 + 2 * HOUR), Invitation)


# --------------------------------------------------------------------------- unsubscribe


class TestUnsubscribeLink:
    # SPEC I1, I4: the Unsubscribe link of the invitation email declines it
    def test_unsubscribing_from_a_pending_invitation_declines_it(self) -> None:
        inv, notice = unsubscribe(sent(), T0 + HOUR)
        assert inv.state is S.DECLINED
        assert notice is not None
        assert notice.kind is OwnerNoticeKind.DECLINED

    # SPEC I1, I4
    def test_unsubscribing_from_a_connection_opts_out(self) -> None:
        inv, notice = unsubscribe(in_state(S.ACCEPTED), T0 + 2 * HOUR)
        assert inv.state is S.OPTED_OUT
        assert notice is not None
        assert notice.kind is OwnerNoticeKind.OPTED_OUT

    # SPEC I5: unsubscribe links are reusable
    @pytest.mark.parametrize(
        "state", [S.DECLINED, S.EXPIRED, S.CANCELLED, S.DISCONNECTED, S.OPTED_OUT]
    )
    def test_unsubscribing_again_or_after_the_end_changes_nothing(
        self, state: InvitationState
    ) -> None:
        inv = in_state(state)
        assert unsubscribe(inv, inv.last_at + HOUR) == (inv, None)

    # SPEC I2, I4
    def test_unsubscribing_from_an_expired_pending_invitation_leaves_it_to_the_sweep(
        self,
    ) -> None:
        inv = sent()
        assert unsubscribe(inv, inv.expires_at) == (inv, None)
        assert expire(inv, inv.expires_at)[0].state is S.EXPIRED


# --------------------------------------------------------------------------- I6


class TestReconnecting:
    # SPEC I6
    @pytest.mark.parametrize("state", [S.DISCONNECTED, S.OPTED_OUT])
    def test_after_the_connection_ended_a_new_invitation_and_acceptance_are_needed(
        self, state: InvitationState
    ) -> None:
        ended = in_state(state)
        assert not is_connected(ended)
        with pytest.raises(REFUSAL[state]):
            accept(ended, ended.last_at)
        again = invite(
            OWNER, RESELLER, COMPANY, ended.last_at, current=ended, invitation_id="inv-2"
        )
        assert again.state is S.PENDING
        assert not is_connected(again)
        assert is_connected(accept(again, ended.last_at + HOUR))

    # SPEC I6, I3
    def test_the_old_links_stay_dead_after_reconnecting(self) -> None:
        old = in_state(S.DISCONNECTED)
        new = accept(
            invite(OWNER, RESELLER, COMPANY, old.last_at, current=old, invitation_id="inv-2"),
            old.last_at + HOUR,
        )
        assert is_connected(new)
        with pytest.raises(InvitationDisconnected):
            accept(old, old.last_at + HOUR)


# --------------------------------------------------------------------------- I7


class TestResellerPrompt:
    # SPEC I7
    def test_the_reseller_page_is_offered_when_no_reseller_is_invited(self) -> None:
        assert should_prompt_reseller(ResellerPrompt(), None, T0)

    # SPEC I7
    @pytest.mark.parametrize("state", list(S))
    def test_not_interested_stops_the_prompt_whatever_the_connection(
        self, state: InvitationState
    ) -> None:
        inv = in_state(state)
        assert not should_prompt_reseller(ResellerPrompt(not_interested=True), inv, inv.last_at)

    # SPEC I7
    @pytest.mark.parametrize("state", list(S))
    def test_an_interested_owner_is_prompted_unless_a_reseller_is_invited_or_connected(
        self, state: InvitationState
    ) -> None:
        inv = in_state(state)
        prompted = should_prompt_reseller(ResellerPrompt(), inv, inv.last_at)
        assert prompted is (state not in {S.PENDING, S.ACCEPTED})

    # SPEC I7
    def test_a_stale_pending_invitation_no_longer_suppresses_the_prompt(self) -> None:
        inv = sent()
        assert not should_prompt_reseller(ResellerPrompt(), inv, inv.expires_at - MICROSECOND)
        assert should_prompt_reseller(ResellerPrompt(), inv, inv.expires_at)

    # SPEC I7: the choice changes nothing else
    def test_not_interested_changes_nothing_else(self) -> None:
        prompt = ResellerPrompt().choose(not_interested=True)
        assert prompt == ResellerPrompt(not_interested=True)
        assert prompt.choose(not_interested=False) == ResellerPrompt()
        # The owner can still invite, and a connection still connects: no transition reads
        # the preference.
        inv = accept(sent(), T0 + HOUR)
        assert is_connected(inv)

    def test_the_choice_is_a_boolean(self) -> None:
        with pytest.raises(TypeError):
            ResellerPrompt(not_interested="yes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- N7


class TestConnection:
    # SPEC N7: only an ACCEPTED connection may receive anything
    @pytest.mark.parametrize("state", list(S))
    def test_only_an_accepted_invitation_is_a_connection(self, state: InvitationState) -> None:
        assert is_connected(in_state(state)) is (state is S.ACCEPTED)

    # SPEC N7
    def test_no_invitation_is_no_connection(self) -> None:
        assert not is_connected(None)


# --------------------------------------------------------------------------- time and D1


class TestTimeOnlyMovesForward:
    @pytest.mark.parametrize(
        "step",
        [accept, decline, cancel, expire, settle, unsubscribe],
        ids=["accept", "decline", "cancel", "expire", "settle", "unsubscribe"],
    )
    def test_a_step_dated_before_the_invitation_was_sent_is_refused(
        self, step: Callable[[Invitation, datetime], object]
    ) -> None:
        inv = sent()
        with pytest.raises(InvitationTimeReversed):
            step(inv, T0 - MICROSECOND)

    def test_a_step_dated_before_the_last_change_is_refused(self) -> None:
        accepted = in_state(S.ACCEPTED)
        with pytest.raises(InvitationTimeReversed):
            disconnect(accepted, accepted.last_at - MICROSECOND)
        with pytest.raises(InvitationTimeReversed):
            opt_out(accepted, accepted.last_at - MICROSECOND)
        assert disconnect(accepted, accepted.last_at).state is S.DISCONNECTED

    def test_a_new_invitation_cannot_be_dated_before_the_current_ones_last_change(self) -> None:
        cancelled = cancel(sent(), T0 + HOUR)
        with pytest.raises(InvitationTimeReversed):
            invite(OWNER, RESELLER, COMPANY, T0, current=cancelled, invitation_id="inv-2")

    def test_time_reversed_is_invalid_input(self) -> None:
        assert issubclass(InvitationTimeReversed, InvalidInput)


class TestNaiveDatetimes:
    # SPEC D1
    def test_a_naive_instant_is_refused_when_inviting(self) -> None:
        with pytest.raises(NaiveDatetime):
            invite(
                OWNER,
                RESELLER,
                COMPANY,
                datetime(2025, 3, 1, 9, 0),
                current=None,
                invitation_id="inv-1",
            )

    # SPEC D1
    @pytest.mark.parametrize(
        "step",
        [accept, decline, cancel, expire, settle, unsubscribe],
        ids=["accept", "decline", "cancel", "expire", "settle", "unsubscribe"],
    )
    def test_a_naive_instant_is_refused_by_every_step(
        self, step: Callable[[Invitation, datetime], object]
    ) -> None:
        with pytest.raises(NaiveDatetime):
            step(sent(), datetime(2025, 3, 2, 9, 0))

    # SPEC D1
    def test_a_naive_instant_is_refused_when_asking_whether_to_prompt(self) -> None:
        with pytest.raises(NaiveDatetime):
            should_prompt_reseller(ResellerPrompt(), None, datetime(2025, 3, 2))

    # SPEC D1
    def test_any_fixed_offset_is_accepted_and_compared_as_an_instant(self) -> None:
        east = timezone(timedelta(hours=14))
        inv = sent(datetime(2025, 3, 1, 23, 0, tzinfo=east))  # 09:00 UTC
        assert inv.sent_at == T0


def test_the_docstring_examples_hold() -> None:
    failures, tried = doctest.testmod(upslife.invitations)
    assert tried > 0
    assert failures == 0


# --------------------------------------------------------------------------- the state machine

# Steps an owner's invitation can be put through, by the name the machine logs them under.
Step = Callable[[Invitation, datetime], object]
STEPS: dict[str, Step] = {
    "accept": accept,
    "decline": decline,
    "cancel": cancel,
    "expire": expire,
    "settle": settle,
    "disconnect": disconnect,
    "opt_out": opt_out,
    "unsubscribe": unsubscribe,
}
NO_CHANGE = None
Expected = InvitationState | type[UpslifeError] | None


def expected_outcome(step: str, inv: Invitation, now: datetime) -> Expected:
    """The model: the state a step leads to, ``NO_CHANGE``, or the error it must raise."""
    if now < (inv.ended_at or inv.responded_at or inv.sent_at):
        return InvitationTimeReversed
    stale = inv.state is S.PENDING and now >= inv.sent_at + timedelta(hours=7 * 24)
    effective = S.EXPIRED if stale else inv.state
    pending_steps = {"accept": S.ACCEPTED, "decline": S.DECLINED, "cancel": S.CANCELLED}
    if step in pending_steps:
        return pending_steps[step] if effective is S.PENDING else REFUSAL[effective]
    if step == "expire":
        if inv.state is not S.PENDING:
            return REFUSAL[inv.state]
        return S.EXPIRED if stale else NO_CHANGE
    if step == "settle":
        return S.EXPIRED if stale else NO_CHANGE
    if step in {"disconnect", "opt_out"}:
        if inv.state is S.ACCEPTED:
            return S.DISCONNECTED if step == "disconnect" else S.OPTED_OUT
        return REFUSAL[effective]
    assert step == "unsubscribe"
    if inv.state is S.ACCEPTED:
        return S.OPTED_OUT
    return S.DECLINED if effective is S.PENDING else NO_CHANGE


T = TypeVar("T")


def attempt(call: Callable[[], T]) -> tuple[T | None, UpslifeError | None]:
    """``(result, None)``, or ``(None, error)`` when the call refuses with a typed error."""
    try:
        return call(), None
    except UpslifeError as refused:
        return None, refused


RESELLERS = st.sampled_from(["a@one.example", "b@two.example", "c@three.example"])
TIME_STEPS = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(seconds=2)),
)
BOUNDARY_OFFSETS = st.one_of(
    st.integers(-2, 2).map(lambda n: n * MICROSECOND),
    st.sampled_from([-HOUR, timedelta(0), HOUR]),
)


class OneOwnersReseller(RuleBasedStateMachine):
    """One owner's invitations driven through every step while time moves on (SPEC I1–I4, I6).

    The machine keeps a model of the stored invitations; each step's outcome is predicted
    by :func:`expected_outcome`, a refusal must raise exactly the predicted error and change
    nothing, and the invariants hold after every step.
    """

    invitations: Bundle[str] = Bundle("invitations")

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.clock_high_water = T0
        self.store: dict[str, Invitation] = {}
        self.current_id: str | None = None
        self.notices: list[OwnerNotice] = []
        self.ever_accepted: set[str] = set()
        self.sent_count = 0

    # ---- time

    @rule(delta=TIME_STEPS)
    def time_passes(self, delta: timedelta) -> None:
        self.now += delta

    @precondition(
        lambda self: (
            self.current is not None
            and self.current.state is S.PENDING
            and self.current.expires_at - HOUR >= self.now
        )
    )
    @rule(offset=BOUNDARY_OFFSETS)
    def time_reaches_the_expiry_boundary(self, offset: timedelta) -> None:
        assert self.current is not None
        self.now = self.current.expires_at + offset

    # ---- the owner invites

    @property
    def current(self) -> Invitation | None:
        return None if self.current_id is None else self.store[self.current_id]

    @initialize(target=invitations, email=RESELLERS)
    def owner_sends_a_first_invitation(self, email: str) -> MultipleResults[str]:
        return self._invite(email)

    @rule(target=invitations, email=RESELLERS)
    def owner_invites(self, email: str) -> MultipleResults[str]:
        # SPEC I1, I6
        return self._invite(email)

    def _invite(self, email: str) -> MultipleResults[str]:
        current = self.current
        new_id = f"inv-{self.sent_count + 1}"
        expected: type[UpslifeError] | None = None
        if current is not None:
            if current.state is S.ACCEPTED:
                expected = ResellerAlreadyInvited
            elif current.state is S.PENDING:
                stale = self.now >= current.sent_at + timedelta(hours=7 * 24)
                expected = InvitationNotSettled if stale else ResellerAlreadyInvited
        new, refused = attempt(
            lambda: invite(OWNER, email, COMPANY, self.now, current=current, invitation_id=new_id)
        )
        if refused is not None:
            event(f"invite -> {type(refused).__name__}")
            assert type(refused) is expected, (refused, expected)
            assert self.current == current
            return multiple()
        event("invite -> PENDING")
        assert new is not None
        assert expected is None, f"invite should have raised {expected}"
        assert new.state is S.PENDING
        assert new.sent_at == self.now
        self.sent_count += 1
        self.store[new.id] = new
        self.current_id = new.id
        return multiple(new.id)

    # ---- steps on any invitation the owner ever sent

    def _step(self, step: str, invitation_id: str, at: datetime | None = None) -> None:
        before = self.store[invitation_id]
        now = self.now if at is None else at
        expected = expected_outcome(step, before, now)
        result, refused = attempt(lambda: STEPS[step](before, now))
        if refused is not None:
            event(f"{step} -> {type(refused).__name__}")
            assert isinstance(expected, type), f"{step} refused with {refused!r}"
            assert type(refused) is expected, (refused, expected)
            if isinstance(refused, InvitationError):
                assert refused.invitation_id == invitation_id
            assert self.store[invitation_id] is before  # refusals change nothing
            return
        assert not isinstance(expected, type), f"{step} should have raised {expected}"
        after, notice = result if isinstance(result, tuple) else (result, None)
        event(f"{step} -> {'no change' if expected is NO_CHANGE else after.state.name}")
        assert isinstance(after, Invitation)
        if expected is NO_CHANGE:
            assert after == before
            assert notice is None
            return
        assert after.state is expected
        assert after.last_at == now
        if step == "accept":
            assert invitation_id not in self.ever_accepted  # never accepted twice
            self.ever_accepted.add(invitation_id)
        kind = NOTICE_OF.get(after.state)
        if kind is None:
            assert notice is None
        else:
            assert notice == OwnerNotice(kind, invitation_id, OWNER, after.reseller_email, now)
            self.notices.append(notice)
        self.store[invitation_id] = after

    @rule(invitation_id=invitations)
    def reseller_accepts(self, invitation_id: str) -> None:
        # SPEC I2, I3
        self._step("accept", invitation_id)

    @rule(invitation_id=invitations)
    def reseller_declines(self, invitation_id: str) -> None:
        # SPEC I4
        self._step("decline", invitation_id)

    @rule(invitation_id=invitations)
    def owner_cancels(self, invitation_id: str) -> None:
        # SPEC I1
        self._step("cancel", invitation_id)

    @rule(invitation_id=invitations)
    def sweep_expires(self, invitation_id: str) -> None:
        # SPEC I2, I4
        self._step("expire", invitation_id)

    @rule(invitation_id=invitations)
    def application_settles(self, invitation_id: str) -> None:
        self._step("settle", invitation_id)

    @rule(invitation_id=invitations)
    def owner_disconnects(self, invitation_id: str) -> None:
        # SPEC I6
        self._step("disconnect", invitation_id)

    @rule(invitation_id=invitations)
    def reseller_opts_out(self, invitation_id: str) -> None:
        # SPEC I4, I6
        self._step("opt_out", invitation_id)

    @rule(invitation_id=invitations)
    def reseller_clicks_unsubscribe(self, invitation_id: str) -> None:
        self._step("unsubscribe", invitation_id)

    @rule(
        invitation_id=invitations,
        step=st.sampled_from(sorted(STEPS)),
        back=st.timedeltas(min_value=MICROSECOND, max_value=timedelta(days=9)),
    )
    def a_step_arrives_dated_in_the_past(
        self, invitation_id: str, step: str, back: timedelta
    ) -> None:
        self._step(step, invitation_id, at=self.store[invitation_id].last_at - back)

    # ---- invariants

    @invariant()
    def at_most_one_invitation_is_pending_or_accepted(self) -> None:
        # SPEC I1
        open_ = [i for i in self.store.values() if i.state in {S.PENDING, S.ACCEPTED}]
        assert len(open_) <= 1
        if open_:
            assert open_[0].id == self.current_id

    @invariant()
    def an_accepted_invitation_stays_accepted_or_ended(self) -> None:
        # SPEC I3, I6
        for invitation_id in self.ever_accepted:
            assert self.store[invitation_id].state in {S.ACCEPTED, S.DISCONNECTED, S.OPTED_OUT}

    @invariant()
    def time_only_moves_forward(self) -> None:
        assert self.now >= self.clock_high_water
        self.clock_high_water = self.now
        for inv in self.store.values():
            instants = [i for i in (inv.sent_at, inv.responded_at, inv.ended_at) if i]
            assert instants == sorted(instants)
            assert instants[-1] <= self.now

    @invariant()
    def the_owner_was_told_exactly_once_of_each_decline_expiry_and_opt_out(self) -> None:
        # SPEC I4
        for inv in self.store.values():
            told = [n.kind for n in self.notices if n.invitation_id == inv.id]
            assert told == ([NOTICE_OF[inv.state]] if inv.state in NOTICE_OF else [])

    @invariant()
    def only_an_accepted_invitation_is_connected(self) -> None:
        # SPEC N7
        connected = [i for i in self.store.values() if is_connected(i)]
        assert all(i.state is S.ACCEPTED for i in connected)


OneOwnersReseller.TestCase.settings = settings(
    OneOwnersReseller.TestCase.settings, stateful_step_count=30
)
TestOneOwnersReseller = OneOwnersReseller.TestCase
