"""Input checks shared by the domain modules (SPEC D1, D5; issue 13).

Each function returns its argument (normalised where said) when it is valid and raises a
typed :class:`~upslife.errors.InvalidInput` otherwise, so constructors can call them from
attrs converters or directly. The limits are documented in ``docs/validation.md``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any, TypeVar

from upslife.errors import (
    InvalidDate,
    InvalidEmail,
    InvalidInput,
    InvalidQuantity,
    InvalidType,
    NaiveDatetime,
)

__all__ = [
    "EARLIEST_DAY",
    "LATEST_DAY",
    "MAX_ID",
    "MAX_MESSAGE",
    "MAX_NAME",
    "MAX_SERIAL",
    "hide_passwords",
    "iter_items",
    "require_date",
    "require_email",
    "require_instance",
    "require_instant",
    "require_items",
    "require_optional",
    "require_positive_int",
    "require_supported_instant",
    "require_text",
    "require_timezone",
    "slot_setters",
    "trusted_instance",
    "zone",
]

_T = TypeVar("_T")

MAX_SERIAL = 64
"""Serial numbers, model names, SKUs: the longest real one is under 20 characters."""
MAX_ID = 128
"""Identifiers made by the library or its caller: invitation, license and code ids."""
MAX_NAME = 200
"""People's and companies' names, job roles, phone numbers, route names."""
MAX_MESSAGE = 2000
"""Free text written by the library itself (event-log messages and reasons)."""

# Unicode categories refused in any text: controls (Cc: NUL, CR, LF, ESC, DEL, NEL...),
# format characters (Cf: zero-width spaces and joiners, bidirectional overrides, BOM),
# lone surrogates (Cs) and the line and paragraph separators (Zl, Zp). Multi-line text
# (event-log messages) may hold LF and TAB, nothing else from this list.
_REFUSED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, unicodedata.category(ch))}"


def _check_characters(value: str, name: str, multiline: bool) -> None:
    if value.isprintable():  # C-fast: no Cc, Cf, Cs, Zl, Zp (nor Zs other than space)
        return
    for ch in value:
        category = unicodedata.category(ch)
        if category in _REFUSED and not (multiline and ch in "\n\t"):
            what = (
                "a lone surrogate character"
                if category == "Cs"
                else ("a control character" if category == "Cc" else "a format character")
            )
            raise InvalidInput(f"{name} holds {what} ({_describe(ch)}): {value!r}")


def require_instance(value: object, cls: type[_T], name: str) -> _T:
    """``value`` if it is a ``cls``; else :class:`InvalidType` naming what it got."""
    if not isinstance(value, cls):
        raise InvalidType(
            f"{name} must be a {cls.__name__}, got {type(value).__name__}: {_short(value)}"
        )
    return value


def slot_setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of the slots ``names`` of a frozen ``attrs`` class, in order.

    They are for the library's trusted constructors (``object.__new__`` and these setters):
    values built from values the library has validated already, on hot paths, never from
    caller input. A slot's own setter skips the class's validators and its frozen
    ``__setattr__``, and costs about half of ``object.__setattr__``. Each trusted
    constructor is held equal to the public one by a property test.
    """
    return tuple(cls.__dict__[name].__set__ for name in names)


def trusted_instance(
    cls: type[_T], setters: tuple[Callable[[Any, Any], None], ...], *values: object
) -> _T:
    """An instance of ``cls`` with ``values`` set through ``setters`` (:func:`slot_setters`,
    in the same order): a trusted constructor in one call. Same rules as there."""
    instance = object.__new__(cls)
    for set_slot, value in zip(setters, values, strict=True):
        set_slot(instance, value)
    return instance


def require_optional(value: object, cls: type[_T], name: str) -> _T | None:
    """``None`` or a ``cls``."""
    return None if value is None else require_instance(value, cls, name)


def require_items(values: object, cls: type[_T], name: str) -> tuple[_T, ...]:
    """The items of an iterable (not a ``str``), each a ``cls``, as a tuple."""
    if type(values) is tuple:  # the common case, on hot paths: no ABC check, no copy
        for item in values:
            if not isinstance(item, cls):
                break
        else:
            return values
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidType(
            f"{name} must be an iterable of {cls.__name__}, got {type(values).__name__}: "
            f"{_short(values)}"
        )
    items = tuple(values)
    for item in items:
        if not isinstance(item, cls):
            raise InvalidType(
                f"{name} must hold only {cls.__name__} items, got {type(item).__name__}: "
                f"{_short(item)}"
            )
    return items


