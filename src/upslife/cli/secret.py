"""``upslife secret generate``: a new signing secret for ``UPSLIFE_SECRET`` (SPEC I5).

32 random bytes from :mod:`secrets`, printed as base64url text without padding: what the
``secret`` setting takes as is (docs/operations.md, key rotation).
"""

from __future__ import annotations

import argparse
import base64
import secrets

from upslife.cli._common import Add, out
from upslife.cli.config import Config

__all__ = ["add_secret_commands", "generate_secret"]

SECRET_BYTES = 32


def generate_secret() -> str:
    """32 random bytes as unpadded base64url text."""
    return base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def cmd_secret(args: argparse.Namespace, config: Config) -> None:
    value = generate_secret()
    out(args, {"secret": value}, value)


def add_secret_commands(add: Add, common: argparse.ArgumentParser) -> None:
    p = add("secret", cmd_secret, "generate a signing secret for UPSLIFE_SECRET")
    actions = p.add_subparsers(dest="secret_command", required=True, metavar="ACTION")
    actions.add_parser(
        "generate", parents=[common], help="print 32 random bytes as base64 text (no padding)"
    )
