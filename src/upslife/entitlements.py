"""Plans, licenses, coverage, warranty and battery dates (SPEC E1–E12).

Everything here is a pure function of its arguments: dates are passed in, nothing is read
from a clock, a file or a global. Values are frozen ``attrs`` classes.

The coverage model is the one of SPEC E4, "banks": a device holds remaining time per paid
plan; the highest plan with time left is in force and only its time is consumed. The
computation walks the device's licenses once, in assignment order, so one device costs
O(k log k) in its k licenses (the sort), never a day-by-day simulation.

>>> from datetime import date
>>> cov = coverage(date(2024, 1, 31), [License.of("L1", Plan.STANDARD, Term.Y1, date(2024, 3, 1))])
>>> [(s.plan.name, str(s.start), str(s.end)) for s in cov.segments]
[('STANDARD', '2024-01-31', '2025-07-31'), ('BASIC', '2025-07-31', 'None')]
"""

from __future__ import annotations

import bisect
import enum
import itertools
import operator
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final, Protocol, final

import attrs

from upslife._validation import (
    MAX_ID,
    MAX_SERIAL,
    require_date,
    require_email,
    require_instance,
    require_items,
    require_positive_int,
    require_text,
    slot_setters,
)
from upslife.catalog import Chemistry
from upslife.errors import (
    AlreadyRegistered,
    DateBeforeRegistration,
    FeatureNotInPlan,
    InvalidDate,
    InvalidInput,
    InvalidQuantity,
    InvalidType,
    OverAssignment,
    UnknownPlan,
    WarrantyNotRunning,
)

__all__ = [
    "MAX_CODE_QUANTITY",
    "PLAN_CREDIT_CUTOFF",
    "TRIAL_MONTHS",
    "ActivationCode",
    "Battery",
    "BonusMonthsPromotion",
    "Coverage",
    "ExtendedWarranty",
    "Feature",
    "License",
    "LicenseSource",
    "Plan",
    "PlanDrop",
    "Promotion",
    "Reason",
    "ReasonKind",
    "Registration",
    "Segment",
    "Term",
    "UpgradePolicy",
    "VolumePromotion",
    "Warranty",
    "add_months",
    "can",
    "coverage",
    "explain",
    "promotions_from_config",
    "register",
    "require",
    "warranty",
]

TRIAL_MONTHS = 6
"""Length of the STANDARD trial granted at registration (SPEC E2)."""

PLAN_CREDIT_CUTOFF = date(2023, 8, 1)
"""Extended warranties activated before this day also credit the STANDARD bank (SPEC E7)."""

LEAD_ACID_TRIAL_BONUS_MONTHS = 12
"""Extra battery-warranty months for a lead-acid device that registers (SPEC E8)."""


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


MAX_CODE_QUANTITY: Final = 100_000
"""The most licenses one activation code holds: a large order, not a typo (issue 13)."""


def add_months(start: date, months: int) -> date:
    """Calendar month arithmetic with end-of-month clamping (SPEC D3).

    The same answer as ``start + dateutil.relativedelta(months=months)`` (a property test
    holds the two together), computed directly: it is the hot path of every coverage,
    warranty and battery date, several times per device in a sweep.

    >>> add_months(date(2024, 1, 31), 1)
    datetime.date(2024, 2, 29)
    >>> add_months(date(2024, 2, 29), 12)
    datetime.date(2025, 2, 28)
    """
    # The hot path: one exact type check, then the slow one.
    if type(months) is not int and (isinstance(months, bool) or not isinstance(months, int)):
        raise InvalidType(f"months must be a whole number, got {type(months).__name__}")
    exact = type(start) is date
    if not exact:
        require_date(start, "start")
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise InvalidDate(f"{start.isoformat()} + {months} months is outside years 1-9999")
    month = month0 + 1
    day = start.day
    if day > 28:  # only then can the month be too short
        last = _DAYS_IN_MONTH[month0]
        if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            last = 29
        day = min(day, last)
    # date() is several times faster than replace(); replace() keeps a subclass's type.
    return date(year, month, day) if exact else start.replace(year=year, month=month, day=day)


# --------------------------------------------------------------------------- plans


class Plan(enum.IntEnum):
    """The plans, ordered ``BASIC < STANDARD < ADVANCED`` (SPEC E1)."""

    BASIC = 0
    STANDARD = 1
    ADVANCED = 2

    @property
    def title(self) -> str:
        """The plan's name as the product prints it: ``"Standard"``."""
        return _PLAN_TITLES[self]

    @property
    def is_paid(self) -> bool:
        """STANDARD and ADVANCED are sold as licenses; BASIC is free and never expires."""
        return self is not Plan.BASIC

    @classmethod
    def parse(cls, value: str | Plan) -> Plan:
        """``Plan.parse("standard")``; an unknown name raises :class:`UnknownPlan`."""
        if isinstance(value, Plan):
            return value
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                pass
        raise UnknownPlan(f"unknown plan {value!r}; expected one of BASIC, STANDARD, ADVANCED")


