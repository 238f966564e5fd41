"""Report layouts: which columns each report has, their keys, headers and cell values.

A :class:`Layout` names a report (SPEC R1–R3, S5), the row type it accepts and its
:class:`Column` values. Every writer of :mod:`upslife.formats` takes a layout and an
iterable of rows, so the formats agree on columns by construction, and a writer refuses a
row of another type: an :class:`~upslife.reports.InventoryRow` can never be written as
MyRenewals (SPEC R2).

Cells are plain values (:data:`Cell`): text, numbers, booleans, dates, aware instants,
``Decimal``, ``None`` (empty) and tuples of text (lists in JSON, ``"; "``-joined in CSV and
XLSX). Each format turns them into its own representation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Final, Generic, TypeVar, final

import attrs

from upslife.errors import InvalidInput
from upslife.notifications import EventKind, LifecycleEvent
from upslife.reports import EventLogRow, InventoryRow, OperationalRow, RenewalRow

__all__ = [
    "EVENT_LOG",
    "LAYOUTS",
    "MY_INVENTORY",
    "MY_RENEWALS",
    "OPERATIONAL",
    "Cell",
    "Column",
    "Layout",
    "need_text",
]

Cell = str | int | float | bool | date | datetime | Decimal | tuple[str, ...] | None
"""A cell value before a format renders it."""

R = TypeVar("R")


@final
@attrs.frozen
class Column(Generic[R]):
    """One column of a report.

    ``key`` is the JSON key (snake_case, stable: part of the export's contract),
    ``header`` the CSV/XLSX header text, ``get`` reads the cell from a row, ``width`` is
    the XLSX column width in characters (set before any row is written, so it is a hint,
    not a measurement: measuring would mean holding the rows).
    """

    key: str
    header: str
    get: Callable[[R], Cell] = attrs.field(repr=False)
    width: int = 14


@final
@attrs.frozen
class Layout(Generic[R]):
    """A report: its ``name`` (sheet title, calendar of file names), row type and columns."""

    name: str
    row_type: type[R]
    columns: tuple[Column[R], ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(column.key for column in self.columns)

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(column.header for column in self.columns)

    def cells(self, row: R) -> tuple[Cell, ...]:
        """The cells of ``row``, in column order."""
        return tuple(column.get(row) for column in self.columns)

    def checked(self, rows: Iterable[R]) -> Iterator[R]:
        """``rows``, lazily, refusing any that is not a ``row_type`` (SPEC D5, R2)."""
        for row in rows:
            if not isinstance(row, self.row_type):
                raise InvalidInput(
                    f"the {self.name} report takes {self.row_type.__name__} rows, "
                    f"got {type(row).__name__}"
                )
            yield row


_NEED_WORDS: Final = {
    EventKind.BATTERY_REPLACEMENT: "battery replacement due on",
    EventKind.WARRANTY_EXPIRY: "warranty expires on",
    EventKind.BATTERY_FAILURE: "battery failure reported on",
    EventKind.UPS_UPGRADE: "UPS upgrade due on",
}


def need_text(event: LifecycleEvent) -> str:
    """A renewal need as one line of text: ``"warranty expires on 2027-08-31 (WEXTWAR1YR-SP-02)"``.

    >>> from upslife.entitlements import Plan
    >>> need_text(LifecycleEvent("as1", EventKind.PLAN_EXPIRY, date(2025, 2, 28), Plan.STANDARD,
    ...                          "Standard plan license 1Y/3Y/5Y", model="SMT1500C"))
    'Standard plan expires on 2025-02-28 (Standard plan license 1Y/3Y/5Y)'
    """
    day = event.due if event.due is not None else event.reported_on
    assert day is not None  # guaranteed by LifecycleEvent
    if event.kind is EventKind.PLAN_EXPIRY:
        assert event.plan is not None  # guaranteed by LifecycleEvent
        words = f"{event.plan.title} plan expires on"
    else:
        words = _NEED_WORDS[event.kind]
    sku = f" ({event.sku})" if event.sku is not None else ""
    return f"{words} {day.isoformat()}{sku}"


def _needs(events: tuple[LifecycleEvent, ...]) -> tuple[str, ...]:
    return tuple(need_text(event) for event in events)


def _inventory() -> tuple[Column[InventoryRow], ...]:
    c = Column[InventoryRow]
    return (
        c("model", "Model", lambda r: r.model, 16),
        c("serial", "Serial", lambda r: r.serial, 16),
        c("device_age_months", "Device age (months)", lambda r: r.device_age_months, 11),
        c("battery_age_months", "Battery age (months)", lambda r: r.battery_age_months, 11),
        c("status", "Status", lambda r: r.status, 14),
        c("load_percent", "Load (%)", lambda r: r.load_percent, 9),
        c("charge_percent", "Battery charge (%)", lambda r: r.charge_percent, 10),
        c("runtime_seconds", "Runtime (s)", lambda r: r.runtime_seconds, 10),
        c("temperature_c", "Temperature (°C)", lambda r: r.temperature_c, 11),
        c("firmware_version", "Firmware", lambda r: r.firmware_version, 12),
        c("update_available", "Firmware update available", lambda r: r.update_available, 11),
        c("plan", "Plan", lambda r: r.plan.title, 10),
        c("plan_expires_on", "Plan expires on", lambda r: r.plan_expires_on, 12),
        c("warranty_expires_on", "Warranty expires on", lambda r: r.warranty_expires_on, 12),
        c("battery_replace_by", "Battery replace by", lambda r: r.battery_replace_by, 12),
        c("battery_sku", "Replacement battery SKU", lambda r: r.battery_sku, 18),
        c(
            "warranty_extension_sku",
            "Warranty extension SKU",
            lambda r: r.warranty_extension_sku,
            20,
        ),
        c("renewal_due_on", "Next renewal due", lambda r: r.renewal_due_on, 12),
        c("skus_needed", "SKUs needed", lambda r: r.skus_needed, 32),
        c("renewal_needs", "Renewal needs", lambda r: _needs(r.renewal_needs), 60),
    )


def _renewals() -> tuple[Column[RenewalRow], ...]:
    c = Column[RenewalRow]
    return (
        c("model", "Model", lambda r: r.model, 16),
        c("serial", "Serial", lambda r: r.serial, 16),
        c("device_age_months", "Device age (months)", lambda r: r.device_age_months, 11),
        c("plan", "Plan", lambda r: r.plan.title, 10),
        c("plan_expires_on", "Plan expires on", lambda r: r.plan_expires_on, 12),
        c("warranty_expires_on", "Warranty expires on", lambda r: r.warranty_expires_on, 12),
        c("battery_replace_by", "Battery replace by", lambda r: r.battery_replace_by, 12),
        c("renewal_due_on", "Next renewal due", lambda r: r.renewal_due_on, 12),
        c("skus_needed", "SKUs needed", lambda r: r.skus_needed, 32),
        c("renewal_needs", "Renewal needs", lambda r: _needs(r.renewal_needs), 60),
    )


def _operational() -> tuple[Column[OperationalRow], ...]:
    c = Column[OperationalRow]
    return (
        c("model", "Model", lambda r: r.model, 16),
        c("serial", "Serial", lambda r: r.serial, 16),
        c("status", "Status", lambda r: r.status, 14),
        c("load_percent", "Load (%)", lambda r: r.load_percent, 9),
        c("charge_percent", "Battery charge (%)", lambda r: r.charge_percent, 10),
        c("runtime_seconds", "Runtime (s)", lambda r: r.runtime_seconds, 10),
        c("temperature_c", "Temperature (°C)", lambda r: r.temperature_c, 11),
        c("input_voltage", "Input voltage (V)", lambda r: r.input_voltage, 10),
        c("output_voltage", "Output voltage (V)", lambda r: r.output_voltage, 10),
        c("input_sensitivity", "Input sensitivity", lambda r: r.input_sensitivity, 11),
        c("self_test_result", "Last self-test", lambda r: r.self_test_result, 12),
        c("firmware_version", "Firmware", lambda r: r.firmware_version, 12),
        c("update_available", "Firmware update available", lambda r: r.update_available, 11),
        c("observed_at", "Observed at (UTC)", lambda r: r.observed_at, 20),
    )


def _event_log() -> tuple[Column[EventLogRow], ...]:
    c = Column[EventLogRow]
    return (
        c("at", "Time (UTC)", lambda r: r.at, 20),
        c("severity", "Severity", lambda r: r.severity.name.lower(), 10),
        c("actor", "Actor", lambda r: r.actor, 28),
        c("role", "Role", lambda r: r.role.label if r.role is not None else None, 12),
        c("action", "Action", lambda r: r.action.name.lower(), 22),
        c("device", "Device", lambda r: r.device, 16),
        c("outcome", "Outcome", lambda r: r.outcome.value, 10),
        c("message", "Message", lambda r: r.message, 60),
        c("reason", "Refusal reason", lambda r: r.reason, 20),
    )


MY_INVENTORY: Final = Layout("MyInventory", InventoryRow, _inventory())
"""MyInventory (SPEC R1)."""

MY_RENEWALS: Final = Layout("MyRenewals", RenewalRow, _renewals())
"""MyRenewals (SPEC R2): no operational column."""

OPERATIONAL: Final = Layout("Operational", OperationalRow, _operational())
"""The operational report (SPEC R3)."""

EVENT_LOG: Final = Layout("EventLog", EventLogRow, _event_log())
"""The event-log export (SPEC S5)."""

LAYOUTS: Final = (MY_INVENTORY, MY_RENEWALS, OPERATIONAL, EVENT_LOG)
