"""Configuration of the command line: a TOML file, then environment variables, then flags.

Keys (file section ``[upslife]``, environment variable in brackets):

- ``db`` (``UPSLIFE_DB``): a SQLite file path or ``sqlite:///path``, or a PostgreSQL URL
  ``postgresql://user@host/db`` (needs ``upslife[postgres]``). Default ``upslife.db``.
- ``mail`` (``UPSLIFE_MAIL``): ``maildir:///path`` (the embedded default, ``outbox/``
  beside the database) or ``smtp://user:pass@host:587`` / ``smtps://...``.
- ``sender`` (``UPSLIFE_SENDER``): the From address of notices.
- ``secret`` (``UPSLIFE_SECRET``): base64 text of at least 32 bytes, signing reseller links;
  ``secret_id`` (``UPSLIFE_SECRET_ID``) names the key (default ``k1``).
- ``public_url`` (``UPSLIFE_PUBLIC_URL``): the https base URL at which ``upslife serve``
  (or the ``upslife.web`` app mounted by a service) is reached; every mailed link and the
  ``Message-ID`` domain come from it (docs/web.md).
- ``sign_up_url`` (``UPSLIFE_SIGN_UP_URL``): where the share page sends a user who has no
  account yet (SPEC S2).

Secrets never appear in output or logs: a malformed URL is shown with its password
replaced by ``***``. Every value is checked when the configuration is loaded, whichever
command runs, so a mistake is refused with one line before anything is done
(``docs/validation.md``): an empty ``db``, a ``db`` or ``mail`` that is not a string, a
``maildir://`` URL without an absolute path (``maildir:///var/mail/upslife``: three
slashes), an unknown scheme, a malformed PostgreSQL or SMTP URL.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from upslife._validation import hide_passwords, require_email
from upslife.adapters.maildir import MaildirSender
from upslife.adapters.smtp import SmtpSender
from upslife.adapters.sqlite import SqliteStore
from upslife.app import DeliverySettings
from upslife.app.links import DEFAULT_PUBLIC_URL
from upslife.errors import InvalidInput
from upslife.invitations import Keyring, SigningKey
from upslife.ports import MailSender, Store

__all__ = ["Config", "load_config"]

_KEYS = ("db", "mail", "sender", "secret", "secret_id", "public_url", "sign_up_url")
_POSTGRES = ("postgresql://", "postgres://")


def masked(url: str) -> str:
    """``url`` with any password shown as ``***``."""
    return hide_passwords(url)


def _check_db(_instance: Any, _attribute: Any, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"db must be a SQLite file path or a postgresql:// URL, got {value!r}")
    if "\x00" in value:
        raise InvalidInput("db holds a NUL character")
    if value.startswith(_POSTGRES):
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (parsing the port is the check)
        except ValueError as e:
            raise InvalidInput(f"db is not a valid PostgreSQL URL ({e}): {masked(value)}") from None
        return
    if value.startswith("sqlite://"):
        if not value.removeprefix("sqlite://"):
            raise InvalidInput("db sqlite:// needs a path: sqlite:///absolute/path or a file path")
        return
    if "://" in value:
        raise InvalidInput(
            f"db must be a SQLite file path, sqlite:///path or postgresql://..., "
            f"got {masked(value)!r}"
        )


def _check_mail(_instance: Any, _attribute: Any, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"mail must be maildir:///path or smtp(s)://..., got {value!r}")
    if value.startswith("maildir:"):
        _maildir_path(value)
    elif value.startswith(("smtp://", "smtps://")):
        try:
            SmtpSender.from_url(value)
        except InvalidInput as e:
            raise InvalidInput(f"mail {masked(value)}: {e}") from None
    else:
        raise InvalidInput(f"mail must be maildir:///path or smtp(s)://..., got {masked(value)!r}")


def _maildir_path(url: str) -> str:
    """The absolute directory of a ``maildir:///path`` URL (three slashes, RFC 8089 style)."""
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise InvalidInput(f"mail {url!r} is not a valid URL ({e})") from None
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise InvalidInput(
            f"mail {url!r} needs an absolute directory: maildir:///var/mail/upslife "
            "(three slashes; a relative path or a host is refused)"
        )
    if parts.path.strip("/") == "" or "\x00" in parts.path:
        raise InvalidInput(f"mail {url!r} needs a directory other than /")
    return parts.path