def iter_items(values: object, cls: type[_T], name: str) -> Iterator[_T]:
    """The items of an iterable, lazily, each checked to be a ``cls`` (streamed exports)."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidType(
            f"{name} must be an iterable of {cls.__name__}, got {type(values).__name__}: "
            f"{_short(values)}"
        )
    for item in values:
        if not isinstance(item, cls):
            raise InvalidType(
                f"{name} must hold only {cls.__name__} items, got {type(item).__name__}: "
                f"{_short(item)}"
            )
        yield item


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def require_date(value: object, name: str = "date") -> date:
    """A calendar date (SPEC D1); a ``datetime`` is refused, since it hides a time zone."""
    if type(value) is date:  # the common case, on hot paths
        return value
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidDate(
            f"{name} must be a datetime.date, got {type(value).__name__}: {_short(value)}"
        )
    return value


def require_instant(value: object, name: str = "instant") -> datetime:
    """An aware ``datetime`` (SPEC D1); a naive one is refused rather than guessed.

    Instants whose UTC value falls outside ``datetime``'s range (year 1 at +14:00, year
    9999 at -12:00) are refused too, since every rule converts to UTC.
    """
    if not isinstance(value, datetime):
        raise InvalidDate(f"{name} must be a datetime with tzinfo, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(
            f"{name} {value.isoformat()} has no time zone; pass an aware datetime (SPEC D1)"
        )
    try:
        value - value.utcoffset()  # type: ignore[operator]
    except OverflowError:
        raise InvalidDate(f"{name} {value.isoformat()} is out of range in UTC") from None
    return value


EARLIEST_DAY = date(1900, 1, 1)
"""The earliest day the application layer runs on (a clock, ``--on``)."""
LATEST_DAY = date(9899, 12, 31)
"""The latest: a sweep looks years ahead (service life, 5-year terms) and must stay in
``datetime``'s range; the pure rules take any date and refuse what overflows."""


def require_supported_instant(value: object, name: str = "now") -> datetime:
    """An aware instant whose UTC date is within ``EARLIEST_DAY`` .. ``LATEST_DAY``."""
    at = require_instant(value, name)
    day = (at - at.utcoffset()).date()  # type: ignore[operator]
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidDate(
            f"{name} {at.isoformat()} is outside the supported range "
            f"{EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"
        )
    return at


