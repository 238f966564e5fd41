"""Shared test configuration: hypothesis profiles and the PostgreSQL fixture.

``HYPOTHESIS_PROFILE=ci`` (set by ``.ci/run``) runs more examples than the default and no
deadline, since CI machines are shared and timing is noise there.

``postgres_dsn`` reads ``UPSLIFE_TEST_POSTGRES_DSN`` (``.ci/services.sh`` exports it). When
it is unset the PostgreSQL tests are skipped on a developer's machine, but fail in CI
(``CI=true``): a missing server there is a broken pipeline, not a reason to pass.
Each test gets a freshly created schema, first on its ``search_path``, dropped afterwards,
so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


ENV = "UPSLIFE_TEST_POSTGRES_DSN"


def _server_dsn() -> str:
    dsn = os.environ.get(ENV)
    if dsn:
        return dsn
    if os.environ.get("CI") == "true":
        pytest.fail(f"{ENV} is not set: CI must run the PostgreSQL tests (.ci/services.sh)")
    pytest.skip(f"PostgreSQL tests need a server: set {ENV} (see .ci/services.sh)")


def _with_search_path(dsn: str, schema: str) -> str:
    """``dsn`` whose sessions start with ``search_path`` set to ``schema``."""
    option = quote(f"-csearch_path={schema}", safe="")
    if "://" in dsn:
        return f"{dsn}{'&' if '?' in dsn else '?'}options={option}"
    return f"{dsn} options='-csearch_path={schema}'"


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    """A DSN whose connections work in a schema created for this test alone."""
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    server = _server_dsn()
    schema = f"upslife_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield _with_search_path(server, schema)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
