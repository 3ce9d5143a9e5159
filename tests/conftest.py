"""Fixtures: every database test runs on SQLite and on a real PostgreSQL.

`make test` (scripts/run-tests) starts a throwaway PostgreSQL and exports
QUNYUN_TEST_PG_URL; each test then gets its own database, cloned from a
migrated template. Without the variable the PostgreSQL half is skipped, unless
QUNYUN_REQUIRE_PG=1 (as in `make test` and CI), where it is an error. The
Matrix homeserver fixture (`homeserver`) lives in matrix_server.py, same rules.
"""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from matrix_server import homeserver  # noqa: F401  (the fixture, for every test module)
from qunyun.cli import context
from qunyun.config import Settings, load_settings
from qunyun.privacy import PiiProtector, SecretKey
from qunyun.store import ensure_workspace, make_engine, migrate

PG_URL = os.environ.get("QUNYUN_TEST_PG_URL")
TEMPLATE = "qunyun_test_template"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def admin_conninfo() -> str:
    assert PG_URL is not None
    url = make_url(PG_URL)
    return f"host={url.host} port={url.port} user={url.username} dbname={url.database}"


@pytest.fixture(scope="session")
def pg_template() -> str:
    if not PG_URL:
        if os.environ.get("QUNYUN_REQUIRE_PG") == "1":
            pytest.fail("QUNYUN_REQUIRE_PG=1 but QUNYUN_TEST_PG_URL is not set")
        pytest.skip("no PostgreSQL (set QUNYUN_TEST_PG_URL, or run `make test`)")
    with psycopg.connect(admin_conninfo(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        admin.execute(f"CREATE DATABASE {TEMPLATE}")
    template_url = make_url(PG_URL).set(database=TEMPLATE).render_as_string(hide_password=False)
    engine = make_engine(template_url)
    migrate(engine)
    engine.dispose()
    return template_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'qunyun.db'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
        return
    request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_conninfo(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    assert PG_URL is not None
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_conninfo(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def workspace_id(engine: Engine) -> int:
    with engine.begin() as conn:
        return ensure_workspace(conn, "default", T0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(None, environ={"QUNYUN_PRIVACY__KEY_FILE": str(tmp_path / "secret.key")})


@pytest.fixture
def protector() -> PiiProtector:
    return PiiProtector(SecretKey(bytes(range(32))))


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local Spark for the whole run (it takes ~15 s to start)."""
    pyspark_sql = pytest.importorskip("pyspark.sql")
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("qunyun-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dispose of the engines in-process commands open (a PostgreSQL connection left to the GC warns)."""
    made: list[Engine] = []
    real = context.make_engine

    def tracked(url: str, *, echo: bool = False) -> Engine:
        made.append(real(url, echo=echo))
        return made[-1]

    monkeypatch.setattr(context, "make_engine", tracked)
    yield
    for engine in made:
        engine.dispose()
