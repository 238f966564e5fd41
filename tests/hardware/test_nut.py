"""The NUT transport, against a real upsd (dummy-ups) and against a scripted server."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardware.conftest import FakeUpsd
from upslife.errors import (
    InvalidCommand,
    InvalidTransportConfig,
    MalformedResponse,
    NotFound,
    NutAccessDenied,
    NutDeviceUnavailable,
    NutError,
    NutNotSupported,
    NutRefused,
    NutUnknownUps,
    TransportError,
    TransportTimeout,
    UnsupportedCommand,
)
from upslife.hardware.nut import (
    ERROR_CLASSES,
    NutClient,
    NutErrorCode,
    NutTransport,
    quote,
    snapshot_from_nut,
    split_words,
)
from upslife.hardware.snapshot import (
    DeviceCommand,
    DeviceSnapshot,
    InputSensitivity,
    StatusFlag,
)

FIXTURE = Path(__file__).parent / "fixtures" / "SMT1500C.dev"
UPS = "smt1500c"
StartFake = Callable[..., FakeUpsd]


def dev_file_values() -> dict[str, str]:
    """The variables of the dummy-ups definition, read here independently of the client."""
    values: dict[str, str] = {}
    for line in FIXTURE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, value = line.partition(":")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        values[name.strip()] = value
    return values


def eventually(check: Callable[[], bool], within: float = 3.0) -> bool:
    """Poll ``check`` until it holds (upsd applies a SET through the driver, asynchronously)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


# ============================================================================ real upsd


@pytest.fixture
def nut(nut_url: str) -> Iterator[NutTransport]:
    with NutTransport.from_url(nut_url, timeout=3) as transport:
        yield transport


def transport_as(nut_url: str, user: str | None, password: str | None) -> NutTransport:
    parts = urlsplit(nut_url)
    assert parts.hostname is not None
    return NutTransport(
        parts.hostname, parts.port or 3493, username=user, password=password, timeout=3
    )