_PLAN_TITLES: Final = ("Basic", "Standard", "Advanced")
""":attr:`Plan.title` by plan value: ``name.capitalize()``, without the enum's name lookup."""


class Term(enum.Enum):
    """License terms (SPEC E3); the value is the term in months."""

    Y1 = 12
    Y3 = 36
    Y5 = 60

    @property
    def months(self) -> int:
        return self.value

    @property
    def label(self) -> str:
        """``"1Y"``, ``"3Y"`` or ``"5Y"``."""
        return f"{self.value // 12}Y"

    @classmethod
    def parse(cls, value: str | int | Term) -> Term:
        """Accept ``Term.Y3``, ``"3Y"``, ``"3y"`` or ``36``."""
        if isinstance(value, Term):
            return value
        if isinstance(value, str):
            text = value.strip().upper()
            for term in cls:
                if text in (term.label, term.name):
                    return term
        elif isinstance(value, int) and not isinstance(value, bool):
            for term in cls:
                if value == term.value:
                    return term
        raise InvalidInput(f"unknown license term {value!r}; expected 1Y, 3Y or 5Y (SPEC E3)")


class UpgradePolicy(enum.Enum):
    """What happens to the unused time of a lower plan when a higher one starts (SPEC E4d).

    ``DEFER`` (the default everywhere): the remainder is paused and resumes, in days, when
    the higher plan's time ends. ``FORFEIT``: the remainder is dropped.
    """

    DEFER = "defer"
    FORFEIT = "forfeit"


# --------------------------------------------------------------------------- features


class Feature(enum.Enum):
    """Plan-gated capabilities (SPEC E10). The value is the lowest plan that has it."""

    REMOTE_FIRMWARE_INSTALL = ("one-click remote firmware install", Plan.STANDARD)
    INPUT_SENSITIVITY = ("adjusting input sensitivity remotely", Plan.STANDARD)
    SELF_TEST = ("a remote self-test", Plan.STANDARD)
    OUTLET_GROUP_REBOOT = ("a remote outlet-group reboot", Plan.ADVANCED)
    EVENT_LOG = ("event log entries", Plan.STANDARD)
    CUSTOM_EMAILS = ("customizable emails", Plan.STANDARD)
    CHAT_ROUTING = ("Slack/Teams routing", Plan.STANDARD)
    SHARE_WITH_NEW_USER = ("sharing a device with a new user", Plan.STANDARD)
    FIRMWARE_DELIVERY = ("firmware delivered to the device", Plan.BASIC)
    SET_BATTERY_INSTALL_DATE = ("setting the battery install date", Plan.BASIC)
    LIFECYCLE_NOTICES = ("lifecycle notices", Plan.BASIC)
    REPORTS = ("reports", Plan.BASIC)

    @property
    def description(self) -> str:
        return self.value[0]

    @property
    def minimum_plan(self) -> Plan:
        plan: Plan = self.value[1]
        return plan


def can(plan: Plan, feature: Feature) -> bool:
    """Whether ``plan`` includes ``feature`` (SPEC E10).

    >>> can(Plan.STANDARD, Feature.OUTLET_GROUP_REBOOT)
    False
    """
    require_instance(feature, Feature, "feature")
    return Plan.parse(plan) >= feature.minimum_plan


def require(plan: Plan, feature: Feature) -> None:
    """Raise :class:`FeatureNotInPlan`, naming the plan needed, unless ``can(plan, feature)``."""
    if not can(plan, feature):
        raise FeatureNotInPlan(feature, plan, feature.minimum_plan)


# --------------------------------------------------------------------------- licenses


class LicenseSource(enum.Enum):
    """Where a grant of plan time came from; shown by :func:`explain` (SPEC E12)."""

    TRIAL = "trial"
    LICENSE = "license"
    WARRANTY_CREDIT = "extended-warranty credit"


def _paid_plan(_instance: object, _attribute: Any, value: Any) -> None:
    if not isinstance(value, Plan) or not value.is_paid:
        raise InvalidInput(f"a license is for STANDARD or ADVANCED, not {value!r} (SPEC E3)")


def _date_field(_instance: object, attribute: Any, value: Any) -> None:
    require_date(value, attribute.name)


def _positive_field(_instance: object, attribute: Any, value: Any) -> None:
    require_positive_int(value, attribute.name)


def _text_field(_instance: object, attribute: Any, value: Any) -> None:
    require_text(value, attribute.name, max_length=MAX_ID)


