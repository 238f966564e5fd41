"""The owner deletes a device (SPEC S3, S4, S5).

Only the owner may delete a device: a shared user's attempt is refused with
``NotPermitted`` and the refusal is written to the owner's event log (S3, S5). What
becomes of everything that referred to the device, decided here (docs/application.md):

- **shares**: every share of it, active or pending, is revoked (S4), by the domain's
  :func:`upslife.sharing.delete_device`; the revoked records stay in the owner's sharing
  state, so "Shared with me" no longer lists it, and a pending share link now fails;
- **outbox**: its items not yet sent (due notices, reminders, notices held for a digest)
  are SUPPRESSED with the reason :data:`DELETED_REASON`; items already sent, failed or
  folded stay as the record of what went out. A digest queued before the deletion drops
  the device's notices at sending time (:mod:`upslife.app.sweep`);
- **licenses, extended warranties, sent stages**: removed with the device. The licenses
  assigned to it are used: they do not return to their activation code (SPEC E6);
- **event log**: kept. The deletion is logged (CRITICAL) with one entry per share revoked,
  unless the device is on BASIC, whose actions are not logged (SPEC E10);
- **the serial**: free again, but its first registration day is remembered
  (:meth:`~upslife.ports.DeviceStore.remember_first_registration`): registering it again
  counts the trial and the warranty from that day, so deleting a device never buys a new
  trial (SPEC E2, :func:`upslife.app.devices.register_device`).

The sharing state is written with a compare-and-set and the device removed in the same
transaction, so a share accepted at the same moment either lands before (and is revoked)
or is refused: nothing is left half deleted.
"""

from __future__ import annotations

from typing import Final

import attrs

from upslife.app.context import Context
from upslife.app.names import canonical_email, canonical_serial
from upslife.errors import ConcurrentUpdate, UpslifeError
from upslife.sharing import Action, ShareState
from upslife.sharing import delete_device as delete_decision

__all__ = ["DELETED_REASON", "DeviceDeleted", "delete_device"]

_RETRIES = 5

DELETED_REASON: Final = "the device was deleted by its owner (SPEC S3)"
"""The reason stored on the outbox items a deletion suppressed."""


@attrs.frozen
class DeviceDeleted:
    """What deleting a device did: the users whose share of it was revoked, and how many
    outbox items about it will not be sent."""

    serial: str
    owner_id: str
    revoked: tuple[str, ...]
    suppressed: int


def delete_device(ctx: Context, serial: str, *, by: str) -> DeviceDeleted:
    """The owner deletes ``serial`` (SPEC S3); see the module for what becomes of what.

    Raises:
        UnknownDevice: no such device (nothing is logged: there is no owner to tell).
        NotPermitted: ``by`` is a shared user or a stranger (logged, SPEC S5).
    """
    device = ctx.store.get_device(canonical_serial(serial))
    actor = canonical_email(by)
    for _ in range(_RETRIES):
        now = ctx.now()
        today = ctx.today_of(device, now)
        role = ctx.authorize(device, actor, Action.DELETE_DEVICE, today)
        state = ctx.store.get_sharing(device.owner_id)
        try:
            decision = delete_decision(state, device.serial, actor, now)
        except UpslifeError as e:
            ctx.log_refusal(device, actor, role, Action.DELETE_DEVICE, e, today)
            raise
        try:
            with ctx.store.transaction():
                ctx.store.save_sharing(decision.state, expected=state)
                ctx.log(device, decision.entries, today)  # while its licenses still exist
                ctx.store.remember_first_registration(device.serial, device.registered_on)
                suppressed = ctx.store.delete_device(device.serial, reason=DELETED_REASON, at=now)
        except ConcurrentUpdate:
            continue
        revoked = tuple(
            s.user
            for s in decision.shares
            if s.device == device.serial and s.state is ShareState.REVOKED
        )
        return DeviceDeleted(device.serial, device.owner_id, revoked, suppressed)
    raise ConcurrentUpdate(f"the shares of {device.owner_id} keep changing; try again")
