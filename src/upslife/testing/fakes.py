"""Senders that record what they were given: for users' tests and the demo.

They implement :class:`~upslife.ports.MailSender` and :class:`~upslife.ports.ChatSender`
and can be told to fail, so the outbox's retry behaviour can be exercised without a
server.
"""

from __future__ import annotations

from email.message import Message

from upslife.errors import DeliveryFailed

__all__ = ["RecordingChat", "RecordingMail"]


class RecordingMail:
    """A mail sender that keeps every message it accepts.

    Set ``down`` to make it fail like an unreachable server (transient), or ``refuse`` to
    make it fail like a 5xx refusal (permanent).
    """

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.down = False
        self.refuse = False
        self.attempts = 0

    def send(self, message: Message) -> None:
        self.attempts += 1
        if self.down:
            raise DeliveryFailed("mail server unreachable (simulated)", permanent=False)
        if self.refuse:
            raise DeliveryFailed("550 mailbox unavailable (simulated)", permanent=True)
        self.sent.append(message)

    @property
    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.sent]


class RecordingChat:
    """A chat sender that keeps every (url, payload) it accepts."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, dict[str, object]]] = []
        self.down = False

    def post(self, url: str, payload: dict[str, object]) -> None:
        if self.down:
            raise DeliveryFailed("webhook unreachable (simulated)", permanent=False)
        self.posted.append((url, payload))