@final
@attrs.frozen
class License:
    """Plan time granted to one device on one day (SPEC E3, E4).

    ``months`` is the term plus any promotion bonus (SPEC E11); ``notes`` records such
    adjustments for :func:`explain`.
    """

    id: str = attrs.field(validator=_text_field)
    plan: Plan = attrs.field(validator=_paid_plan)
    months: int = attrs.field(validator=_positive_field)
    assigned_on: date = attrs.field(validator=_date_field)
    source: LicenseSource = LicenseSource.LICENSE
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, id: str, plan: Plan | str, term: Term | str | int, assigned_on: date) -> License:
        """A license of a catalogue term: ``License.of("L1", Plan.STANDARD, "1Y", day)``."""
        return cls(id, Plan.parse(plan), Term.parse(term).months, assigned_on)


def trial_license(registered_on: date) -> License:
    """The 6-month STANDARD trial every registration grants (SPEC E2)."""
    return License("trial", Plan.STANDARD, TRIAL_MONTHS, registered_on, LicenseSource.TRIAL)


# --------------------------------------------------------------------------- promotions


class Promotion(Protocol):
    """A pluggable promotion rule (SPEC E11).

    A promotion may add licenses to an activation code when it is issued (volume deals)
    and months to a license when it is activated (time-limited bonuses). The amounts come
    from configuration, see :func:`promotions_from_config`.
    """

    @property
    def name(self) -> str: ...

    def bonus_quantity(self, code: ActivationCode) -> int:
        """Extra licenses to add to a newly issued code (0 for none)."""
        ...

    def bonus_months(self, license: License) -> int:
        """Extra months to add to a license being activated (0 for none)."""
        ...


@final
@attrs.frozen
class BonusMonthsPromotion:
    """Licenses of ``plan`` and ``terms`` activated in ``[starts_on, ends_on)`` get ``months`` free.

    >>> promo = BonusMonthsPromotion("spring", Plan.ADVANCED, (Term.Y1, Term.Y3),
    ...                              date(2025, 3, 1), date(2025, 6, 1), months=3)
    >>> promo.bonus_months(License.of("L", "ADVANCED", "1Y", date(2025, 3, 1)))
    3
    """

    name: str = attrs.field(validator=_text_field)
    plan: Plan = attrs.field(validator=_paid_plan)
    terms: tuple[Term, ...]
    starts_on: date = attrs.field(validator=_date_field)
    ends_on: date = attrs.field(validator=_date_field)
    months: int = attrs.field(validator=_positive_field)

    def __attrs_post_init__(self) -> None:
        if self.ends_on <= self.starts_on:
            raise InvalidInput(f"promotion {self.name!r} ends before it starts")
        if not self.terms or not all(isinstance(t, Term) for t in self.terms):
            raise InvalidInput(f"promotion {self.name!r} needs a non-empty tuple of Term")

    def bonus_quantity(self, code: ActivationCode) -> int:
        return 0

    def bonus_months(self, license: License) -> int:
        applies = (
            license.plan is self.plan
            and license.source is LicenseSource.LICENSE
            and license.months in {t.months for t in self.terms}
            and self.starts_on <= license.assigned_on < self.ends_on
        )
        return self.months if applies else 0


@final
@attrs.frozen
class VolumePromotion:
    """An order of more than ``more_than`` licenses gets ``extra`` licenses free (SPEC E11)."""

    name: str = attrs.field(validator=_text_field)
    more_than: int = attrs.field(validator=_positive_field)
    extra: int = attrs.field(validator=_positive_field)

    def bonus_quantity(self, code: ActivationCode) -> int:
        return self.extra if code.quantity > self.more_than else 0

    def bonus_months(self, license: License) -> int:
        return 0


def promotions_from_config(entries: Iterable[Mapping[str, object]]) -> tuple[Promotion, ...]:
    """Build promotions from configuration data (e.g. parsed TOML or JSON) (SPEC E11).

    Each entry has ``kind`` ``"bonus-months"`` (keys ``name, plan, terms, starts_on,
    ends_on, months``) or ``"volume"`` (keys ``name, more_than, extra``); dates are ISO
    strings. Unknown kinds or missing keys raise :class:`InvalidInput`.
    """
    built: list[Promotion] = []
    for entry in require_items(entries, object, "promotions configuration"):
        if not isinstance(entry, Mapping):
            raise InvalidType(f"a promotion entry is a table, got {type(entry).__name__}")
        try:
            kind = entry["kind"]
            if kind == "bonus-months":
                terms = entry["terms"]
                if not isinstance(terms, Sequence) or isinstance(terms, str):
                    raise InvalidInput("bonus-months promotion: terms must be a list")
                built.append(
                    BonusMonthsPromotion(
                        name=str(entry["name"]),
                        plan=Plan.parse(str(entry["plan"])),
                        terms=tuple(Term.parse(str(t)) for t in terms),
                        starts_on=date.fromisoformat(str(entry["starts_on"])),
                        ends_on=date.fromisoformat(str(entry["ends_on"])),
                        months=_config_int(entry["months"]),
                    )
                )
            elif kind == "volume":
                built.append(
                    VolumePromotion(
                        name=str(entry["name"]),
                        more_than=_config_int(entry["more_than"]),
                        extra=_config_int(entry["extra"]),
                    )
                )
            else:
                raise InvalidInput(f"unknown promotion kind {kind!r}")
        except KeyError as e:
            raise InvalidInput(f"promotion entry {dict(entry)!r} lacks key {e.args[0]!r}") from e
        except (TypeError, ValueError) as e:
            if isinstance(e, InvalidInput):
                raise
            raise InvalidInput(f"promotion entry {dict(entry)!r} is malformed: {e}") from e
    return tuple(built)


