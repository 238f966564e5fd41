"""``upslife chat add|remove|list``: an owner's Slack and Teams routes; and the chat sender
``upslife sweep`` passes, which posts to the webhooks of the configuration.

A route added with ``--webhook NAME`` (default: the route's name) points at the webhook
URL configured as ``NAME=URL`` in ``webhooks`` (``UPSLIFE_WEBHOOKS``): webhook URLs are
secrets (the path is the key), so they live with the other secrets, not in the database.
"""

from __future__ import annotations

import argparse
from typing import final

from upslife.adapters.webhooks import WebhookSender
from upslife.app.chat import CONFIG_PREFIX
from upslife.cli._common import Add, out, service
from upslife.cli.config import Config
from upslife.errors import DeliveryFailed, InvalidInput
from upslife.notifications import ChatKind

__all__ = ["ConfiguredWebhooks", "add_chat_commands"]


@final
class ConfiguredWebhooks:
    """A :class:`~upslife.ports.ChatSender` resolving ``config:NAME`` webhooks from the
    configuration, then posting with :class:`WebhookSender`.

    A name the configuration lacks is a transient failure naming the setting: the notice
    waits in the outbox (retried while useful) until the operator adds the URL.
    """

    def __init__(self, urls: dict[str, str], sender: WebhookSender | None = None) -> None:
        self._urls = dict(urls)
        self._sender = sender or WebhookSender()

    def __repr__(self) -> str:  # the URLs are secrets
        return f"ConfiguredWebhooks(names={sorted(self._urls)})"

    def post(self, url: str, payload: dict[str, object]) -> None:
        if url.startswith(CONFIG_PREFIX):
            name = url.removeprefix(CONFIG_PREFIX)
            resolved = self._urls.get(name)
            if resolved is None:
                raise DeliveryFailed(
                    f"no webhook URL named {name!r} is configured: add {name}=https://... to "
                    "UPSLIFE_WEBHOOKS (webhooks in the configuration file)"
                )
            url = resolved
        self._sender.post(url, payload)


def chat_sender(config: Config) -> ConfiguredWebhooks:
    """The sweep's chat sender: the configured webhooks (checked before anything is done)."""
    try:
        sender = WebhookSender(allow_hosts=config.webhook_allowed())
    except InvalidInput as e:
        raise InvalidInput(f"webhook_allow_hosts (UPSLIFE_WEBHOOK_ALLOW_HOSTS): {e}") from None
    return ConfiguredWebhooks(config.webhook_urls(), sender)


def cmd_chat(args: argparse.Namespace, config: Config) -> None:
    lifecycle = service(args, config)
    try:
        if args.chat_command == "add":
            webhook = CONFIG_PREFIX + (args.webhook or args.route)
            owner = lifecycle.set_chat_route(args.owner, ChatKind(args.kind), args.route, webhook)
            configured = (args.webhook or args.route) in config.webhook_urls()
            text = f"{owner.id}: {args.kind} route {args.route} added" + (
                ""
                if configured
                else f" (set its URL: UPSLIFE_WEBHOOKS='{args.webhook or args.route}=https://...')"
            )
        elif args.chat_command == "remove":
            owner = lifecycle.remove_chat_route(args.owner, args.route)
            text = f"{owner.id}: route {args.route} removed"
        else:
            owner = lifecycle.store.get_owner(args.owner.strip().lower())
            text = ""
    finally:
        lifecycle.store.close()
    hooks = dict(owner.chat_webhooks)
    urls = config.webhook_urls()
    routes = []
    for route in owner.chat_routes:
        ref = hooks.get(route.name, "")
        name = ref.removeprefix(CONFIG_PREFIX) if ref.startswith(CONFIG_PREFIX) else None
        routes.append(
            {
                "route": route.name,
                "kind": route.kind.value,
                "webhook": name,  # a configured name; a stored URL is never shown
                "configured": (name in urls) if name is not None else bool(ref),
            }
        )
    if args.chat_command == "list":
        text = (
            "\n".join(
                f"{r['kind']:<6} {r['route']:<24} webhook {r['webhook'] or '(stored URL)'}"
                + ("" if r["configured"] else "  NOT CONFIGURED")
                for r in routes
            )
            or f"{owner.id} has no chat routes"
        )
    out(args, {"owner": owner.id, "routes": routes}, text)


def add_chat_commands(add: Add, common: argparse.ArgumentParser) -> None:
    chat = add("chat", cmd_chat, "an owner's Slack and Teams routes: add, remove, list")
    actions = chat.add_subparsers(dest="chat_command", required=True, metavar="ACTION")
    p = actions.add_parser(
        "add", parents=[common], help="add (or replace) a route", description="add a route"
    )
    p.add_argument("--owner", required=True, help="the owner's account email")
    p.add_argument("--kind", required=True, choices=[k.value for k in ChatKind], help="slack/teams")
    p.add_argument("--route", required=True, help="the route's name, e.g. ops-alerts")
    p.add_argument(
        "--webhook",
        help="the NAME of its URL in UPSLIFE_WEBHOOKS (NAME=URL; default: the route's name)",
    )
    p = actions.add_parser("remove", parents=[common], help="remove a route")
    p.add_argument("--owner", required=True, help="the owner's account email")
    p.add_argument("--route", required=True, help="the route's name")
    p = actions.add_parser("list", parents=[common], help="the owner's routes")
    p.add_argument("--owner", required=True, help="the owner's account email")
