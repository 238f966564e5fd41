"""An owner's chat routes: the Slack and Teams channels its notices also go to (SPEC N6, E10).

A route is a kind and a name; its webhook is the URL the sender posts to. The owner's
record holds, per route, either the URL itself or ``config:NAME``, a reference to a
webhook URL kept with the other secrets in the operator's configuration (the command
line resolves it when it sends: :mod:`upslife.cli.chat`). Whether a notice goes to the
routes at all is the plan's business (E10), decided when the sweep plans.
"""

from __future__ import annotations

import attrs

from upslife.app.context import Context
from upslife.app.names import canonical_email
from upslife.errors import InvalidInput
from upslife.notifications import ChatKind, ChatRoute
from upslife.ports import Owner

__all__ = ["CONFIG_PREFIX", "remove_chat_route", "set_chat_route"]

CONFIG_PREFIX = "config:"
"""A route's webhook that names a configured URL instead of holding one."""


def set_chat_route(ctx: Context, owner_id: str, kind: ChatKind, name: str, webhook: str) -> Owner:
    """Add the route ``name`` (or replace its kind and webhook) on the owner's record."""
    owner = ctx.store.get_owner(canonical_email(owner_id))
    route = ChatRoute(kind, name)
    if not isinstance(webhook, str) or not webhook.strip():
        raise InvalidInput(f"chat route {route.name}: the webhook is empty")
    routes = (*(r for r in owner.chat_routes if r.name != route.name), route)
    hooks = tuple((n, url) for n, url in owner.chat_webhooks if n != route.name)
    updated = attrs.evolve(
        owner, chat_routes=routes, chat_webhooks=(*hooks, (route.name, webhook.strip()))
    )
    ctx.store.save_owner(updated)
    return updated


def remove_chat_route(ctx: Context, owner_id: str, name: str) -> Owner:
    """Remove the route ``name``; an unknown name is refused (nothing changes)."""
    owner = ctx.store.get_owner(canonical_email(owner_id))
    if all(r.name != name for r in owner.chat_routes):
        raise InvalidInput(f"owner {owner.id} has no chat route {name!r}")
    updated = attrs.evolve(
        owner,
        chat_routes=tuple(r for r in owner.chat_routes if r.name != name),
        chat_webhooks=tuple((n, url) for n, url in owner.chat_webhooks if n != name),
    )
    ctx.store.save_owner(updated)
    return updated
