"""The embedded default outbox: a mail sender that files each message in a Maildir.

:class:`MaildirSender` implements :class:`~upslife.ports.MailSender` without a mail server:
each message becomes one file in ``<path>/new/``, so a person opens the directory with any
Maildir-capable client (mutt, Thunderbird, Evolution, Dovecot, :class:`mailbox.Maildir`) and
reads what the product would have sent. It is the default for demos, tests and installations
that have no SMTP relay yet.

Idempotent by ``Message-ID`` (SPEC N9): sending a message whose ``Message-ID`` was stored
before does nothing, across instances and processes sharing the directory, so a sweep that
crashed and is run again never files a notice twice. The check is O(1) per message: the file
name is derived from a SHA-256 of the ``Message-ID``, the message is written to ``tmp/`` and
hard-linked into ``new/`` (a link never overwrites, so of two concurrent writers exactly one
wins), and an empty marker of the same name in ``<path>/upslife-ids/`` remembers the
``Message-ID`` after a mail client has moved the message to ``cur/`` or deleted it. The
marker is written after the message, so a crash in between can at worst file a message
again, never lose one. Maildir readers ignore the marker directory (it neither is ``tmp``,
``new`` or ``cur`` nor starts with a dot).

Files and directories are private to the user (0600 and 0700): messages hold customers'
contact details (SPEC N6). A filesystem failure (disk full, permission denied) is a transient
:class:`~upslife.errors.DeliveryFailed`, the :class:`OSError` chained.
"""

from __future__ import annotations

import contextlib
import email
import email.errors
import email.policy
import hashlib
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Final, final

from upslife.errors import DeliveryFailed, InvalidInput

__all__ = ["MaildirSender"]

_log = logging.getLogger(__name__)

_IDS: Final = "upslife-ids"
_SUBDIRS: Final = ("tmp", "new", "cur", _IDS)
_OWN_TMP: Final = re.compile(r"\d+\.P\d+T\d+R[0-9a-f]{32}\.")
_OWN_TMP_MAX_AGE: Final = 3600.0
_TMP_MAX_AGE: Final = 36 * 3600.0


@final
class MaildirSender:
    """Files messages in the Maildir at ``path`` (created, with its parents, if missing).

    Raises:
        DeliveryFailed: the directory cannot be created (``permanent``: fix the path).
    """

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path: Final = Path(path)
        try:
            if not self.path.is_dir():  # the root private too, not only its subdirectories
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.mkdir(mode=0o700, exist_ok=True)
            for sub in _SUBDIRS:
                (self.path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise DeliveryFailed(
                f"cannot create the Maildir at {self.path}: {e}", permanent=True
            ) from e

    def __repr__(self) -> str:
        return f"MaildirSender({str(self.path)!r})"

    def send(self, message: Message) -> None:
        """File ``message`` in ``new/``, unless its ``Message-ID`` was filed before (SPEC N9).

        Raises:
            InvalidInput: ``message`` is not a :class:`email.message.Message` or has no
                ``Message-ID`` (without one there is nothing to make the send idempotent).
            DeliveryFailed: the filesystem failed (transient); nothing is left in ``new/``.
        """
        if not isinstance(message, Message):
            raise InvalidInput(f"expected an email.message.Message, got {type(message).__name__}")
        message_id = _message_id(message)
        name = hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()
        marker = self.path / _IDS / name
        if marker.exists():
            _log.debug("Message-ID %s is in %s already; not filed again", message_id, self.path)
            return
        data = _serialize(message, message_id)
        try:
            filed = self._file(data, name)
            _touch(marker)
        except OSError as e:
            raise DeliveryFailed(
                f"cannot file message {message_id} in the Maildir {self.path}: {e}"
            ) from e
        _log.debug(
            "%s Message-ID %s in %s",
            "filed" if filed else "found (concurrent send)",
            message_id,
            self.path,
        )

    def check(self) -> None:
        """Preflight (:class:`~upslife.ports.SelfChecking`): the Maildir is writable, and
        files a killed writer left in ``tmp/`` are removed (:meth:`clean_tmp`).

        Raises:
            DeliveryFailed: ``permanent`` when the directories are not writable (fix the
                path or its permissions).
        """
        for sub in _SUBDIRS:
            if not os.access(self.path / sub, os.W_OK | os.X_OK):
                raise DeliveryFailed(
                    f"the Maildir {self.path / sub} is not writable by this user", permanent=True
                )
        removed = self.clean_tmp()
        if removed:
            _log.info("removed %d stale file(s) from %s", removed, self.path / "tmp")

    def clean_tmp(self, *, now: float | None = None) -> int:
        """Remove stale files from ``tmp/``: ours (a name :meth:`send` makes) older than an
        hour, since a send writes its file in well under a second and a process killed
        meanwhile leaves a whole customer message behind; anyone else's older than
        36 hours, the Maildir convention. Returns how many were removed."""
        at = time.time() if now is None else now
        removed = 0
        with os.scandir(self.path / "tmp") as entries:
            for entry in entries:
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    age = at - entry.stat(follow_symlinks=False).st_mtime
                    limit = _OWN_TMP_MAX_AGE if _OWN_TMP.match(entry.name) else _TMP_MAX_AGE
                    if age > limit:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def messages(self) -> Iterator[EmailMessage]:
        """The stored messages, new and read ones, parsed with :data:`email.policy.default`.

        In no particular order; a message a mail client moves or deletes meanwhile is skipped.
        """
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as entries:
                paths = [entry.path for entry in entries if not entry.name.startswith(".")]
            for path in sorted(paths):
                try:
                    with open(path, "rb") as file:
                        parsed = email.message_from_binary_file(file, policy=email.policy.default)
                except FileNotFoundError:
                    continue
                assert isinstance(parsed, EmailMessage)  # email.policy.default builds these
                yield parsed

    def _file(self, data: bytes, name: str) -> bool:
        """Write to ``tmp/``, link into ``new/<name>``; false if that name exists already."""
        tmp = self.path / "tmp" / _unique_name()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(tmp, self.path / "new" / name)
            except FileExistsError:
                return False  # another writer filed the same Message-ID first
            _fsync_dir(self.path / "new")
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _message_id(message: Message) -> str:
    value = message.get("Message-ID")
    text = "" if value is None else str(value).strip()
    if not text:
        raise InvalidInput(
            "the message has no Message-ID; the Maildir outbox needs one to file each message "
            "once (SPEC N9): set it with email.utils.make_msgid() or from the notice's key"
        )
    return text


def _serialize(message: Message, message_id: str) -> bytes:
    """The message as a Maildir file holds it: local line endings, no ``>From`` mangling."""
    try:
        return message.as_bytes(policy=message.policy.clone(linesep="\n"))
    except (email.errors.MessageError, UnicodeError, ValueError, TypeError) as e:
        raise InvalidInput(f"message {message_id} cannot be serialized: {e}") from e


def _unique_name() -> str:
    """A Maildir-style unique name: time, process, thread, randomness and host."""
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    unique = f"P{os.getpid()}T{threading.get_ident()}R{uuid.uuid4().hex}"
    return f"{time.time_ns() // 1_000_000_000}.{unique}.{host}"


def _touch(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a new directory entry durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
