"""Shared fixtures: a fresh database per test on each engine, and instances installed into them.

Servers are found through NCP_TEST_PGSQL (default `host=127.0.0.1 port=5432 user=postgres`) and
NCP_TEST_MYSQL (default `127.0.0.1:3306`, user root, empty password). With CI=true a missing
server fails the test; elsewhere the server's tests are skipped with a one-line reason.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ncpasswords.cli.main import main
from ncpasswords.db.connection import ConnectionSettings, Database, connect
from ncpasswords.instance.install import InstallOptions, install
from ncpasswords.instance.instance import Instance

ENGINES = ("sqlite", "pgsql", "mysql")
PG_HOST = os.environ.get("NCP_TEST_PGSQL_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("NCP_TEST_PGSQL_PORT", "5432"))
PG_USER = os.environ.get("NCP_TEST_PGSQL_USER", "postgres")
MY_HOST = os.environ.get("NCP_TEST_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("NCP_TEST_MYSQL_PORT", "3306"))
MY_USER = os.environ.get("NCP_TEST_MYSQL_USER", "root")
MY_PASS = os.environ.get("NCP_TEST_MYSQL_PASSWORD", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(engine: str, exc: Exception) -> None:
    reason = f"{engine} server not reachable: {' '.join(str(exc).split())[:120]}"
    if IN_CI:
        pytest.fail(f"CI=true requires the server: {reason}")
    pytest.skip(reason)


def _admin(engine: str) -> Any:
    if engine == "pgsql":
        import psycopg

        return psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True, connect_timeout=5
        )
    import pymysql

    return pymysql.connect(
        host=MY_HOST, port=MY_PORT, user=MY_USER, password=MY_PASS, autocommit=True, connect_timeout=5
    )


@dataclass
class ScratchDb:
    """A freshly created, empty database on one engine."""

    engine: str
    name: str
    sqlite_dir: Path

    def settings(self, prefix: str = "oc_") -> ConnectionSettings:
        if self.engine == "sqlite":
            return ConnectionSettings("sqlite", self.name, prefix, sqlite_path=self.sqlite_dir / f"{self.name}.db")
        if self.engine == "pgsql":
            return ConnectionSettings("pgsql", self.name, prefix, host=PG_HOST, port=PG_PORT, user=PG_USER)
        return ConnectionSettings(
            "mysql", self.name, prefix, host=MY_HOST, port=MY_PORT, user=MY_USER, password=MY_PASS
        )

    def connect(self, prefix: str = "oc_") -> Database:
        return connect(self.settings(prefix), create=True)

    def install_options(self, prefix: str = "oc_") -> InstallOptions:
        if self.engine == "sqlite":
            return InstallOptions(
                database="sqlite", database_name=self.name, database_table_prefix=prefix, data_dir=str(self.sqlite_dir)
            )
        if self.engine == "pgsql":
            return InstallOptions(
                database="pgsql",
                database_name=self.name,
                database_host=PG_HOST,
                database_port=str(PG_PORT),
                database_user=PG_USER,
                database_table_prefix=prefix,
                data_dir=str(self.sqlite_dir),
            )
        return InstallOptions(
            database="mysql",
            database_name=self.name,
            database_host=f"{MY_HOST}:{MY_PORT}",
            database_user=MY_USER,
            database_pass=MY_PASS,
            database_table_prefix=prefix,
            data_dir=str(self.sqlite_dir),
        )


@contextlib.contextmanager
def scratch_database(engine: str, base: Path) -> Iterator[ScratchDb]:
    """Create a uniquely named database, yield it, drop it."""
    name = f"ncp_test_{uuid.uuid4().hex[:12]}"
    base.mkdir(parents=True, exist_ok=True)
    if engine == "sqlite":
        yield ScratchDb(engine, name, base)
        return
    try:
        admin = _admin(engine)
    except Exception as exc:
        _unavailable(engine, exc)
    with admin.cursor() as cur:
        if engine == "pgsql":
            cur.execute(f'CREATE DATABASE "{name}"')
        else:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    try:
        yield ScratchDb(engine, name, base)
    finally:
        with admin.cursor() as cur:
            if engine == "pgsql":
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def scratch(engine: str, tmp_path: Path) -> Iterator[ScratchDb]:
    with scratch_database(engine, tmp_path / "data") as db:
        yield db


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class InstalledInstance:
    """An installed instance in a temporary folder, with `occ` run in-process against it."""

    scratch: ScratchDb
    config_dir: Path

    @property
    def instance(self) -> Instance:
        return Instance.load(self.config_dir / "config.php")

    def connect(self) -> Database:
        return self.instance.connect()

    def occ(self, *args: str, input: str | None = None) -> Result:
        return run_occ(self.config_dir, *args, input=input)


def run_occ(config_dir: Path, *args: str, input: str | None = None) -> Result:
    """Run occ in-process with NEXTCLOUD_CONFIG_DIR pointing at config_dir."""
    out, err = io.StringIO(), io.StringIO()
    old_env = os.environ.get("NEXTCLOUD_CONFIG_DIR")
    os.environ["NEXTCLOUD_CONFIG_DIR"] = str(config_dir)
    old_stdin = sys.stdin
    try:
        if input is not None:
            sys.stdin = io.StringIO(input)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.stdin = old_stdin
        if old_env is None:
            os.environ.pop("NEXTCLOUD_CONFIG_DIR", None)
        else:
            os.environ["NEXTCLOUD_CONFIG_DIR"] = old_env
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def installed(scratch: ScratchDb, tmp_path: Path) -> InstalledInstance:
    config_dir = tmp_path / "config"
    install(scratch.install_options(), config_dir / "config.php")
    return InstalledInstance(scratch, config_dir)


def database_state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the instance (ids included), order-independent, for before/after
    comparisons: the app's twelve tables plus the app's and core's appconfig/preferences rows."""
    from ncpasswords.repositories.entities import TABLES

    state: dict[str, list[tuple[Any, ...]]] = {}
    for name in [*TABLES, "appconfig", "preferences", "migrations"]:
        cur = db.execute_sql(f"SELECT * FROM {db.table(name)}")
        state[name] = sorted((tuple(repr(v) for v in row) for row in cur.fetchall()), key=repr)
        cur.close()
    return state


@pytest.fixture
def nextcloud(scratch: ScratchDb, tmp_path: Path) -> InstalledInstance:
    """An instance whose database holds the whole schema of a real Nextcloud 34 (its file cache
    included), with config.php pointing at it; see tests/nextcloud_schema.py."""
    from nextcloud_schema import nextcloud_instance

    return nextcloud_instance(scratch, tmp_path)
