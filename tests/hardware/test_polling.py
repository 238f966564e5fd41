"""A poll as a user runs it: through ``Lifecycle.poll`` on a real SQLite file, against the
simulator, a scripted upsd, a wedged one, and (via the ``upslife`` command) a real upsd
serving several UPS units (SPEC E9, N1, N3, R1, R3; issue 16).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from upslife.adapters.sqlite import SqliteStore
from upslife.app import FixedClock, Lifecycle
from upslife.cli import main
from upslife.errors import InvalidInput
from upslife.hardware import NutTransport, SimulatedTransport, SimulatedUps
from upslife.notifications import Contact
from upslife.ports import Owner

from .conftest import FakeUpsd
from .nutfarm import NutFarm, nut_missing

OWNER = "ops@acme.example"
SERIAL = "AS2312345678"
FIXTURE = Path(__file__).parent / "fixtures" / "SMT1500C.dev"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Lifecycle]:
    store = SqliteStore(tmp_path / "poll.db")
    clock = FixedClock(datetime(2025, 12, 1, 8, tzinfo=UTC))
    lifecycle = Lifecycle(store, clock=clock)
    contact = Contact("Acme Hosting", "Ada Lovelace", OWNER, "IT manager", "+33 1 23 45 67 89")
    lifecycle.add_owner(Owner(OWNER, contact, "Europe/Paris"))
    lifecycle.register_device(OWNER, SERIAL, "SMT1500C", on=date(2025, 11, 1))
    yield lifecycle
    store.close()


def lan_of(answer: Callable[[], str]) -> Callable[[str], bytes]:
    """A scripted upsd whose one UPS ``ups1`` reports the variables ``answer()`` gives."""

    def handle(line: str) -> bytes:
        if line == "LIST UPS":
            return b'BEGIN LIST UPS\nUPS ups1 "rack"\nEND LIST UPS\n'
        if line == "LIST VAR ups1":
            return answer().encode()
        if line == "LOGOUT":
            return b"OK Goodbye\n"
        return b"ERR UNKNOWN-COMMAND\n"

    return handle


def var_list(**variables: str) -> str:
    lines = ["BEGIN LIST VAR ups1"]
    lines += [f'VAR ups1 {name.replace("_", ".")} "{value}"' for name, value in variables.items()]
    return "\n".join([*lines, "END LIST VAR ups1"]) + "\n"


class TestWhatAReadingChanges:
    def test_the_voltages_reach_the_stored_vitals(self, service: Lifecycle) -> None:
        # SPEC R1, R3: operational data, as the UPS reports it
        fleet = SimulatedTransport({"ups1": SimulatedUps.smart_ups_1500(serial=SERIAL)})
        fleet["ups1"].update(input_voltage=231.5, output_voltage=229.8)
        report = service.poll(fleet)
        vitals = service.store.get_device(SERIAL).vitals
        assert report.updated == (SERIAL,)
        assert vitals is not None
        assert (vitals.input_voltage, vitals.output_voltage) == (231.5, 229.8)

    def test_the_battery_manufacture_date_is_the_age_fact_without_an_install_date(
        self, service: Lifecycle
    ) -> None:
        # SPEC E9: 67 dumps report battery.mfr.date and no battery.date
        unit = SimulatedUps.smart_ups_1500(serial=SERIAL)
        unit.update(battery_installed_on=None, battery_manufactured_on=date(2024, 2, 1))
        service.poll(SimulatedTransport({"ups1": unit}))
        assert service.store.get_device(SERIAL).battery_installed_on == date(2024, 2, 1)

    def test_a_reported_install_date_wins_over_the_manufacture_date(
        self, service: Lifecycle
    ) -> None:
        unit = SimulatedUps.smart_ups_1500(serial=SERIAL)
        unit.update(battery_installed_on=date(2024, 6, 1), battery_manufactured_on=date(2024, 2, 1))
        service.poll(SimulatedTransport({"ups1": unit}))
        assert service.store.get_device(SERIAL).battery_installed_on == date(2024, 6, 1)

    @pytest.mark.parametrize(
        "placeholder", ["unknown", "000000000000", "0001", "CPS", "XXXXXXXXXX"]
    )
    def test_a_placeholder_serial_is_unidentifiable_never_matched(
        self, tmp_path: Path, placeholder: str
    ) -> None:
        store = SqliteStore(tmp_path / "p.db")
        service = Lifecycle(store, clock=FixedClock(datetime(2025, 12, 1, 8, tzinfo=UTC)))
        contact = Contact("Acme", "Ada", OWNER, "IT", "+33 1 23 45 67 89")
        service.add_owner(Owner(OWNER, contact, "UTC"))
        service.register_device(OWNER, placeholder, "SMT1500C", on=date(2025, 11, 1))
        stored = placeholder.strip().upper()  # serials are stored upper case (SPEC E2)
        unit = SimulatedUps.smart_ups_1500(serial=stored)
        unit.fail_battery()
        report = service.poll(SimulatedTransport({"ups1": unit}))
        assert report.updated == ()
        assert report.battery_failures == ()
        assert [name for name, _ in report.unidentifiable] == ["ups1"]
        assert store.get_device(stored).battery_failure_reported_on is None
        store.close()

    def test_values_left_out_are_reported_with_their_variable(
        self, service: Lifecycle, fake_upsd: Callable[..., FakeUpsd]
    ) -> None:
        # the Back-UPS XS 1200 of the dump library: RB survives an impossible date
        answer = var_list(
            ups_serial=SERIAL, ups_status="OL LB OVER RB BOOST", battery_date="1980/00/01"
        )
        server = fake_upsd(lan_of(lambda: answer))
        with NutTransport("127.0.0.1", server.port, timeout=2) as nut:
            report = service.poll(nut)
        assert report.battery_failures == (SERIAL,)  # SPEC N1
        ((name, values),) = report.dropped
        assert name == "ups1"
        assert values[0].startswith("battery.date = '1980/00/01':")

    def test_wait_never_clears_a_reported_battery_failure(
        self, service: Lifecycle, fake_upsd: Callable[..., FakeUpsd]
    ) -> None:
        # SPEC N1, N3: only a reading without RB resolves the event; WAIT is no reading.
        status = ["OL RB"]
        server = fake_upsd(lan_of(lambda: var_list(ups_serial=SERIAL, ups_status=status[0])))
        with NutTransport("127.0.0.1", server.port, timeout=2) as nut:
            service.poll(nut)
            failed_on = service.store.get_device(SERIAL).battery_failure_reported_on
            assert failed_on == date(2025, 12, 1)
            status[0] = "WAIT"
            report = service.poll(nut)
        assert report.read == 0
        assert [name for name, _ in report.failed] == ["ups1"]
        assert service.store.get_device(SERIAL).battery_failure_reported_on == failed_on


class TestBoundsAndConcurrency:
    def test_six_units_behind_a_wedged_upsd_take_one_timeout_not_six(
        self, service: Lifecycle, silent_server: int
    ) -> None:
        names = [f"ups{k}" for k in range(6)]
        with NutTransport("127.0.0.1", silent_server, timeout=1.0) as nut:
            started = time.monotonic()
            report = service.poll(nut, devices=names, workers=6)
            elapsed = time.monotonic() - started
        assert [name for name, _ in report.failed] == names
        assert elapsed < 2.5  # six sequential reads would take 6 s

    def test_a_poll_returns_within_its_budget(self, service: Lifecycle, silent_server: int) -> None:
        names = [f"ups{k}" for k in range(6)]
        with NutTransport("127.0.0.1", silent_server, timeout=5.0) as nut:
            started = time.monotonic()
            report = service.poll(nut, devices=names, budget=0.5, workers=2)
            elapsed = time.monotonic() - started
        assert elapsed < 1.5
        assert len(report.failed) == 6
        assert all("time budget of 0.5 s" in reason for _, reason in report.failed)

    def test_only_the_named_units_are_read(self, service: Lifecycle) -> None:
        fleet = SimulatedTransport(
            {
                "ups1": SimulatedUps.smart_ups_1500(serial=SERIAL),
                "ups2": SimulatedUps.smart_ups_1500(serial="AS0000000002"),
            }
        )
        report = service.poll(fleet, devices=["ups1"])
        assert (report.read, report.updated, report.unknown) == (1, (SERIAL,), ())

    @pytest.mark.parametrize(("budget", "workers"), [(0, 4), (-1, 4), (10, 0), (10, 1000)])
    def test_unusable_bounds_are_refused(
        self, service: Lifecycle, budget: float, workers: int
    ) -> None:
        with pytest.raises(InvalidInput):
            service.poll(SimulatedTransport(), budget=budget, workers=workers)


# --------------------------------------------------------------------------- real upsd


def _require_nut() -> None:
    reason = nut_missing()
    if reason is None:
        return
    import os

    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI must run the NUT tests)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NutFarm]:
    """Three Smart-UPS 1500 behind one real upsd, serials AS...01 to AS...03."""
    _require_nut()
    base = FIXTURE.read_text()
    units = {}
    for k in range(1, 4):
        dump = tmp_path_factory.mktemp("dumps") / f"ups{k}.dev"
        dump.write_text(base.replace(SERIAL, f"AS23123456{k:02d}"))
        units[f"ups{k}"] = dump
    with NutFarm(units) as started:
        assert not started.not_ready, started.log()
        yield started


def _cli(db: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--db", str(db), *args])
    return code, capsys.readouterr().out


def test_poll_of_a_named_ups_reads_that_ups_only(
    farm: NutFarm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    _cli(db, "owner-add", "--email", OWNER, "--company", "Acme", "--name", "Ada", capsys=capsys)
    for k in (1, 2, 3):
        serial = f"AS23123456{k:02d}"
        _cli(
            db,
            "register",
            "--owner",
            OWNER,
            "--serial",
            serial,
            "--model",
            "SMT1500C",
            "--on",
            "2025-01-06",
            capsys=capsys,
        )
    code, out = _cli(db, "poll", f"{farm.url}/ups2", "--json", capsys=capsys)
    assert code == 0
    assert json.loads(out)["updated"] == ["AS2312345602"]
    code, out = _cli(db, "poll", farm.url, "--json", capsys=capsys)
    assert code == 0
    report = json.loads(out)
    assert (report["read"], sorted(report["updated"])) == (
        3,
        [f"AS23123456{k:02d}" for k in (1, 2, 3)],
    )


def test_poll_with_a_wrong_password_fails_at_once(
    farm: NutFarm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a read needs no password, but a poll given one checks it before reading anything
    url = farm.url.replace("upslife-farm-password", "wrong")
    for target in (url, f"{url}/ups1"):
        code = main(["--db", str(tmp_path / "w.db"), "poll", target])
        captured = capsys.readouterr()
        assert code != 0
        assert "the password is wrong" in captured.out + captured.err
