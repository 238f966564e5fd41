"""The one error hierarchy of upslife (SPEC D5).

Every error the library raises on purpose derives from :class:`UpslifeError`. The
intermediate classes also derive from the fitting builtin, so callers that already
catch ``ValueError`` or ``LookupError`` keep working:

- :class:`InvalidInput` (``ValueError``): the caller passed something malformed;
- :class:`NotFound` (``LookupError``): a name that does not exist (model, device, ...);
- :class:`RuleViolation`: well-formed input that a business rule refuses;
- :class:`AdapterError`: a storage, mail, chat or UPS peer failed; the driver's own
  exception is chained as ``__cause__``.

Concrete errors are ``@final``; domain modules raise only these, never a bare
``KeyError`` or ``AttributeError``. Messages are written for a support engineer:
they say what was wrong and, where there is one, what to do instead.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from upslife.entitlements import Feature, Plan

__all__ = [
    "AdapterError",
    "AlreadyRegistered",
    "DateBeforeRegistration",
    "FeatureNotInPlan",
    "InvalidDate",
    "InvalidEmail",
    "InvalidInput",
    "InvalidQuantity",
    "NaiveDatetime",
    "NotFound",
    "OverAssignment",
    "RuleViolation",
    "UnknownModel",
    "UnknownPlan",
    "UpslifeError",
    "WarrantyNotRunning",
]


class UpslifeError(Exception):
    """Root of every error upslife raises on purpose."""


class InvalidInput(UpslifeError, ValueError):
    """The input is malformed: wrong type, out of range, inconsistent."""


class NotFound(UpslifeError, LookupError):
    """Something named by the caller does not exist."""


class RuleViolation(UpslifeError):
    """Well-formed input that a business rule of the SPEC refuses."""


class AdapterError(UpslifeError):
    """A peer outside the library (database, mail server, UPS) failed."""


@final
class InvalidQuantity(InvalidInput):
    """A quantity, term or count that must be positive was not (SPEC E6)."""


@final
class InvalidDate(InvalidInput):
    """A date argument was not a ``datetime.date`` or is out of the allowed range."""


@final
class NaiveDatetime(InvalidInput):
    """An instant without ``tzinfo`` was passed where an aware one is required (SPEC D1)."""


@final
class InvalidEmail(InvalidInput):
    """A malformed email address (SPEC D5)."""


@final
class DateBeforeRegistration(InvalidInput):
    """An action dated before the device was registered (SPEC D5, E4f)."""

    def __init__(self, what: str, day: date, registered_on: date) -> None:
        super().__init__(
            f"{what} is dated {day.isoformat()}, before the device was registered on "
            f"{registered_on.isoformat()}; nothing is back-dated (SPEC E4f)"
        )
        self.day = day
        self.registered_on = registered_on


@final
class UnknownPlan(NotFound, ValueError):
    """A plan name that is not BASIC, STANDARD or ADVANCED (SPEC E1)."""


@final
class UnknownModel(NotFound):
    """A UPS model that the catalog does not know (SPEC C1)."""


@final
class AlreadyRegistered(RuleViolation):
    """A serial number that is registered already (SPEC E2)."""


@final
class OverAssignment(RuleViolation):
    """Assigning more licenses than an activation code has left (SPEC E6)."""

    def __init__(self, code: str, requested: int, remaining: int) -> None:
        super().__init__(
            f"activation code {code} has {remaining} license(s) left; {requested} were "
            "requested and none was assigned (SPEC E6)"
        )
        self.code = code
        self.requested = requested
        self.remaining = remaining


@final
class WarrantyNotRunning(RuleViolation):
    """An extended warranty activated on or after the warranty's expiry (SPEC E8)."""


@final
class FeatureNotInPlan(RuleViolation):
    """An action that the device's plan in force does not include (SPEC E10).

    ``required`` names the lowest plan that includes the feature, so the product can
    say "this needs the Advanced plan".
    """

    def __init__(self, feature: Feature, plan: Plan, required: Plan) -> None:
        super().__init__(
            f"{feature.description} needs the {required.title} plan; "
            f"the device is on the {plan.title} plan (SPEC E10)"
        )
        self.feature = feature
        self.plan = plan
        self.required = required
