"""Customizable emails: the owner's (or an operator's, for the owner) templates (SPEC E10).

The owner, or an operator acting for them (the service does not own accounts or roles:
its caller decides who may), sets the subject, text and HTML of the notices and digests
their account sends, to themselves and to their reseller. Templates are checked in full
when set (:class:`~upslife.rendering.Templates`): an unknown ``$placeholder``, a stray
``$``, a subject on two lines, or a body that leaves out what its recipient must see
(SPEC N6) is an :class:`~upslife.errors.InvalidTemplate`, and nothing is stored.

Setting them is never refused for the plan: the templates are the account's, the gate is
each device's plan when a message is sent (:mod:`upslife.app.templating`), so a device
that renews to STANDARD gets them back without setting them again, and one on BASIC
gets the service's default.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from upslife.app.context import Context
from upslife.app.names import canonical_email
from upslife.errors import InvalidInput
from upslife.ports import Owner
from upslife.rendering.templates import Templates, templates_from_doc

__all__ = ["email_templates", "set_email_templates"]


def set_email_templates(
    ctx: Context, owner_id: str, templates: Templates | Mapping[str, object] | None
) -> Owner:
    """Store the owner's email templates (SPEC E10); ``None`` goes back to the default.

    ``templates`` is a :class:`~upslife.rendering.Templates` or its document form
    (:func:`~upslife.rendering.templates.templates_from_doc`: only the templates given are
    customized), as a web form or a JSON file gives it.
    """
    owner = ctx.store.get_owner(canonical_email(owner_id))
    if templates is None or isinstance(templates, Templates):
        chosen = templates
    elif isinstance(templates, Mapping):
        chosen = templates_from_doc(templates)
    else:
        raise InvalidInput(f"templates are Templates or an object, got {type(templates).__name__}")
    updated = attrs.evolve(owner, email_templates=chosen)
    ctx.store.save_owner(updated)
    return updated


def email_templates(ctx: Context, owner_id: str) -> Templates | None:
    """The owner's own templates, or ``None`` when they use the service's."""
    return ctx.store.get_owner(canonical_email(owner_id)).email_templates
