"""XLSX writer, streaming through openpyxl's write-only mode (SPEC R1–R3, S5).

Needs the optional extra ``xlsx`` (``pip install "upslife[xlsx]"``); without it,
:func:`write_xlsx` raises :class:`~upslife.errors.ExtraNotInstalled` with that hint. The
package is imported when the function runs, so ``import upslife.formats`` never needs it.

The sheet has a bold header row, frozen (``freeze_panes = "A2"``) and carrying an
autofilter over every column; column widths come from the layout (set before the first
row: a write-only sheet cannot be measured afterwards). Dates are real date cells with
the ``yyyy-mm-dd`` number format, instants real date-time cells in UTC (Excel has no time
zones; the headers say "(UTC)"). Text is always a text cell, never a formula, even when
it starts with ``=``. Rows are streamed to a temporary file by openpyxl: memory stays flat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from os import PathLike
from typing import IO, Any, Final, TypeVar

from upslife._files import open_private
from upslife.errors import ExtraNotInstalled
from upslife.formats.layouts import Cell, Layout

__all__ = ["DATETIME_FORMAT", "DATE_FORMAT", "write_xlsx"]

R = TypeVar("R")

DATE_FORMAT: Final = "yyyy-mm-dd"
DATETIME_FORMAT: Final = "yyyy-mm-dd hh:mm:ss"

# Characters XML 1.0 cannot carry; openpyxl refuses them, we show U+FFFD instead.
_ILLEGAL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_TITLE_CHARS: Final = re.compile(r"[\\/*?:\[\]]")


def _openpyxl() -> tuple[Any, Any, Any, Any]:
    try:
        from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs installed
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
        from openpyxl.styles import Font  # type: ignore[import-untyped]
        from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
    except ImportError as e:
        raise ExtraNotInstalled("xlsx", "openpyxl") from e
    return Workbook, WriteOnlyCell, Font, get_column_letter


def write_xlsx(
    target: str | PathLike[str] | IO[bytes],
    layout: Layout[R],
    rows: Iterable[R],
    *,
    sheet_title: str | None = None,
) -> int:
    """Write ``rows`` to an XLSX workbook at ``target`` (a path or a binary file).

    One sheet, titled ``sheet_title`` or the layout's name. Returns the number of rows.
    """
    workbook_type, cell_type, font_type, column_letter = _openpyxl()
    workbook = workbook_type(write_only=True)
    title = _SHEET_TITLE_CHARS.sub(" ", sheet_title or layout.name)[:31] or "Report"
    sheet = workbook.create_sheet(title=title)
    last = column_letter(len(layout.columns))
    for index, column in enumerate(layout.columns, start=1):
        sheet.column_dimensions[column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    bold = font_type(bold=True)

    def cell(value: Cell) -> Any:
        if isinstance(value, datetime):
            plain = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
            written = cell_type(sheet, value=plain)
            written.number_format = DATETIME_FORMAT
            return written
        if isinstance(value, date):
            written = cell_type(sheet, value=value)
            written.number_format = DATE_FORMAT
            return written
        if value is None or isinstance(value, bool | int | float | Decimal):
            return value
        text = _ILLEGAL.sub("\ufffd", "; ".join(value) if isinstance(value, tuple) else value)
        if text.startswith("="):
            written = cell_type(sheet, value=text)
            written.data_type = "s"  # text, not a formula
            return written
        return text

    header = []
    for text in layout.headers:
        written = cell_type(sheet, value=text)
        written.font = bold
        header.append(written)
    sheet.append(header)
    count = 0
    for row in layout.checked(rows):
        sheet.append([cell(value) for value in layout.cells(row)])
        count += 1
    sheet.auto_filter.ref = f"A1:{last}{count + 1}"
    if isinstance(target, str | PathLike):
        with open_private(target, "wb") as file:  # customer data: 0600 when created
            workbook.save(file)
    else:
        workbook.save(target)
    return count
