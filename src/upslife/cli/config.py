"""Configuration of the command line: a TOML file, then environment variables, then flags.

Keys (file section ``[upslife]``, environment variable in brackets):

- ``db`` (``UPSLIFE_DB``): a SQLite file path or ``sqlite:///path``, or a PostgreSQL URL
  ``postgresql://user@host/db`` (needs ``upslife[postgres]``). Default ``upslife.db``.
- ``mail`` (``UPSLIFE_MAIL``): ``maildir:///path`` (the embedded default, ``outbox/``
  beside the database) or ``smtp://user:pass@host:587`` / ``smtps://...``.
- ``sender`` (``UPSLIFE_SENDER``): the From address of notices.
- ``secret`` (``UPSLIFE_SECRET``): the key signing reseller and share links, at least 32
  bytes: plain text, or base64 text (``upslife secret generate`` prints one); see
  :func:`parse_secret`. ``secret_id`` (``UPSLIFE_SECRET_ID``) names the key (default ``k1``).
- ``previous_secrets`` (``UPSLIFE_PREVIOUS_SECRETS``): keys that no longer sign but still
  verify the links already mailed (rotation, SPEC I5): ``ID:SECRET`` entries separated by
  commas or spaces.
- ``public_url`` (``UPSLIFE_PUBLIC_URL``): the https base URL at which ``upslife serve``
  (or the ``upslife.web`` app mounted by a service) is reached; every mailed link and the
  ``Message-ID`` domain come from it (docs/web.md).
- ``sign_up_url`` (``UPSLIFE_SIGN_UP_URL``): where the share page sends a user who has no
  account yet (SPEC S2).
- ``catalog`` (``UPSLIFE_CATALOG``): a JSON catalog file replacing the shipped one (SPEC C1).
- ``min_retry_days`` (``UPSLIFE_MIN_RETRY_DAYS``): the fewest days a transient delivery
  failure is retried after the day a message was planned for (default 3; docs/operations.md).
- ``webhooks`` (``UPSLIFE_WEBHOOKS``): the incoming-webhook URLs of chat routes, secrets
  (a webhook URL's path is its key): ``NAME=URL`` entries separated by spaces or commas;
  ``upslife chat add`` points an owner's route at one by ``NAME``.
- ``webhook_allow_hosts`` (``UPSLIFE_WEBHOOK_ALLOW_HOSTS``): hosts or networks on the
  local network a webhook may reach (a relay on ``127.0.0.1``), separated by spaces or
  commas; every other private, loopback or link-local address is refused.

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
from upslife.catalog import Catalog
from upslife.errors import InvalidInput
from upslife.invitations import Keyring, SigningKey
from upslife.ports import MailSender, Store

__all__ = ["Config", "load_config"]

_KEYS = (
    "db",
    "mail",
    "sender",
    "secret",
    "secret_id",
    "previous_secrets",
    "public_url",
    "sign_up_url",
    "catalog",
    "webhooks",
    "webhook_allow_hosts",
    "min_retry_days",
)
SETTING_NAMES = {key: f"UPSLIFE_{key.upper()}" for key in _KEYS}
"""The environment variable of each configuration key."""
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
        key = "catalog" if attribute.name == "catalog_file" else attribute.name
        raise InvalidInput(
            f"{key} ({SETTING_NAMES.get(key, key)}) must be non-empty text, "
            f"got {type(value).__name__}"
        )


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
    previous_secrets: str | None = attrs.field(default=None, repr=False, validator=_check_text)
    catalog_file: str | None = attrs.field(default=None, validator=_check_text)
    webhooks: str | None = attrs.field(default=None, repr=False, validator=_check_text)
    webhook_allow_hosts: str | None = attrs.field(default=None, validator=_check_text)
    min_retry_days: str | None = attrs.field(default=None, validator=_check_text)

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
        """The signing key and the previous keys that still verify (SPEC I5)."""
        if self.secret is None:
            return None
        current = parse_secret(self.secret_id, self.secret, "secret")
        previous = []
        for entry in _entries(self.previous_secrets):
            key_id, sep, text = entry.partition(":")
            if not sep or not key_id or not text:
                raise InvalidInput(
                    "previous_secrets (UPSLIFE_PREVIOUS_SECRETS): each entry is ID:SECRET, "
                    f"got an entry without ':' ({len(entry)} characters)"
                )
            previous.append(parse_secret(key_id, text, "previous_secrets"))
        try:
            return Keyring(current, tuple(previous))
        except InvalidInput as e:
            raise InvalidInput(f"secret_id / previous_secrets: {e}") from None

    def catalog(self) -> Catalog | None:
        """The replacement catalog (SPEC C1), or ``None`` for the shipped one."""
        if self.catalog_file is None:
            return None
        try:
            return Catalog.from_file(self.catalog_file)
        except InvalidInput as e:
            raise InvalidInput(f"catalog (UPSLIFE_CATALOG): {e}") from None

    def webhook_allowed(self) -> tuple[str, ...]:
        """The private hosts webhooks may reach (``webhook_allow_hosts``)."""
        return tuple(_entries(self.webhook_allow_hosts))

    def webhook_urls(self) -> dict[str, str]:
        """The configured webhook URLs by name (``webhooks``, ``UPSLIFE_WEBHOOKS``)."""
        urls: dict[str, str] = {}
        for entry in _entries(self.webhooks):
            name, sep, url = entry.partition("=")
            if not sep or not name or not url:
                raise InvalidInput(
                    "webhooks (UPSLIFE_WEBHOOKS): each entry is NAME=URL, "
                    f"got {name or entry[:20]!r} without a URL"
                )
            urls[name] = url
        return urls

    def delivery(self) -> DeliverySettings:
        settings = DeliverySettings(
            sender=self.sender,
            public_url=self.public_url,
            sign_up_url=self.sign_up_url,
            keyring=self.keyring(),
        )
        if self.min_retry_days is not None:
            settings = attrs.evolve(settings, min_retry_days=self._retry_days())
        return settings

    def _retry_days(self) -> int:
        text = self.min_retry_days or ""
        if not text.strip().isdigit() or not 0 < int(text) <= 365:
            raise InvalidInput(
                "min_retry_days (UPSLIFE_MIN_RETRY_DAYS): a whole number of days from 1 to "
                f"365, got {text!r}"
            )
        return int(text)


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
    if "catalog" in values:
        values["catalog_file"] = values.pop("catalog")
    return Config(**values)


def _entries(text: str | None) -> list[str]:
    return [] if text is None else text.replace(",", " ").split()


def parse_secret(key_id: str, text: str, setting: str) -> SigningKey:
    """A signing key from its configured text (SPEC I5).

    ``base64:TEXT`` is base64 (or base64url) and ``text:TEXT`` plain text, explicitly.
    Without a prefix, text that is valid base64 of at least 32 bytes is taken as base64
    (what ``upslife secret generate`` prints); anything else is plain text, its UTF-8
    bytes, which must be at least 32. An error names the setting, never the secret.
    """
    env = SETTING_NAMES.get(setting, setting)
    where = f"{setting} ({env})"
    value = text.strip()
    try:
        if value.startswith("base64:"):
            return SigningKey.from_base64(key_id, value.removeprefix("base64:"))
        if value.startswith("text:"):
            return SigningKey(key_id, value.removeprefix("text:").encode("utf-8"))
        try:
            return SigningKey.from_base64(key_id, value)
        except InvalidInput:
            return SigningKey(key_id, value.encode("utf-8"))
    except InvalidInput as e:
        raise InvalidInput(f"{where}: {e}") from None
