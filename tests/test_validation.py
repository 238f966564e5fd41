"""Checks at the door: email addresses, time zones, text lengths and characters (issue 13)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given
from hypothesis import strategies as st

from tests.strategies import (
    MALFORMED_EMAILS,
    hostile_emails,
    well_formed_emails,
    with_examples,
)
from upslife import (
    Contact,
    InvalidDate,
    InvalidEmail,
    InvalidInput,
    InvalidType,
    Plan,
    ShareVia,
    SharingState,
    accept_share,
    add_months,
    can,
    coverage,
    invite,
    invite_share,
    is_connected,
    promotions_from_config,
    register,
)
from upslife._validation import (
    MAX_NAME,
    MAX_SERIAL,
    _email_checked,
    require_email,
    require_text,
    require_timezone,
)
from upslife.ports import Owner


def reference_accepts(address: str) -> bool:
    """What email-validator (syntax only, no DNS, no special-use-domain policy) says."""
    try:
        validate_email(address, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError:
        return False
    return True


def ours_accepts(address: str) -> bool:
    try:
        require_email(address)
    except InvalidEmail:
        return False
    return True


class TestEmailAgreesWithEmailValidator:
    # Issue 13: held to a well-kept validator by a differential property.

    @given(well_formed_emails)
    @example("jörg@bücher.example".replace("ö", "o"))
    @example("a@straße.de")
    def test_a_well_formed_address_is_accepted_by_both_or_by_neither(self, address: str) -> None:
        assert ours_accepts(address) is reference_accepts(address)

    @given(hostile_emails)
    @example("0@a.xn--80asehdb0")
    @example("0@ab--c.com")
    @example("a@b.xn--80asehdbß")
    @with_examples(*MALFORMED_EMAILS)
    def test_what_we_accept_the_reference_accepts(self, address: str) -> None:
        if ours_accepts(address):
            assert reference_accepts(address), address

    @pytest.mark.parametrize("address", MALFORMED_EMAILS)
    def test_a_malformed_address_is_refused(self, address: str) -> None:
        with pytest.raises(InvalidEmail):
            require_email(address)

    @given(st.one_of(well_formed_emails, hostile_emails))
    @example("a--b@x.com")
    @example("a@ab--c.com")
    @example(f"{'a' * 64}@x.com")
    @example(f"{'a' * 65}@x.com")
    @example(f"a@{'b' * 63}.com")
    @example(f"a@{'b' * 64}.com")
    @example(f"a@{'b.' * 125}co")
    @example("a@x.COM")
    def test_the_fast_path_returns_what_the_full_check_returns(self, address: str) -> None:
        # docs/performance.md, B2a: a plain address is accepted by one match
        try:
            expected: str | None = _email_checked(address, "email")
        except InvalidEmail:
            expected = None
        try:
            got: str | None = require_email(address)
        except InvalidEmail:
            got = None
        assert got == expected

    def test_an_internationalised_domain_is_accepted_in_lower_case_nfc(self) -> None:
        assert require_email("Jorg@BÜCHER.Example") == "Jorg@bücher.example"
        assert require_email("a@bu\u0308cher.example") == "a@bücher.example"


class TestTimeZones:
    # Issue 13, SPEC D1: IANA names only.

    @pytest.mark.parametrize(
        "name",
        [
            "XYZ3",
            "UTC+3",
            "/etc/localtime",
            "/etc/passwd",
            "localtime",
            "../UTC",
            "posixrules",
            "Factory",
            "",
            "Europe/Nowhere",
            "europe/paris\n",
        ],
    )
    def test_anything_but_an_iana_name_is_refused(self, name: str) -> None:
        with pytest.raises(InvalidInput, match="IANA"):
            require_timezone(name)

    @pytest.mark.parametrize("name", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"])
    def test_an_iana_name_is_accepted(self, name: str) -> None:
        assert require_timezone(name) == name

    def test_an_owner_with_a_file_path_for_a_zone_is_refused(self) -> None:
        contact = Contact("Acme", "Al", "al@acme.example")
        with pytest.raises(InvalidInput, match="IANA"):
            Owner("al@acme.example", contact, "/etc/passwd")


class TestTextAtTheDoor:
    @pytest.mark.parametrize(
        "name",
        [
            "Poison\r\nBcc: evil@x.example",
            "a\n\nb",
            "a\x00",
            "a\u200bb",
            "\u202eab",
            "a\ufeff",
            "a\u2028b",
            "a\x1b[31m",
            "a\x85b",
            "a\ud800",
        ],
    )
    def test_a_name_with_a_control_or_format_character_is_refused(self, name: str) -> None:
        with pytest.raises(InvalidInput, match="character"):
            Contact(name, "Al", "al@acme.example")
        with pytest.raises(InvalidInput, match="character"):
            Contact("Acme", name, "al@acme.example", job_role=name)

    def test_names_keep_their_letters_and_inner_blanks(self) -> None:
        contact = Contact("  Bäckerei Müller\u00a0GmbH ", "Zoë Ferré", "z@b.example")
        assert contact.company == "Bäckerei Müller\u00a0GmbH"

    def test_a_100_kb_serial_is_refused_and_the_limit_is_accepted(self) -> None:
        with pytest.raises(InvalidInput, match="the most allowed is 64"):
            register("A" * 100_000, "SMT750IC", date(2025, 1, 1))
        assert require_text("A" * MAX_SERIAL, max_length=MAX_SERIAL) == "A" * MAX_SERIAL

    @given(
        st.text(min_size=MAX_NAME + 1, max_size=MAX_NAME + 50).filter(
            lambda t: len(t.strip()) > MAX_NAME
        )
    )
    def test_every_name_longer_than_the_limit_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidInput):
            Contact(text, "Al", "al@acme.example")


def wrong(value: object) -> Any:
    """``value`` passed where another type is declared, as an untyped caller would."""
    return value


class TestTheShapesIssue13Reported:
    # Each once escaped as an untyped exception (OverflowError, TypeError, ValueError).
    MAX = datetime.max.replace(tzinfo=UTC)

    def test_an_invitation_that_would_expire_after_9999_is_refused(self) -> None:
        with pytest.raises(InvalidDate):
            invite("a@b.example", "r@x.example", "Acme", self.MAX, current=None, invitation_id="i")

    def test_a_share_expiring_after_9999_is_refused(self) -> None:
        state = SharingState("a@b.example", devices=["AS1"])
        with pytest.raises(InvalidInput):
            invite_share(
                state,
                "AS1",
                Plan.STANDARD,
                "c@d.example",
                self.MAX,
                via=ShareVia.EMAIL,
                user_has_account=True,
            )

    def test_an_instant_out_of_range_in_utc_is_refused(self) -> None:
        with pytest.raises(InvalidDate, match="out of range"):
            accept_share(
                SharingState("a@b.example"),
                "AS1",
                "c@d.example",
                datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
                user_has_account=True,
            )

    @pytest.mark.parametrize(
        "call",
        [
            lambda: coverage(date(2024, 1, 1), wrong(None)),
            lambda: add_months(date(2024, 1, 1), wrong(0.8)),
            lambda: promotions_from_config(wrong(None)),
            lambda: promotions_from_config(wrong([None])),
            lambda: can(Plan.BASIC, wrong(None)),
            lambda: is_connected(wrong(3)),
        ],
    )
    def test_a_wrong_type_is_an_invalid_type_and_a_type_error(self, call: Any) -> None:
        with pytest.raises(InvalidType) as refused:
            call()
        assert isinstance(refused.value, TypeError)

    def test_a_registration_near_9999_is_refused_not_overflowed(self) -> None:
        with pytest.raises(InvalidDate):
            coverage(date(9999, 12, 1))
