"""Report formats: CSV, JSON, JSON Lines, XLSX and iCalendar (SPEC R1–R3, R2's privacy, S5).

Every file is read back with an independent reader (``csv``, ``json``, openpyxl,
``icalendar``) and compared with the rows. The privacy rule of R2 is a property over
devices with distinctive random readings: no MyRenewals file, in any format, holds an
operational field name or value. Streaming is measured: writing 100,000 rows from a
generator keeps peak memory flat.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_reports import ONLINE, device, report_devices, sample_log
from upslife.catalog import Catalog
from upslife.entitlements import License, Plan, Term, register
from upslife.errors import ExtraNotInstalled, InvalidInput, NaiveDatetime, UpslifeError
from upslife.formats import (
    EVENT_LOG,
    MY_INVENTORY,
    MY_RENEWALS,
    OPERATIONAL,
    Layout,
    csv_text,
    write_csv,
    write_ical,
    write_json,
    write_jsonl,
    write_xlsx,
)
from upslife.reports import (
    OPERATIONAL_FIELDS,
    RenewalRow,
    ReportDevice,
    Vitals,
    calendar_entries,
    event_log_rows,
    in_renewal_order,
    inventory_rows,
    operational_rows,
    renewal_row,
    renewal_rows,
    report_device,
    revise,
)

AS_OF = date(2024, 12, 10)
FLEET = (
    device("as1", "SMT1500C", date(2024, 8, 31), vitals=ONLINE),
    device("as2", "SMT750C", date(2021, 1, 10)),
    device("as3", "SMTL750RMI2UC", date(2023, 5, 31), failure=date(2024, 11, 2)),
)
NOW = datetime(2025, 3, 2, tzinfo=UTC)


def csv_file(layout: Layout[Any], rows: Any) -> str:
    out = io.StringIO(newline="")
    write_csv(out, layout, rows)
    return out.getvalue()


# --------------------------------------------------------------------------- CSV


class TestCsv:
    def test_a_renewals_csv_reads_back_as_its_rows(self) -> None:
        # SPEC R2: header row, ISO dates, one line per row.
        rows = list(renewal_rows(FLEET, AS_OF))
        back = list(csv.reader(io.StringIO(csv_file(MY_RENEWALS, iter(rows)), newline="")))
        assert back[0] == list(MY_RENEWALS.headers)
        assert back[0][:3] == ["Model", "Serial", "Device age (months)"]
        assert len(back) == 1 + len(rows)
        for line, row in zip(back[1:], rows, strict=True):
            assert line == [csv_text(cell) for cell in MY_RENEWALS.cells(row)]
        first = dict(zip(back[0], back[1], strict=True))
        assert first["Serial"] == "AS1"
        assert first["Plan expires on"] == "2025-02-28"
        assert first["SKUs needed"] == "Standard plan license 1Y/3Y/5Y"
        third = dict(zip(back[0], back[3], strict=True))
        assert third["SKUs needed"].startswith("SMTL750RMI2UC lithium-ion battery module")

    def test_an_inventory_csv_carries_the_operational_columns(self) -> None:
        # SPEC R1
        back = list(
            csv.DictReader(io.StringIO(csv_file(MY_INVENTORY, inventory_rows(FLEET, AS_OF))))
        )
        assert back[0]["Status"] == "On Line"
        assert back[0]["Battery charge (%)"] == "100"
        assert back[0]["Runtime (s)"] == "2460"
        assert back[0]["Firmware update available"] == "yes"
        assert back[1]["Status"] == ""  # no vitals reported

    def test_an_operational_csv_and_an_event_log_csv(self) -> None:
        # SPEC R3, S5
        back = list(csv.DictReader(io.StringIO(csv_file(OPERATIONAL, operational_rows(FLEET)))))
        assert back[0]["Observed at (UTC)"] == "2024-12-10T09:30:00+00:00"
        assert back[0]["Temperature (°C)"] == "24.8"
        log = sample_log()
        lines = list(csv.DictReader(io.StringIO(csv_file(EVENT_LOG, event_log_rows(log, NOW)))))
        assert [(x["Severity"], x["Action"], x["Message"]) for x in lines] == [
            ("critical", "outlet_group_reboot", "b"),
            ("info", "view", "c"),
            ("info", "self_test", "a"),
        ]

    def test_text_a_spreadsheet_would_run_as_a_formula_is_escaped(self) -> None:
        # Formula injection: a UPS-reported text must not run in the reader's spreadsheet.
        d = device("as1", "SMT1500C", date(2024, 8, 31), vitals=Vitals(status="=HYPERLINK(1)"))
        back = list(csv.DictReader(io.StringIO(csv_file(OPERATIONAL, operational_rows([d])))))
        assert back[0]["Status"] == "'=HYPERLINK(1)"
        out = io.StringIO()
        write_csv(out, OPERATIONAL, operational_rows([d]), escape_formulas=False)
        assert "\r\nSMT1500C,AS1,=HYPERLINK(1)," in out.getvalue()

    def test_a_writer_refuses_rows_of_another_report(self) -> None:
        # SPEC R2: an inventory row can never be written as MyRenewals.
        with pytest.raises(InvalidInput, match="RenewalRow"):
            csv_file(MY_RENEWALS, inventory_rows(FLEET, AS_OF))

    def test_an_empty_report_is_its_header(self) -> None:
        assert csv_file(MY_RENEWALS, iter(())).count("\r\n") == 1


# --------------------------------------------------------------------------- JSON


class TestJson:
    def test_a_json_export_is_one_array_of_objects_keyed_by_the_layout(self) -> None:
        # SPEC R2
        rows = list(renewal_rows(FLEET, AS_OF))
        out = io.StringIO()
        assert write_json(out, MY_RENEWALS, iter(rows)) == 3
        data = json.loads(out.getvalue())
        assert [list(item) for item in data] == [list(MY_RENEWALS.keys)] * 3
        assert data[0]["plan_expires_on"] == "2025-02-28"
        assert data[0]["skus_needed"] == ["Standard plan license 1Y/3Y/5Y"]
        assert data[1]["renewal_needs"] == [
            "battery replacement due on 2025-01-10 (RBC48)",
        ]

    def test_json_lines_hold_one_object_per_line(self) -> None:
        out = io.StringIO()
        assert write_jsonl(out, MY_INVENTORY, inventory_rows(FLEET, AS_OF)) == 3
        lines = out.getvalue().splitlines()
        assert len(lines) == 3
        first = json.loads(lines[0])
        assert (first["status"], first["runtime_seconds"], first["update_available"]) == (
            "On Line",
            2460,
            True,
        )
        assert json.loads(lines[1])["load_percent"] is None

    def test_an_empty_json_export_is_an_empty_array(self) -> None:
        out = io.StringIO()
        assert write_json(out, MY_RENEWALS, iter(())) == 0
        assert json.loads(out.getvalue()) == []

    def test_event_log_instants_are_iso_8601_in_utc(self) -> None:
        # SPEC S5, D1
        out = io.StringIO()
        write_json(out, EVENT_LOG, event_log_rows(sample_log(), NOW))
        assert json.loads(out.getvalue())[0]["at"] == "2025-03-01T13:00:00+00:00"


# --------------------------------------------------------------------------- XLSX


def read_xlsx(path: Path | io.BytesIO) -> Any:
    import openpyxl  # type: ignore[import-untyped]  # no type stubs installed

    return openpyxl.load_workbook(path)


class TestXlsx:
    def test_a_workbook_reads_back_with_dates_a_frozen_header_and_an_autofilter(
        self, tmp_path: Path
    ) -> None:
        # SPEC R2: real date cells, header frozen, autofilter over the header, widths.
        path = tmp_path / "renewals.xlsx"
        rows = list(renewal_rows(FLEET, AS_OF))
        assert write_xlsx(path, MY_RENEWALS, iter(rows)) == 3
        sheet = read_xlsx(path).active
        assert sheet.title == "MyRenewals"
        assert [c.value for c in sheet[1]] == list(MY_RENEWALS.headers)
        assert all(c.font.b for c in sheet[1])
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == "A1:J4"
        assert sheet.column_dimensions["A"].width == 16
        assert sheet.column_dimensions["J"].width == 60
        expires = sheet.cell(row=2, column=MY_RENEWALS.keys.index("plan_expires_on") + 1)
        assert expires.is_date
        assert expires.number_format == "yyyy-mm-dd"
        assert expires.value == datetime(2025, 2, 28)
        values = [[c.value for c in line] for line in sheet.iter_rows(min_row=2)]
        assert [v[1] for v in values] == ["AS1", "AS2", "AS3"]
        assert values[0][2] == 3  # device age, a number
        assert values[0][8] == "Standard plan license 1Y/3Y/5Y"

    def test_instants_are_utc_date_times_and_text_is_never_a_formula(self, tmp_path: Path) -> None:
        # SPEC S5, D1; formula injection.
        d = device("as1", "SMT1500C", date(2024, 8, 31), vitals=Vitals(status="=1+1"))
        path = tmp_path / "operational.xlsx"
        write_xlsx(path, OPERATIONAL, operational_rows([d, FLEET[0]]))
        sheet = read_xlsx(path).active
        assert sheet.cell(row=2, column=3).value == "=1+1"
        assert sheet.cell(row=2, column=3).data_type == "s"
        observed = sheet.cell(row=3, column=len(OPERATIONAL.columns))
        assert observed.is_date
        assert observed.value == datetime(2024, 12, 10, 9, 30)
        log_path = tmp_path / "log.xlsx"
        write_xlsx(log_path, EVENT_LOG, event_log_rows(sample_log(), NOW))
        assert read_xlsx(log_path).active.cell(row=2, column=1).value == datetime(2025, 3, 1, 13, 0)

    def test_a_workbook_can_be_written_to_a_binary_stream(self) -> None:
        out = io.BytesIO()
        write_xlsx(out, MY_INVENTORY, inventory_rows(FLEET, AS_OF), sheet_title="Q4/2024")
        assert zipfile.ZipFile(out).testzip() is None
        assert read_xlsx(out).active.title == "Q4 2024"

    def test_without_openpyxl_the_error_says_which_extra_to_install(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setitem(sys.modules, "openpyxl", None)
        with pytest.raises(ExtraNotInstalled, match=r'pip install "upslife\[xlsx\]"') as missing:
            write_xlsx(tmp_path / "x.xlsx", MY_RENEWALS, iter(()))
        assert isinstance(missing.value, ImportError)
        assert isinstance(missing.value, UpslifeError)


# --------------------------------------------------------------------------- R2 privacy


def sentinel_numbers(low: int, high: int) -> st.SearchStrategy[float]:
    """Numbers with four decimals whose text cannot occur in a renewal file by chance."""
    return st.integers(low, high).filter(lambda n: n % 10 != 0).map(lambda n: n / 10_000)


SENTINEL_VITALS = st.builds(
    Vitals,
    status=st.from_regex(r"QZSTATUS[A-Z]{6}", fullmatch=True),
    load_percent=sentinel_numbers(100_001, 1_499_999),
    charge_percent=sentinel_numbers(100_001, 999_999),
    runtime_seconds=st.integers(7_000_000, 7_999_999),
    temperature_c=sentinel_numbers(-999_999, -100_001),
    firmware_version=st.from_regex(r"QZFIRMWARE[A-Z]{6}", fullmatch=True),
    update_available=st.booleans(),
    input_voltage=sentinel_numbers(2_000_001, 2_599_999),
    output_voltage=sentinel_numbers(2_000_001, 2_599_999),
    input_sensitivity=st.from_regex(r"QZSENSITIVITY[A-Z]{6}", fullmatch=True),
    self_test_result=st.from_regex(r"QZSELFTEST[A-Z]{6}", fullmatch=True),
    observed_at=st.datetimes(datetime(2190, 1, 1), datetime(2199, 1, 1), timezones=st.just(UTC)),
)
FLEETS_WITH_SENTINELS = st.lists(report_devices(vitals=SENTINEL_VITALS), min_size=1, max_size=4)
OPERATIONAL_WORDS = (
    "status",
    "load",
    "charge",
    "runtime",
    "temperature",
    "firmware",
    "voltage",
    "sensitivity",
    "self-test",
)


def leaked(text: str, fleet: list[ReportDevice], *, names: bool = True) -> list[str]:
    """The operational field names (unless ``names`` is false) and values of ``fleet``
    that occur in ``text``."""
    found = []
    if names:
        found += [word for word in OPERATIONAL_WORDS if word in text.lower()]
        found += [name for name in OPERATIONAL_FIELDS if name in text]
    for d in fleet:
        assert d.vitals is not None
        for name in OPERATIONAL_FIELDS - {"update_available"}:
            value = getattr(d.vitals, name)
            shown = value.isoformat() if isinstance(value, datetime) else str(value)
            if shown in text:
                found.append(f"{name}={shown}")
    return found


def as_of_for(fleet: list[ReportDevice], days: int) -> date:
    start = max(max(d.registered_on, d.battery_installed_on or d.registered_on) for d in fleet)
    return start + timedelta(days=days)


class TestR2PrivacyInEveryFormat:
    @given(FLEETS_WITH_SENTINELS, st.integers(0, 4000))
    def test_no_renewals_csv_json_or_jsonl_holds_an_operational_name_or_value(
        self, fleet: list[ReportDevice], days: int
    ) -> None:
        # SPEC R2, as a property over random devices with distinctive readings.
        as_of = as_of_for(fleet, days)
        for write in (write_csv, write_json, write_jsonl):
            out = io.StringIO()
            write(out, MY_RENEWALS, renewal_rows(fleet, as_of))
            assert leaked(out.getvalue(), fleet) == [], write.__name__

    @given(FLEETS_WITH_SENTINELS, st.integers(0, 4000))
    def test_the_same_readings_are_found_in_an_inventory_file(
        self, fleet: list[ReportDevice], days: int
    ) -> None:
        # The check above has teeth: MyInventory (R1) does show them.
        text = csv_file(MY_INVENTORY, inventory_rows(fleet, as_of_for(fleet, days)))
        found = leaked(text, fleet)
        assert {"status", "runtime", "firmware"} <= set(found)
        for d in fleet:
            assert d.vitals is not None
            assert str(d.vitals.runtime_seconds) in text

    @settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(FLEETS_WITH_SENTINELS, st.integers(0, 4000))
    def test_no_renewals_workbook_holds_an_operational_name_or_value(
        self, tmp_path: Path, fleet: list[ReportDevice], days: int
    ) -> None:
        # SPEC R2: the values in no part of the XLSX package (whose boilerplate has words
        # such as "fullCalcOnLoad"), names and values in no cell read back.
        path = tmp_path / "renewals.xlsx"
        rows = list(renewal_rows(fleet, as_of_for(fleet, days)))
        write_xlsx(path, MY_RENEWALS, rows)
        with zipfile.ZipFile(path) as package:
            xml = "\n".join(package.read(name).decode("utf-8") for name in package.namelist())
        values = [leaked(xml, fleet, names=False)]
        cells = "\n".join(str(c.value) for line in read_xlsx(path).active.iter_rows() for c in line)
        values.append(leaked(cells, fleet))
        assert values == [[], []]


# --------------------------------------------------------------------------- iCalendar


def parse_ics(data: bytes) -> list[Any]:
    from icalendar import Calendar

    return list(Calendar.from_ical(data).walk("VEVENT"))


class TestICalendar:
    STAMP = datetime(2025, 1, 5, 6, 0, tzinfo=UTC)

    def feed(self, d: ReportDevice, published: dict[str, Any] | None = None) -> bytes:
        out = io.BytesIO()
        entries = revise(calendar_entries(d), published or {})
        write_ical(out, entries, dtstamp=self.STAMP)
        return out.getvalue()

    def test_a_feed_has_one_all_day_event_per_due_date(self) -> None:
        # SPEC N1, N5
        d = FLEET[0]
        events = parse_ics(self.feed(d))
        entries = calendar_entries(d)
        assert len(events) == len(entries) == 4
        for event, entry in zip(events, entries, strict=True):
            assert event.decoded("dtstart") == entry.due
            assert event.decoded("dtend") == entry.due + timedelta(days=1)
            assert not isinstance(event.decoded("dtstart"), datetime)  # a DATE, all-day
            assert str(event["uid"]) == entry.uid
            assert str(event["summary"]) == entry.summary
            assert str(event["description"]) == entry.description
            assert event.decoded("dtstamp") == self.STAMP
            assert event.decoded("sequence") == 0
        assert (
            str(events[0]["summary"]) == "Standard Plan Expires on 28 February 2025: SMT1500C AS1"
        )

    def test_a_moved_due_date_keeps_its_uid_and_raises_its_sequence(self, tmp_path: Path) -> None:
        # Generation 1: trial ends 2025-02-28. Generation 2: a STANDARD 1Y assigned on
        # 2024-12-10 appends: 2024-08-31 + 18 months = 2026-02-28. Same UID, new DTSTART.
        ics = tmp_path / "owner.ics"
        ics.write_bytes(self.feed(FLEET[0]))
        first = parse_ics(ics.read_bytes())
        renewed = device(
            "as1",
            "SMT1500C",
            date(2024, 8, 31),
            licenses=[License.of("L1", Plan.STANDARD, Term.Y1, date(2024, 12, 10))],
        )
        published = {e.uid: e.revision for e in calendar_entries(FLEET[0])}
        ics.write_bytes(self.feed(renewed, published))
        second = parse_ics(ics.read_bytes())
        before = {str(e["uid"]): e for e in first}
        after = {str(e["uid"]): e for e in second}
        assert set(before) == set(after)
        moved = [
            uid for uid in after if after[uid].decoded("dtstart") != before[uid].decoded("dtstart")
        ]
        assert len(moved) == 1
        [uid] = moved
        assert before[uid].decoded("dtstart") == date(2025, 2, 28)
        assert after[uid].decoded("dtstart") == date(2026, 2, 28)
        assert after[uid].decoded("sequence") == 1
        assert {after[u].decoded("sequence") for u in after if u != uid} == {0}

    def test_the_feed_is_a_valid_calendar_with_a_name(self) -> None:
        from icalendar import Calendar

        calendar = Calendar.from_ical(self.feed(FLEET[0]))
        assert str(calendar["version"]) == "2.0"
        assert str(calendar["x-wr-calname"]) == "UPS lifecycle due dates"
        assert str(calendar["prodid"]).startswith("-//upslife//")

    def test_a_naive_dtstamp_is_refused(self) -> None:
        # SPEC D1
        with pytest.raises(NaiveDatetime):
            write_ical(io.BytesIO(), calendar_entries(FLEET[0]), dtstamp=datetime(2025, 1, 5))

    def test_without_icalendar_the_error_says_which_extra_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "icalendar", None)
        with pytest.raises(ExtraNotInstalled, match=r'pip install "upslife\[calendar\]"'):
            write_ical(io.BytesIO(), (), dtstamp=self.STAMP)


# --------------------------------------------------------------------------- streaming memory


def many_rows(template: RenewalRow, count: int) -> Iterator[RenewalRow]:
    """``count`` distinct MyRenewals rows, made one at a time."""
    for n in range(count):
        yield attrs.evolve(template, serial=f"SN{n:08d}", device_age_months=n % 240)


def peak_bytes(write: Any, count: int) -> int:
    """Peak traced memory while ``write`` exports ``count`` rows from a generator."""
    rows = many_rows(renewal_row(FLEET[0], AS_OF), count)
    tracemalloc.start()
    try:
        write(rows)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class TestStreaming:
    def test_a_100000_row_csv_export_keeps_memory_flat(self, tmp_path: Path) -> None:
        # SPEC R2 at fleet scale: rows from a generator to a file, never held.
        path = tmp_path / "renewals.csv"

        def export(rows: Iterator[RenewalRow]) -> None:
            with path.open("w", newline="") as out:
                write_csv(out, MY_RENEWALS, rows)

        export(many_rows(renewal_row(FLEET[0], AS_OF), 1_000))  # warm caches first
        small = peak_bytes(export, 10_000)
        large = peak_bytes(export, 100_000)
        tracemalloc.start()
        try:
            held = list(many_rows(renewal_row(FLEET[0], AS_OF), 10_000))
            as_list = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(held) == 10_000
        assert path.read_text().count("\n") == 100_001
        assert large < 5_000_000
        assert large < as_list  # a tenth of the rows, held, take more than all of them streamed
        assert large / small < 1.5  # flat: ten times the rows, the same peak

    def test_an_xlsx_export_keeps_memory_flat(self, tmp_path: Path) -> None:
        path = tmp_path / "renewals.xlsx"

        def export(rows: Iterator[RenewalRow]) -> None:
            write_xlsx(path, MY_RENEWALS, rows)

        export(many_rows(renewal_row(FLEET[0], AS_OF), 100))
        small = peak_bytes(export, 1_000)
        large = peak_bytes(export, 5_000)
        assert large / small < 1.5

    def test_a_json_export_keeps_memory_flat(self, tmp_path: Path) -> None:
        path = tmp_path / "renewals.json"

        def export(rows: Iterator[RenewalRow]) -> None:
            with path.open("w") as out:
                write_json(out, MY_RENEWALS, rows)

        export(many_rows(renewal_row(FLEET[0], AS_OF), 1_000))
        small = peak_bytes(export, 5_000)
        large = peak_bytes(export, 50_000)
        assert len(json.loads(path.read_text())) == 50_000
        assert large / small < 1.5

    def test_devices_streamed_through_the_row_builders_keep_memory_flat(
        self, tmp_path: Path
    ) -> None:
        # SPEC R2, R4: a store streams devices in renewal order; rows are built and written
        # one at a time, checked for order on the way.
        catalog = Catalog.default()
        path = tmp_path / "renewals.csv"

        def fleet(count: int) -> Iterator[ReportDevice]:
            first = date(2024, 7, 5)
            for n in range(count):  # trials running on 2025-01-01, ending in R4 order
                day = first + timedelta(days=n * 170 // count)
                yield report_device(register(f"SN{n:08d}", "SMT1500C", day), catalog)

        def export(count: int) -> int:
            tracemalloc.start()
            try:
                with path.open("w", newline="") as out:
                    rows = in_renewal_order(renewal_rows(fleet(count), date(2025, 1, 1)))
                    write_csv(out, MY_RENEWALS, rows)
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        # Warm up at the large size: the interpreter's one-time allocations (up to about
        # 170 KB here, spread over the first few thousand devices) are not the export's.
        export(5_000)
        small, large = export(500), export(5_000)
        assert path.read_text().count("\n") == 5_001
        assert large / small < 1.5
