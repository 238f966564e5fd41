"""Which templates shape a notice's email: the owner's, where the plan allows (SPEC E10).

Customizable emails are a STANDARD feature. A notice is shaped by its owner's templates
(:attr:`upslife.ports.Owner.email_templates`) only when its device's plan on the
notice's day has :attr:`~upslife.entitlements.Feature.CUSTOM_EMAILS`; otherwise, and for
an owner who set none, by the service's own templates (``DeliverySettings.templates``,
the shipped :data:`~upslife.rendering.DEFAULT_TEMPLATES` unless the operator configured
its house style). A digest takes the owner's templates only if every device it speaks
of is that owner's and on such a plan: a reseller digest across several customers, or
one with a BASIC device in it, gets the service's templates. Chat messages are not
templated.

This is read at sending time, so a template set or cleared today shapes what is queued
already, and a device that lapsed to BASIC gets the default from that day on.
"""

from __future__ import annotations

from upslife.entitlements import Feature, can, coverage
from upslife.errors import NotFound
from upslife.notifications import Digest, Notice
from upslife.ports import Store
from upslife.rendering.templates import Templates

__all__ = ["templates_for"]


def templates_for(store: Store, message: Notice | Digest, house: Templates) -> Templates:
    """The templates for ``message``: its owner's if every device it speaks of allows
    customized emails on the notice's day (SPEC E10), else ``house``."""
    notices = (message,) if isinstance(message, Notice) else message.notices
    owner_id: str | None = None
    devices = []
    for notice in notices:
        try:
            device = store.get_device(notice.serial)
        except NotFound:
            return house
        if owner_id not in (None, device.owner_id):
            return house  # several customers: no one customer's style
        owner_id = device.owner_id
        devices.append((device, notice.sent_on))
    if owner_id is None:
        return house
    custom = store.get_owner(owner_id).email_templates
    if custom is None:
        return house
    for device, day in devices:
        plan = coverage(
            device.registered_on,
            store.licenses_of(device.serial),
            warranties=store.warranties_of(device.serial),
            policy=device.policy,
        ).plan_on(max(day, device.registered_on))
        if not can(plan, Feature.CUSTOM_EMAILS):
            return house
    return custom
