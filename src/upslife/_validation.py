"""Input checks shared by the domain modules (SPEC D1, D5).

Each function returns its argument unchanged when it is valid and raises a typed
:class:`~upslife.errors.InvalidInput` otherwise, so constructors can call them from
attrs validators or directly.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from upslife.errors import InvalidDate, InvalidEmail, InvalidInput, InvalidQuantity, NaiveDatetime

__all__ = [
    "require_date",
    "require_email",
    "require_instant",
    "require_positive_int",
    "require_text",
]

# Deliberately plain: one "@", a dot in the domain, no spaces or angle brackets. Full
# RFC 5322 address syntax is the mail adapter's business; here we refuse the obvious typos.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s<>()\[\],;:\"]+@{_LABEL}(?:\.{_LABEL})+$")


def require_date(value: object, name: str = "date") -> date:
    """A calendar date (SPEC D1); a ``datetime`` is refused, since it hides a time zone."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidDate(f"{name} must be a datetime.date, got {type(value).__name__}: {value!r}")
    return value


def require_instant(value: object, name: str = "instant") -> datetime:
    """An aware ``datetime`` (SPEC D1); a naive one is refused rather than guessed."""
    if not isinstance(value, datetime):
        raise InvalidDate(f"{name} must be a datetime with tzinfo, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(
            f"{name} {value.isoformat()} has no time zone; pass an aware datetime (SPEC D1)"
        )
    return value


def require_positive_int(value: object, name: str = "quantity") -> int:
    """An ``int`` that is at least 1 (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"{name} must be a whole number, got {type(value).__name__}")
    if value < 1:
        raise InvalidQuantity(f"{name} must be at least 1, got {value}")
    return value


def _encodable(value: str, name: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidInput(f"{name} is not valid Unicode text (lone surrogate)") from e
    return value


def require_text(value: object, name: str = "text") -> str:
    """A non-empty ``str`` of valid Unicode; leading and trailing blanks are dropped."""
    if type(value) is str and value.isascii():  # the common case, on hot paths: no encoding
        stripped = value.strip()
        if stripped:
            return stripped
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} must be a non-empty string, got {value!r}")
    return _encodable(value.strip(), name)


def require_email(value: object, name: str = "email") -> str:
    """A plausible email address, normalised to lower case in its domain part."""
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.match(value):
        raise InvalidEmail(f"{name} is not a valid email address: {value!r}")
    _encodable(value, name)
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"
