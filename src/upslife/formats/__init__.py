"""Report formats: CSV, JSON, JSON Lines, XLSX and iCalendar (SPEC R1–R3, S5, N1).

Adapters on the outside of the domain: they take the rows of :mod:`upslife.reports` and
write them, row by row, so an export of 100,000 devices from a generator keeps memory
flat. Layouts (:data:`MY_INVENTORY`, :data:`MY_RENEWALS`, :data:`OPERATIONAL`,
:data:`EVENT_LOG`) fix the columns every format writes.

CSV and JSON need only the standard library; XLSX needs the extra ``xlsx`` (openpyxl) and
iCalendar the extra ``calendar`` (icalendar). Those packages are imported when a writer
runs, and a missing one raises :class:`~upslife.errors.ExtraNotInstalled` with the
``pip install "upslife[...]"`` hint.

>>> import io
>>> from upslife.catalog import Catalog
>>> from upslife.entitlements import register
>>> from upslife.reports import report_device, renewal_rows
>>> from datetime import date
>>> device = report_device(register("as1", "SMT750C", date(2024, 8, 31)), Catalog.default())
>>> out = io.StringIO()
>>> write_csv(out, MY_RENEWALS, renewal_rows([device], date(2024, 12, 10)))
1
>>> out.getvalue().splitlines()[1].split(",")[:8]
['SMT750C', 'AS1', '3', 'Standard', '2025-02-28', '2027-08-31', '2028-08-31', '2025-02-28']
"""

from upslife.formats.ical import write_ical
from upslife.formats.layouts import (
    EVENT_LOG,
    LAYOUTS,
    MY_INVENTORY,
    MY_RENEWALS,
    OPERATIONAL,
    Cell,
    Column,
    Layout,
    need_text,
)
from upslife.formats.tabular import csv_text, json_value, write_csv, write_json, write_jsonl
from upslife.formats.xlsx import write_xlsx

__all__ = [
    "EVENT_LOG",
    "LAYOUTS",
    "MY_INVENTORY",
    "MY_RENEWALS",
    "OPERATIONAL",
    "Cell",
    "Column",
    "Layout",
    "csv_text",
    "json_value",
    "need_text",
    "write_csv",
    "write_ical",
    "write_json",
    "write_jsonl",
    "write_xlsx",
]
