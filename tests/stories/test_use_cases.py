"""The use cases issue 12 added, each told the way its user goes: through
:class:`~upslife.app.Lifecycle` on a SQLite file or PostgreSQL (``conftest.store``),
ending at what the person sees (a mail in the outbox, its attachment, the event log).

Every use case is also tried with bad input: it raises an ``UpslifeError`` subclass and
the store is exactly as it was (SPEC D5).
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.stories.conftest import World, body
from upslife.errors import AlreadyExists, InvalidInput, UnknownCode, UpslifeError
from upslife.ports import Store

OWNER = "ops@acme.example"
INSTALLER = "installer@partner.example"


def outbox(store: Store) -> tuple[object, ...]:
    return tuple(store.items())


class TestActivationCodesReachTheInstaller:
    def test_an_issued_code_is_mailed_to_the_installer_once(self, world: World) -> None:
        # SPEC E6: the code is sent to the Installer Email of the order (N9: once)
        issued = world.service.issue_code(
            "ORDER-42", "ADVANCED", "3Y", 4, "Installer@Partner.example"
        )
        world.sweep()
        world.sweep()

        (mail,) = world.mails_to(INSTALLER)
        assert issued.installer_email == INSTALLER
        assert "ORDER-42" in str(mail["Subject"])
        text = body(mail)
        assert "    ORDER-42\n" in text
        assert "4 Advanced licenses of 3 years" in text

    def test_the_mailed_code_is_the_one_that_assigns(self, world: World) -> None:
        # SPEC E6: what the installer reads is what the owner types
        world.owner(OWNER)
        world.service.register_device(OWNER, "AS2312345678", "SMT1500C", on=date(2025, 10, 1))
        world.service.issue_code("ORDER-43", "STANDARD", "1Y", 1, INSTALLER)
        world.sweep()
        (mail,) = world.mails_to(INSTALLER)
        typed = body(mail).split("\n\n")[1].strip()

        (lic,) = world.service.assign_code(typed, "AS2312345678", by=OWNER)

        assert lic.id == "ORDER-43#1"

    @pytest.mark.parametrize(
        ("args", "error"),
        [
            (("ORDER-1", "STANDARD", "1Y", 0, INSTALLER), InvalidInput),
            (("ORDER-1", "BASIC", "1Y", 1, INSTALLER), InvalidInput),
            (("ORDER-1", "GOLD", "1Y", 1, INSTALLER), UpslifeError),
            (("ORDER-1", "STANDARD", "2Y", 1, INSTALLER), InvalidInput),
            (("ORDER-1", "STANDARD", "1Y", 1, "not an address"), InvalidInput),
            (("", "STANDARD", "1Y", 1, INSTALLER), InvalidInput),
        ],
    )
    def test_bad_input_is_refused_and_nothing_is_queued(
        self, world: World, args: tuple[object, ...], error: type[Exception]
    ) -> None:
        # SPEC D5
        with pytest.raises(error):
            world.service.issue_code(*args)  # type: ignore[arg-type]
        assert outbox(world.store) == ()
        with pytest.raises(UnknownCode):
            world.store.get_code("ORDER-1")

    def test_a_code_issued_twice_is_refused_and_mailed_once(self, world: World) -> None:
        # SPEC E6, D5: the second call changes nothing, not even the mail
        world.service.issue_code("ORDER-44", "STANDARD", "1Y", 2, INSTALLER)
        before = outbox(world.store)
        with pytest.raises(AlreadyExists):
            world.service.issue_code("ORDER-44", "ADVANCED", "5Y", 9, "other@partner.example")
        assert outbox(world.store) == before
        assert world.store.get_code("ORDER-44").quantity == 2
        world.sweep()
        assert world.mails_to("other@partner.example") == []
        assert len(world.mails_to(INSTALLER)) == 1
