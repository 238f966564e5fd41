"""The application layer: use cases over the ports (SPEC §1–§5 carried out).

:class:`Lifecycle` is the service other code calls; :func:`sweep` is the daily job.
"""

from upslife.app.clock import FixedClock, SystemClock, local_date
from upslife.app.service import InvitationLinks, Lifecycle
from upslife.app.sweep import (
    DeliveryReport,
    DeliverySettings,
    PlanReport,
    SweepReport,
    deliver,
    fold_digests,
    plan_notices,
    sweep,
)

__all__ = [
    "DeliveryReport",
    "DeliverySettings",
    "FixedClock",
    "InvitationLinks",
    "Lifecycle",
    "PlanReport",
    "SweepReport",
    "SystemClock",
    "deliver",
    "fold_digests",
    "local_date",
    "plan_notices",
    "sweep",
]
