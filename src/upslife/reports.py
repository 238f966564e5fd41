"""Report rows, renewal order, authorization, quotes, budget forecast, calendar (SPEC R1–R6).

Pure domain code: values in, values out. Nothing here reads a clock, a file or a socket; the
report day (``as_of``), the quote day (``on``) and the forecast start are arguments (SPEC D4).
Writing rows to CSV, JSON, XLSX or iCalendar is the business of :mod:`upslife.formats`.

The flow, for one device:

1. :func:`report_device` gathers what the reports need from the domain pieces (registration,
   licenses, extended warranties, battery, catalog entry, optional :class:`Vitals`) into a
   :class:`ReportDevice`: coverage (E4), warranty (E8), battery replace-by (E9), service life
   (N1) computed once;
2. :func:`inventory_row`, :func:`renewal_row`, :func:`operational_row` build the typed rows
   of MyInventory (R1), MyRenewals (R2) and the operational report (R3);
   :func:`event_log_rows` exports the owner's event log (S5);
3. :func:`sorted_for_renewal` puts rows in renewal order (R4), :func:`in_renewal_order`
   checks rows a store streams pre-sorted;
4. :func:`authorize_report` says who may produce a device's report (R5);
5. :func:`quote` / :func:`fleet_quote` price the 1Y/3Y/5Y × STANDARD/ADVANCED options with
   the expiry each would give (R6), :func:`budget_forecast` the months ahead, and
   :func:`calendar_entries` the due dates for an iCalendar feed.

>>> from upslife.catalog import Catalog
>>> from upslife.entitlements import register
>>> device = report_device(register("as1", "SMT1500C", date(2024, 8, 31)), Catalog.default())
>>> row = renewal_row(device, date(2024, 12, 10))
>>> row.plan_expires_on, row.renewal_due_on, row.skus_needed
(datetime.date(2025, 2, 28), datetime.date(2025, 2, 28), ('Standard plan license 1Y/3Y/5Y',))
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, NamedTuple, Protocol, TypeVar, final

import attrs

from upslife._validation import (
    MAX_SERIAL,
    iter_items,
    require_date,
    require_instance,
    require_instant,
    require_items,
    require_optional,
    require_positive_int,
    require_text,
)
from upslife.catalog import Catalog, ModelInfo
from upslife.entitlements import (
    Battery,
    Coverage,
    ExtendedWarranty,
    License,
    Plan,
    Promotion,
    Registration,
    Term,
    UpgradePolicy,
    Warranty,
    add_months,
    coverage,
    warranty,
    warranty_months,
)
from upslife.errors import (
    DateBeforeRegistration,
    InvalidInput,
    InvalidType,
    ReportNotPermitted,
    ResellerNotConnected,
    RowsOutOfOrder,
)
from upslife.invitations import InvitationState
from upslife.notifications import (
    Contact,
    DeviceFacts,
    EventKind,
    LifecycleEvent,
    Severity,
    default_plan_license_sku,
    format_date,
    lifecycle_events,
    service_life_ends_on,
    title_for,
    trusted_facts,
)
from upslife.sharing import (
    DEFAULT_RETENTION,
    Action,
    EventLog,
    Outcome,
    Role,
    SharingState,
    access,
    listing,
)

__all__ = [
    "DEFAULT_HORIZON_MONTHS",
    "OPERATIONAL_FIELDS",
    "QUOTED_OPTIONS",
    "Audience",
    "BatteryNeed",
    "CalendarEntry",
    "CalendarRevision",
    "DeviceQuote",
    "EventLogRow",
    "FleetQuote",
    "Forecast",
    "ForecastLine",
    "InventoryRow",
    "MonthForecast",
    "OperationalRow",
    "PlanOption",
    "QuoteLine",
    "RenewalRow",
    "ReportDevice",
    "Vitals",
    "WarrantyNeed",
    "age_in_months",
    "authorize_report",
    "budget_forecast",
    "calendar_entries",
    "device_facts",
    "event_log_rows",
    "firmware_update_available",
    "fleet_quote",
    "in_renewal_order",
    "inventory_row",
    "inventory_rows",
    "missing_part_numbers",
    "operational_row",
    "operational_rows",
    "plan_license_description",
    "plan_license_prices",
    "plan_license_sku_of",
    "plan_option_sku",
    "quote",
    "renewal_due_on",
    "renewal_key",
    "renewal_needs",
    "renewal_row",
    "renewal_rows",
    "report_device",
    "reportable",
    "reseller_calendar_entries",
    "revise",
    "sorted_for_renewal",
]

DEFAULT_HORIZON_MONTHS: Final = 12
"""How far ahead a report lists renewal needs and a quote counts needs as due: 12 months."""

QUOTED_OPTIONS: Final = tuple(
    (plan, term) for plan in (Plan.STANDARD, Plan.ADVANCED) for term in Term
)
"""The options of a quote, in order: STANDARD 1Y/3Y/5Y, then ADVANCED 1Y/3Y/5Y (SPEC R6)."""

_CALENDAR_UID_VERSION: Final = "upslife.calendar.v1"
_KIND_ORDER: Final[Mapping[EventKind, int]] = {kind: n for n, kind in enumerate(EventKind)}
_OPEN_WHEN_OVERDUE: Final = frozenset({EventKind.BATTERY_REPLACEMENT, EventKind.UPS_UPGRADE})
"""Kinds still needed after their due date: only acting (a new battery, a new UPS) ends them."""


# --------------------------------------------------------------------------- validation


def _instance_of(kind: type) -> Callable[[object, Any, Any], None]:
    def check(_instance: object, attribute: Any, value: Any) -> None:
        if not isinstance(value, kind):
            raise InvalidInput(
                f"{attribute.name} must be a {kind.__name__}, got {type(value).__name__}: {value!r}"
            )

    return check


def _optional_date(_instance: object, attribute: Any, value: Any) -> None:
    if value is not None:
        require_date(value, attribute.name)


def _date_field(_instance: object, attribute: Any, value: Any) -> None:
    require_date(value, attribute.name)


def _serial(value: object) -> str:
    return require_text(value, "serial", max_length=MAX_SERIAL).upper()


def _optional_text(value: object) -> str | None:
    return None if value is None else require_text(value, "text")


def _require_horizon(value: object) -> int:
    return require_positive_int(value, "horizon_months")


def _number(low: float | None, high: float | None) -> Callable[[object, Any, Any], None]:
    """An optional finite int or float within ``[low, high]``; ``bool`` is refused."""

    def check(_instance: object, attribute: Any, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{attribute.name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise InvalidInput(f"{attribute.name} must be finite, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise InvalidInput(f"{attribute.name} must be within [{low}, {high}], got {value!r}")

    return check


def _optional_count(_instance: object, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{attribute.name} must be a whole number >= 0, got {value!r}")


def _optional_bool(_instance: object, attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"{attribute.name} must be True, False or None, got {value!r}")


def _optional_instant(value: object) -> datetime | None:
    if value is None:
        return None
    return require_instant(value, "observed_at").astimezone(UTC)


def _tuple_of(kind: type, name: str, value: object) -> tuple[Any, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput(f"{name} must be a collection of {kind.__name__}, got {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, kind):
            raise InvalidInput(f"{name} must hold {kind.__name__}, got {type(item).__name__}")
    return items


def _licenses(value: Iterable[License]) -> tuple[License, ...]:
    return _tuple_of(License, "licenses", value)


def _extensions(value: Iterable[ExtendedWarranty]) -> tuple[ExtendedWarranty, ...]:
    return _tuple_of(ExtendedWarranty, "extensions", value)


# --------------------------------------------------------------------------- inputs


@final
@attrs.frozen
class Vitals:
    """What a UPS last reported about itself: its operational data (SPEC R1, R3).

    Every reading is optional: a UPS reports what its interface offers. Percentages are
    0–100 (the load may exceed 100 % on an overloaded UPS); runtime is in whole seconds;
    temperature in °C; ``observed_at`` is the aware instant of the reading, kept in UTC.
    This is the data that MyRenewals must never show (SPEC R2): see
    :data:`OPERATIONAL_FIELDS`.
    """

    status: str | None = attrs.field(default=None, converter=_optional_text)
    load_percent: float | None = attrs.field(default=None, validator=_number(0, None))
    charge_percent: float | None = attrs.field(default=None, validator=_number(0, 100))
    runtime_seconds: int | None = attrs.field(default=None, validator=_optional_count)
    temperature_c: float | None = attrs.field(default=None, validator=_number(None, None))
    firmware_version: str | None = attrs.field(default=None, converter=_optional_text)
    update_available: bool | None = attrs.field(default=None, validator=_optional_bool)
    input_voltage: float | None = attrs.field(default=None, validator=_number(0, None))
    output_voltage: float | None = attrs.field(default=None, validator=_number(0, None))
    input_sensitivity: str | None = attrs.field(default=None, converter=_optional_text)
    self_test_result: str | None = attrs.field(default=None, converter=_optional_text)
    observed_at: datetime | None = attrs.field(default=None, converter=_optional_instant)


OPERATIONAL_FIELDS: Final = frozenset(field.name for field in attrs.fields(Vitals))
"""The names of every operational field; none of them is a field of :class:`RenewalRow` (R2)."""


_VERSION = re.compile(r"(\d{1,9}(?:\.\d{1,9})+)")


def firmware_update_available(reported: str | None, latest: str | None) -> bool | None:
    """Whether a UPS reporting firmware ``reported`` runs older firmware than ``latest``,
    the newest version the catalog knows for its model (SPEC R1, C1).

    Versions are compared by their first dotted number (``"UPS 09.3 (ID18)"`` → 9.3), part
    by part. ``None`` when either side is unknown or holds no dotted number: the report
    says "unknown" rather than guess.

    >>> firmware_update_available("UPS 09.3 (ID18)", "18.2")
    True
    >>> firmware_update_available("18.2", "18.2")
    False
    """
    if reported is None or latest is None:
        return None
    found, newest = _VERSION.search(reported), _VERSION.search(latest)
    if found is None or newest is None:
        return None
    ours = tuple(int(part) for part in found.group(1).split("."))
    theirs = tuple(int(part) for part in newest.group(1).split("."))
    return ours < theirs


@final
@attrs.frozen
class ReportDevice:
    """Everything the reports of one device are built from (SPEC R1–R6).

    Build it with :func:`report_device`, which computes the dates from the domain rules.
    ``licenses`` and ``extensions`` are the ones ``coverage`` was computed from: a quote
    recomputes the coverage with a hypothetical license appended (R6) and checks that
    they agree. ``battery_installed_on`` is ``None`` when unknown (then no battery age);
    ``vitals`` is ``None`` when the UPS has reported nothing yet. ``upgrade_sku`` is the
    recommended replacement UPS, when the caller knows one (the catalog has none).
    """

    serial: str = attrs.field(converter=_serial)
    model: ModelInfo = attrs.field(validator=_instance_of(ModelInfo))
    coverage: Coverage = attrs.field(validator=_instance_of(Coverage))
    warranty: Warranty = attrs.field(validator=_instance_of(Warranty))
    battery_installed_on: date | None = attrs.field(
        default=None, kw_only=True, validator=_optional_date
    )
    battery_replace_by: date | None = attrs.field(
        default=None, kw_only=True, validator=_optional_date
    )
    service_life_ends_on: date | None = attrs.field(
        default=None, kw_only=True, validator=_optional_date
    )
    manufactured_on: date | None = attrs.field(default=None, kw_only=True, validator=_optional_date)
    battery_failure_reported_on: date | None = attrs.field(
        default=None, kw_only=True, validator=_optional_date
    )
    licenses: tuple[License, ...] = attrs.field(default=(), kw_only=True, converter=_licenses)
    extensions: tuple[ExtendedWarranty, ...] = attrs.field(
        default=(), kw_only=True, converter=_extensions
    )
    vitals: Vitals | None = attrs.field(
        default=None, kw_only=True, validator=attrs.validators.optional(_instance_of(Vitals))
    )
    upgrade_sku: str | None = attrs.field(default=None, kw_only=True, converter=_optional_text)

    def __attrs_post_init__(self) -> None:
        registered = self.coverage.registered_on
        if self.manufactured_on is not None and self.manufactured_on > registered:
            raise InvalidInput(
                f"device {self.serial} was manufactured on {self.manufactured_on.isoformat()}, "
                f"after its registration on {registered.isoformat()}"
            )
        reported = self.battery_failure_reported_on
        if reported is not None and reported < registered:
            raise DateBeforeRegistration("the battery failure report", reported, registered)

    @property
    def registered_on(self) -> date:
        """The registration day: it starts the trial, the warranty and the coverage (E2)."""
        return self.coverage.registered_on

    def facts(self, *, battery_failure: bool = True) -> DeviceFacts:
        """The device's lifecycle facts, for :func:`~upslife.notifications.lifecycle_events`."""
        return DeviceFacts(
            self.serial,
            self.model.model,
            self.coverage,
            warranty_expires_on=self.warranty.expires_on,
            battery_replace_by=self.battery_replace_by,
            service_life_ends_on=self.service_life_ends_on,
            battery_failure_reported_on=(
                self.battery_failure_reported_on if battery_failure else None
            ),
            battery_sku=self.model.battery_sku,
            warranty_extension_sku=self.model.warranty_extension_sku,
            upgrade_sku=self.upgrade_sku,
        )


