"""A chat sender that files each webhook payload as JSON in a directory.

The embedded default for Slack/Teams routes, as the Maildir is for mail: a demo or a test
run can show what would have been posted without any network. Idempotent per payload: the
file name is a hash of URL and payload, so a re-sent message overwrites itself.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from upslife._files import open_private
from upslife.errors import DeliveryFailed

__all__ = ["DirectoryChatSender"]


class DirectoryChatSender:
    """Implements :class:`~upslife.ports.ChatSender` by writing ``<sha256>.json`` files."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def post(self, url: str, payload: dict[str, object]) -> None:
        body = json.dumps({"url": url, "payload": payload}, sort_keys=True, ensure_ascii=False)
        name = hashlib.sha256(body.encode("utf-8")).hexdigest() + ".json"
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = self.path / f".{name}.tmp"
            with open_private(tmp, "w") as file:
                file.write(body)
            os.replace(tmp, self.path / name)
        except OSError as e:
            raise DeliveryFailed(f"cannot write to chat outbox {self.path}: {e}") from e

    def posted(self) -> Iterator[dict[str, object]]:
        """The filed messages, each ``{"url": ..., "payload": ...}``."""
        for file in sorted(self.path.glob("*.json")):
            data: dict[str, object] = json.loads(file.read_text(encoding="utf-8"))
            yield data