class TestAgainstARealUpsd:
    def test_the_server_lists_the_dummy_ups(self, nut: NutTransport) -> None:
        assert nut.list_devices() == (UPS,)
        assert nut.default_device == UPS

    def test_every_variable_of_the_definition_file_is_served_as_written(
        self, nut: NutTransport
    ) -> None:
        served = nut.variables(UPS)
        for name, value in dev_file_values().items():
            if name in ("input.sensitivity", "battery.date"):
                continue  # other tests write these two (and restore them)
            assert served[name] == value, name

    def test_the_snapshot_read_through_nut_matches_the_definition_file(
        self, nut: NutTransport
    ) -> None:
        at = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
        snapshot = nut.read(UPS, read_at=at)
        values = dev_file_values()
        assert snapshot.model == values["ups.model"] == "Smart-UPS 1500"
        assert snapshot.serial == values["ups.serial"] == "AS2312345678"
        assert snapshot.firmware == "UPS 15.5 (ID18)"
        assert snapshot.manufactured_on == date(2022, 11, 3)
        assert snapshot.battery_replace_by == date(2027, 5, 13)  # SPEC E9: the UPS's own date
        assert snapshot.status == {StatusFlag.OL, StatusFlag.CHRG}
        assert snapshot.other_status == frozenset()
        assert snapshot.load_percent == 17.6
        assert snapshot.charge_percent == 100.0
        assert snapshot.runtime == timedelta(seconds=3420)
        assert snapshot.battery_temperature_c == 24.5
        assert snapshot.self_test_result == "Passed"
        assert snapshot.read_at == at
        assert not snapshot.battery_failed

    def test_setting_the_input_sensitivity_round_trips(self, nut: NutTransport) -> None:
        # dummy-ups declares input.sensitivity as a one-letter string (STRING:1), as
        # apcsmart reports it: the transport writes the device's own spelling.
        before = nut.read(UPS).input_sensitivity
        assert before is InputSensitivity.HIGH
        try:
            nut.run_command(UPS, DeviceCommand.set_input_sensitivity(InputSensitivity.LOW))
            assert eventually(lambda: nut.read(UPS).input_sensitivity is InputSensitivity.LOW)
            assert nut.variables(UPS)["input.sensitivity"] == "L"
        finally:
            nut.set_variable(UPS, "input.sensitivity", "H")
            assert eventually(lambda: nut.variables(UPS)["input.sensitivity"] == "H")

    def test_setting_the_battery_install_date_round_trips(self, nut: NutTransport) -> None:
        # SPEC E9: a new battery install date, written the way the UPS writes dates.
        assert nut.read(UPS).battery_installed_on == date(2023, 5, 14)
        try:
            nut.run_command(UPS, DeviceCommand.set_battery_install_date(date(2025, 1, 6)))
            assert eventually(lambda: nut.read(UPS).battery_installed_on == date(2025, 1, 6))
            assert nut.variables(UPS)["battery.date"] == "2025-01-06"
        finally:
            nut.set_variable(UPS, "battery.date", "2023-05-14")
            assert eventually(lambda: nut.variables(UPS)["battery.date"] == "2023-05-14")

    def test_a_value_with_blanks_round_trips_as_one_quoted_word(self, nut: NutTransport) -> None:
        # Quotes and backslashes inside values are escaped on the wire (see the scripted
        # tests), but NUT 2.8.0's upsd-to-driver hop drops them, so only blanks are
        # checked end to end here.
        original = nut.variables(UPS)["ups.id"]
        try:
            nut.set_variable(UPS, "ups.id", "rack B2 slot 9")
            assert eventually(lambda: nut.variables(UPS)["ups.id"] == "rack B2 slot 9")
        finally:
            nut.set_variable(UPS, "ups.id", original)
            assert eventually(lambda: nut.variables(UPS)["ups.id"] == original)

    def test_an_instant_command_the_dummy_ups_lacks_is_refused_with_what_it_offers(
        self, nut: NutTransport
    ) -> None:
        # dummy-ups offers load.off only (LIST CMD): the self-test is refused unsent.
        with pytest.raises(UnsupportedCommand, match=r"it offers: load\.off") as caught:
            nut.run_command(UPS, DeviceCommand.self_test())
        assert caught.value.device == UPS

    def test_a_wrong_password_is_noticed_at_connect_not_at_a_write(self, nut_url: str) -> None:
        with (
            transport_as(nut_url, "upslife", "not-the-password") as wrong,
            pytest.raises(NutAccessDenied) as caught,
        ):
            wrong.read(UPS)  # a read needs no password, but the transport checks it first
        assert caught.value.code == NutErrorCode.ACCESS_DENIED
        assert "not-the-password" not in str(caught.value)

    def test_the_right_password_passes_the_check_and_reads(self, nut_url: str) -> None:
        parts = urlsplit(nut_url)
        with transport_as(nut_url, parts.username, parts.password) as right:
            assert right.read(UPS).serial == "AS2312345678"

    def test_writes_are_confirmed_by_tracking_on_a_server_that_offers_it(
        self, nut_url: str
    ) -> None:
        # NUT >= 2.8.0: SET TRACKING ON, then SET VAR answers OK TRACKING <id> and
        # GET TRACKING <id> tells PENDING / SUCCESS / ERR.
        parts = urlsplit(nut_url)
        client = NutClient(
            parts.hostname or "",
            parts.port or 3493,
            username=parts.username,
            password=parts.password,
            timeout=3,
        )
        with client:
            original = client.get_var(UPS, "ups.id")
            client.set_var(UPS, "ups.id", "tracked")  # returns once upsd says SUCCESS
            assert client._tracking_on is True
            assert client.get_var(UPS, "ups.id") == "tracked"
            client.set_var(UPS, "ups.id", original)

    def test_an_unknown_ups_is_not_found(self, nut: NutTransport) -> None:
        with pytest.raises(NutUnknownUps) as caught:
            nut.read("no-such-ups")
        assert isinstance(caught.value, NotFound)
        assert caught.value.code == "UNKNOWN-UPS"

    def test_an_unknown_variable_is_not_supported(self, nut: NutTransport) -> None:
        with pytest.raises(NutNotSupported) as caught:
            nut.set_variable(UPS, "no.such.variable", "1")
        assert caught.value.code == NutErrorCode.VAR_NOT_SUPPORTED

    def test_a_write_without_credentials_needs_a_user(self, nut_url: str) -> None:
        with transport_as(nut_url, None, None) as anonymous, pytest.raises(NutAccessDenied) as e:
            anonymous.set_variable(UPS, "ups.id", "x")
        assert e.value.code == NutErrorCode.USERNAME_REQUIRED

    def test_a_wrong_password_is_refused_and_never_shown(
        self, nut_url: str, nut: NutTransport
    ) -> None:
        with (
            transport_as(nut_url, "upslife", "not-the-password") as wrong,
            pytest.raises(NutAccessDenied) as caught,
        ):
            wrong.run_command(UPS, DeviceCommand.set_input_sensitivity(InputSensitivity.LOW))
        assert caught.value.code == NutErrorCode.ACCESS_DENIED
        assert "not-the-password" not in str(caught.value)
        assert nut.read(UPS).input_sensitivity is InputSensitivity.HIGH

    def test_starttls_on_a_server_without_a_certificate_is_a_typed_error(
        self, nut_url: str
    ) -> None:
        secure = NutTransport.from_url(nut_url.replace("nut://", "nuts://"), timeout=3)
        with secure, pytest.raises(NutNotSupported) as caught:
            secure.list_devices()
        assert caught.value.code == NutErrorCode.FEATURE_NOT_CONFIGURED

    def test_the_connection_stays_usable_after_an_error(self, nut: NutTransport) -> None:
        with pytest.raises(NutUnknownUps):
            nut.read("no-such-ups")
        assert nut.read(UPS).serial == "AS2312345678"


