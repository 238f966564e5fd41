"""Files the library writes are private to their user: mode 0600 when created.

Reports, calendars, chat outbox files and the SQLite database hold customers' names,
emails and fleets; created world-readable (0644 under the usual umask), any local user
could read them. A file that exists already keeps its mode: the operator chose it
(docs/operations.md).
"""

from __future__ import annotations

import os
from typing import BinaryIO, Final, Literal, TextIO, overload

__all__ = ["PRIVATE_FILE_MODE", "open_private"]

PRIVATE_FILE_MODE: Final = 0o600


@overload
def open_private(path: str | os.PathLike[str], mode: Literal["wb"]) -> BinaryIO: ...
@overload
def open_private(path: str | os.PathLike[str], mode: Literal["w"]) -> TextIO: ...
def open_private(path: str | os.PathLike[str], mode: Literal["w", "wb"]) -> BinaryIO | TextIO:
    """Open ``path`` for writing (truncated), creating it ``0600`` if it does not exist.
    Text mode is UTF-8 without newline translation (CSV writes its own line ends)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    if mode == "wb":
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding="utf-8", newline="")