def _config_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"expected a whole number in promotion config, got {value!r}")
    return value


# --------------------------------------------------------------------------- activation codes


@final
@attrs.frozen
class ActivationCode:
    """A code for ``quantity`` licenses of one plan and term (SPEC E6).

    Any part of it can be assigned to any device on any day until it is used up; the
    code is not tied to an account. ``assigned`` counts the licenses handed out.
    """

    code: str = attrs.field(validator=_text_field)
    plan: Plan = attrs.field(validator=_paid_plan)
    term: Term
    quantity: int = attrs.field(validator=_positive_field)
    installer_email: str = attrs.field(converter=require_email)
    assigned: int = 0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.term, Term):
            raise InvalidInput(f"term must be a Term, got {self.term!r}")
        if isinstance(self.assigned, bool) or not isinstance(self.assigned, int):
            raise InvalidInput("assigned must be a whole number")
        if not 0 <= self.assigned <= self.quantity:
            raise InvalidInput(
                f"code {self.code}: assigned {self.assigned} outside 0..{self.quantity}"
            )
        if self.quantity > MAX_CODE_QUANTITY:
            raise InvalidQuantity(
                f"code {self.code}: {self.quantity} licenses; one code holds at most "
                f"{MAX_CODE_QUANTITY:,} (issue 13)"
            )

    @classmethod
    def issue(
        cls,
        code: str,
        plan: Plan | str,
        term: Term | str | int,
        quantity: int,
        installer_email: str,
        *,
        promotions: Iterable[Promotion] = (),
    ) -> ActivationCode:
        """A new code, with volume promotions applied to its quantity (SPEC E6, E11)."""
        issued = cls(code, Plan.parse(plan), Term.parse(term), quantity, installer_email)
        bonus = sum(p.bonus_quantity(issued) for p in promotions)
        return attrs.evolve(issued, quantity=issued.quantity + bonus) if bonus else issued

    @property
    def remaining(self) -> int:
        return self.quantity - self.assigned

    def assign(
        self, on: date, count: int = 1, *, promotions: Iterable[Promotion] = ()
    ) -> tuple[ActivationCode, tuple[License, ...]]:
        """Take ``count`` licenses for one device on day ``on`` (SPEC E6).

        Returns the code with fewer remaining and the licenses, ids ``CODE#n``. Asking for
        more than remains raises :class:`OverAssignment` and assigns nothing.
        """
        require_date(on, "on")
        require_positive_int(count, "count")
        if count > self.remaining:
            raise OverAssignment(self.code, count, self.remaining)
        promos = tuple(promotions)
        licenses = tuple(
            _with_promotions(
                License(f"{self.code}#{n}", self.plan, self.term.months, on), promos
            )
            for n in range(self.assigned + 1, self.assigned + count + 1)
        )
        return attrs.evolve(self, assigned=self.assigned + count), licenses


def _with_promotions(license: License, promotions: Sequence[Promotion]) -> License:
    extra = 0
    notes = list(license.notes)
    for promo in promotions:
        months = promo.bonus_months(license)
        if months:
            extra += months
            notes.append(f"promotion {promo.name}: +{months} months")
    if not extra:
        return license
    return attrs.evolve(license, months=license.months + extra, notes=tuple(notes))


# --------------------------------------------------------------------------- warranty


@final
@attrs.frozen
class ExtendedWarranty:
    """An extended warranty (WEXTWAR/WBEXTWAR SKUs) of ``months``, activated on a day (SPEC E7)."""

    id: str = attrs.field(validator=_text_field)
    sku: str = attrs.field(validator=_text_field)
    months: int = attrs.field(validator=_positive_field)
    activated_on: date = attrs.field(validator=_date_field)


@final
@attrs.frozen
class Warranty:
    """A device's warranty dates (SPEC E8); both are "expires on" dates (SPEC D2)."""

    expires_on: date
    battery_expires_on: date


