"""Shared hypothesis strategies: dates that stress month arithmetic, licenses, codes, and
email addresses (well formed, malformed and hostile)."""

from __future__ import annotations

import calendar
import string
from collections.abc import Callable
from datetime import date, timedelta
from typing import TypeVar

from hypothesis import example
from hypothesis import strategies as st

from upslife.entitlements import License, Plan, Term

PAID_PLANS = st.sampled_from([Plan.STANDARD, Plan.ADVANCED])
TERMS = st.sampled_from(list(Term))


@st.composite
def month_end_dates(draw: st.DrawFn, min_year: int = 2000, max_year: int = 2060) -> date:
    """A date on the last days of a month or the first of the next, 29 February often."""
    year = draw(st.integers(min_year, max_year))
    if draw(st.booleans()):
        year = draw(st.sampled_from([y for y in range(min_year, max_year + 1) if y % 4 == 0]))
        month = 2
    else:
        month = draw(st.integers(1, 12))
    last = calendar.monthrange(year, month)[1]
    day = draw(st.sampled_from(sorted({1, 28, min(29, last), min(30, last), last})))
    return date(year, month, day)


def dates(min_year: int = 2000, max_year: int = 2060) -> st.SearchStrategy[date]:
    """Any date, with month ends and 29 February heavily represented."""
    return st.one_of(
        month_end_dates(min_year, max_year),
        st.dates(date(min_year, 1, 1), date(max_year, 12, 31)),
    )


@st.composite
def licenses_after(
    draw: st.DrawFn,
    start: date,
    *,
    plans: st.SearchStrategy[Plan] = PAID_PLANS,
    max_size: int = 8,
    within_days: int = 3000,
) -> list[License]:
    """A list of licenses assigned on days from ``start`` on, in no particular order."""
    count = draw(st.integers(0, max_size))
    result = []
    for n in range(count):
        offset = draw(st.integers(0, within_days))
        result.append(
            License.of(f"L{n}", draw(plans), draw(TERMS), start + timedelta(days=offset))
        )
    return result


# --------------------------------------------------------------------------- email addresses
# SPEC D5, issue 13: what ``require_email`` must refuse, shared by the fuzzers
# (tests/fuzz_values.py) and the validation tests (tests/test_validation.py).

MALFORMED_EMAILS: tuple[str, ...] = (
    "a@x.com\n",
    "a\x00b@x.com",
    "a\u200b@x.com",
    "\u202eevil@x.com",
    "a..b@x.com",
    ".a@x.com",
    "a.@x.com",
    "a@x",
    "a@-x.com",
    "a@x..com",
    "a b@x.com",
    "a@x.c0m1",
    "x" * 65 + "@x.com",
    "a@" + "b" * 64 + ".com",
    "a@" + "abcdefghi." * 26 + "com",
    "a@" + ".".join(["abcdefghi"] * 30) + ".com",
    "zoë@example.com",
    "jörg@bücher.example",
    '"a b"@x.com',
    "a@[127.0.0.1]",
)
"""Addresses refused at the door: line breaks, NUL, invisible and bidirectional characters,
misplaced dots, bad labels, too long parts, quoted or non-ASCII local parts, IP literals."""

EMAIL_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
EMAIL_HOSTILE = (
    '@.. \t\r\n\x00\x7f\u200b\u200d\u202e\u2066\ufeff\u00a0\u2028éßü<>()[]\\",;:' + "aZ09-_"
)

_atoms = st.text(alphabet=EMAIL_ATEXT, min_size=1, max_size=8)
_local_parts = st.lists(_atoms, min_size=1, max_size=3).map(".".join)
_ascii_labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_idn_labels = st.text(alphabet="abcäöüéñçåøßяж", min_size=1, max_size=8)
_tlds = st.sampled_from(["com", "example", "de", "co", "онлайн", "xn--80asehdb"])
_domains = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(st.one_of(_ascii_labels, _idn_labels), min_size=1, max_size=3),
    _tlds,
)
well_formed_emails = st.builds(lambda local, domain: f"{local}@{domain}", _local_parts, _domains)
"""Dot-atom local parts at ASCII or internationalised domains: mostly valid, some not
(a label of hyphens, a TLD of digits), for a differential test against a reference."""

hostile_emails = st.one_of(
    st.text(alphabet=EMAIL_HOSTILE, max_size=20),
    st.builds(
        lambda a, b, c: a + b + c,
        st.text(EMAIL_HOSTILE, max_size=3),
        well_formed_emails,
        st.text(EMAIL_HOSTILE, max_size=3),
    ),
)
"""Well-formed addresses wrapped in, and text made of, the characters an attacker uses."""

_F = TypeVar("_F", bound=Callable[..., object])


def with_examples(*values: object) -> Callable[[_F], _F]:
    """``@example(v)`` for each of ``values``: a hypothesis test always tries them."""

    def decorate(test: _F) -> _F:
        for value in values:
            test = example(value)(test)
        return test

    return decorate