def report_device(
    registration: Registration,
    catalog: Catalog,
    *,
    licenses: Iterable[License] = (),
    extensions: Iterable[ExtendedWarranty] = (),
    battery: Battery | None = None,
    policy: UpgradePolicy = UpgradePolicy.DEFER,
    manufactured_on: date | None = None,
    battery_failure_reported_on: date | None = None,
    vitals: Vitals | None = None,
    upgrade_sku: str | None = None,
) -> ReportDevice:
    """A :class:`ReportDevice` computed from the domain pieces (SPEC E2–E9, N1).

    Coverage with ``licenses`` and ``extensions`` under ``policy`` (E4, E7), warranty from the
    model's base months and the extensions (E8), battery replace-by from ``battery`` and
    the model's battery life (E9), service life from the manufacture or registration day
    (N1). ``battery=None`` means the install day is unknown: the battery is presumed to
    be the one the UPS came with, installed on the registration day. The model comes from
    ``catalog`` (an unknown one raises :class:`~upslife.errors.UnknownModel`).
    """
    info, dates = _dates(
        registration, catalog, licenses, extensions, battery, policy, manufactured_on
    )
    return ReportDevice(
        registration.serial,
        info,
        dates.coverage,
        dates.warranty,
        battery_installed_on=dates.battery.installed_on,
        battery_replace_by=dates.battery_replace_by,
        service_life_ends_on=dates.service_life_ends_on,
        manufactured_on=manufactured_on,
        battery_failure_reported_on=battery_failure_reported_on,
        licenses=dates.licenses,
        extensions=dates.extensions,
        vitals=vitals,
        upgrade_sku=upgrade_sku,
    )