def warranty(
    registered_on: date,
    base_months: int,
    extensions: Iterable[ExtendedWarranty] = (),
    *,
    chemistry: Chemistry = Chemistry.LEAD_ACID,
) -> Warranty:
    """The warranty timeline of a device (SPEC E8).

    The warranty runs ``base_months`` from registration; extended warranties append their
    months with anchored arithmetic (SPEC E5): the expiry is ``registered_on + (base +
    extensions) months``. An extension must be activated while the warranty runs: one
    activated on or after the current expiry raises :class:`WarrantyNotRunning`. A
    lead-acid device, which took the trial at registration, gets 12 more months of battery
    warranty on top of the device warranty.

    >>> warranty(date(2024, 2, 29), 24).expires_on
    datetime.date(2026, 2, 28)
    """
    require_date(registered_on, "registered_on")
    require_positive_int(base_months, "base_months")
    require_instance(chemistry, Chemistry, "chemistry")
    months = warranty_months(registered_on, base_months, extensions)
    bonus = LEAD_ACID_TRIAL_BONUS_MONTHS if chemistry is Chemistry.LEAD_ACID else 0
    return Warranty(add_months(registered_on, months), add_months(registered_on, months + bonus))


def warranty_months(
    registered_on: date, base_months: int, extensions: Iterable[ExtendedWarranty]
) -> int:
    """The months of the device warranty from ``registered_on``: ``base_months`` and the
    extensions' months, each extension checked to be activated while the warranty ran
    (SPEC E8). The core of :func:`warranty`, for the write path that needs the expiry
    only (docs/performance.md, B1); ``registered_on`` and ``base_months`` are checked
    already (by :func:`warranty`, or by the catalog and :func:`coverage`)."""
    months = base_months
    extensions = require_items(extensions, ExtendedWarranty, "extensions")
    for ext in sorted(extensions, key=_activated_on) if extensions else ():
        if ext.activated_on < registered_on:
            raise DateBeforeRegistration(
                f"extended warranty {ext.id}", ext.activated_on, registered_on
            )
        expires = add_months(registered_on, months)
        if ext.activated_on >= expires:
            raise WarrantyNotRunning(
                f"extended warranty {ext.id} was activated on {ext.activated_on.isoformat()}, "
                f"on or after the warranty expired on {expires.isoformat()} (SPEC E8)"
            )
        months += ext.months
    return months


def warranty_credits(
    extensions: Iterable[ExtendedWarranty], *, cutoff: date = PLAN_CREDIT_CUTOFF
) -> tuple[License, ...]:
    """STANDARD time credited by extended warranties activated before ``cutoff`` (SPEC E7)."""
    return tuple(
        License(
            f"credit:{ext.id}",
            Plan.STANDARD,
            ext.months,
            ext.activated_on,
            LicenseSource.WARRANTY_CREDIT,
        )
        for ext in extensions
        if ext.activated_on < cutoff
    )


# --------------------------------------------------------------------------- battery


@final
@attrs.frozen
class Battery:
    """What is known of a device's battery (SPEC E9).

    ``reported_replace_by`` is the date the UPS itself reports, if any; it wins over the
    computed one. Setting a new install date (:meth:`installed`) discards it.
    """

    installed_on: date = attrs.field(validator=_date_field)
    reported_replace_by: date | None = attrs.field(
        default=None, validator=attrs.validators.optional(_date_field)
    )

    def replace_by(self, life_months: int) -> date:
        """The replace-by date: the reported one, else install date + expected life."""
        require_positive_int(life_months, "life_months")
        if self.reported_replace_by is not None:
            return self.reported_replace_by
        return add_months(self.installed_on, life_months)

    def installed(self, on: date) -> Battery:
        """A new battery installed on ``on``: the old reported replace-by no longer holds."""
        return Battery(on)

    def reported(self, replace_by: date) -> Battery:
        """The UPS reported a replace-by date."""
        return attrs.evolve(self, reported_replace_by=replace_by)


# --------------------------------------------------------------------------- registration


@final
@attrs.frozen
class Registration:
    """A device registered on a day; the day starts its trial and its warranty (SPEC E2)."""

    serial: str
    model: str
    registered_on: date


def register(
    serial: str, model: str, on: date, *, registered: Iterable[str] | frozenset[str] = ()
) -> Registration:
    """Register ``serial`` on day ``on`` (SPEC E2).

    A serial already in ``registered`` raises :class:`AlreadyRegistered`.
    """
    serial = require_text(serial, "serial", max_length=MAX_SERIAL).upper()
    model = require_text(model, "model", max_length=MAX_SERIAL).upper()
    require_date(on, "on")
    known = (
        registered
        if isinstance(registered, frozenset)
        else frozenset(require_items(registered, str, "registered"))
    )
    if serial in known or serial.lower() in known:
        raise AlreadyRegistered(f"serial {serial} is registered already (SPEC E2)")
    return Registration(serial, model, on)


# --------------------------------------------------------------------------- coverage


