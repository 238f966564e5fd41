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

Secrets never appear in output or logs.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import attrs

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
    db: str = "upslife.db"
    mail: str | None = None
    sender: str = "notices@upslife.invalid"
    secret: str | None = attrs.field(default=None, repr=False)
    secret_id: str = "k1"
    public_url: str = DEFAULT_PUBLIC_URL
    sign_up_url: str | None = None

    def open_store(self) -> Store:
        """The configured store (SQLite by default, PostgreSQL for a postgresql:// URL)."""
        if self.db.startswith(("postgresql://", "postgres://")):
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
            return MaildirSender(urlparse(url).path)
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
        values.update({k: str(v) for k, v in section.items()})
    env = os.environ if environ is None else environ
    for key in _KEYS:
        name = f"UPSLIFE_{key.upper()}"
        if env.get(name):
            values[key] = env[name]
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return Config(**values)
