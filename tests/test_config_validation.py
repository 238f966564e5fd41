"""The command line's configuration is checked when it is loaded (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from upslife.cli.config import load_config
from upslife.errors import InvalidInput, StorageError


def test_a_toml_value_that_is_not_a_string_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "upslife.toml"
    config.write_text("[upslife]\ndb = [1, 2]\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="db must be a string, got list"):
        load_config(config, environ={})
    assert not (tmp_path / "[1, 2]").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"db": ""}, "db must be"),
        ({"db": "   "}, "db must be"),
        ({"db": "mysql://u@h/x"}, "SQLite file path"),
        ({"mail": "maildir://relative/x"}, "absolute directory"),
        ({"mail": "maildir://"}, "absolute directory"),
        ({"mail": "maildir:///"}, "other than /"),
        ({"mail": "gopher://x"}, "maildir:///path or smtp"),
        ({"sender": "a@x.com\n"}, "sender"),
    ],
)
def test_a_malformed_setting_is_refused_whatever_the_command(
    override: dict[str, str | None], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        load_config(environ={}, overrides=override)


def test_an_empty_environment_variable_counts_as_unset() -> None:
    assert load_config(environ={"UPSLIFE_DB": ""}).db == "upslife.db"


def test_a_maildir_url_with_three_slashes_is_its_absolute_path(tmp_path: Path) -> None:
    config = load_config(environ={}, overrides={"mail": f"maildir://{tmp_path}/out"})
    assert config.mail_sender().path == tmp_path / "out"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u:hunter2@[::1",
        "postgresql://u:hunter2@localhost:notaport/db",
        "postgres://u:hunter2@h:99999/db",
    ],
)
def test_a_malformed_postgresql_url_never_shows_its_password(dsn: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        load_config(environ={}, overrides={"db": dsn})
    assert "hunter2" not in str(refused.value)
    assert "***" in str(refused.value)


def test_the_postgresql_driver_message_about_a_bad_dsn_is_masked() -> None:
    pytest.importorskip("psycopg")
    config = load_config(environ={}, overrides={"db": "postgresql://u:hunter2@/db?sslmode=x"})
    with pytest.raises(StorageError) as refused:
        config.open_store()
    assert "hunter2" not in str(refused.value)
    assert refused.value.__cause__ is None
