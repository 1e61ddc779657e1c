"""Shared fixtures: a fresh database per test on each engine, and instances installed into them.

Servers are found through NCP_TEST_PGSQL (default `host=127.0.0.1 port=5432 user=postgres`) and
NCP_TEST_MYSQL (default `127.0.0.1:3306`, user root, empty password). With CI=true a missing
server fails the test; elsewhere the server's tests are skipped with a one-line reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ncpasswords.db.connection import Database
from ncpasswords.instance.install import install
from ncpasswords.instance.instance import Instance
from ncpasswords.testing.instance import OccResult, run_occ
from ncpasswords.testing.scratch import ScratchDatabase, reach, unreachable
from ncpasswords.testing.scratch import scratch_database as _scratch_database
from ncpasswords.testing.servers import (
    DatabaseServer,
    MysqlServer,
    NetworkServer,
    PostgresServer,
    ServerAddress,
    SqliteServer,
)

ENGINES = ("sqlite", "pgsql", "mysql")
PG_HOST = os.environ.get("NCP_TEST_PGSQL_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("NCP_TEST_PGSQL_PORT", "5432"))
PG_USER = os.environ.get("NCP_TEST_PGSQL_USER", "postgres")
MY_HOST = os.environ.get("NCP_TEST_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("NCP_TEST_MYSQL_PORT", "3306"))
MY_USER = os.environ.get("NCP_TEST_MYSQL_USER", "root")
MY_PASS = os.environ.get("NCP_TEST_MYSQL_PASSWORD", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

ScratchDb = ScratchDatabase
Result = OccResult
SERVERS: dict[str, Callable[[], DatabaseServer]] = {
    "sqlite": SqliteServer,
    "pgsql": lambda: PostgresServer(ServerAddress(PG_HOST, PG_PORT, PG_USER)),
    "mysql": lambda: MysqlServer(ServerAddress(MY_HOST, MY_PORT, MY_USER, MY_PASS)),
}


def server(engine: str) -> DatabaseServer:
    """A new server object for `engine` (its administrative connection is opened when first used)."""
    return SERVERS[engine]()


def _unavailable(engine: str, exc: Exception) -> None:
    """Fail the test under CI=true, else skip it, in one line: the engine's server is missing."""
    unreachable(server(engine), exc, skip=not IN_CI)


def _admin(engine: str) -> Any:
    """A new administrative connection to the PostgreSQL or MariaDB server (the caller closes it)."""
    found = server(engine)
    assert isinstance(found, NetworkServer)
    return found.open_admin()


@contextlib.contextmanager
def scratch_database(engine: str, base: Path) -> Iterator[ScratchDb]:
    """Create a uniquely named database, yield it, drop it."""
    with contextlib.closing(reach(server(engine), skip=not IN_CI)) as found, _scratch_database(found, base) as db:
        yield db


def sqlite_database(name: str, data_dir: Path) -> ScratchDb:
    """The SQLite database `<data_dir>/<name>.db`."""
    return ScratchDb(SqliteServer(), name, data_dir)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def scratch(engine: str, tmp_path: Path) -> Iterator[ScratchDb]:
    with scratch_database(engine, tmp_path / "data") as db:
        yield db


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


def _cluster(request: pytest.FixtureRequest, fixture: str, needs: tuple[str, ...]) -> Any:
    """A cluster fixture of the pytest plugin; outside CI it is skipped where its programs are missing."""
    missing = [path for path in needs if not Path(path).exists()]
    if missing and not IN_CI:
        pytest.skip(f"ncpasswords: {', '.join(missing)} missing")
    return request.getfixturevalue(fixture)


@pytest.fixture(scope="session")
def galera(request: pytest.FixtureRequest) -> Any:
    """The plugin's 3-node MariaDB Galera cluster (started once for the session)."""
    from ncpasswords.testing.clusters import GALERA_PROVIDER, MARIADBD

    return _cluster(request, "passwords_galera", (MARIADBD, GALERA_PROVIDER))


@pytest.fixture(scope="session")
def pg_replica(request: pytest.FixtureRequest) -> Any:
    """The plugin's PostgreSQL primary with a streaming standby (started once for the session)."""
    return _cluster(request, "passwords_pgsql_replica", ())