def _check_sender(_instance: Any, _attribute: Any, value: object) -> None:
    require_email(value, "sender")


def _check_text(_instance: Any, attribute: Any, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InvalidInput(f"{attribute.name} must be non-empty text, got {type(value).__name__}")


SQLITE_BUSY_TIMEOUT = 60.0
"""Seconds a command waits for another process's SQLite write lock (docs/operations.md)."""


def _read_config_file(path: Path) -> str:
    """The text of a configuration file that must be a regular file: a FIFO, a device or a
    directory is refused at once (opened without blocking, checked with ``fstat``), never
    waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as e:
        raise InvalidInput(f"configuration file {path} does not exist") from e
    except OSError as e:
        raise InvalidInput(f"configuration file {path} cannot be opened: {e.strerror}") from e
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidInput(f"configuration file {path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(_MAX_CONFIG_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_CONFIG_BYTES:
        raise InvalidInput(f"configuration file {path} is larger than {_MAX_CONFIG_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"configuration file {path} is not UTF-8 text: {e}") from e


_MAX_CONFIG_BYTES = 1 << 20


@attrs.frozen
class Config:
    db: str = attrs.field(default="upslife.db", validator=_check_db)
    mail: str | None = attrs.field(default=None, validator=_check_mail)
    sender: str = attrs.field(default="notices@upslife.invalid", validator=_check_sender)
    secret: str | None = attrs.field(default=None, repr=False, validator=_check_text)
    secret_id: str = attrs.field(default="k1", validator=_check_text)
    public_url: str = attrs.field(default=DEFAULT_PUBLIC_URL, validator=_check_text)
    sign_up_url: str | None = attrs.field(default=None, validator=_check_text)

    def open_store(self) -> Store:
        """The configured store (SQLite by default, PostgreSQL for a postgresql:// URL)."""
        if self.db.startswith(_POSTGRES):
            from upslife.adapters.postgres import PostgresStore

            return PostgresStore(self.db)
        path = self.db.removeprefix("sqlite://") if self.db.startswith("sqlite://") else self.db
        parent = Path(path).parent
        if not parent.is_dir():
            raise InvalidInput(f"database directory {parent} does not exist")
        # Concurrent sweeps (cron overlapping a manual run) wait for each other's write
        # transactions instead of failing; past this, "locked" is a try-again-later (75).
        return SqliteStore(path, busy_timeout=SQLITE_BUSY_TIMEOUT)

    def mail_sender(self) -> MailSender:
        """The configured sender; a Maildir beside the database by default."""
        url = self.mail
        if url is None:
            base = Path(self.db).parent if "://" not in self.db else Path.cwd()
            return MaildirSender(base / "outbox")
        if url.startswith("maildir://"):
            return MaildirSender(_maildir_path(url))
        if url.startswith(("smtp://", "smtps://")):
            return SmtpSender.from_url(url)
        raise InvalidInput(f"mail must be maildir:///path or smtp(s)://..., got {url!r}")

    def keyring(self) -> Keyring | None:
        if self.secret is None:
            return None
        return Keyring(SigningKey.from_base64(self.secret_id, self.secret))

    def delivery(self) -> DeliverySettings:
        return DeliverySettings(
            sender=self.sender,
            public_url=self.public_url,
            sign_up_url=self.sign_up_url,
            keyring=self.keyring(),
        )


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, str | None] | None = None,
) -> Config:
    """File, then ``UPSLIFE_*`` environment variables, then ``overrides`` (flags) win."""
    values: dict[str, str] = {}
    if path is not None:
        text = _read_config_file(Path(path))
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise InvalidInput(f"configuration file {path} is not valid TOML: {e}") from e
        section = data.get("upslife", data)
        if not isinstance(section, dict):
            raise InvalidInput(f"configuration file {path}: [upslife] must be a table")
        unknown = set(section) - set(_KEYS)
        if unknown:
            raise InvalidInput(f"configuration file {path}: unknown keys {sorted(unknown)}")
        for key, value in section.items():
            if not isinstance(value, str):
                raise InvalidInput(
                    f"configuration file {path}: {key} must be a string, "
                    f"got {type(value).__name__} {value!r}"
                )
        values.update(section)
    env = os.environ if environ is None else environ
    for key in _KEYS:
        name = f"UPSLIFE_{key.upper()}"
        if env.get(name):
            values[key] = env[name]
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return Config(**values)