# ============================================================================ scripted upsd


def scripted(
    replies: Mapping[str, bytes | list[bytes]],
) -> Callable[[str], bytes | list[bytes] | None]:
    """A handler: exact request lines to replies; logins succeed and pass the credential
    check (a write to a variable no UPS has); the UPS offers ``test.battery.start`` and
    ``outlet.1.load.cycle``; the server does not track requests; the rest is unknown."""

    def handle(line: str) -> bytes | list[bytes] | None:
        if line in replies:
            return replies[line]
        if line.startswith(("USERNAME ", "PASSWORD ")):
            return b"OK\n"
        if line.startswith("SET VAR ") and " upslife.credential-check " in line:
            return b"ERR VAR-NOT-SUPPORTED\n"
        if line == f"LIST CMD {UPS}":
            return (
                f"BEGIN LIST CMD {UPS}\nCMD {UPS} test.battery.start\n"
                f"CMD {UPS} outlet.1.load.cycle\nEND LIST CMD {UPS}\n"
            ).encode()
        if line.startswith("GET VAR ") and line.endswith(" driver.name"):
            return b"ERR VAR-NOT-SUPPORTED\n"
        if line == "LOGOUT":
            return b"OK Goodbye\n"
        return b"ERR UNKNOWN-COMMAND\n"

    return handle


def transport_to(server: FakeUpsd, **kwargs: object) -> NutTransport:
    return NutTransport("127.0.0.1", server.port, timeout=1.0, **kwargs)  # type: ignore[arg-type]


