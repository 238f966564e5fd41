"""CSV, JSON and JSON Lines writers that stream rows (SPEC R1–R3, S5).

Each writer takes a text stream, a :class:`~upslife.formats.layouts.Layout` and an
iterable of rows, and writes row by row: nothing is collected, so exporting 100,000
devices from a generator keeps memory flat. Each returns the number of rows written.

- CSV: one header row of the layout's headers, then one line per row (``csv`` module,
  ``\\r\\n`` line ends as RFC 4180 says: open files with ``newline=""``). Dates and instants
  in ISO 8601, booleans ``yes``/``no``, empty cells for ``None``, several values joined
  with ``"; "``. Text that a spreadsheet would run as a formula (starting with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return) is prefixed with ``'`` unless
  ``escape_formulas=False``; numbers are never altered.
- JSON: one JSON array of objects keyed by the layout's keys, written element by element
  (never ``json.dumps`` of a list), so the file is one valid JSON document. Dates as ISO
  strings, ``Decimal`` as a string, several values as a list.
- JSON Lines: the same objects, one per line, for tools that read line by line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Final, TextIO, TypeVar

from upslife.formats.layouts import Cell, Layout

__all__ = ["csv_text", "json_value", "write_csv", "write_json", "write_jsonl"]

R = TypeVar("R")

_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Cell, *, escape_formulas: bool = True) -> str:
    """A cell as CSV text.

    >>> csv_text(date(2026, 2, 28)), csv_text(None), csv_text(True), csv_text(("RBC7", "X"))
    ('2026-02-28', '', 'yes', 'RBC7; X')
    >>> csv_text("=HYPERLINK(1)"), csv_text(-3.5)
    ("'=HYPERLINK(1)", '-3.5')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = "; ".join(value) if isinstance(value, tuple) else value
    if escape_formulas and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def json_value(value: Cell) -> Any:
    """A cell as a JSON-ready value: ISO dates, ``Decimal`` as text, tuples as lists."""
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def write_csv(
    out: TextIO, layout: Layout[R], rows: Iterable[R], *, escape_formulas: bool = True
) -> int:
    """Write ``rows`` as CSV with a header row; returns the number of rows (SPEC R1–R3, S5)."""
    writer = csv.writer(out)
    writer.writerow(layout.headers)
    count = 0
    for row in layout.checked(rows):
        cells = layout.cells(row)
        writer.writerow([csv_text(cell, escape_formulas=escape_formulas) for cell in cells])
        count += 1
    return count


def _object(keys: tuple[str, ...], layout: Layout[R], row: R) -> str:
    data = {key: json_value(cell) for key, cell in zip(keys, layout.cells(row), strict=True)}
    return json.dumps(data, ensure_ascii=False, allow_nan=False)


def write_json(out: TextIO, layout: Layout[R], rows: Iterable[R]) -> int:
    """Write ``rows`` as one streamed JSON array of objects; returns the number of rows."""
    keys, count = layout.keys, 0
    for row in layout.checked(rows):
        out.write("[\n" if count == 0 else ",\n")
        out.write(_object(keys, layout, row))
        count += 1
    out.write("\n]\n" if count else "[]\n")
    return count


def write_jsonl(out: TextIO, layout: Layout[R], rows: Iterable[R]) -> int:
    """Write ``rows`` as JSON Lines, one object per line; returns the number of rows."""
    keys, count = layout.keys, 0
    for row in layout.checked(rows):
        out.write(_object(keys, layout, row))
        out.write("\n")
        count += 1
    return count