class ReasonKind(enum.Enum):
    """Why a coverage segment exists or ends (SPEC E12)."""

    TRIAL = "trial"
    STARTED = "started"
    APPENDED = "appended"
    UPGRADE = "upgrade"
    QUEUED = "queued"
    PAUSED = "paused"
    FORFEITED = "forfeited"
    RESUMED = "resumed"
    WARRANTY_CREDIT = "warranty credit"
    NO_TIME_LEFT = "no time left"


@final
@attrs.frozen
class Reason:
    """One line of an explanation: what happened, and the license it concerns."""

    kind: ReasonKind
    text: str
    license_id: str | None = None


@final
@attrs.frozen
class Segment:
    """A maximal stretch of days ``start <= d < end`` with one plan in force (SPEC D2, E12).

    ``end`` is ``None`` for the final BASIC segment, which never expires (SPEC E1).
    """

    plan: Plan
    start: date
    end: date | None
    reasons: tuple[Reason, ...] = ()

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)

    def __str__(self) -> str:
        end = self.end.isoformat() if self.end else "open-ended"
        why = "; ".join(r.text for r in self.reasons)
        return f"{self.plan.title:<8} {self.start.isoformat()} → {end}  ({why})"


@final
@attrs.frozen
class PlanDrop:
    """The day the plan in force falls to a lower one: a plan-expiry due date (SPEC N1)."""

    on: date
    from_plan: Plan
    to_plan: Plan