class TestAgainstAScriptedServer:
    def test_an_instant_command_logs_in_once_and_succeeds(self, fake_upsd: StartFake) -> None:
        server = fake_upsd(
            scripted(
                {
                    f"INSTCMD {UPS} test.battery.start": b"OK\n",
                    f"INSTCMD {UPS} outlet.1.load.cycle": b"OK\n",
                }
            )
        )
        with transport_to(server, username="admin", password='p@ss "w"\\rd') as nut:
            nut.run_command(UPS, DeviceCommand.self_test())
            nut.run_command(UPS, DeviceCommand.outlet_group_reboot(1))
        assert server.received == [
            'USERNAME "admin"',  # the credentials are checked at connect
            'PASSWORD "p@ss \\"w\\"\\\\rd"',
            f'SET VAR {UPS} upslife.credential-check ""',
            f"LIST CMD {UPS}",  # the command is picked from what the UPS offers
            "SET TRACKING ON",
            f"INSTCMD {UPS} test.battery.start",
            f"LIST CMD {UPS}",
            f"INSTCMD {UPS} outlet.1.load.cycle",
            "LOGOUT",
        ]

    def test_the_sensitivity_is_written_in_the_devices_own_words(
        self, fake_upsd: StartFake
    ) -> None:
        server = fake_upsd(
            scripted(
                {
                    f"GET VAR {UPS} input.sensitivity": (
                        f'VAR {UPS} input.sensitivity "high"\n'.encode()
                    ),
                    f'SET VAR {UPS} input.sensitivity "low"': b"OK\n",
                }
            )
        )
        with transport_to(server, username="u", password="p") as nut:
            nut.run_command(UPS, DeviceCommand.set_input_sensitivity(InputSensitivity.LOW))
        assert f'SET VAR {UPS} input.sensitivity "low"' in server.received

    def test_the_battery_date_is_written_in_the_devices_own_format(
        self, fake_upsd: StartFake
    ) -> None:
        # SPEC E9: apcsmart-style devices report MM/DD/YY and parse only that.
        server = fake_upsd(
            scripted(
                {
                    f"GET VAR {UPS} battery.date": f'VAR {UPS} battery.date "11/14/00"\n'.encode(),
                    f'SET VAR {UPS} battery.date "01/06/25"': b"OK\n",
                }
            )
        )
        with transport_to(server, username="u", password="p") as nut:
            nut.run_command(UPS, DeviceCommand.set_battery_install_date(date(2025, 1, 6)))
        assert f'SET VAR {UPS} battery.date "01/06/25"' in server.received

    def test_a_firmware_install_is_refused_before_any_byte_is_sent(
        self, fake_upsd: StartFake
    ) -> None:
        server = fake_upsd(scripted({}))
        with transport_to(server) as nut, pytest.raises(UnsupportedCommand):
            nut.run_command(UPS, DeviceCommand.firmware_install_start())
        assert server.received == []

    @pytest.mark.parametrize("code", list(NutErrorCode), ids=str)
    def test_every_error_code_becomes_its_typed_error(
        self, fake_upsd: StartFake, code: NutErrorCode
    ) -> None:
        server = fake_upsd(
            scripted(
                {
                    f"GET VAR {UPS} ups.load": f"ERR {code} some detail\n".encode(),
                    f"GET VAR {UPS} ups.status": f'VAR {UPS} ups.status "OL"\n'.encode(),
                }
            )
        )
        client = NutClient("127.0.0.1", server.port, timeout=1.0)
        with client:
            with pytest.raises(NutError) as caught:
                client.get_var(UPS, "ups.load")
            assert type(caught.value) is ERROR_CLASSES.get(code, NutRefused)
            assert caught.value.code == code
            assert caught.value.detail == "some detail"
            assert caught.value.request == f"GET VAR {UPS} ups.load"
            assert client.get_var(UPS, "ups.status") == "OL"  # the connection survives

    def test_the_error_classes_sort_the_codes_by_what_to_do(self) -> None:
        assert ERROR_CLASSES[NutErrorCode.UNKNOWN_UPS] is NutUnknownUps
        assert ERROR_CLASSES[NutErrorCode.DATA_STALE] is NutDeviceUnavailable
        assert ERROR_CLASSES[NutErrorCode.PASSWORD_REQUIRED] is NutAccessDenied
        assert NutErrorCode.INVALID_VALUE not in ERROR_CLASSES  # a plain refusal

    def test_a_code_from_a_future_server_is_a_plain_refusal(self, fake_upsd: StartFake) -> None:
        server = fake_upsd(scripted({f"GET VAR {UPS} ups.load": b"ERR SOMETHING-NEW\n"}))
        with (
            NutClient("127.0.0.1", server.port, timeout=1.0) as client,
            pytest.raises(NutRefused) as caught,
        ):
            client.get_var(UPS, "ups.load")
        assert caught.value.code == "SOMETHING-NEW"

    def test_a_server_that_stops_mid_list_times_out_within_the_bound(
        self, fake_upsd: StartFake
    ) -> None:
        half = f'BEGIN LIST VAR {UPS}\nVAR {UPS} ups.status "OL"\n'.encode()
        server = fake_upsd(scripted({f"LIST VAR {UPS}": half}))
        timeout = 0.5
        with NutTransport("127.0.0.1", server.port, timeout=timeout) as nut:
            started = time.monotonic()
            with pytest.raises(TransportTimeout) as caught:
                nut.read(UPS)
            elapsed = time.monotonic() - started
        assert timeout * 0.9 <= elapsed < timeout + 0.5
        assert caught.value.timeout == timeout
        assert isinstance(caught.value, TimeoutError)

    def test_a_server_that_drips_its_answer_still_times_out_within_the_bound(
        self, fake_upsd: StartFake
    ) -> None:
        # Each line arrives in time, the whole answer never does: the bound is per answer.
        drip = [f"BEGIN LIST VAR {UPS}\n".encode()] + [
            f'VAR {UPS} x.{k} "{k}"\n'.encode() for k in range(100)
        ]
        server = fake_upsd(scripted({f"LIST VAR {UPS}": drip}), drip=0.1)
        with NutTransport("127.0.0.1", server.port, timeout=0.6) as nut:
            started = time.monotonic()
            with pytest.raises(TransportTimeout):
                nut.read(UPS)
            assert time.monotonic() - started < 0.6 + 0.5

    def test_a_transport_reconnects_after_a_timeout(self, fake_upsd: StartFake) -> None:
        calls: list[str] = []

        def handle(line: str) -> bytes | None:
            calls.append(line)
            if line == "LIST UPS":
                if calls.count("LIST UPS") == 1:
                    return None  # the first time, say nothing
                return f'BEGIN LIST UPS\nUPS {UPS} "rack A"\nEND LIST UPS\n'.encode()
            return b"OK Goodbye\n"

        server = fake_upsd(handle)
        with NutTransport("127.0.0.1", server.port, timeout=0.3) as nut:
            with pytest.raises(TransportTimeout):
                nut.list_devices()
            assert nut.list_devices() == (UPS,)

    def test_a_server_that_hangs_up_mid_answer_is_a_transport_error(
        self, fake_upsd: StartFake
    ) -> None:
        server = fake_upsd(scripted({f"LIST VAR {UPS}": f"BEGIN LIST VAR {UPS}\n".encode()}))
        with NutClient("127.0.0.1", server.port, timeout=1.0) as client:
            server.close()
            with pytest.raises(TransportError):
                client.list_var(UPS)

    def test_a_refused_connection_is_a_transport_error(self) -> None:
        probe = socket.create_server(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        with pytest.raises(TransportError, match="cannot connect"):
            NutClient("127.0.0.1", port, timeout=1.0)

    def test_an_unexpected_answer_to_a_write_is_malformed(self, fake_upsd: StartFake) -> None:
        server = fake_upsd(scripted({f'SET VAR {UPS} ups.id "x"': b"WHAT?\n"}))
        with (
            transport_to(server, username="u", password="p") as nut,
            pytest.raises(MalformedResponse),
        ):
            nut.set_variable(UPS, "ups.id", "x")

    @pytest.mark.parametrize(
        ("device", "name", "value"),
        [
            (UPS, "ups.id", "two\nlines"),
            (UPS, "ups id", "x"),
            ("bad ups", "ups.id", "x"),
            (UPS, "ups.id\nFSD smt1500c", "x"),
        ],
    )
    def test_names_and_values_that_would_inject_a_request_are_refused_unsent(
        self, fake_upsd: StartFake, device: str, name: str, value: str
    ) -> None:
        server = fake_upsd(scripted({}))
        with transport_to(server, username="u", password="p") as nut, pytest.raises(InvalidCommand):
            nut.set_variable(device, name, value)
        assert not any(line.startswith("SET") for line in server.received)


class TestUrls:
    def test_a_url_names_the_server_the_credentials_and_the_default_ups(self) -> None:
        nut = NutTransport.from_url("nut://upsmon:s%40cret@ups.example:3494/rack-a")
        assert (nut.host, nut.port, nut.default_device) == ("ups.example", 3494, "rack-a")

    @pytest.mark.parametrize(
        "url",
        ["http://host/ups", "nut:///ups", "nut://host:99999/ups", "nut://user@host/ups"],
    )
    def test_a_url_that_cannot_be_used_is_refused(self, url: str) -> None:
        with pytest.raises(InvalidTransportConfig):
            NutTransport.from_url(url)

    @pytest.mark.parametrize("timeout", [0, -1, float("nan"), True])
    def test_a_timeout_must_be_positive(self, timeout: float) -> None:
        with pytest.raises(InvalidTransportConfig):
            NutTransport(timeout=timeout)


# ============================================================================ line syntax


class TestLineSyntax:
    def test_quoted_words_lose_their_quotes_and_escapes(self) -> None:
        line = 'VAR su700 ups.id "My \\"big\\" UPS \\\\ rack"'
        assert split_words(line) == ("VAR", "su700", "ups.id", 'My "big" UPS \\ rack')

    def test_an_empty_quoted_value_is_an_empty_word(self) -> None:
        assert split_words('VAR su700 ups.id ""') == ("VAR", "su700", "ups.id", "")

    @pytest.mark.parametrize("line", ['VAR u v "open', "VAR u v \\"])
    def test_an_unterminated_quote_or_escape_is_malformed(self, line: str) -> None:
        with pytest.raises(MalformedResponse):
            split_words(line)

    @given(st.text().filter(lambda s: not any(c in s for c in "\r\n\0")))
    def test_any_value_quoted_reads_back_unchanged(self, value: str) -> None:
        assert split_words(f"VAR {UPS} ups.id {quote(value)}") == ("VAR", UPS, "ups.id", value)

    @given(st.text())
    def test_any_line_splits_into_words_or_is_malformed(self, line: str) -> None:
        try:
            words = split_words(line)
        except MalformedResponse:
            return
        assert all(isinstance(word, str) for word in words)


# ============================================================================ fuzzing

KNOWN = {
    "ups.status": st.sampled_from(["OL", "OB LB", "OL CHRG RB", "WAIT", "", "OL\tTRIM", "??"]),
    "ups.load": st.one_of(st.floats(allow_nan=True).map(str), st.text(max_size=6)),
    "battery.charge": st.one_of(st.floats(-10, 120).map(lambda x: f"{x:.2f}"), st.text(max_size=6)),
    "battery.runtime": st.one_of(st.integers(-5, 10**12).map(str), st.just("1e999")),
    "battery.temperature": st.floats(-100, 300).map(lambda x: f"{x:.1f}"),
    "ups.temperature": st.text(max_size=6),
    "battery.date": st.one_of(st.dates().map(str), st.text(max_size=10), st.just("31/10/25")),
    "battery.date.maintenance": st.dates().map(lambda d: d.strftime("%m/%d/%y")),
    "ups.mfr.date": st.text(max_size=10),
    "input.sensitivity": st.sampled_from(["H", "medium", "low", "auto", ""]),
    "ups.model": st.text(max_size=40),
    "ups.serial": st.text(max_size=20),
}


@st.composite
def var_lists(draw: st.DrawFn) -> bytes:
    """A LIST VAR answer, mostly well-formed, with values that stress the mapping."""
    names = draw(st.lists(st.sampled_from(sorted(KNOWN)), unique=True))
    lines = [f"BEGIN LIST VAR {UPS}"]
    for name in names:
        value = "".join(c for c in draw(KNOWN[name]) if c not in "\r\n\0")
        lines.append(f"VAR {UPS} {name} {quote(value)}")
    if draw(st.booleans()):
        lines.append(f"END LIST VAR {UPS}")
    text = "\n".join(lines) + "\n"
    return (
        text.encode("utf-8", "surrogatepass")
        if draw(st.booleans())
        else text.encode("utf-8", "replace")
    )


def answer(data: bytes) -> DeviceSnapshot:
    """Feed ``data`` to a client as the server's answer to LIST VAR, then map it."""
    ours, theirs = socket.socketpair()
    try:
        theirs.sendall(data)
        theirs.shutdown(socket.SHUT_WR)
        client = NutClient(sock=ours, timeout=2.0)
        return snapshot_from_nut(client.list_var(UPS))
    finally:
        ours.close()
        theirs.close()


class TestFuzzing:
    @settings(suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(st.binary(max_size=2048), var_lists()))
    def test_any_answer_gives_a_reading_or_a_typed_error_and_never_hangs(self, data: bytes) -> None:
        started = time.monotonic()
        try:
            snapshot = answer(data)
        except TransportError:
            pass
        else:
            assert isinstance(snapshot, DeviceSnapshot)
        assert time.monotonic() - started < 2.0

    @given(st.dictionaries(st.sampled_from(sorted(KNOWN)), st.text(max_size=30)))
    def test_any_variables_give_a_reading_or_a_malformed_response(
        self, variables: dict[str, str]
    ) -> None:
        try:
            snapshot = snapshot_from_nut(variables)
        except MalformedResponse:
            return
        assert isinstance(snapshot, DeviceSnapshot)


# ============================================================================ issue 16


class TestWritesAndCommandsAsTheDriverExpectsThem:
    def test_a_tracked_write_waits_for_the_drivers_success(self, fake_upsd: StartFake) -> None:
        answers = iter([b"PENDING\n", b"PENDING\n", b"SUCCESS\n"])
        base = scripted(
            {
                "SET TRACKING ON": b"OK\n",
                f'SET VAR {UPS} ups.id "x"': b"OK TRACKING 1bd31808\n",
            }
        )

        def handle(line: str) -> bytes | list[bytes] | None:
            return next(answers) if line == "GET TRACKING 1bd31808" else base(line)

        server = fake_upsd(handle)
        with transport_to(server, username="u", password="p") as nut:
            nut.set_variable(UPS, "ups.id", "x")
        assert server.received.count("GET TRACKING 1bd31808") == 3

    def test_a_tracked_write_the_driver_fails_is_refused(self, fake_upsd: StartFake) -> None:
        server = fake_upsd(
            scripted(
                {
                    "SET TRACKING ON": b"OK\n",
                    f'SET VAR {UPS} ups.id "x"': b"OK TRACKING 42\n",
                    "GET TRACKING 42": b"ERR FAILED\n",
                }
            )
        )
        with transport_to(server, username="u", password="p") as nut, pytest.raises(NutRefused):
            nut.set_variable(UPS, "ups.id", "x")

    def test_an_outlet_reboot_uses_the_group_command_newer_drivers_offer(
        self, fake_upsd: StartFake
    ) -> None:
        # NUT 2.8.5 apc_modbus: outlet.group.N.load.cycle; outlet.N.load.cycle is refused.
        offers = (
            f"BEGIN LIST CMD {UPS}\nCMD {UPS} load.cycle\nCMD {UPS} outlet.group.0.load.cycle\n"
            f"CMD {UPS} outlet.group.1.load.cycle\nEND LIST CMD {UPS}\n"
        ).encode()
        server = fake_upsd(
            scripted(
                {
                    f"LIST CMD {UPS}": offers,
                    f"INSTCMD {UPS} outlet.group.1.load.cycle": b"OK\n",
                }
            )
        )
        with transport_to(server, username="u", password="p") as nut:
            nut.run_command(UPS, DeviceCommand.outlet_group_reboot(1))
            with pytest.raises(UnsupportedCommand, match=r"outlet\.group\.2\.load\.cycle"):
                nut.run_command(UPS, DeviceCommand.outlet_group_reboot(2))
        assert f"INSTCMD {UPS} outlet.group.1.load.cycle" in server.received
        assert not any("group.2" in line for line in server.received if line.startswith("INST"))

    @pytest.mark.parametrize(
        ("driver", "current", "written"),
        [
            ("usbhid-ups", "not set", "2025/01/06"),  # parsed with %04d/%02d/%02d
            ("apcsmart", "not set", "01/06/25"),
            ("snmp-ups", "2024-01-01", "01/06/25"),
            ("apc_modbus", "01/01/24", "2025-01-06"),
            ("blazer_usb", "2024/03/01", "2025/01/06"),  # unknown driver: its own spelling
            ("blazer_usb", "not set", "2025-01-06"),
        ],
    )
    def test_the_battery_date_is_written_as_the_driver_parses_it(
        self, fake_upsd: StartFake, driver: str, current: str, written: str
    ) -> None:
        # SPEC E9
        server = fake_upsd(
            scripted(
                {
                    f"GET VAR {UPS} driver.name": f'VAR {UPS} driver.name "{driver}"\n'.encode(),
                    f"GET VAR {UPS} battery.date": f'VAR {UPS} battery.date "{current}"\n'.encode(),
                    f'SET VAR {UPS} battery.date "{written}"': b"OK\n",
                }
            )
        )
        with transport_to(server, username="u", password="p") as nut:
            nut.run_command(UPS, DeviceCommand.set_battery_install_date(date(2025, 1, 6)))
        assert f'SET VAR {UPS} battery.date "{written}"' in server.received

    def test_a_wrong_password_fails_at_connect(self, fake_upsd: StartFake) -> None:
        server = fake_upsd(
            scripted({f'SET VAR {UPS} upslife.credential-check ""': b"ERR ACCESS-DENIED\n"})
        )
        with (
            transport_to(server, username="u", password="wrong", default_device=UPS) as nut,
            pytest.raises(NutAccessDenied, match="password is wrong"),
        ):
            nut.read(UPS)
        assert not any(line.startswith("LIST VAR") for line in server.received)


class TestReadingAsAPollNeedsIt:
    def test_wait_is_no_reading(self, fake_upsd: StartFake) -> None:
        # upsd says WAIT until the driver's first data: that must not read as "no RB".
        answer_ = f'BEGIN LIST VAR {UPS}\nVAR {UPS} ups.status "WAIT"\nEND LIST VAR {UPS}\n'
        server = fake_upsd(scripted({f"LIST VAR {UPS}": answer_.encode()}))
        with transport_to(server) as nut, pytest.raises(NutDeviceUnavailable) as caught:
            nut.read(UPS)
        assert caught.value.device == UPS

    def test_the_line_cap_applies_to_a_line_that_arrives_whole(self, fake_upsd: StartFake) -> None:
        long_line = f'VAR {UPS} ups.id "{"x" * 70_000}"\n'
        data = f"BEGIN LIST VAR {UPS}\n{long_line}END LIST VAR {UPS}\n".encode()
        server = fake_upsd(scripted({f"LIST VAR {UPS}": data}))
        with transport_to(server) as nut, pytest.raises(MalformedResponse, match="longer than"):
            nut.read(UPS)

    def test_reads_on_many_threads_use_one_connection_each(self, fake_upsd: StartFake) -> None:
        import threading

        answer_ = f'BEGIN LIST VAR {UPS}\nVAR {UPS} ups.serial "AS1"\nEND LIST VAR {UPS}\n'
        server = fake_upsd(scripted({f"LIST VAR {UPS}": answer_.encode()}))
        serials: list[str | None] = []
        with transport_to(server) as nut:

            def read() -> None:
                serials.append(nut.read(UPS).serial)

            threads = [threading.Thread(target=read) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(5)
            assert len(nut._clients) == 8
        assert serials == ["AS1"] * 8