def require_positive_int(value: object, name: str = "quantity") -> int:
    """An ``int`` that is at least 1 (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"{name} must be a whole number, got {type(value).__name__}")
    if value < 1:
        raise InvalidQuantity(f"{name} must be at least 1, got {value}")
    return value


def require_text(
    value: object, name: str = "text", *, max_length: int = MAX_NAME, multiline: bool = False
) -> str:
    """A non-empty ``str`` of at most ``max_length`` characters, blanks around dropped.

    Control and format characters (CR, LF, NUL, zero-width and bidirectional marks,
    lone surrogates) are refused: such text ends up in mail headers, file names and
    reports (issue 13). ``multiline`` text may hold LF and TAB.
    """
    if type(value) is str:  # the common case, on hot paths: a few C calls
        stripped = value.strip()
        if stripped and len(stripped) <= max_length and stripped.isprintable():
            return stripped
    if not isinstance(value, str):
        raise InvalidInput(
            f"{name} must be a non-empty string, got {type(value).__name__}: {_short(value)}"
        )
    stripped = value.strip()
    if not stripped:
        raise InvalidInput(f"{name} must be a non-empty string, got {value!r}")
    if len(stripped) > max_length:
        raise InvalidInput(
            f"{name} is {len(stripped)} characters long; the most allowed is {max_length}"
        )
    _check_characters(stripped, name, multiline)
    return stripped


# --- email addresses (RFC 5321 section 4.1.2 and 4.5.3, RFC 5322 section 3.4.1, RFC 5890)

# The local part is a dot-atom of ASCII atext: no quoted strings, no comments, no
# internationalised local parts (they need SMTPUTF8 from every relay on the way).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LDH = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_IDN_CATEGORIES = frozenset({"Ll", "Lo", "Lm", "Mn", "Mc", "Nd"})
# The common address, accepted by one match: an ASCII dot-atom, a lower-case LDH domain of
# two or more labels of 63 characters at most, a letters-only top-level domain. Anything
# else (upper case, IDNA, "--" in a label, lengths near the limits) takes the full check.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[a-z]{{2,63}}")


def _domain_label(label: str, address: str, name: str) -> str:
    """One label of the domain, lower case; a Unicode label must be IDNA-encodable."""
    if label.isascii():
        if not _LDH.fullmatch(label) or len(label) > 63:
            raise InvalidEmail(f"{name} has an invalid domain label {label!r}: {address!r}")
        if label[2:4] == "--":  # reserved, except an A-label that decodes (RFC 5891 4.2.3.1)
            try:
                if not label.startswith("xn--") or not label.encode().decode("idna"):
                    raise UnicodeError(label)
            except UnicodeError:
                raise InvalidEmail(
                    f"{name} has a domain label {label!r} that is not a valid IDNA A-label: "
                    f"{address!r}"
                ) from None
        return label
    label = unicodedata.normalize("NFC", label)
    if (
        label[0] == "-"
        or label[-1] == "-"
        or label[2:4] == "--"
        or not all(
            ch == "-"
            or (ch.isascii() and ch.isalnum())
            or unicodedata.category(ch) in _IDN_CATEGORIES
            for ch in label
        )
    ):
        raise InvalidEmail(f"{name} has an invalid domain label {label!r}: {address!r}")
    try:
        encoded = label.encode("idna")
    except UnicodeError:
        raise InvalidEmail(
            f"{name} has a domain label that IDNA cannot encode: {address!r}"
        ) from None
    if len(encoded) > 63:
        raise InvalidEmail(f"{name} has a domain label over 63 octets: {address!r}")
    return label


@functools.lru_cache(maxsize=4096)
def _email(value: str, name: str) -> str:
    """:func:`_email_checked`, with a fast path for the common address, which that check
    returns unchanged (a property test holds the two equal)."""
    if (
        len(value) <= 254
        and _PLAIN_EMAIL.fullmatch(value)
        and "--" not in value
        and value.index("@") <= 64  # atext holds no "@": the local part's length
    ):
        return value
    return _email_checked(value, name)


def _email_checked(value: str, name: str) -> str:
    if len(value.encode("utf-8", "surrogatepass")) > 254:
        raise InvalidEmail(f"{name} is longer than 254 octets (RFC 5321): {_short(value)}")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmail(f"{name} is not an email address (local@domain): {value!r}")
    if not local.isascii() or not _LOCAL.fullmatch(local):
        if local.isascii() and (local.startswith(".") or local.endswith(".") or ".." in local):
            why = "a dot may not start or end it or follow another dot"
        else:
            why = "it may hold only letters, digits, dots and !#$%&'*+/=?^_`{|}~- (RFC 5322)"
        raise InvalidEmail(f"{name} has an invalid part before the @ ({why}): {value!r}")
    if len(local) > 64:
        raise InvalidEmail(f"{name} has more than 64 characters before the @ (RFC 5321): {value!r}")
    labels = domain.lower().split(".")
    if len(labels) < 2:
        raise InvalidEmail(f"{name} needs a domain with a dot after the @: {value!r}")
    checked = [_domain_label(label, value, name) for label in labels] if all(labels) else None
    if checked is None:
        raise InvalidEmail(f"{name} has an empty domain label: {value!r}")
    tld = checked[-1]
    if tld.isascii() and not _TLD.fullmatch(tld):
        raise InvalidEmail(f"{name} has an invalid top-level domain {tld!r}: {value!r}")
    return f"{local}@{'.'.join(checked)}"


def require_email(value: object, name: str = "email") -> str:
    """A mailbox address as RFC 5321/5322 define it, domain in lower case (SPEC D5).

    The local part is an ASCII dot-atom (``a..b@`` and ``.a@`` are refused); the domain
    has at least two labels, each letters, digits and inner hyphens, or an internationalised
    label (kept in Unicode, NFC) that IDNA can encode. No blank, control, zero-width or
    bidirectional character anywhere; at most 254 octets. Held to ``email-validator`` by
    a differential property (``tests/test_validation.py``).
    """
    if not isinstance(value, str):
        raise InvalidEmail(f"{name} must be a string, got {type(value).__name__}: {_short(value)}")
    return _email(value, name)


# --- secrets in messages

_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@\"']*:)[^\s@\"']*@")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s\"]*)", re.IGNORECASE)


def hide_passwords(text: str) -> str:
    """``text`` with the password of any URL (``scheme://user:pw@``) or ``password=...``
    connection parameter shown as ``***``: for error messages that quote a setting."""
    return _KV_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


# --- time zones (SPEC D1)

_NOT_IANA = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_IANA


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``; :class:`InvalidInput` for anything else."""
    if name not in _iana_names():
        raise InvalidInput(
            f"unknown time zone {_short(name)}; use an IANA name such as Europe/Paris "
            "(no file paths, POSIX rules or offsets such as UTC+3)"
        )
    return zoneinfo.ZoneInfo(name)


def require_timezone(value: object, name: str = "timezone") -> str:
    """An IANA time zone name known to this machine's tz database (SPEC D1)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be an IANA time zone name, got {type(value).__name__}")
    zone(value)
    return value