@final
@attrs.frozen
class Coverage:
    """A device's plan coverage from registration on, as contiguous segments (SPEC E4, E12)."""

    registered_on: date
    policy: UpgradePolicy
    segments: tuple[Segment, ...]
    _starts: tuple[date, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        require_date(self.registered_on, "registered_on")
        require_instance(self.policy, UpgradePolicy, "policy")
        object.__setattr__(self, "segments", require_items(self.segments, Segment, "segments"))
        object.__setattr__(self, "_starts", tuple(s.start for s in self.segments))

    def segment_on(self, day: date) -> Segment:
        """The segment in force on ``day`` (a day before registration is an error)."""
        require_date(day, "day")
        if day < self.registered_on:
            raise DateBeforeRegistration("the coverage query", day, self.registered_on)
        return self.segments[bisect.bisect_right(self._starts, day) - 1]

    def plan_on(self, day: date) -> Plan:
        """The plan in force on ``day`` (SPEC E4)."""
        return self.segment_on(day).plan

    def expires_on(self, day: date) -> date | None:
        """The "Expires on" date of the plan in force on ``day``; ``None`` on BASIC."""
        return self.segment_on(day).end

    @property
    def paid_until(self) -> date | None:
        """The day paid or trial coverage ends for good: from then on, BASIC."""
        paid = [s.end for s in self.segments if s.plan.is_paid]
        return max((e for e in paid if e is not None), default=None)

    @property
    def drops(self) -> tuple[PlanDrop, ...]:
        """Every day the plan in force falls to a lower plan, the trial's end included."""
        return tuple(
            PlanDrop(b.start, a.plan, b.plan)
            for a, b in itertools.pairwise(self.segments)
            if b.plan < a.plan
        )

    def days_of(self, plan: Plan) -> int:
        """Total days of ``plan`` in force (BASIC's open end is not counted)."""
        return sum((s.end - s.start).days for s in self.segments if s.plan is plan and s.end)

    def explain(self) -> str:
        """The segments as text, one line each (SPEC E12)."""
        return "\n".join(str(s) for s in self.segments)


_COVERAGE_SLOTS: Final = slot_setters(Coverage, "registered_on", "policy", "segments", "_starts")


def _trusted_coverage(
    registered_on: date, policy: UpgradePolicy, segments: tuple[Segment, ...]
) -> Coverage:
    """The :class:`Coverage` :func:`coverage` computed from validated input, without checking
    its own segments again (B1). Never for caller input."""
    cov = object.__new__(Coverage)
    set_registered_on, set_policy, set_segments, set_starts = _COVERAGE_SLOTS
    set_registered_on(cov, registered_on)
    set_policy(cov, policy)
    set_segments(cov, segments)
    set_starts(cov, tuple([s.start for s in segments]))
    return cov


class _Run:
    """Time of one plan being consumed: ends on ``(start + days) + months`` (SPEC E5).

    ``end`` is kept up to date by :meth:`lengthen`, not recomputed on every read. A plain
    slotted class: one is made per grant that starts or resumes a plan, on the hot path.
    """

    __slots__ = ("days", "end", "months", "plan", "reasons", "start")

    def __init__(
        self, plan: Plan, start: date, days: int, months: int, reasons: list[Reason]
    ) -> None:
        self.plan = plan
        self.start = start
        self.days = days
        self.months = months
        self.reasons = reasons
        self.end = add_months(start + timedelta(days) if days else start, months)

    def lengthen(self, months: int) -> None:
        self.months += months
        days = self.days
        self.end = add_months(self.start + timedelta(days) if days else self.start, self.months)


@attrs.define
class _Bank:
    """Time of one plan waiting: paused days first, then queued months (SPEC E5)."""

    days: int = 0
    months: int = 0
    reasons: list[Reason] = attrs.Factory(list)

    def __bool__(self) -> bool:
        return self.days > 0 or self.months > 0


_NO_TIME_LEFT: Final = (
    Reason(ReasonKind.NO_TIME_LEFT, "no paid or trial time left: BASIC (SPEC E1)"),
)
"""The reasons of every BASIC segment: one frozen value, shared."""


class _Timeline:
    """The E4 bank machine, fed licenses in assignment order.

    It starts with the trial running (SPEC E2): the trial is every device's first grant,
    on the registration day, before any other of that day. ``banks`` holds a plan's waiting
    time from the first time any waits; a plan without an entry has none.
    """

    __slots__ = ("banks", "cursor", "policy", "run", "segments")

    def __init__(self, registered_on: date, policy: UpgradePolicy) -> None:
        self.policy = policy
        self.run: _Run | None = _Run(
            Plan.STANDARD, registered_on, 0, TRIAL_MONTHS, [_TRIAL_REASON]
        )
        self.banks: dict[Plan, _Bank] = {}
        self.segments: list[Segment] = []
        self.cursor = registered_on  # where the last emitted segment ended

    def _bank(self, plan: Plan) -> _Bank:
        bank = self.banks.get(plan)
        if bank is None:
            bank = self.banks[plan] = _Bank()
        return bank

    def _emit(self, plan: Plan, start: date, end: date, reasons: Sequence[Reason]) -> None:
        if start > self.cursor:
            self.segments.append(Segment(Plan.BASIC, self.cursor, start, _NO_TIME_LEFT))
            self.cursor = start
        if end > start:
            self.segments.append(Segment(plan, start, end, tuple(reasons)))
            self.cursor = end

    def _resume_from_banks(self, day: date) -> None:
        for plan in (Plan.ADVANCED, Plan.STANDARD) if self.banks else ():
            bank = self.banks.pop(plan, None)
            if bank:
                reasons = list(bank.reasons)
                if bank.days:
                    reasons.append(
                        Reason(
                            ReasonKind.RESUMED,
                            f"{bank.days} paused day(s) of {plan.title} resume (SPEC E4d)",
                        )
                    )
                self.run = _Run(plan, day, bank.days, bank.months, reasons)
                return
        self.run = None

    def advance(self, day: date) -> None:
        """Close every run that ended before ``day``, resuming lower banks as they do.

        A run ending exactly on ``day`` stays open: a license assigned on its expiry day
        continues it without a gap, so its anchor holds (SPEC E4a, E5).
        """
        while self.run is not None and self.run.end < day:
            run = self.run
            self._emit(run.plan, run.start, run.end, run.reasons)
            self._resume_from_banks(run.end)

    def add(self, lic: License) -> None:
        self.advance(lic.assigned_on)
        day, run = lic.assigned_on, self.run
        label = _license_label(lic)
        if run is None:
            self.run = _Run(lic.plan, day, 0, lic.months, [_start_reason(lic, label)])
        elif lic.plan is run.plan:
            run.lengthen(lic.months)
            kind = ReasonKind.TRIAL if lic.source is LicenseSource.TRIAL else ReasonKind.APPENDED
            run.reasons.append(Reason(kind, f"{label} appended (SPEC E4a)", lic.id))
        elif lic.plan > run.plan:
            self._upgrade(run, lic, label)
        else:
            bank = self._bank(lic.plan)
            bank.months += lic.months
            bank.reasons.append(
                Reason(
                    ReasonKind.QUEUED,
                    f"{label} queued behind {run.plan.title} on {day.isoformat()} (SPEC E4e)",
                    lic.id,
                )
            )

    def _upgrade(self, run: _Run, lic: License, label: str) -> None:
        day = lic.assigned_on
        remainder = (run.end - day).days
        closing = list(run.reasons)
        if remainder > 0 and self.policy is UpgradePolicy.DEFER:
            bank = self._bank(run.plan)
            closing.append(
                Reason(
                    ReasonKind.PAUSED,
                    f"upgrade to {lic.plan.title} paused {remainder} day(s) of "
                    f"{run.plan.title} (SPEC E4d)",
                    lic.id,
                )
            )
            bank.days += remainder
            bank.reasons.extend(r for r in run.reasons if run.start == day)
        elif remainder > 0:
            closing.append(
                Reason(
                    ReasonKind.FORFEITED,
                    f"upgrade to {lic.plan.title} forfeited {remainder} day(s) of "
                    f"{run.plan.title} (policy FORFEIT)",
                    lic.id,
                )
            )
        self._emit(run.plan, run.start, day, closing)
        upgrade = Reason(
            ReasonKind.UPGRADE, f"{label}: upgrade starts on assignment (SPEC E4c)", lic.id
        )
        self.run = _Run(lic.plan, day, 0, lic.months, [upgrade])

    def finish(self) -> tuple[Segment, ...]:
        while self.run is not None:
            run = self.run
            self._emit(run.plan, run.start, run.end, run.reasons)
            self._resume_from_banks(run.end)
        self.segments.append(Segment(Plan.BASIC, self.cursor, None, _NO_TIME_LEFT))
        return tuple(self.segments)


def _license_label(lic: License) -> str:
    if lic.source is LicenseSource.TRIAL:
        return f"{lic.months}-month {lic.plan.title} trial"
    what = "extended-warranty credit" if lic.source is LicenseSource.WARRANTY_CREDIT else "license"
    extra = f" [{'; '.join(lic.notes)}]" if lic.notes else ""
    return f"{lic.plan.title} {lic.months}-month {what} {lic.id}{extra}"


def _start_reason(lic: License, label: str) -> Reason:
    if lic.source is LicenseSource.TRIAL:
        return Reason(ReasonKind.TRIAL, f"{label} from registration (SPEC E2)", lic.id)
    if lic.source is LicenseSource.WARRANTY_CREDIT:
        return Reason(
            ReasonKind.WARRANTY_CREDIT,
            f"{label} starts on activation (before {PLAN_CREDIT_CUTOFF.isoformat()}, SPEC E7)",
            lic.id,
        )
    return Reason(ReasonKind.STARTED, f"{label} starts on assignment (SPEC E4f)", lic.id)


_TRIAL: Final = trial_license(date.min)
_TRIAL_REASON: Final = _start_reason(_TRIAL, _license_label(_TRIAL))
"""Why every coverage starts with STANDARD: the same reason, whatever the day (SPEC E2)."""
_TRIAL_REASONS: Final = (_TRIAL_REASON,)
"""The reasons of the trial's segment when no license follows it."""


def coverage(
    registered_on: date,
    licenses: Iterable[License] = (),
    *,
    warranties: Iterable[ExtendedWarranty] = (),
    policy: UpgradePolicy = UpgradePolicy.DEFER,
    plan_credit_cutoff: date = PLAN_CREDIT_CUTOFF,
) -> Coverage:
    """The plan coverage of a device registered on ``registered_on`` (SPEC E2–E7).

    The trial is added here (SPEC E2); ``licenses`` are taken in assignment order, ties in
    the order given. Extended warranties activated before ``plan_credit_cutoff`` credit
    STANDARD time (SPEC E7). ``policy`` decides what an upgrade does to the lower plan's
    unused time (SPEC E4d). A license assigned before registration raises
    :class:`DateBeforeRegistration`.
    """
    require_date(registered_on, "registered_on")
    if not isinstance(policy, UpgradePolicy):
        raise InvalidInput(f"policy must be an UpgradePolicy, got {policy!r}")
    require_date(plan_credit_cutoff, "plan_credit_cutoff")
    grants = list(require_items(licenses, License, "licenses"))  # the trial is the timeline's
    extensions = require_items(warranties, ExtendedWarranty, "warranties")
    if extensions:
        grants.extend(warranty_credits(extensions, cutoff=plan_credit_cutoff))
    for lic in grants:
        if lic.assigned_on < registered_on:
            raise DateBeforeRegistration(f"license {lic.id}", lic.assigned_on, registered_on)
    if not grants:  # the trial only (SPEC E2): what the timeline gives, without running it
        trial_ends = add_months(registered_on, TRIAL_MONTHS)
        return _trusted_coverage(
            registered_on,
            policy,
            (
                Segment(Plan.STANDARD, registered_on, trial_ends, _TRIAL_REASONS),
                Segment(Plan.BASIC, trial_ends, None, _NO_TIME_LEFT),
            ),
        )
    if len(grants) > 1:
        grants.sort(key=_assigned_on)  # stable: same-day grants keep their order
    timeline = _Timeline(registered_on, policy)  # the trial running (SPEC E2)
    for lic in grants:
        timeline.add(lic)
    return _trusted_coverage(registered_on, policy, timeline.finish())


_assigned_on: Final = operator.attrgetter("assigned_on")
_activated_on: Final = operator.attrgetter("activated_on")


def explain(
    registered_on: date,
    licenses: Iterable[License] = (),
    *,
    warranties: Iterable[ExtendedWarranty] = (),
    policy: UpgradePolicy = UpgradePolicy.DEFER,
) -> tuple[Segment, ...]:
    """The coverage as segments with plan, start, end and reasons (SPEC E12)."""
    return coverage(registered_on, licenses, warranties=warranties, policy=policy).segments