def device_facts(
    registration: Registration,
    catalog: Catalog,
    *,
    licenses: Iterable[License] = (),
    extensions: Iterable[ExtendedWarranty] = (),
    battery: Battery | None = None,
    policy: UpgradePolicy = UpgradePolicy.DEFER,
    manufactured_on: date | None = None,
    battery_failure_reported_on: date | None = None,
    upgrade_sku: str | None = None,
) -> DeviceFacts:
    """``report_device(...).facts()`` (SPEC E2–E9, N1) without building the report row:
    the write path's cost (docs/performance.md, B1). The same arguments, the same checks
    and the same dates, computed by the same code; a property test holds the two equal."""
    info, dates = _dates(
        registration, catalog, licenses, extensions, battery, policy, manufactured_on
    )
    # ReportDevice's checks, in its order
    serial = _serial(registration.serial)
    reported = battery_failure_reported_on
    if reported is not None:
        require_date(reported, "battery_failure_reported_on")
    upgrade = _optional_text(upgrade_sku)
    if reported is not None and reported < registration.registered_on:
        raise DateBeforeRegistration(
            "the battery failure report", reported, registration.registered_on
        )
    return trusted_facts(
        serial,
        info.model,
        dates.coverage,
        warranty_expires_on=dates.warranty.expires_on,
        battery_replace_by=dates.battery_replace_by,
        service_life_ends_on=dates.service_life_ends_on,
        battery_failure_reported_on=reported,
        battery_sku=info.battery_sku,
        warranty_extension_sku=info.warranty_extension_sku,
        upgrade_sku=upgrade,
    )


def facts_of_parts(
    serial: str,
    model: str,
    registered_on: date,
    catalog: Catalog,
    *,
    licenses: Iterable[License],
    extensions: Iterable[ExtendedWarranty],
    battery_installed_on: date,
    battery_reported_replace_by: date | None,
    policy: UpgradePolicy,
    manufactured_on: date | None,
    battery_failure_reported_on: date | None,
) -> DeviceFacts:
    """:func:`device_facts` of ``Registration(serial, model, registered_on)`` and
    ``Battery(battery_installed_on, battery_reported_replace_by)``, without those objects,
    the :class:`~upslife.entitlements.Warranty` or the battery warranty in between: the
    write path's cost (:func:`~upslife.app.facts.build_facts`, docs/performance.md B1).

    The same checks in the same order (the battery's, then those of :func:`_dates` and
    :func:`device_facts`) and the same dates from the same rules; the model's month counts
    are the catalog's, checked when its entry was built (C1). A property test holds it to
    ``device_view(...).facts()``.
    """
    require_date(battery_installed_on, "installed_on")  # Battery's checks
    if battery_reported_replace_by is not None:
        require_date(battery_reported_replace_by, "reported_replace_by")
    if not isinstance(catalog, Catalog):
        raise InvalidInput(f"expected a Catalog, got {type(catalog).__name__}")
    info = catalog.get(model)
    grants = require_items(licenses, License, "licenses")
    extended = require_items(extensions, ExtendedWarranty, "extensions")
    plan_coverage = coverage(registered_on, grants, warranties=extended, policy=policy)
    # E8: warranty() without the battery warranty, which the facts do not hold
    warranty_expires_on = add_months(
        registered_on, warranty_months(registered_on, info.base_warranty_months, extended)
    )
    replace_by = battery_reported_replace_by  # E9: Battery.replace_by
    if replace_by is None:
        replace_by = add_months(battery_installed_on, info.battery_life_months)
    life_ends_on = service_life_ends_on(
        info.service_life_months, registered_on=registered_on, manufactured_on=manufactured_on
    )
    # ReportDevice's checks, in its order (as in device_facts)
    serial = _serial(serial)
    reported = battery_failure_reported_on
    if reported is not None:
        require_date(reported, "battery_failure_reported_on")
        if reported < registered_on:
            raise DateBeforeRegistration("the battery failure report", reported, registered_on)
    return trusted_facts(
        serial,
        info.model,
        plan_coverage,
        warranty_expires_on=warranty_expires_on,
        battery_replace_by=replace_by,
        service_life_ends_on=life_ends_on,
        battery_failure_reported_on=reported,
        battery_sku=info.battery_sku,
        warranty_extension_sku=info.warranty_extension_sku,
        upgrade_sku=None,
    )


class _Dates(NamedTuple):
    licenses: tuple[License, ...]
    extensions: tuple[ExtendedWarranty, ...]
    battery: Battery
    coverage: Coverage
    warranty: Warranty
    battery_replace_by: date
    service_life_ends_on: date


def _dates(
    registration: Registration,
    catalog: Catalog,
    licenses: Iterable[License],
    extensions: Iterable[ExtendedWarranty],
    battery: Battery | None,
    policy: UpgradePolicy,
    manufactured_on: date | None,
) -> tuple[ModelInfo, _Dates]:
    """The checked inputs and the rules' dates of :func:`report_device` and
    :func:`device_facts`: coverage (E4, E7), warranty (E8), battery replace-by (E9) and
    service life (N1)."""
    if not isinstance(registration, Registration):
        raise InvalidInput(f"expected a Registration, got {type(registration).__name__}")
    if not isinstance(catalog, Catalog):
        raise InvalidInput(f"expected a Catalog, got {type(catalog).__name__}")
    info = catalog.get(registration.model)
    registered_on = registration.registered_on
    grants = require_items(licenses, License, "licenses")
    extended = require_items(extensions, ExtendedWarranty, "extensions")
    if battery is None:
        battery = Battery(registered_on)
    elif not isinstance(battery, Battery):
        raise InvalidInput(f"battery must be a Battery or None, got {type(battery).__name__}")
    return info, _Dates(
        grants,
        extended,
        battery,
        coverage(registered_on, grants, warranties=extended, policy=policy),
        warranty(registered_on, info.base_warranty_months, extended, chemistry=info.chemistry),
        battery.replace_by(info.battery_life_months),
        service_life_ends_on(
            info.service_life_months, registered_on=registered_on, manufactured_on=manufactured_on
        ),
    )


# --------------------------------------------------------------------------- ages and needs


def age_in_months(since: date, as_of: date) -> int:
    """Whole calendar months from ``since`` to ``as_of`` (SPEC D3): completed months only.

    The largest ``n`` with ``since + n months <= as_of``, with end-of-month clamping, so a
    month has passed on 2024-02-29 for a device registered on 2024-01-31.

    >>> age_in_months(date(2024, 1, 31), date(2024, 2, 29)), age_in_months(date(2024, 1, 31),
    ...                                                                  date(2024, 2, 28))
    (1, 0)
    """
    require_date(since, "since")
    require_date(as_of, "as_of")
    if as_of < since:
        raise InvalidInput(
            f"an age is counted up to a day on or after its start: {as_of.isoformat()} is "
            f"before {since.isoformat()}"
        )
    months = (as_of.year - since.year) * 12 + as_of.month - since.month
    if add_months(since, months) > as_of:
        months -= 1
    return months


def _check_day(device: ReportDevice, as_of: date, what: str = "the report day") -> date:
    if not isinstance(device, ReportDevice):
        raise InvalidInput(f"expected a ReportDevice, got {type(device).__name__}")
    require_date(as_of, what)
    if as_of < device.registered_on:
        raise DateBeforeRegistration(what, as_of, device.registered_on)
    return as_of


def _need_order(event: LifecycleEvent) -> tuple[date, int, str]:
    anchor = event.due if event.due is not None else event.reported_on
    assert anchor is not None  # guaranteed by LifecycleEvent
    return (anchor, _KIND_ORDER[event.kind], event.plan.name if event.plan else "")


