"""Signed accept, decline and unsubscribe links, as an executable spec (SPEC I5, D1)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upslife.errors import (
    InvalidInput,
    NaiveDatetime,
    TokenError,
    TokenExpired,
    TokenReplayed,
    TokenTampered,
    TokenWrongAction,
    UnknownKey,
    UpslifeError,
)
from upslife.invitations import (
    Keyring,
    SigningKey,
    TokenAction,
    VerifiedToken,
    invite,
    sign,
    verify,
)

EXPIRES = datetime(2025, 3, 8, 9, 0, tzinfo=UTC)
BEFORE = EXPIRES - timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
KEY = SigningKey("k2025", bytes(range(32)))
OLD_KEY = SigningKey("k2024", b"\xa5" * 32)
RING = Keyring(KEY)
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

key_ids = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)
secrets = st.binary(min_size=32, max_size=64)
signing_keys = st.builds(SigningKey, key_ids, secrets)
# Ids refuse control and format characters at the door (issue 13).
_PRINTABLE = st.characters(exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp"])
invitation_ids = st.text(_PRINTABLE, min_size=1, max_size=40).filter(
    lambda s: s.strip() == s and len(s.encode()) <= 128
)
actions = st.sampled_from(list(TokenAction))
expiries = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.timezones()
)
replacement_chars = st.one_of(st.sampled_from(B64URL + ".="), st.characters())


def differs_from(original: object) -> Callable[[object], bool]:
    """A filter for hypothesis: anything but ``original``."""
    return lambda candidate: candidate != original


def token_for(action: TokenAction = TokenAction.ACCEPT, ring: Keyring = RING) -> str:
    return sign(ring, "inv-1", action, EXPIRES)


def blob_of(token: str) -> bytes:
    text = token.removeprefix("v1.")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def reencode(blob: bytes) -> str:
    return "v1." + base64.urlsafe_b64encode(blob).rstrip(b"=").decode()


# --------------------------------------------------------------------------- round trip


class TestSignedLinks:
    # SPEC I5
    @given(key=signing_keys, invitation_id=invitation_ids, action=actions, expires_at=expiries)
    def test_a_signed_token_verifies_and_says_what_it_was_signed_for(
        self, key: SigningKey, invitation_id: str, action: TokenAction, expires_at: datetime
    ) -> None:
        ring = Keyring(key)
        token = sign(ring, invitation_id, action, expires_at)
        # Instant arithmetic in UTC: in a zone, datetime - timedelta is wall-clock time, and
        # an ambiguous wall time never compares equal across zones (PEP 495).
        instant = expires_at.astimezone(UTC)
        verified = verify(ring, token, action=action, now=instant - MICROSECOND)
        assert verified.invitation_id == invitation_id
        assert verified.action is action
        assert verified.expires_at == instant
        assert verified.key_id == key.key_id

    # SPEC I5: links go into email and URLs
    @given(key=signing_keys, invitation_id=invitation_ids, action=actions, expires_at=expiries)
    def test_a_token_is_url_safe_base64url_without_padding_behind_a_version_prefix(
        self, key: SigningKey, invitation_id: str, action: TokenAction, expires_at: datetime
    ) -> None:
        token = sign(Keyring(key), invitation_id, action, expires_at)
        assert re.fullmatch(r"v1\.[A-Za-z0-9_-]+", token)

    # SPEC I5: the MAC covers invitation id, action and expiry
    def test_tokens_differ_by_invitation_action_and_expiry(self) -> None:
        tokens = {
            sign(RING, "inv-1", TokenAction.ACCEPT, EXPIRES),
            sign(RING, "inv-2", TokenAction.ACCEPT, EXPIRES),
            sign(RING, "inv-1", TokenAction.DECLINE, EXPIRES),
            sign(RING, "inv-1", TokenAction.ACCEPT, EXPIRES + MICROSECOND),
        }
        assert len(tokens) == 4

    def test_signing_is_deterministic_so_a_resent_email_carries_the_same_link(self) -> None:
        assert token_for() == token_for()

    # SPEC I5, N6: a token carries no customer data
    @given(invitation_id=invitation_ids, key=signing_keys)
    def test_a_token_holds_only_key_id_action_expiry_invitation_id_and_mac(
        self, invitation_id: str, key: SigningKey
    ) -> None:
        token = sign(Keyring(key), invitation_id, TokenAction.ACCEPT, EXPIRES)
        length_byte, action_byte, expiry, mac = 1, 1, 8, 32
        expected = length_byte + len(key.key_id) + action_byte + expiry + mac
        assert len(blob_of(token)) == expected + len(invitation_id.encode())

    def test_a_token_is_signed_for_an_invitation_id_not_for_the_invitation_itself(self) -> None:
        inv = invite(
            "owner-1",
            "sales@reseller.example",
            "Acme Ltd",
            BEFORE,
            current=None,
            invitation_id="3f6c1a",
        )
        token = sign(RING, inv.id, TokenAction.ACCEPT, inv.expires_at)
        blob = blob_of(token)
        assert b"reseller" not in blob
        assert b"Acme" not in blob
        assert b"owner-1" not in blob


# --------------------------------------------------------------------------- tampering


class TestTamperedTokens:
    # SPEC I5
    @given(data=st.data())
    def test_every_single_character_change_is_refused(self, data: st.DataObject) -> None:
        token = token_for()
        for position in range(len(token)):
            char = data.draw(replacement_chars.filter(differs_from(token[position])))
            tampered = token[:position] + char + token[position + 1 :]
            with pytest.raises((TokenTampered, UnknownKey)):
                verify(RING, tampered, action=TokenAction.ACCEPT, now=BEFORE)

    # SPEC I5
    @given(data=st.data())
    def test_every_single_byte_change_of_the_signed_bytes_is_refused(
        self, data: st.DataObject
    ) -> None:
        blob = blob_of(token_for())
        for position in range(len(blob)):
            byte = data.draw(st.integers(0, 255).filter(differs_from(blob[position])))
            tampered = blob[:position] + bytes([byte]) + blob[position + 1 :]
            with pytest.raises((TokenTampered, UnknownKey)):
                verify(RING, reencode(tampered), action=TokenAction.ACCEPT, now=BEFORE)

    # SPEC I5
    @given(cut=st.integers(1, 60), extra=st.text(alphabet=B64URL, min_size=1, max_size=8))
    def test_a_truncated_or_extended_token_is_refused(self, cut: int, extra: str) -> None:
        token = token_for()
        with pytest.raises(TokenTampered):
            verify(RING, token[:-cut], action=TokenAction.ACCEPT, now=BEFORE)
        with pytest.raises(TokenTampered):
            verify(RING, token + extra, action=TokenAction.ACCEPT, now=BEFORE)

    def test_padding_or_whitespace_around_a_token_is_refused(self) -> None:
        token = token_for()
        for spelled in (token + "=", token + "==", " " + token, token + "\n"):
            with pytest.raises(TokenTampered):
                verify(RING, spelled, action=TokenAction.ACCEPT, now=BEFORE)

    # SPEC I5
    @given(secret=secrets)
    def test_a_token_signed_with_another_secret_is_refused(self, secret: bytes) -> None:
        forger = Keyring(SigningKey(KEY.key_id, secret))
        forged = sign(forger, "inv-1", TokenAction.ACCEPT, EXPIRES)
        if secret == KEY.secret:
            return
        with pytest.raises(TokenTampered, match="signature"):
            verify(RING, forged, action=TokenAction.ACCEPT, now=BEFORE)

    # SPEC I5
    def test_another_version_prefix_is_refused(self) -> None:
        token = token_for()
        with pytest.raises(TokenTampered):
            verify(RING, "v2" + token[2:], action=TokenAction.ACCEPT, now=BEFORE)


# --------------------------------------------------------------------------- actions


class TestWrongAction:
    # SPEC I5
    def test_an_accept_token_does_not_work_as_an_unsubscribe_token(self) -> None:
        with pytest.raises(TokenWrongAction) as refused:
            verify(RING, token_for(TokenAction.ACCEPT), action=TokenAction.UNSUBSCRIBE, now=BEFORE)
        assert refused.value.invitation_id == "inv-1"

    # SPEC I5
    @pytest.mark.parametrize("signed", list(TokenAction))
    @pytest.mark.parametrize("used_for", list(TokenAction))
    def test_a_token_works_only_for_the_action_it_was_signed_for(
        self, signed: TokenAction, used_for: TokenAction
    ) -> None:
        token = token_for(signed)
        if signed is used_for:
            assert verify(RING, token, action=used_for, now=BEFORE).action is signed
        else:
            with pytest.raises(TokenWrongAction):
                verify(RING, token, action=used_for, now=BEFORE)


# --------------------------------------------------------------------------- single use


class TestSingleUse:
    # SPEC I5
    @pytest.mark.parametrize("action", [TokenAction.ACCEPT, TokenAction.DECLINE])
    def test_a_used_accept_or_decline_token_is_refused_as_a_replay(
        self, action: TokenAction
    ) -> None:
        token = token_for(action)
        first = verify(RING, token, action=action, now=BEFORE)
        used = {first.token_id}
        with pytest.raises(TokenReplayed) as refused:
            verify(RING, token, action=action, now=BEFORE, used=used)
        assert refused.value.invitation_id == "inv-1"

    # SPEC I5
    def test_an_unsubscribe_token_is_reusable(self) -> None:
        token = token_for(TokenAction.UNSUBSCRIBE)
        first = verify(RING, token, action=TokenAction.UNSUBSCRIBE, now=BEFORE)
        again = verify(
            RING, token, action=TokenAction.UNSUBSCRIBE, now=BEFORE, used={first.token_id}
        )
        assert again == first

    # SPEC I5
    def test_using_one_token_does_not_use_up_another(self) -> None:
        accept_id = verify(RING, token_for(), action=TokenAction.ACCEPT, now=BEFORE).token_id
        decline = token_for(TokenAction.DECLINE)
        verified = verify(RING, decline, action=TokenAction.DECLINE, now=BEFORE, used={accept_id})
        assert verified.token_id != accept_id

    def test_the_token_id_is_stable_and_not_the_token_itself(self) -> None:
        token = token_for()
        first = verify(RING, token, action=TokenAction.ACCEPT, now=BEFORE)
        later = verify(RING, token, action=TokenAction.ACCEPT, now=EXPIRES - MICROSECOND)
        assert first.token_id == later.token_id
        assert first.token_id not in token


# --------------------------------------------------------------------------- expiry


class TestTokenExpiry:
    # SPEC I5, I2
    def test_a_token_works_until_one_microsecond_before_its_expiry(self) -> None:
        verified = verify(RING, token_for(), action=TokenAction.ACCEPT, now=EXPIRES - MICROSECOND)
        assert isinstance(verified, VerifiedToken)

    # SPEC I5, I2
    def test_a_token_is_refused_from_its_expiry_instant_on(self) -> None:
        with pytest.raises(TokenExpired) as refused:
            verify(RING, token_for(), action=TokenAction.ACCEPT, now=EXPIRES)
        assert refused.value.expires_at == EXPIRES

    # SPEC I5
    @given(late=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
    def test_every_expired_token_is_refused(self, late: timedelta) -> None:
        for action in TokenAction:
            with pytest.raises(TokenExpired):
                verify(RING, token_for(action), action=action, now=EXPIRES + late)


# --------------------------------------------------------------------------- keys


class TestKeyRotation:
    # SPEC I5
    def test_a_token_signed_with_an_older_key_still_verifies_after_rotation(self) -> None:
        old_ring = Keyring(OLD_KEY)
        token = sign(old_ring, "inv-1", TokenAction.ACCEPT, EXPIRES)
        rotated = old_ring.rotate(KEY)
        assert rotated.current == KEY
        assert verify(rotated, token, action=TokenAction.ACCEPT, now=BEFORE).key_id == "k2024"

    # SPEC I5
    def test_new_tokens_are_signed_with_the_current_key(self) -> None:
        rotated = Keyring(OLD_KEY).rotate(KEY)
        token = sign(rotated, "inv-1", TokenAction.ACCEPT, EXPIRES)
        assert verify(rotated, token, action=TokenAction.ACCEPT, now=BEFORE).key_id == "k2025"
        with pytest.raises(UnknownKey):
            verify(Keyring(OLD_KEY), token, action=TokenAction.ACCEPT, now=BEFORE)

    # SPEC I5
    def test_after_the_old_key_is_dropped_its_tokens_fail_with_unknown_key(self) -> None:
        token = sign(Keyring(OLD_KEY), "inv-1", TokenAction.ACCEPT, EXPIRES)
        retired = Keyring(OLD_KEY).rotate(KEY).drop("k2024")
        with pytest.raises(UnknownKey) as refused:
            verify(retired, token, action=TokenAction.ACCEPT, now=BEFORE)
        assert refused.value.key_id == "k2024"

    def test_the_current_key_cannot_be_dropped(self) -> None:
        with pytest.raises(InvalidInput, match="current signing key"):
            RING.drop(KEY.key_id)

    def test_dropping_a_key_the_keyring_lacks_is_unknown_key(self) -> None:
        with pytest.raises(UnknownKey):
            RING.drop("nope")

    def test_key_ids_in_a_keyring_are_unique(self) -> None:
        with pytest.raises(InvalidInput, match="unique"):
            Keyring(KEY, (SigningKey(KEY.key_id, b"\x01" * 32),))


class TestSigningKeys:
    # SPEC I5
    @pytest.mark.parametrize("size", [0, 1, 16, 31])
    def test_a_secret_shorter_than_32_bytes_is_refused(self, size: int) -> None:
        with pytest.raises(InvalidInput, match="at least 32 bytes"):
            SigningKey("k1", b"x" * size)

    @pytest.mark.parametrize("key_id", ["", "has space", "dot.ted", "x" * 33, "é"])
    def test_a_malformed_key_id_is_refused(self, key_id: str) -> None:
        with pytest.raises(InvalidInput, match="key id"):
            SigningKey(key_id, bytes(32))

    def test_the_secret_is_kept_out_of_repr(self) -> None:
        assert KEY.secret.hex() not in repr(KEY)
        assert "secret" not in repr(KEY)
        assert "k2025" in repr(RING)

    def test_a_secret_from_configuration_may_be_base64_text(self) -> None:
        secret = bytes(range(48))
        for text in (
            base64.b64encode(secret).decode(),
            base64.urlsafe_b64encode(secret).rstrip(b"=").decode(),
        ):
            assert SigningKey.from_base64("k1", text).secret == secret

    @pytest.mark.parametrize(
        "text",
        ["not base64 at all!", "A" * 43 + "!", "A" * 21 + " " + "A" * 22, "Ａ" * 44, "A" * 45],
    )
    def test_configured_text_that_is_not_base64_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidInput):
            SigningKey.from_base64("k1", text)


class TestSigningInput:
    # SPEC D1
    def test_a_naive_expiry_is_refused(self) -> None:
        with pytest.raises(NaiveDatetime):
            sign(RING, "inv-1", TokenAction.ACCEPT, datetime(2025, 3, 8, 9, 0))

    # SPEC D1
    def test_a_naive_now_is_refused(self) -> None:
        with pytest.raises(NaiveDatetime):
            verify(RING, token_for(), action=TokenAction.ACCEPT, now=datetime(2025, 3, 1))

    @pytest.mark.parametrize("invitation_id", ["", "   ", " inv-1", "x" * 129])
    def test_a_blank_padded_or_overlong_invitation_id_is_refused(self, invitation_id: str) -> None:
        with pytest.raises(InvalidInput):
            sign(RING, invitation_id, TokenAction.ACCEPT, EXPIRES)

    def test_the_action_must_be_a_token_action(self) -> None:
        with pytest.raises(InvalidInput):
            sign(RING, "inv-1", cast(TokenAction, "accept"), EXPIRES)
        with pytest.raises(InvalidInput):
            verify(RING, token_for(), action=cast(TokenAction, "accept"), now=BEFORE)

    def test_token_errors_are_invalid_input(self) -> None:
        for error in (TokenTampered, TokenExpired, TokenWrongAction, TokenReplayed, UnknownKey):
            assert issubclass(error, TokenError)
        assert issubclass(TokenError, InvalidInput)
        assert issubclass(TokenError, ValueError)


# --------------------------------------------------------------------------- fuzzing


class TestFuzzing:
    # SPEC I5, D5: only typed errors, whatever arrives in a link
    @given(text=st.text())
    def test_arbitrary_text_is_refused_with_a_token_error(self, text: str) -> None:
        with pytest.raises(TokenError):
            verify(RING, text, action=TokenAction.ACCEPT, now=BEFORE)

    # SPEC I5, D5
    @given(text=st.text(alphabet=B64URL + "=.", max_size=200))
    def test_arbitrary_base64url_behind_the_prefix_is_refused_with_a_token_error(
        self, text: str
    ) -> None:
        with pytest.raises(TokenError):
            verify(RING, "v1." + text, action=TokenAction.ACCEPT, now=BEFORE)

    # SPEC I5, D5
    @given(blob=st.binary(max_size=300))
    def test_arbitrary_well_encoded_bytes_are_refused_with_a_token_error(self, blob: bytes) -> None:
        with pytest.raises(TokenError):
            verify(RING, reencode(blob), action=TokenAction.ACCEPT, now=BEFORE)

    # SPEC I5, D5
    @given(kid=key_ids, body=st.binary(max_size=120))
    def test_bytes_naming_a_known_key_are_refused_with_a_token_error(
        self, kid: str, body: bytes
    ) -> None:
        blob = bytes([len(KEY.key_id)]) + KEY.key_id.encode() + body
        with pytest.raises(TokenError):
            verify(RING, reencode(blob), action=TokenAction.ACCEPT, now=BEFORE)
        other = bytes([len(kid)]) + kid.encode() + body
        with pytest.raises(TokenError):
            verify(RING, reencode(other), action=TokenAction.ACCEPT, now=BEFORE)

    def test_huge_input_is_refused_without_decoding(self) -> None:
        with pytest.raises(TokenTampered, match="too long"):
            verify(RING, "v1." + "A" * 10_000_000, action=TokenAction.ACCEPT, now=BEFORE)

    @pytest.mark.parametrize("junk", [None, b"v1.AAAA", 42, ["v1."]])
    def test_a_token_that_is_not_text_is_refused(self, junk: object) -> None:
        with pytest.raises(TokenTampered):
            verify(RING, cast(str, junk), action=TokenAction.ACCEPT, now=BEFORE)

    def test_non_ascii_look_alikes_are_refused(self) -> None:
        token = token_for()
        # Every base64url character has a fullwidth twin (U+FF01..U+FF5E), which
        # ``str.isalnum`` and Unicode-aware regexes would accept.
        for position in range(3, len(token)):
            twin = chr(ord(token[position]) + 0xFEE0)
            lookalike = token[:position] + twin + token[position + 1 :]
            with pytest.raises(TokenTampered):
                verify(RING, lookalike, action=TokenAction.ACCEPT, now=BEFORE)

    def test_refusals_never_escape_the_library_hierarchy(self) -> None:
        assert issubclass(TokenError, UpslifeError)
