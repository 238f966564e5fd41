"""Device sharing with managed-service users: the executable spec of SPEC S1–S4 (and E10, D1).

Each class proves one rule; the comment ``# SPEC Sx`` marks the tests that prove it. The
state machine at the end drives random sequences of invitations, acceptances, revocations,
transfers, plan changes and time advances, and checks the invariants after every step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from upslife.entitlements import Plan
from upslife.errors import (
    AlreadyShared,
    DeviceNotOwned,
    FeatureNotInPlan,
    InstantOutOfOrder,
    InvalidInput,
    NaiveDatetime,
    NotFound,
    NotPermitted,
    RuleViolation,
    ShareExpired,
    ShareLimitReached,
    ShareNotFound,
    ShareNotPending,
    SignUpRequired,
    UpslifeError,
)
from upslife.notifications import Severity
from upslife.sharing import (
    DEFAULT_SHARE_EXPIRY,
    MAX_SHARED_USERS,
    PRIVILEGES,
    SYSTEM_ACTOR,
    Action,
    Decision,
    EventLog,
    LogEntry,
    Outcome,
    Role,
    ShareState,
    ShareVia,
    SharingState,
    accept_share,
    access,
    add_device,
    authorize,
    delete_device,
    expire_shares,
    invite_share,
    permit,
    record,
    remove_from_view,
    revoke,
    shared_users,
    transfer_ownership,
)

OWNER = "owner@example.com"
D1, D2, D3 = "AS1111111111", "AS2222222222", "AS3333333333"
USERS = tuple(f"msp{n}@example.net" for n in range(1, 9))
U1, U2, U3, U4, U5, U6, U7, U8 = USERS
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def fresh(*devices: str) -> SharingState:
    return SharingState.of(OWNER, devices or (D1, D2, D3))


def invite(
    state: SharingState,
    user: str,
    device: str = D1,
    *,
    at: datetime = T0,
    plan: Plan = Plan.STANDARD,
    via: ShareVia = ShareVia.EMAIL,
    has_account: bool = True,
    by: str | None = None,
    expiry: timedelta = DEFAULT_SHARE_EXPIRY,
) -> Decision:
    return invite_share(
        state,
        device,
        plan,
        user,
        at,
        via=via,
        user_has_account=has_account,
        expiry=expiry,
        by=by,
    )


def shared(state: SharingState, user: str, device: str = D1, at: datetime = T0) -> SharingState:
    """``state`` with ``user`` invited to and having accepted ``device`` at ``at``."""
    invited = invite(state, user, device, at=at).state
    return accept_share(invited, device, user, at, user_has_account=True).state


# --------------------------------------------------------------------------- S1


class TestSharingNeedsAPaidPlan:
    # SPEC S1, SPEC E10
    def test_a_device_on_basic_cannot_be_shared_and_the_error_names_standard(self) -> None:
        with pytest.raises(FeatureNotInPlan) as caught:
            invite(fresh(), U1, plan=Plan.BASIC)
        assert caught.value.required is Plan.STANDARD
        assert caught.value.plan is Plan.BASIC
        assert "Standard plan" in str(caught.value)

    # SPEC S1, SPEC E10
    @pytest.mark.parametrize("plan", [Plan.STANDARD, Plan.ADVANCED])
    def test_a_device_on_standard_or_advanced_can_be_shared(self, plan: Plan) -> None:
        decision = invite(fresh(), U1, plan=plan)
        assert decision.shares[-1].state is ShareState.PENDING

    # SPEC S1
    def test_only_the_owners_own_devices_can_be_shared(self) -> None:
        with pytest.raises(DeviceNotOwned):
            invite(fresh(D1), U1, D2)


class TestAtMostFiveDistinctUsers:
    @staticmethod
    def five_users() -> SharingState:
        state = fresh()
        for user in USERS[:5]:
            state = invite(state, user).state
        return state

    # SPEC S1
    def test_a_sixth_distinct_user_is_refused_with_share_limit_reached(self) -> None:
        state = self.five_users()
        with pytest.raises(ShareLimitReached) as caught:
            invite(state, U6, D2)
        assert caught.value.limit == MAX_SHARED_USERS == 5
        assert caught.value.users == frozenset(USERS[:5])
        assert caught.value.user == U6

    # SPEC S1
    def test_the_same_user_on_a_second_device_is_accepted(self) -> None:
        state = self.five_users()
        decision = invite(state, U1, D2)
        assert shared_users(decision.state, T0) == frozenset(USERS[:5])

    # SPEC S1
    def test_active_and_pending_users_both_count(self) -> None:
        state = fresh()
        for user in USERS[:3]:
            state = shared(state, user)
        for user in USERS[3:5]:
            state = invite(state, user, D2).state
        assert len(shared_users(state, T0)) == 5
        with pytest.raises(ShareLimitReached):
            invite(state, U6, D3)

    # SPEC S1, SPEC S2
    def test_an_expired_invitation_no_longer_counts(self) -> None:
        state = self.five_users()
        later = T0 + DEFAULT_SHARE_EXPIRY
        assert shared_users(state, later) == frozenset()
        assert invite(state, U6, at=later).shares[-1].user == U6

    # SPEC S1, SPEC S4
    def test_a_revoked_or_removed_share_frees_its_place(self) -> None:
        state = fresh()
        for user in USERS[:5]:
            state = shared(state, user)
        with pytest.raises(ShareLimitReached):
            invite(state, U6)
        after_revoke = revoke(state, D1, U1, OWNER, T0).state
        assert invite(after_revoke, U6).shares[-1].user == U6
        after_remove = remove_from_view(state, D1, U2, T0).state
        assert invite(after_remove, U6).shares[-1].user == U6

    # SPEC S1
    def test_the_count_is_per_owner_across_all_their_devices(self) -> None:
        state = fresh()
        for user, device in zip(USERS[:5], (D1, D2, D3, D1, D2), strict=True):
            state = invite(state, user, device).state
        with pytest.raises(ShareLimitReached):
            invite(state, U6, D3)

    # SPEC S1
    def test_a_refused_sixth_user_changes_nothing(self) -> None:
        state = self.five_users()
        before = attrs.asdict(state)
        with pytest.raises(ShareLimitReached):
            invite(state, U6)
        assert attrs.asdict(state) == before


# --------------------------------------------------------------------------- S2


class TestShareInvitations:
    # SPEC S2
    @pytest.mark.parametrize("via", list(ShareVia))
    def test_an_invitation_goes_by_email_or_link_and_is_pending(self, via: ShareVia) -> None:
        share = invite(fresh(), U1, via=via).shares[-1]
        assert share.via is via
        assert share.state is ShareState.PENDING
        assert share.sent_at == T0
        assert access(invite(fresh(), U1, via=via).state, D1, U1) is None

    # SPEC S2
    def test_it_expires_after_seven_days_by_default(self) -> None:
        assert invite(fresh(), U1).shares[-1].expires_at == T0 + timedelta(days=7)

    # SPEC S2
    def test_the_expiry_is_configurable(self) -> None:
        share = invite(fresh(), U1, expiry=timedelta(hours=48)).shares[-1]
        assert share.expires_at == T0 + timedelta(hours=48)

    # SPEC S2
    @pytest.mark.parametrize("bad", [timedelta(0), timedelta(seconds=-1)])
    def test_a_non_positive_expiry_is_refused(self, bad: timedelta) -> None:
        with pytest.raises(InvalidInput):
            invite(fresh(), U1, expiry=bad)

    # SPEC S2
    def test_it_can_be_accepted_one_microsecond_before_expiry(self) -> None:
        state = invite(fresh(), U1).state
        last = T0 + DEFAULT_SHARE_EXPIRY - MICRO
        decision = accept_share(state, D1, U1, last, user_has_account=True)
        assert decision.shares[-1].state is ShareState.ACTIVE
        assert decision.shares[-1].accepted_at == last
        assert access(decision.state, D1, U1) is Role.SHARED_USER

    # SPEC S2
    def test_at_the_expiry_instant_it_has_expired(self) -> None:
        state = invite(fresh(), U1).state
        expires = T0 + DEFAULT_SHARE_EXPIRY
        assert state.shares[0].state_at(expires - MICRO) is ShareState.PENDING
        assert state.shares[0].state_at(expires) is ShareState.EXPIRED
        with pytest.raises(ShareExpired) as caught:
            accept_share(state, D1, U1, expires, user_has_account=True)
        assert caught.value.expires_at == expires

    # SPEC S2
    def test_a_user_without_an_account_is_asked_to_sign_up_first(self) -> None:
        decision = invite(fresh(), U1, has_account=False)
        assert decision.needs_sign_up
        assert decision.shares[-1].needs_sign_up
        assert "sign up" in decision.entries[-1].message
        with pytest.raises(SignUpRequired):
            accept_share(decision.state, D1, U1, T0, user_has_account=False)
        accepted = accept_share(decision.state, D1, U1, T0, user_has_account=True)
        assert not accepted.shares[-1].needs_sign_up

    # SPEC S2
    def test_a_user_with_an_account_is_not_asked_to_sign_up(self) -> None:
        assert not invite(fresh(), U1, has_account=True).needs_sign_up

    # SPEC S2
    def test_accepting_twice_or_after_revocation_is_a_distinct_refusal(self) -> None:
        state = shared(fresh(), U1)
        with pytest.raises(ShareNotPending) as twice:
            accept_share(state, D1, U1, T0, user_has_account=True)
        assert twice.value.state is ShareState.ACTIVE
        cancelled = revoke(invite(fresh(), U2).state, D1, U2, OWNER, T0).state
        with pytest.raises(ShareNotPending) as revoked:
            accept_share(cancelled, D1, U2, T0, user_has_account=True)
        assert revoked.value.state is ShareState.REVOKED

    # SPEC S2
    def test_accepting_an_invitation_that_does_not_exist_is_not_found(self) -> None:
        with pytest.raises(ShareNotFound):
            accept_share(fresh(), D1, U1, T0, user_has_account=True)

    # SPEC S2
    def test_inviting_again_while_pending_or_active_is_refused(self) -> None:
        pending = invite(fresh(), U1).state
        with pytest.raises(AlreadyShared):
            invite(pending, U1)
        with pytest.raises(AlreadyShared):
            invite(shared(fresh(), U1), U1)

    # SPEC S2
    def test_an_expired_invitation_can_be_sent_again(self) -> None:
        state = invite(fresh(), U1).state
        later = T0 + DEFAULT_SHARE_EXPIRY
        decision = invite(state, U1, at=later)
        assert [s.state for s in decision.shares] == [ShareState.EXPIRED, ShareState.PENDING]
        assert decision.shares[-1].expires_at == later + DEFAULT_SHARE_EXPIRY

    # SPEC S2
    def test_the_owner_cannot_be_invited_to_their_own_device(self) -> None:
        with pytest.raises(AlreadyShared):
            invite(fresh(), OWNER)

    # SPEC S2, SPEC S5
    def test_expire_shares_marks_due_invitations_and_logs_each_at_its_expiry(self) -> None:
        state = invite(fresh(), U1).state
        state = invite(state, U2, at=T0 + timedelta(days=1)).state
        now = T0 + timedelta(days=7, hours=12)
        decision = expire_shares(state, now)
        assert [(s.user, s.state) for s in decision.shares] == [(U1, ShareState.EXPIRED)]
        (entry,) = decision.entries
        assert entry.at == T0 + DEFAULT_SHARE_EXPIRY
        assert entry.action is Action.EXPIRE_SHARE
        assert entry.actor == SYSTEM_ACTOR
        assert entry.role is None
        assert decision.state.updated_at == now


# --------------------------------------------------------------------------- S3 and E10


# Delete and transfer (SPEC S3); sharing with others and revoking their access stay with
# the owner (SPEC S1, S4 - a decision recorded in docs/sharing.md).
OWNER_ONLY = {
    Action.DELETE_DEVICE,
    Action.TRANSFER_OWNERSHIP,
    Action.SHARE,
    Action.REVOKE_SHARE,
}


class TestSharedUserPrivileges:
    # SPEC S3
    @pytest.mark.parametrize("action", [a for a in Action if a in PRIVILEGES[Role.OWNER]])
    def test_a_shared_user_may_do_all_the_owner_may_but_the_owner_only_actions(
        self, action: Action
    ) -> None:
        if action in OWNER_ONLY:
            with pytest.raises(NotPermitted) as caught:
                authorize(Role.SHARED_USER, action, Plan.ADVANCED)
            assert caught.value.role is Role.SHARED_USER
            assert caught.value.action is action
            assert "shared user" in str(caught.value)
        else:
            authorize(Role.SHARED_USER, action, Plan.ADVANCED)

    # SPEC S3
    def test_the_listed_privileges_of_a_shared_user(self) -> None:
        listed = {
            Action.VIEW,
            Action.DOWNLOAD_REPORTS,
            Action.BUY_LICENSE,
            Action.APPLY_LICENSE,
            Action.FIRMWARE_INSTALL,
            Action.INPUT_SENSITIVITY,
            Action.SELF_TEST,
            Action.SET_BATTERY_INSTALL_DATE,
            Action.OUTLET_GROUP_REBOOT,
        }
        assert listed <= PRIVILEGES[Role.SHARED_USER]
        assert not OWNER_ONLY & PRIVILEGES[Role.SHARED_USER]
        assert PRIVILEGES[Role.OWNER] >= OWNER_ONLY

    # SPEC S3
    @pytest.mark.parametrize("action", list(Action))
    def test_someone_without_access_may_do_nothing(self, action: Action) -> None:
        with pytest.raises(NotPermitted) as caught:
            permit(None, action, D1)
        assert caught.value.role is None
        assert caught.value.device == D1

    # SPEC S3, SPEC E10
    @given(
        role=st.sampled_from(Role),
        action=st.sampled_from(Action),
        plan=st.sampled_from(Plan),
    )
    def test_every_action_is_still_gated_by_the_plan(
        self, role: Role, action: Action, plan: Plan
    ) -> None:
        if action not in PRIVILEGES[role]:
            with pytest.raises(NotPermitted):
                authorize(role, action, plan)
        elif plan < action.minimum_plan:
            with pytest.raises(FeatureNotInPlan) as caught:
                authorize(role, action, plan)
            assert caught.value.required is action.minimum_plan
            assert action.feature is not None
            assert caught.value.feature is action.feature
        else:
            authorize(role, action, plan)

    # SPEC E10
    @pytest.mark.parametrize(
        ("action", "needs"),
        [
            (Action.FIRMWARE_INSTALL, Plan.STANDARD),
            (Action.INPUT_SENSITIVITY, Plan.STANDARD),
            (Action.SELF_TEST, Plan.STANDARD),
            (Action.OUTLET_GROUP_REBOOT, Plan.ADVANCED),
            (Action.SHARE, Plan.STANDARD),
            (Action.SET_BATTERY_INSTALL_DATE, Plan.BASIC),
            (Action.DOWNLOAD_REPORTS, Plan.BASIC),
            (Action.VIEW, Plan.BASIC),
            (Action.APPLY_LICENSE, Plan.BASIC),
            (Action.REVOKE_SHARE, Plan.BASIC),
        ],
    )
    def test_the_plan_each_action_needs(self, action: Action, needs: Plan) -> None:
        assert action.minimum_plan is needs

    # SPEC S3
    def test_access_tells_the_owner_an_active_shared_user_and_the_rest_apart(self) -> None:
        state = shared(fresh(), U1)
        state = invite(state, U2).state
        assert access(state, D1, OWNER) is Role.OWNER
        assert access(state, D1, U1) is Role.SHARED_USER
        assert access(state, D1, U2) is None  # pending: no access yet
        assert access(state, D2, U1) is None  # shared D1 only
        assert access(state, "AS9999999999", OWNER) is None

    # SPEC S3
    def test_a_shared_user_cannot_share_the_device_further(self) -> None:
        # SPEC S1: the owner shares; a shared user's attempt changes nothing.
        state = shared(fresh(), U1)
        with pytest.raises(NotPermitted) as caught:
            invite(state, U2, by=U1)
        assert caught.value.action is Action.SHARE
        assert shared_users(state, T0) == {U1}

    # SPEC S3
    def test_a_shared_user_cannot_transfer_or_delete_the_device(self) -> None:
        state = shared(fresh(), U1)
        with pytest.raises(NotPermitted) as transfer:
            transfer_ownership(state, D1, U2, U1, T0)
        assert (transfer.value.role, transfer.value.action) == (
            Role.SHARED_USER,
            Action.TRANSFER_OWNERSHIP,
        )
        with pytest.raises(NotPermitted) as delete:
            delete_device(state, D1, U1, T0)
        assert delete.value.action is Action.DELETE_DEVICE

    # SPEC S3
    def test_a_pending_invitee_cannot_share(self) -> None:
        state = invite(fresh(), U1).state
        with pytest.raises(NotPermitted):
            invite(state, U2, by=U1)


class TestBasicFallbackKeepsShares:
    # SPEC E10
    def test_a_device_back_on_basic_stays_shared(self) -> None:
        state = shared(fresh(), U1)
        assert access(state, D1, U1) is Role.SHARED_USER
        authorize(Role.SHARED_USER, Action.VIEW, Plan.BASIC)
        authorize(Role.SHARED_USER, Action.SET_BATTERY_INSTALL_DATE, Plan.BASIC)

    # SPEC E10
    def test_it_loses_the_features_and_the_error_names_the_plan_needed(self) -> None:
        with pytest.raises(FeatureNotInPlan) as caught:
            authorize(Role.SHARED_USER, Action.SELF_TEST, Plan.BASIC)
        assert caught.value.required is Plan.STANDARD

    # SPEC E10, SPEC S1
    def test_only_new_shares_are_refused_on_basic(self) -> None:
        state = shared(fresh(), U1)
        with pytest.raises(FeatureNotInPlan):
            invite(state, U2, plan=Plan.BASIC)
        assert access(revoke(state, D1, U1, OWNER, T0).state, D1, U1) is None

    # SPEC E10, SPEC S2
    def test_an_invitation_sent_on_standard_can_be_accepted_after_the_fall_back(self) -> None:
        state = invite(fresh(), U1).state  # accept_share takes no plan: sharing was allowed
        assert accept_share(state, D1, U1, T0, user_has_account=True).shares[-1].state is (
            ShareState.ACTIVE
        )


# --------------------------------------------------------------------------- S4


class TestRevocation:
    # SPEC S4
    def test_a_shared_user_removing_a_device_from_view_revokes_only_their_access(self) -> None:
        state = shared(shared(fresh(), U1), U2)
        decision = remove_from_view(state, D1, U1, T0)
        after = decision.state
        assert access(after, D1, U1) is None
        assert access(after, D1, U2) is Role.SHARED_USER
        assert access(after, D1, OWNER) is Role.OWNER
        assert after.devices == state.devices
        assert decision.shares == (
            attrs.evolve(state.shares[0], state=ShareState.REMOVED, ended_at=T0, ended_by=U1),
        )

    # SPEC S4
    def test_the_owner_cannot_remove_their_own_device_from_view(self) -> None:
        with pytest.raises(NotPermitted) as caught:
            remove_from_view(fresh(), D1, OWNER, T0)
        assert caught.value.role is Role.OWNER
        assert "transfers its ownership" in str(caught.value)

    # SPEC S4
    def test_removing_a_device_one_has_no_active_share_of_is_not_found(self) -> None:
        with pytest.raises(ShareNotFound):
            remove_from_view(invite(fresh(), U1).state, D1, U1, T0)

    # SPEC S4
    def test_the_owner_can_revoke_any_share_active_or_pending(self) -> None:
        state = invite(shared(fresh(), U1), U2).state
        state = revoke(state, D1, U1, OWNER, T0).state
        decision = revoke(state, D1, U2, OWNER, T0)
        assert {s.user: s.state for s in decision.state.shares} == {
            U1: ShareState.REVOKED,
            U2: ShareState.REVOKED,
        }
        assert decision.entries[-1].message.startswith(f"{OWNER} revoked the invitation")

    # SPEC S4, SPEC S3
    def test_a_shared_user_may_not_revoke_another_users_share(self) -> None:
        # SPEC S4: the owner can revoke any share; a shared user only removes their own.
        state = shared(shared(fresh(), U1), U2)
        with pytest.raises(NotPermitted) as caught:
            revoke(state, D1, U2, U1, T0)
        assert caught.value.action is Action.REVOKE_SHARE
        assert access(state, D1, U2) is Role.SHARED_USER

    # SPEC S4
    def test_someone_without_access_cannot_revoke(self) -> None:
        state = shared(fresh(), U1)
        with pytest.raises(NotPermitted):
            revoke(state, D1, U1, U3, T0)

    # SPEC S4
    def test_revoking_a_share_that_is_not_live_is_not_found(self) -> None:
        state = invite(fresh(), U1).state
        with pytest.raises(ShareNotFound):
            revoke(state, D1, U1, OWNER, T0 + DEFAULT_SHARE_EXPIRY)
        with pytest.raises(ShareNotFound):
            revoke(state, D1, U2, OWNER, T0)

    # SPEC S4
    def test_transferring_ownership_revokes_all_shares_of_the_device(self) -> None:
        state = invite(shared(shared(fresh(), U1), U2), U3).state
        state = shared(state, U1, D2)
        decision = transfer_ownership(state, D1, U4, OWNER, T0)
        after = decision.state
        assert D1 not in after.devices
        assert not [s for s in after.shares if s.device == D1 and s.is_live_at(T0)]
        assert {(s.user, s.state) for s in decision.shares} == {
            (U1, ShareState.REVOKED),
            (U2, ShareState.REVOKED),
            (U3, ShareState.REVOKED),
        }
        assert access(after, D2, U1) is Role.SHARED_USER  # other devices keep their shares
        assert access(after, D1, OWNER) is None
        assert decision.entries[-1].action is Action.TRANSFER_OWNERSHIP
        assert decision.entries[-1].severity is Severity.CRITICAL
        assert U4 in decision.entries[-1].message

    # SPEC S4
    def test_the_new_owner_takes_the_device_unshared(self) -> None:
        state = shared(fresh(), U1)
        transfer_ownership(state, D1, U1, OWNER, T0)
        theirs = add_device(SharingState.of(U1), D1)
        assert access(theirs, D1, U1) is Role.OWNER
        assert theirs.shares == ()

    # SPEC S4
    def test_transferring_to_the_owner_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            transfer_ownership(fresh(), D1, OWNER, OWNER, T0)

    # SPEC S4
    def test_a_transferred_device_can_no_longer_be_shared_or_accepted(self) -> None:
        state = invite(fresh(), U1).state
        state = transfer_ownership(state, D1, U4, OWNER, T0).state
        with pytest.raises(DeviceNotOwned):
            invite(state, U2)
        with pytest.raises(ShareNotPending):
            accept_share(state, D1, U1, T0, user_has_account=True)

    # SPEC S4, SPEC S3
    def test_deleting_the_device_revokes_all_its_shares(self) -> None:
        state = shared(fresh(), U1)
        decision = delete_device(state, D1, OWNER, T0)
        assert D1 not in decision.state.devices
        assert decision.shares[-1].state is ShareState.REVOKED
        assert decision.entries[-1].action is Action.DELETE_DEVICE


# --------------------------------------------------------------------------- S5


class TestTransitionsDescribeThemselves:
    # SPEC S5
    def test_every_transition_returns_the_entry_who_role_what_device_when_outcome(self) -> None:
        t1, t2, t3 = T0 + timedelta(hours=1), T0 + timedelta(hours=2), T0 + timedelta(hours=3)
        steps: list[tuple[Decision, str, Role | None, Action, datetime]] = []
        d = invite(fresh(), U1, at=T0)
        steps.append((d, OWNER, Role.OWNER, Action.SHARE, T0))
        d = accept_share(d.state, D1, U1, t1, user_has_account=True)
        steps.append((d, U1, Role.SHARED_USER, Action.ACCEPT_SHARE, t1))
        d = remove_from_view(d.state, D1, U1, t2)
        steps.append((d, U1, Role.SHARED_USER, Action.REMOVE_FROM_VIEW, t2))
        d = transfer_ownership(d.state, D1, U2, OWNER, t3)
        steps.append((d, OWNER, Role.OWNER, Action.TRANSFER_OWNERSHIP, t3))
        for decision, actor, role, action, at in steps:
            entry = decision.entries[-1]
            assert (entry.actor, entry.role, entry.action, entry.device, entry.at) == (
                actor,
                role,
                action,
                D1,
                at,
            )
            assert entry.outcome is Outcome.SUCCEEDED
            assert entry.reason is None

    # SPEC S5
    def test_a_refused_attempt_makes_a_refused_entry_with_the_reason(self) -> None:
        state = shared(fresh(), U1)
        try:
            delete_device(state, D1, U1, T0)
        except UpslifeError as error:
            entry = LogEntry.refused(T0, U1, Role.SHARED_USER, Action.DELETE_DEVICE, D1, error)
        assert entry.outcome is Outcome.REFUSED
        assert entry.reason == "NotPermitted"
        assert entry.severity is Severity.WARNING
        assert "only its owner may" in entry.message

    # SPEC S5, SPEC E10
    def test_entries_of_a_device_on_basic_are_not_recorded(self) -> None:
        d = revoke(shared(fresh(), U1), D1, U1, OWNER, T0)
        log = EventLog()
        assert record(log, d.entries[-1], plan=Plan.BASIC) is log
        assert record(log, d.entries[-1], plan=Plan.STANDARD).entries == (d.entries[-1],)


# --------------------------------------------------------------------------- D1, D4, D5


CALLS: dict[str, Callable[[SharingState, datetime], object]] = {
    "invite_share": lambda s, t: invite(s, U2, at=t),
    "accept_share": lambda s, t: accept_share(s, D1, U1, t, user_has_account=True),
    "revoke": lambda s, t: revoke(s, D1, U1, OWNER, t),
    "remove_from_view": lambda s, t: remove_from_view(s, D1, U1, t),
    "transfer_ownership": lambda s, t: transfer_ownership(s, D1, U3, OWNER, t),
    "delete_device": lambda s, t: delete_device(s, D1, OWNER, t),
    "expire_shares": expire_shares,
}


class TestInstants:
    # SPEC D1
    @pytest.mark.parametrize("name", sorted(CALLS))
    def test_a_naive_now_is_refused_by_every_transition(self, name: str) -> None:
        state = invite(fresh(), U1).state
        with pytest.raises(NaiveDatetime):
            CALLS[name](state, datetime(2025, 3, 2, 12, 0))

    # SPEC D1
    def test_instants_in_any_zone_are_kept_in_utc(self) -> None:
        paris = timezone(timedelta(hours=1))
        share = invite(fresh(), U1, at=T0.astimezone(paris)).shares[-1]
        assert share.sent_at == T0
        assert share.sent_at.tzinfo is UTC
        assert share.expires_at.tzinfo is UTC

    # SPEC D4
    @pytest.mark.parametrize("name", sorted(CALLS))
    def test_a_transition_before_the_last_change_is_refused(self, name: str) -> None:
        state = invite(fresh(), U1, at=T0).state
        with pytest.raises(InstantOutOfOrder):
            CALLS[name](state, T0 - MICRO)

    # SPEC D5
    @pytest.mark.parametrize("bad", ["", "not-an-email", "a@b"])
    def test_a_malformed_user_email_is_refused(self, bad: str) -> None:
        with pytest.raises(InvalidInput):
            invite(fresh(), bad)

    # SPEC D5
    def test_a_state_cannot_be_built_with_a_live_share_of_a_device_it_lacks(self) -> None:
        share = invite(fresh(), U1).shares[-1]
        with pytest.raises(InvalidInput):
            SharingState(OWNER, frozenset({D2}), (share,))

    # SPEC D5
    def test_devices_must_be_a_collection_not_a_string(self) -> None:
        with pytest.raises(InvalidInput):
            SharingState.of(OWNER, D1)

    # SPEC D5
    def test_adding_a_device_owned_already_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            add_device(fresh(D1), D1)

    # SPEC D5
    def test_errors_derive_from_the_fitting_bases(self) -> None:
        assert issubclass(ShareNotFound, NotFound)
        assert issubclass(DeviceNotOwned, LookupError)
        assert issubclass(InstantOutOfOrder, ValueError)
        for error in (NotPermitted, ShareLimitReached, ShareExpired, SignUpRequired):
            assert issubclass(error, RuleViolation)


# --------------------------------------------------------------------------- state machine


ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)
STEPS = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    st.sampled_from([MICRO, DEFAULT_SHARE_EXPIRY - MICRO, DEFAULT_SHARE_EXPIRY]),
)
EXPIRIES = st.sampled_from([timedelta(hours=1), timedelta(days=3), DEFAULT_SHARE_EXPIRY])
DEVICES = (D1, D2, D3, "AS4444444444")


class SharingMachine(RuleBasedStateMachine):
    """Random sharing histories of one owner, checked against the SPEC S1–S4 invariants."""

    users = Bundle("users")
    devices = Bundle("devices")

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.state = SharingState.of(OWNER)
        self.plans: dict[str, Plan] = {}
        self.log = EventLog()
        self.recordable = 0
        self.last_updated: datetime | None = None
        self.refusals = 0

    # ---- helpers

    def attempt(
        self,
        call: Callable[[], Decision],
        allowed: tuple[type[UpslifeError], ...],
    ) -> Decision | None:
        """Run a transition; a refusal must be typed, expected and change nothing."""
        before = attrs.asdict(self.state, recurse=True)
        refusal: UpslifeError | None = None
        try:
            decision = call()
        except UpslifeError as error:
            refusal = error
        if refusal is not None:
            event(f"refused: {type(refusal).__name__}")
            assert isinstance(refusal, allowed), refusal
            assert attrs.asdict(self.state, recurse=True) == before  # nothing changed
            self.refusals += 1
            return None
        assert decision.state.updated_at == self.now
        event(f"{decision.entries[-1].action.name if decision.entries else 'no-op'}")
        for entry in decision.entries:
            plan = self.plans.get(entry.device, Plan.BASIC)
            self.log = record(self.log, entry, plan=plan)
            self.recordable += plan is not Plan.BASIC
        self.state = decision.state
        return decision

    def live(self, device: str, user: str) -> bool:
        return any(
            s.device == device and s.user == user and s.is_live_at(self.now)
            for s in self.state.shares
        )

    def active_pairs(self) -> list[tuple[str, str]]:
        return [(s.device, s.user) for s in self.state.shares if s.state is ShareState.ACTIVE]

    def pending_pairs(self) -> list[tuple[str, str]]:
        return [
            (s.device, s.user)
            for s in self.state.shares
            if s.state_at(self.now) is ShareState.PENDING
        ]

    def paid_devices(self) -> list[str]:
        return sorted(d for d in self.state.devices if self.plans[d] is not Plan.BASIC)

    def live_count(self) -> int:
        return sum(s.is_live_at(self.now) for s in self.state.shares)

    def invite_checked(
        self,
        device: str,
        user: str,
        inviter: str | None,
        via: ShareVia,
        has_account: bool,
        expiry: timedelta,
        zone: timezone,
    ) -> None:
        """Invite, and check the outcome against SPEC S1–S3 computed independently."""
        counted = shared_users(self.state, self.now)
        plan = self.plans.get(device, Plan.BASIC)
        by = inviter or OWNER
        allowed = (
            device in self.state.devices
            and by == OWNER  # SPEC S1, S3: sharing stays with the owner
            and plan >= Plan.STANDARD
            and not self.live(device, user)
            and (user in counted or len(counted) < MAX_SHARED_USERS)
        )
        decision = self.attempt(
            lambda: invite_share(
                self.state,
                device,
                plan,
                user,
                self.now.astimezone(zone),
                via=via,
                user_has_account=has_account,
                expiry=expiry,
                by=inviter,
            ),
            (DeviceNotOwned, NotPermitted, FeatureNotInPlan, AlreadyShared, ShareLimitReached),
        )
        assert (decision is not None) is allowed  # refused exactly when a rule refuses it
        if decision is None:
            return
        share = decision.shares[-1]
        assert (share.device, share.user, share.state) == (device, user, ShareState.PENDING)
        assert share.expires_at == self.now + expiry
        assert decision.needs_sign_up is (not has_account)

    # ---- bundles

    @initialize(target=users)
    def people(self) -> object:
        return multiple(*USERS)

    @initialize(target=devices, plans=st.tuples(st.sampled_from(Plan), st.sampled_from(Plan)))
    def first_devices(self, plans: tuple[Plan, Plan]) -> object:
        for serial, plan in zip((D1, D2), plans, strict=True):
            self.state = add_device(self.state, serial)
            self.plans[serial] = plan
        return multiple(D1, D2)

    @rule(target=devices, serial=st.sampled_from(DEVICES), plan=st.sampled_from(Plan))
    def own_a_device(self, serial: str, plan: Plan) -> str:
        if serial in self.state.devices:
            with pytest.raises(InvalidInput):
                add_device(self.state, serial)
        else:
            self.state = add_device(self.state, serial)
            self.plans[serial] = plan
        return serial

    # ---- time and plans

    @rule(step=STEPS)
    def time_passes(self, step: timedelta) -> None:
        self.now += step

    @rule(device=devices, plan=st.sampled_from(Plan))
    def plan_changes(self, device: str, plan: Plan) -> None:
        self.plans[device] = plan

    # ---- transitions

    @rule(
        device=devices,
        user=users,
        inviter=st.one_of(st.none(), users),
        via=st.sampled_from(ShareVia),
        has_account=st.booleans(),
        expiry=EXPIRIES,
        zone=ZONES,
    )
    def invite_someone(
        self,
        device: str,
        user: str,
        inviter: str | None,
        via: ShareVia,
        has_account: bool,
        expiry: timedelta,
        zone: timezone,
    ) -> None:
        self.invite_checked(device, user, inviter, via, has_account, expiry, zone)

    @precondition(lambda self: bool(self.paid_devices()))
    @rule(data=st.data(), user=users)
    def the_owner_shares_a_paid_device(self, data: st.DataObject, user: str) -> None:
        device = data.draw(st.sampled_from(self.paid_devices()))
        self.invite_checked(device, user, None, ShareVia.LINK, True, DEFAULT_SHARE_EXPIRY, UTC)

    @precondition(lambda self: bool(self.paid_devices()))
    @rule(data=st.data())
    def the_owner_tries_to_share_with_everyone(self, data: st.DataObject) -> None:
        device = data.draw(st.sampled_from(self.paid_devices()))
        for user in USERS:  # at most five get in (SPEC S1)
            self.invite_checked(device, user, None, ShareVia.EMAIL, True, timedelta(days=2), UTC)

    @precondition(lambda self: bool(self.pending_pairs()))
    @rule(data=st.data())
    def an_invitee_accepts(self, data: st.DataObject) -> None:
        device, user = data.draw(st.sampled_from(self.pending_pairs()))
        decision = self.attempt(
            lambda: accept_share(self.state, device, user, self.now, user_has_account=True), ()
        )
        assert decision is not None
        assert access(self.state, device, user) is Role.SHARED_USER

    @precondition(lambda self: bool(self.pending_pairs() or self.active_pairs()))
    @rule(data=st.data())
    def the_owner_revokes_a_live_share(self, data: st.DataObject) -> None:
        device, user = data.draw(st.sampled_from(self.pending_pairs() + self.active_pairs()))
        decision = self.attempt(lambda: revoke(self.state, device, user, OWNER, self.now), ())
        assert decision is not None
        assert not self.live(device, user)

    @precondition(lambda self: bool(self.active_pairs()))
    @rule(data=st.data())
    def a_shared_user_leaves(self, data: st.DataObject) -> None:
        device, user = data.draw(st.sampled_from(self.active_pairs()))
        self.leave_a_device(device, user)
        assert access(self.state, device, user) is None

    @rule(device=devices, user=users, has_account=st.booleans())
    def accept_invitation(self, device: str, user: str, has_account: bool) -> None:
        decision = self.attempt(
            lambda: accept_share(self.state, device, user, self.now, user_has_account=has_account),
            (ShareNotFound, ShareExpired, ShareNotPending, SignUpRequired),
        )
        if decision is not None:
            assert has_account
            assert access(self.state, device, user) is Role.SHARED_USER

    @rule(device=devices, user=users, by=st.one_of(st.just(OWNER), users))
    def revoke_a_share(self, device: str, user: str, by: str) -> None:
        decision = self.attempt(
            lambda: revoke(self.state, device, user, by, self.now),
            (DeviceNotOwned, NotPermitted, ShareNotFound),
        )
        if decision is not None:
            assert access(self.state, device, user) is None
            assert not self.live(device, user)

    @rule(device=devices, user=users)
    def leave_a_device(self, device: str, user: str) -> None:
        others = {u: access(self.state, device, u) for u in USERS if u != user}
        decision = self.attempt(
            lambda: remove_from_view(self.state, device, user, self.now),
            (ShareNotFound,),
        )
        if decision is not None:
            assert access(self.state, device, user) is None
            assert {u: access(self.state, device, u) for u in others} == others  # SPEC S4
            assert access(self.state, device, OWNER) is Role.OWNER

    @precondition(lambda self: self.live_count() >= 2)
    @rule(device=devices, new_owner=users, by=st.one_of(st.just(OWNER), users))
    def transfer_a_device(self, device: str, new_owner: str, by: str) -> None:
        role = access(self.state, device, by)
        decision = self.attempt(
            lambda: transfer_ownership(self.state, device, new_owner, by, self.now),
            (DeviceNotOwned, NotPermitted),
        )
        if decision is None:
            assert role is not Role.OWNER or device not in self.state.devices
            return
        assert role is Role.OWNER  # SPEC S3: only the owner transfers
        assert device not in self.state.devices
        assert not [s for s in self.state.shares if s.device == device and s.is_live_at(self.now)]

    @precondition(lambda self: self.live_count() >= 2)
    @rule(device=devices, by=st.one_of(st.just(OWNER), users))
    def delete_a_device(self, device: str, by: str) -> None:
        role = access(self.state, device, by)
        decision = self.attempt(
            lambda: delete_device(self.state, device, by, self.now),
            (DeviceNotOwned, NotPermitted),
        )
        assert (decision is not None) is (role is Role.OWNER)

    @rule()
    def sweep_expired(self) -> None:
        decision = self.attempt(lambda: expire_shares(self.state, self.now), ())
        assert decision is not None
        assert all(s.state is ShareState.EXPIRED for s in decision.shares)

    @precondition(lambda self: self.state.updated_at is not None)
    @rule(back=st.timedeltas(min_value=MICRO, max_value=timedelta(days=3)))
    def a_change_from_the_past(self, back: timedelta) -> None:
        assert self.state.updated_at is not None
        past = self.state.updated_at - back
        self.attempt(lambda: expire_shares(self.state, past), (InstantOutOfOrder,))

    # ---- invariants

    @invariant()
    def never_more_than_five_distinct_users(self) -> None:
        assert len(shared_users(self.state, self.now)) <= MAX_SHARED_USERS  # SPEC S1

    @invariant()
    def time_only_moves_forward(self) -> None:
        updated = self.state.updated_at
        if updated is not None:
            assert updated <= self.now
            assert self.last_updated is None or self.last_updated <= updated
            self.last_updated = updated
        for share in self.state.shares:
            assert share.sent_at < share.expires_at
            assert share.accepted_at is None or share.sent_at <= share.accepted_at
            assert share.ended_at is None or share.sent_at <= share.ended_at

    @invariant()
    def no_invitation_is_left_pending_past_its_expiry(self) -> None:
        updated = self.state.updated_at
        for share in self.state.shares:
            if updated is not None and share.state is ShareState.PENDING:
                assert share.expires_at > updated  # SPEC S2: transitions expire first

    @invariant()
    def a_shared_user_can_never_delete_or_transfer(self) -> None:
        for device, user in self.active_pairs():
            with pytest.raises(NotPermitted):
                delete_device(self.state, device, user, self.now)
            with pytest.raises(NotPermitted):
                transfer_ownership(self.state, device, U8, user, self.now)
            for action in (Action.DELETE_DEVICE, Action.TRANSFER_OWNERSHIP):
                with pytest.raises(NotPermitted):
                    authorize(Role.SHARED_USER, action, self.plans.get(device, Plan.BASIC))

    @invariant()
    def devices_given_up_have_no_shares(self) -> None:
        for share in self.state.shares:
            if share.device not in self.state.devices:  # SPEC S4: transferred or deleted
                assert share.state not in (ShareState.ACTIVE, ShareState.PENDING)

    @invariant()
    def nothing_is_logged_for_a_device_on_basic(self) -> None:
        assert len(self.log.entries) == self.recordable  # SPEC E10, SPEC S5


SharingMachine.TestCase.settings = settings(stateful_step_count=40)
TestSharingStateMachine = SharingMachine.TestCase