def renewal_needs(
    device: ReportDevice,
    as_of: date,
    *,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> tuple[LifecycleEvent, ...]:
    """The lifecycle events that need a purchase, seen on ``as_of`` (SPEC R1, N1).

    Every event due in ``[as_of, as_of + horizon_months)`` — battery replacement, warranty
    expiry, plan expiry (each paid-plan drop), UPS upgrade — plus those that stay open
    past their due date because only acting ends them: a battery past its replace-by, a
    UPS past its service life, and a battery failure the UPS reported on or before
    ``as_of``. A plan that expired before ``as_of`` is no longer a need; a warranty is one
    only while it still runs, so not on its expiry day (an extension is bought while the
    warranty runs, E8). Sorted by date (a failure by its report day), then kind.
    """
    _check_day(device, as_of)
    until = add_months(as_of, _require_horizon(horizon_months))
    needs: list[LifecycleEvent] = []
    for event in lifecycle_events(device.facts(), plan_license_sku=plan_license_sku):
        due = event.due
        if due is None:
            if event.reported_on is not None and event.reported_on <= as_of:
                needs.append(event)
        elif event.kind is EventKind.WARRANTY_EXPIRY:
            if as_of < due < until:  # on its expiry day it can no longer be extended (E8)
                needs.append(event)
        elif as_of <= due < until or (due < as_of and event.kind in _OPEN_WHEN_OVERDUE):
            needs.append(event)
    return tuple(sorted(needs, key=_need_order))


def renewal_due_on(device: ReportDevice, as_of: date) -> date | None:
    """The date that ranks a device for renewal on ``as_of`` (SPEC R4); ``None``: nothing due.

    The earliest of: the expiry of the plan in force (when it is paid), the warranty
    expiry while the warranty runs (after ``as_of``: on its expiry day it can no longer be
    extended, E8), the battery replace-by date — even when it has
    passed, since a battery past its replace-by stays due until it is replaced — and the
    day a battery failure was reported. A store can index it per device; it changes only
    when the device's facts change or ``as_of`` passes one of these dates.
    """
    _check_day(device, as_of)
    return _due_on(device, as_of, device.coverage.expires_on(as_of))


def _due_on(device: ReportDevice, as_of: date, plan_expires_on: date | None) -> date | None:
    candidates = [
        day
        for day in (
            plan_expires_on,
            device.warranty.expires_on if device.warranty.expires_on > as_of else None,
            device.battery_replace_by,
            device.battery_failure_reported_on
            if device.battery_failure_reported_on is not None
            and device.battery_failure_reported_on <= as_of
            else None,
        )
        if day is not None
    ]
    return min(candidates, default=None)


def _skus(needs: Iterable[LifecycleEvent]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(event.sku for event in needs if event.sku is not None))


def _device_age(device: ReportDevice, as_of: date) -> int:
    return age_in_months(device.manufactured_on or device.registered_on, as_of)


def _battery_age(device: ReportDevice, as_of: date) -> int | None:
    installed = device.battery_installed_on
    if installed is None:
        return None
    if installed > as_of:
        raise InvalidInput(
            f"device {device.serial}: the battery was installed on {installed.isoformat()}, "
            f"after the report day {as_of.isoformat()}"
        )
    return age_in_months(installed, as_of)


# --------------------------------------------------------------------------- rows


@final
@attrs.frozen
class InventoryRow:
    """One device in MyInventory (SPEC R1).

    Ages are whole calendar months (:func:`age_in_months`): the device's from its
    manufacture day when known, else its registration; the battery's from its install day
    (``None`` when unknown). The operational fields come from the device's
    :class:`Vitals` and are ``None`` when it reported nothing. ``plan`` is the plan in
    force on the report day and ``plan_expires_on`` its "Expires on" date (``None`` on
    BASIC, which never expires). ``renewal_needs`` are :func:`renewal_needs`,
    ``skus_needed`` their distinct SKUs, ``renewal_due_on`` the R4 rank (:func:`renewal_due_on`).
    """

    model: str
    serial: str
    device_age_months: int
    battery_age_months: int | None
    status: str | None
    load_percent: float | None
    charge_percent: float | None
    runtime_seconds: int | None
    temperature_c: float | None
    firmware_version: str | None
    update_available: bool | None
    plan: Plan
    plan_expires_on: date | None
    warranty_expires_on: date
    battery_replace_by: date | None
    battery_sku: str
    warranty_extension_sku: str
    renewal_due_on: date | None
    skus_needed: tuple[str, ...]
    renewal_needs: tuple[LifecycleEvent, ...]


@final
@attrs.frozen
class RenewalRow:
    """One device in MyRenewals (SPEC R2): what a renewal needs, and nothing operational.

    It has no status, load, charge, runtime, temperature or firmware field at all, so no
    format can leak them: that is the privacy rule of R2, tested as a property.
    """

    model: str
    serial: str
    device_age_months: int
    plan: Plan
    plan_expires_on: date | None
    warranty_expires_on: date
    battery_replace_by: date | None
    renewal_due_on: date | None
    skus_needed: tuple[str, ...]
    renewal_needs: tuple[LifecycleEvent, ...]


@final
@attrs.frozen
class OperationalRow:
    """One device in the operational report (SPEC R3): its status and vitals.

    Every reading is ``None`` when the UPS reported nothing (:class:`Vitals`).
    """

    model: str
    serial: str
    status: str | None
    load_percent: float | None
    charge_percent: float | None
    runtime_seconds: int | None
    temperature_c: float | None
    input_voltage: float | None
    output_voltage: float | None
    input_sensitivity: str | None
    self_test_result: str | None
    firmware_version: str | None
    update_available: bool | None
    observed_at: datetime | None


@final
@attrs.frozen
class EventLogRow:
    """One entry of the owner's event log, for export (SPEC S5): who, role, what, which
    device, when (UTC), outcome, severity, message and the refusal reason if any."""

    at: datetime
    severity: Severity
    actor: str
    role: Role | None
    action: Action
    device: str
    outcome: Outcome
    message: str
    reason: str | None


def inventory_row(
    device: ReportDevice,
    as_of: date,
    *,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> InventoryRow:
    """The MyInventory row of ``device`` on ``as_of`` (SPEC R1).

    Raises :class:`~upslife.errors.DateBeforeRegistration` for a day before registration.
    """
    needs = renewal_needs(
        device, as_of, horizon_months=horizon_months, plan_license_sku=plan_license_sku
    )
    segment = device.coverage.segment_on(as_of)
    vitals = device.vitals or _NO_VITALS
    return InventoryRow(
        model=device.model.model,
        serial=device.serial,
        device_age_months=_device_age(device, as_of),
        battery_age_months=_battery_age(device, as_of),
        status=vitals.status,
        load_percent=vitals.load_percent,
        charge_percent=vitals.charge_percent,
        runtime_seconds=vitals.runtime_seconds,
        temperature_c=vitals.temperature_c,
        firmware_version=vitals.firmware_version,
        update_available=vitals.update_available,
        plan=segment.plan,
        plan_expires_on=segment.end,
        warranty_expires_on=device.warranty.expires_on,
        battery_replace_by=device.battery_replace_by,
        battery_sku=device.model.battery_sku,
        warranty_extension_sku=device.model.warranty_extension_sku,
        renewal_due_on=_due_on(device, as_of, segment.end),
        skus_needed=_skus(needs),
        renewal_needs=needs,
    )


_NO_VITALS: Final = Vitals()


def renewal_row(
    device: ReportDevice,
    as_of: date,
    *,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> RenewalRow:
    """The MyRenewals row of ``device`` on ``as_of`` (SPEC R2): no operational data.

    The device's :class:`Vitals` are never read.
    """
    needs = renewal_needs(
        device, as_of, horizon_months=horizon_months, plan_license_sku=plan_license_sku
    )
    segment = device.coverage.segment_on(as_of)
    return RenewalRow(
        model=device.model.model,
        serial=device.serial,
        device_age_months=_device_age(device, as_of),
        plan=segment.plan,
        plan_expires_on=segment.end,
        warranty_expires_on=device.warranty.expires_on,
        battery_replace_by=device.battery_replace_by,
        renewal_due_on=_due_on(device, as_of, segment.end),
        skus_needed=_skus(needs),
        renewal_needs=needs,
    )


def operational_row(device: ReportDevice) -> OperationalRow:
    """The operational-report row of ``device`` (SPEC R3): its last reported vitals."""
    if not isinstance(device, ReportDevice):
        raise InvalidInput(f"expected a ReportDevice, got {type(device).__name__}")
    vitals = device.vitals or _NO_VITALS
    return OperationalRow(
        model=device.model.model,
        serial=device.serial,
        status=vitals.status,
        load_percent=vitals.load_percent,
        charge_percent=vitals.charge_percent,
        runtime_seconds=vitals.runtime_seconds,
        temperature_c=vitals.temperature_c,
        input_voltage=vitals.input_voltage,
        output_voltage=vitals.output_voltage,
        input_sensitivity=vitals.input_sensitivity,
        self_test_result=vitals.self_test_result,
        firmware_version=vitals.firmware_version,
        update_available=vitals.update_available,
        observed_at=vitals.observed_at,
    )


def inventory_rows(
    devices: Iterable[ReportDevice],
    as_of: date,
    *,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> Iterator[InventoryRow]:
    """MyInventory rows, one per device, lazily and in the order given (SPEC R1, R4).

    Nothing is held but the current device, so a store can stream devices in and a format
    stream rows out. Pass devices in renewal order (the store's index on
    :func:`renewal_due_on`), or wrap the result in :func:`sorted_for_renewal`.
    """
    for device in iter_items(devices, ReportDevice, "devices"):
        yield inventory_row(
            device, as_of, horizon_months=horizon_months, plan_license_sku=plan_license_sku
        )


def renewal_rows(
    devices: Iterable[ReportDevice],
    as_of: date,
    *,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> Iterator[RenewalRow]:
    """MyRenewals rows, one per device, lazily and in the order given (SPEC R2, R4)."""
    for device in iter_items(devices, ReportDevice, "devices"):
        yield renewal_row(
            device, as_of, horizon_months=horizon_months, plan_license_sku=plan_license_sku
        )


def operational_rows(devices: Iterable[ReportDevice]) -> Iterator[OperationalRow]:
    """Operational rows, one per device, lazily and in the order given (SPEC R3)."""
    for device in iter_items(devices, ReportDevice, "devices"):
        yield operational_row(device)


def event_log_rows(
    log: EventLog,
    now: datetime,
    *,
    retention: timedelta = DEFAULT_RETENTION,
    devices: Collection[str] | None = None,
) -> tuple[EventLogRow, ...]:
    """The event log as export rows, in the order of :func:`~upslife.sharing.listing` (S5).

    Entries within ``retention`` of ``now``, critical first, newest first within a
    severity. ``devices`` limits the export to those serial numbers: a shared user exports
    only the entries of the devices shared with them (R5).
    """
    serials = None if devices is None else require_items(devices, str, "devices")
    wanted = None if serials is None else frozenset(_serial(d) for d in serials)
    return tuple(
        EventLogRow(
            at=entry.at,
            severity=entry.severity,
            actor=entry.actor,
            role=entry.role,
            action=entry.action,
            device=entry.device,
            outcome=entry.outcome,
            message=entry.message,
            reason=entry.reason,
        )
        for entry in listing(log, now, retention=retention)
        if wanted is None or entry.device.upper() in wanted
    )


# --------------------------------------------------------------------------- renewal order (R4)


class _Ranked(Protocol):
    @property
    def serial(self) -> str: ...

    @property
    def renewal_due_on(self) -> date | None: ...


_R = TypeVar("_R", bound=_Ranked)


def renewal_key(row: _Ranked) -> tuple[bool, date, str]:
    """The R4 sort key of a row: earliest due date first, rows with none last, then serial."""
    due: object = getattr(row, "renewal_due_on", None)
    serial: object = getattr(row, "serial", None)
    if not isinstance(serial, str) or not (due is None or isinstance(due, date)):
        what = type(row).__name__
        raise InvalidType(f"a report row has renewal_due_on and serial, got {what}")
    return (due is None, due if due is not None else date.max, serial)


def sorted_for_renewal(rows: Iterable[_R]) -> list[_R]:
    """``rows`` in order of eligibility for renewal (SPEC R4).

    Earliest :attr:`renewal_due_on` first, rows with nothing due last, ties by serial. It
    needs every row in memory: for a large fleet, let the store return devices ordered by
    its index on :func:`renewal_due_on` and stream them through :func:`in_renewal_order`.
    """
    items: tuple[_R, ...] = require_items(rows, object, "rows")  # type: ignore[arg-type]
    return sorted(items, key=renewal_key)


def in_renewal_order(rows: Iterable[_R]) -> Iterator[_R]:
    """Pass ``rows`` through, checking that they are in renewal order (SPEC R4).

    For exports streamed from a store that sorted them by its index: memory stays flat,
    and a row out of order raises :class:`~upslife.errors.RowsOutOfOrder` instead of
    silently producing a mis-ordered report.
    """
    previous: _R | None = None
    checked: Iterator[_R] = iter_items(rows, object, "rows")  # type: ignore[arg-type]
    for row in checked:
        key = renewal_key(row)
        if previous is not None and key < renewal_key(previous):
            raise RowsOutOfOrder(row.serial, previous.serial)
        previous = row
        yield row


# --------------------------------------------------------------------------- authorization (R5)


def authorize_report(state: SharingState, device: str, user: str) -> Role:
    """The role with which ``user`` may produce ``device``'s reports (SPEC R5, S3).

    The owner and users with an ACTIVE share of the device may, on every plan (reports are
    a BASIC feature, E10). Anyone else — a stranger, a user whose share is pending,
    revoked or removed, a reseller — gets :class:`~upslife.errors.ReportNotPermitted`:
    a reseller sees only what lifecycle notices carry (N6).
    """
    role = access(state, device, user)
    if role is None:
        raise ReportNotPermitted(_serial(device), user)
    return role


def reportable(
    state: SharingState, devices: Iterable[ReportDevice], user: str
) -> Iterator[ReportDevice]:
    """The devices of ``devices`` whose reports ``user`` may produce, lazily (SPEC R5).

    For a fleet report: the others are left out rather than refused.
    """
    require_instance(state, SharingState, "state")
    for device in iter_items(devices, ReportDevice, "devices"):
        if access(state, device.serial, user) is not None:
            yield device


# ------------------------------------------------------------------ plan license part numbers (R6)


def plan_license_description(plan: Plan, term: Term) -> str:
    """A plan license in words, the name used where no part number is known (SPEC R6):
    ``"Standard plan license 3Y"``; also the price-list key that always works."""
    plan = require_instance(plan, Plan, "plan")
    return f"{plan.title} plan license {require_instance(term, Term, 'term').label}"


def plan_option_sku(catalog: Catalog, plan: Plan, term: Term) -> str:
    """What to order for a ``plan`` license of ``term`` (SPEC R6, C1): the catalog's part
    number when it has one, else :func:`plan_license_description`.

    >>> plan_option_sku(Catalog.default(), Plan.STANDARD, Term.Y3)
    'Standard plan license 3Y'
    """
    require_instance(catalog, Catalog, "catalog")
    part = catalog.plan_license(require_instance(plan, Plan, "plan").name, term.label)
    return plan_license_description(plan, term) if part is None else part.part_number


def _renewal_sku(catalog: Catalog, plan: Plan) -> str:
    parts = [(term, catalog.plan_license(plan.name, term.label)) for term in Term]
    if all(part is None for _, part in parts):
        return default_plan_license_sku(plan)
    return " / ".join(
        plan_license_description(plan, term) if part is None
        else f"{part.part_number} ({term.label})"
        for term, part in parts
    )


def plan_license_sku_of(catalog: Catalog) -> Callable[[Plan], str]:
    """The ``plan_license_sku`` function of ``catalog``: what a plan expiry names as the
    SKU needed in notices, reports, calendars and forecasts (SPEC N1, R1, R2, R6, C1).

    The renewal's term is the buyer's choice, so all three are named: with no part number
    in the catalog, ``"Standard plan license 1Y/3Y/5Y"``
    (:func:`~upslife.notifications.default_plan_license_sku`, returned itself); with part
    numbers, each term's part number, or its description where it has none:
    ``"PN-1 (1Y) / PN-3 (3Y) / Standard plan license 5Y"``.

    >>> plan_license_sku_of(Catalog.default()) is default_plan_license_sku
    True
    """
    require_instance(catalog, Catalog, "catalog")
    if not catalog.plan_licenses:
        return default_plan_license_sku
    names = {plan: _renewal_sku(catalog, plan) for plan in Plan if plan.is_paid}

    def sku(plan: Plan) -> str:
        name = names.get(plan)
        return default_plan_license_sku(plan) if name is None else name

    return sku


def missing_part_numbers(
    catalog: Catalog, licenses: Iterable[tuple[Plan, Term]]
) -> tuple[tuple[Plan, Term], ...]:
    """The plan licenses of ``licenses`` the catalog has no part number for, once each, in
    plan then term order: what an operator still has to fill in (SPEC R6, C1); the catalog
    key of each is :func:`~upslife.catalog.plan_license_key` of its plan name and term."""
    require_instance(catalog, Catalog, "catalog")
    wanted: set[tuple[Plan, Term]] = set()
    for pair in iter_items(licenses, tuple, "licenses"):
        if len(pair) != 2:
            raise InvalidType(f"licenses must hold (Plan, Term) pairs, got {len(pair)} item(s)")
        plan, term = pair
        wanted.add((require_instance(plan, Plan, "plan"), require_instance(term, Term, "term")))
    return tuple(
        (plan, term)
        for plan in Plan
        for term in Term
        if (plan, term) in wanted and catalog.plan_license(plan.name, term.label) is None
    )


def plan_license_prices(
    catalog: Catalog, prices: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """``prices`` with plan licenses priced under the names :func:`plan_option_sku` and
    :func:`plan_license_sku_of` give them (SPEC R6): a price list keyed by part number is
    used as it is, and one keyed by description (``"Standard plan license 3Y"``,
    ``"Standard plan license 1Y/3Y/5Y"``) keeps working once the catalog has part numbers.
    A price given under the part number wins over one under the description.
    """
    require_instance(catalog, Catalog, "catalog")
    result = dict(_prices(prices) or {})
    renewal = plan_license_sku_of(catalog)
    for plan in Plan:
        if not plan.is_paid:
            continue
        for term in Term:
            sku, words = plan_option_sku(catalog, plan, term), plan_license_description(plan, term)
            if sku not in result and words in result:
                result[sku] = result[words]
        sku, words = renewal(plan), default_plan_license_sku(plan)
        if sku not in result and words in result:
            result[sku] = result[words]
    return result


# --------------------------------------------------------------------------- quotes (R6)


@final
@attrs.frozen
class PlanOption:
    """One quoted option: a license of ``plan`` and ``term`` assigned on the quote day (R6).

    ``months`` is the term plus promotion bonus months (E11, named in ``promotions``).
    ``expires_on`` is the day the quoted plan's time runs out with this license: appended
    to a running term of the same plan (E4a), or starting on the quote day as an upgrade
    (E4c) or after the higher plan's time (E4e). ``paid_until`` is the day all paid and
    trial time ends, paused lower-plan time resumed included (E4d). ``coverage`` is the
    whole hypothetical coverage, for ``coverage.explain()`` (E12).
    """

    plan: Plan
    term: Term
    months: int
    promotions: tuple[str, ...]
    expires_on: date
    paid_until: date
    coverage: Coverage = attrs.field(repr=False)


@final
@attrs.frozen
class BatteryNeed:
    """The battery side of a quote: the cartridge SKU and when it is needed (SPEC R6, E9).

    ``due`` is true when the replace-by date falls before the end of the horizon (or has
    passed), or the UPS reported a failed battery.
    """

    sku: str
    replace_by: date | None
    failure_reported_on: date | None
    due: bool


@final
@attrs.frozen
class WarrantyNeed:
    """The warranty side of a quote: the extension SKU and the expiry (SPEC R6, E8).

    ``extendable`` is false once the warranty has expired (an extension is bought while it
    runs, E8); ``due`` is true when it is extendable and expires within the horizon.
    """

    sku: str
    expires_on: date
    extendable: bool
    due: bool


@final
@attrs.frozen
class DeviceQuote:
    """A partner quote for one device on day ``on`` (SPEC R6).

    ``plan``, ``plan_expires_on`` and ``paid_until`` describe the coverage as it is;
    ``options`` the six :data:`QUOTED_OPTIONS`; ``plan_drops`` the plan expiries within
    the horizon (licenses needed if nothing is bought).
    """

    serial: str
    model: str
    on: date
    plan: Plan
    plan_expires_on: date | None
    paid_until: date | None
    options: tuple[PlanOption, ...]
    battery: BatteryNeed
    warranty: WarrantyNeed
    plan_drops: tuple[LifecycleEvent, ...]

    def option(self, plan: Plan | str, term: Term | str | int) -> PlanOption:
        """The option for ``plan`` and ``term``: ``quote.option("ADVANCED", "3Y")``."""
        wanted = (Plan.parse(plan), Term.parse(term))
        for option in self.options:
            if (option.plan, option.term) == wanted:
                return option
        raise InvalidInput(f"a quote has STANDARD and ADVANCED options only, not {plan!r}")


def _promotions(values: Iterable[Promotion]) -> tuple[Promotion, ...]:
    """Promotions as given, each checked to have the rule's method (SPEC E11)."""
    promos: tuple[Promotion, ...] = require_items(values, object, "promotions")  # type: ignore[arg-type]
    for promo in promos:
        if not callable(getattr(promo, "bonus_months", None)):
            raise InvalidType(f"promotions must hold Promotion rules, got {type(promo).__name__}")
    return promos


def _hypothetical(plan: Plan, term: Term, on: date, promotions: tuple[Promotion, ...]) -> License:
    """The license quoted, with promotion months added as activation would add them (E11)."""
    license = License.of(f"quote:{plan.name}:{term.label}", plan, term, on)
    notes: list[str] = []
    extra = 0
    for promo in promotions:
        months = promo.bonus_months(license)
        if months:
            extra += months
            notes.append(f"promotion {promo.name}: +{months} months")
    if not extra:
        return license
    return attrs.evolve(license, months=license.months + extra, notes=tuple(notes))


def quote(
    device: ReportDevice,
    on: date,
    *,
    promotions: Iterable[Promotion] = (),
    policy: UpgradePolicy = UpgradePolicy.DEFER,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> DeviceQuote:
    """The 1Y/3Y/5Y × STANDARD/ADVANCED options for ``device`` if assigned on ``on`` (SPEC R6).

    Each option is computed with the real coverage rules: the device's licenses and
    extended warranties plus the quoted license, under ``policy`` (E4d: ``DEFER`` pauses
    the lower plan's remainder, ``FORFEIT`` drops it), with ``promotions`` applied to the
    quoted license (E11). Battery and warranty needs are judged over ``horizon_months``.

    Raises :class:`~upslife.errors.DateBeforeRegistration` for a day before registration,
    and :class:`~upslife.errors.InvalidInput` when ``device.coverage`` does not follow from
    its own licenses (a hand-built :class:`ReportDevice` that disagrees with itself).
    """
    _check_day(device, on, "the quote day")
    horizon = _require_horizon(horizon_months)
    if not isinstance(policy, UpgradePolicy):
        raise InvalidInput(f"policy must be an UpgradePolicy, got {policy!r}")
    promos = _promotions(promotions)
    base = coverage(
        device.registered_on, device.licenses, warranties=device.extensions, policy=policy
    )
    if policy is device.coverage.policy and base.segments != device.coverage.segments:
        raise InvalidInput(
            f"device {device.serial}: its coverage does not follow from its licenses and "
            "extended warranties; build it with report_device()"
        )
    options: list[PlanOption] = []
    for plan, term in QUOTED_OPTIONS:
        license = _hypothetical(plan, term, on, promos)
        hypothetical = coverage(
            device.registered_on,
            (*device.licenses, license),
            warranties=device.extensions,
            policy=policy,
        )
        expires = max(s.end for s in hypothetical.segments if s.plan is plan and s.end)
        paid_until = hypothetical.paid_until
        assert paid_until is not None  # the quoted license is paid time
        options.append(
            PlanOption(plan, term, license.months, license.notes, expires, paid_until, hypothetical)
        )
    until = add_months(on, horizon)
    replace_by = device.battery_replace_by
    failure = device.battery_failure_reported_on
    failure = failure if failure is not None and failure <= on else None
    expires_on = device.warranty.expires_on
    extendable = on < expires_on
    drops = tuple(
        event
        for event in lifecycle_events(
            device.facts(battery_failure=False), plan_license_sku=plan_license_sku
        )
        if event.kind is EventKind.PLAN_EXPIRY and event.due is not None and on <= event.due < until
    )
    return DeviceQuote(
        serial=device.serial,
        model=device.model.model,
        on=on,
        plan=base.plan_on(on),
        plan_expires_on=base.expires_on(on),
        paid_until=base.paid_until,
        options=tuple(options),
        battery=BatteryNeed(
            device.model.battery_sku,
            replace_by,
            failure,
            failure is not None or (replace_by is not None and replace_by < until),
        ),
        warranty=WarrantyNeed(
            device.model.warranty_extension_sku,
            expires_on,
            extendable,
            extendable and expires_on < until,
        ),
        plan_drops=drops,
    )


@final
@attrs.frozen
class QuoteLine:
    """One SKU of a fleet quote: how many devices need it and which (SPEC R6)."""

    kind: EventKind
    sku: str
    quantity: int
    serials: tuple[str, ...]


@final
@attrs.frozen
class FleetQuote:
    """A partner quote for a fleet (SPEC R6): each device's quote, and the SKUs totalled.

    ``lines`` count the devices that need each SKU within the horizon: replacement
    batteries, warranty extensions (while the warranty still runs) and plan licenses (one
    per plan expiry), sorted by kind then SKU.
    """

    on: date
    quotes: tuple[DeviceQuote, ...]
    lines: tuple[QuoteLine, ...]


def fleet_quote(
    devices: Iterable[ReportDevice],
    on: date,
    *,
    promotions: Iterable[Promotion] = (),
    policy: UpgradePolicy = UpgradePolicy.DEFER,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> FleetQuote:
    """:func:`quote` for every device, and the per-SKU totals of their needs (SPEC R6).

    Each device costs seven coverage computations; a quote is for a partner's customer
    fleet, not for a 100,000-device export.
    """
    promos = _promotions(promotions)
    quotes = tuple(
        quote(
            device,
            on,
            promotions=promos,
            policy=policy,
            horizon_months=horizon_months,
            plan_license_sku=plan_license_sku,
        )
        for device in iter_items(devices, ReportDevice, "devices")
    )
    needed: dict[tuple[EventKind, str], list[str]] = {}
    for q in quotes:
        if q.battery.due:
            needed.setdefault((EventKind.BATTERY_REPLACEMENT, q.battery.sku), []).append(q.serial)
        if q.warranty.due:
            needed.setdefault((EventKind.WARRANTY_EXPIRY, q.warranty.sku), []).append(q.serial)
        for drop in q.plan_drops:
            assert drop.sku is not None  # plan_license_sku always names one
            needed.setdefault((EventKind.PLAN_EXPIRY, drop.sku), []).append(q.serial)
    lines = tuple(
        QuoteLine(kind, sku, len(serials), tuple(serials))
        for (kind, sku), serials in sorted(
            needed.items(), key=lambda item: (_KIND_ORDER[item[0][0]], item[0][1])
        )
    )
    return FleetQuote(on, quotes, lines)


# --------------------------------------------------------------------------- budget forecast


@final
@attrs.frozen
class ForecastLine:
    """How many events of one kind and SKU fall in a month, and what they cost.

    ``overdue`` counts those already past due at the forecast start (batteries past their
    replace-by or reported failed, UPSs past their service life), all placed in the
    first month. ``unit_price`` and ``cost`` are ``None`` without a price for ``sku``
    (or without a price list); ``sku`` is ``None`` for a UPS upgrade with no known SKU.
    """

    kind: EventKind
    sku: str | None
    count: int
    overdue: int
    unit_price: Decimal | None
    cost: Decimal | None


@final
@attrs.frozen
class MonthForecast:
    """One calendar month of a forecast: ``month`` is its first day.

    ``cost`` sums the priced lines (``None`` without a price list); ``unpriced`` counts
    the events whose price is missing.
    """

    month: date
    lines: tuple[ForecastLine, ...]
    cost: Decimal | None
    unpriced: int


@final
@attrs.frozen
class Forecast:
    """A budget forecast: one :class:`MonthForecast` per calendar month from ``start``.

    ``total`` is the sum of every priced line (``None`` without a price list);
    ``missing_prices`` the SKUs the price list lacks, sorted, and ``without_sku`` the
    number of events with no SKU to price. Missing prices are reported, never guessed:
    the total is complete only when :attr:`complete` is true.
    """

    start: date
    months: tuple[MonthForecast, ...]
    total: Decimal | None
    missing_prices: tuple[str, ...]
    without_sku: int

    @property
    def complete(self) -> bool:
        """Whether every event was priced."""
        return self.total is not None and not self.missing_prices and not self.without_sku


def _prices(prices: Mapping[str, Decimal] | None) -> Mapping[str, Decimal] | None:
    if prices is None:
        return None
    if not isinstance(prices, Mapping):
        raise InvalidInput(f"prices must map SKU to Decimal, got {type(prices).__name__}")
    for sku, price in prices.items():
        require_text(sku, "a price list SKU")
        if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
            raise InvalidInput(
                f"the price of {sku} must be a finite Decimal >= 0, got {price!r} "
                "(prices are Decimal, never float)"
            )
    return prices


def budget_forecast(
    devices: Iterable[ReportDevice],
    start: date,
    months: int = 12,
    *,
    prices: Mapping[str, Decimal] | None = None,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> Forecast:
    """What the fleet will need, month by month, for ``months`` calendar months (SPEC R6, N1).

    Month 1 is the calendar month of ``start``, counted from ``start`` on; the window ends
    on the first day of month ``months + 1``. Counted per month, kind and SKU: plan
    renewals (each drop from a paid plan, N1), battery replacements (replace-by, E9),
    warranty expiries (E8) and UPS upgrades (end of service life). A battery past its
    replace-by or reported failed, and a UPS past its service life, are still needed:
    they count in month 1 as ``overdue`` (a reported failure replaces the replace-by
    date: one battery per device). With ``prices`` (SKU → ``Decimal``, data from the
    caller), each line is costed; SKUs it lacks are listed in ``missing_prices``.

    ``devices`` is consumed once, lazily: memory is per month, kind and SKU, not per device.
    """
    require_date(start, "start")
    count = require_positive_int(months, "months")
    price_list = _prices(prices)
    first = start.replace(day=1)
    end = add_months(first, count)
    counts: Counter[tuple[int, EventKind, str | None]] = Counter()
    overdue: Counter[tuple[int, EventKind, str | None]] = Counter()
    for device in iter_items(devices, ReportDevice, "devices"):
        if not isinstance(device, ReportDevice):
            raise InvalidInput(f"expected a ReportDevice, got {type(device).__name__}")
        failed = device.battery_failure_reported_on is not None
        for event in lifecycle_events(device.facts(), plan_license_sku=plan_license_sku):
            kind, due = event.kind, event.due
            if kind is EventKind.BATTERY_FAILURE or (
                kind is EventKind.BATTERY_REPLACEMENT and failed
            ):
                if kind is EventKind.BATTERY_FAILURE:
                    key = (0, EventKind.BATTERY_REPLACEMENT, event.sku)
                    counts[key] += 1
                    overdue[key] += 1
                continue
            assert due is not None  # every other kind is dated
            if due < start:
                if kind in _OPEN_WHEN_OVERDUE:
                    counts[(0, kind, event.sku)] += 1
                    overdue[(0, kind, event.sku)] += 1
            elif due < end:
                index = (due.year - first.year) * 12 + due.month - first.month
                counts[(index, kind, event.sku)] += 1
    missing: set[str] = set()
    without_sku = 0
    grand = Decimal(0)
    month_forecasts: list[MonthForecast] = []
    for index in range(count):
        lines: list[ForecastLine] = []
        cost = Decimal(0)
        unpriced = 0
        keys = sorted(
            (key for key in counts if key[0] == index),
            key=lambda key: (_KIND_ORDER[key[1]], key[2] or ""),
        )
        for key in keys:
            _, kind, sku = key
            n = counts[key]
            unit = None if price_list is None or sku is None else price_list.get(sku)
            line_cost = None if unit is None else unit * n
            if price_list is not None and unit is None:
                unpriced += n
                if sku is None:
                    without_sku += n
                else:
                    missing.add(sku)
            if line_cost is not None:
                cost += line_cost
            lines.append(ForecastLine(kind, sku, n, overdue[key], unit, line_cost))
        grand += cost
        month_forecasts.append(
            MonthForecast(
                add_months(first, index),
                tuple(lines),
                None if price_list is None else cost,
                unpriced,
            )
        )
    return Forecast(
        start,
        tuple(month_forecasts),
        None if price_list is None else grand,
        tuple(sorted(missing)),
        without_sku,
    )


# --------------------------------------------------------------------------- calendar


class Audience(enum.Enum):
    """Whom a calendar feed is for: the owner, or the connected reseller (SPEC N6, R5)."""

    OWNER = "owner"
    RESELLER = "reseller"


@final
@attrs.frozen
class CalendarRevision:
    """What a store keeps of an entry it published: its content fingerprint and SEQUENCE."""

    fingerprint: str
    sequence: int


@final
@attrs.frozen
class CalendarEntry:
    """One all-day calendar event: a lifecycle due date (SPEC N1, N5).

    ``uid`` is stable across due-date moves: it is derived from the audience, serial,
    kind, the plan (for a plan expiry) and the event's rank among the device's events
    of that kind and plan (almost always 1: a second STANDARD expiry exists only after a
    lapse), never from the date, so a calendar app moves the event in place when a
    license, a battery or an extension moves its due date (N3). ``sequence`` is the
    RFC 5545 SEQUENCE: 0 unless :func:`revise` raised it against what was published.
    """

    uid: str
    audience: Audience
    serial: str
    model: str
    kind: EventKind
    plan: Plan | None
    due: date
    sku: str | None
    summary: str
    description: str
    sequence: int = 0

    @property
    def fingerprint(self) -> str:
        """A digest of what a reader sees (date, summary, description); not the SEQUENCE."""
        text = "\x1f".join((self.due.isoformat(), self.summary, self.description))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def revision(self) -> CalendarRevision:
        """What to store after publishing this entry, for the next :func:`revise`."""
        return CalendarRevision(self.fingerprint, self.sequence)


def _uid(audience: Audience, event: LifecycleEvent, rank: int) -> str:
    plan = event.plan.name if event.plan is not None else ""
    parts = (_CALENDAR_UID_VERSION, audience.value, event.serial, event.kind.value, plan, str(rank))
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()
    return f"{digest[:32]}@upslife"


def _title(event: LifecycleEvent, due: date) -> str:
    """The N5 title as the notices before the due date show it: "Battery Replacement Due"."""
    before = due - timedelta(days=1) if due > date.min else due
    return title_for(event, before)


def _entries(
    device: ReportDevice,
    audience: Audience,
    plan_license_sku: Callable[[Plan], str],
    customer: Contact | None,
) -> tuple[CalendarEntry, ...]:
    events = [
        event
        for event in lifecycle_events(device.facts(), plan_license_sku=plan_license_sku)
        if event.due is not None and (audience is Audience.OWNER or event.kind.reaches_reseller)
    ]
    events.sort(key=_need_order)
    ranks: Counter[tuple[EventKind, Plan | None]] = Counter()
    entries: list[CalendarEntry] = []
    for event in events:
        due = event.due
        assert due is not None
        ranks[(event.kind, event.plan)] += 1
        lines = [
            f"Model: {event.model}",
            f"Serial: {event.serial}",
            f"Due: {format_date(due)} ({due.isoformat()})",
        ]
        if event.sku is not None:
            lines.append(f"SKU needed: {event.sku}")
        if customer is not None:
            lines.append(f"Customer: {customer.company}")
        entries.append(
            CalendarEntry(
                uid=_uid(audience, event, ranks[(event.kind, event.plan)]),
                audience=audience,
                serial=event.serial,
                model=event.model,
                kind=event.kind,
                plan=event.plan,
                due=due,
                sku=event.sku,
                summary=f"{_title(event, due)}: {event.model} {event.serial}",
                description="\n".join(lines),
            )
        )
    return tuple(entries)


def calendar_entries(
    device: ReportDevice,
    *,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> tuple[CalendarEntry, ...]:
    """The owner's calendar entries of ``device``: every dated lifecycle event (SPEC N1).

    Past events stay in the feed (a calendar app would otherwise delete them), a battery
    failure has no date and is left out (it is notified at once). Summary: the N5 title as
    notices show it before the due date, with model and serial; description: model,
    serial, due date and the SKU needed.
    """
    if not isinstance(device, ReportDevice):
        raise InvalidInput(f"expected a ReportDevice, got {type(device).__name__}")
    return _entries(device, Audience.OWNER, plan_license_sku, None)


def reseller_calendar_entries(
    device: ReportDevice,
    *,
    reseller_state: InvitationState | None,
    customer: Contact | None = None,
    plan_license_sku: Callable[[Plan], str] = default_plan_license_sku,
) -> tuple[CalendarEntry, ...]:
    """The connected reseller's calendar entries of ``device`` (SPEC N6, N7, R5).

    Only what notices carry to a reseller: battery, warranty and plan events (no UPS
    upgrade), with model, serial, due date, SKU and, when given, the customer's company
    name. Refused with :class:`~upslife.errors.ResellerNotConnected` unless the
    connection is ACCEPTED now (N7).
    """
    if not isinstance(device, ReportDevice):
        raise InvalidInput(f"expected a ReportDevice, got {type(device).__name__}")
    require_optional(reseller_state, InvitationState, "reseller_state")
    if reseller_state is not InvitationState.ACCEPTED:
        state = "there is none" if reseller_state is None else f"it is {reseller_state.value}"
        raise ResellerNotConnected(
            f"a reseller's calendar holds the due dates of its connected (accepted) "
            f"customers only, and for device {device.serial} {state} (SPEC N7)"
        )
    if customer is not None and not isinstance(customer, Contact):
        raise InvalidInput(f"customer must be a Contact, got {type(customer).__name__}")
    return _entries(device, Audience.RESELLER, plan_license_sku, customer)


def revise(
    entries: Iterable[CalendarEntry], published: Mapping[str, CalendarRevision]
) -> Iterator[CalendarEntry]:
    """``entries`` with their RFC 5545 SEQUENCE set against what was published, lazily.

    ``published`` maps a UID to the :attr:`CalendarEntry.revision` stored when it was last
    published. A new UID gets SEQUENCE 0; an unchanged entry keeps its sequence; an entry
    whose date, summary or description changed gets the published sequence plus one.
    Store each result's ``revision`` after publishing it.
    """
    if not isinstance(published, Mapping):
        raise InvalidType(f"published must be a mapping, got {type(published).__name__}")
    for entry in iter_items(entries, CalendarEntry, "entries"):
        previous = published.get(entry.uid)
        if previous is None:
            sequence = 0
        elif previous.fingerprint == entry.fingerprint:
            sequence = previous.sequence
        else:
            sequence = previous.sequence + 1
        yield entry if sequence == entry.sequence else attrs.evolve(entry, sequence=sequence)
