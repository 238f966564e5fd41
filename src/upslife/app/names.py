"""One canonical spelling for the names callers type: serial numbers and email addresses.

Every use case passes what it is given through these before it reads or writes the
store, so ``as2399000111`` finds the device registered as ``AS2399000111`` (and a UPS
that reports its own serial in lower case is matched), and ``Ops@Acme.example`` is the
owner ``ops@acme.example``.

Decision: email addresses compare without regard to case, local part included. RFC 5321
lets a mail server treat the local part as case-sensitive, but no mail service in use
does, and two accounts that differ only by case are always a typing accident.
"""

from __future__ import annotations

from upslife.errors import InvalidInput

__all__ = ["canonical_email", "canonical_serial"]


def canonical_serial(serial: object) -> str:
    """The stored spelling of a serial number: trimmed, upper case (SPEC E2)."""
    if not isinstance(serial, str):
        raise InvalidInput(f"a serial number is text, got {type(serial).__name__}")
    return serial.strip().upper()


def canonical_email(email: object) -> str:
    """The stored spelling of an email address: trimmed, lower case (see the module)."""
    if not isinstance(email, str):
        raise InvalidInput(f"an email address is text, got {type(email).__name__}")
    return email.strip().lower()
