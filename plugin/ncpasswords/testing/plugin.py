"""pytest plugin: throwaway ncpasswords instances, optionally restored from a fixture backup.

Fixtures
    passwords_instance         a fresh installed instance per test, removed afterwards; with
                               ``@pytest.mark.passwords_backup("path/backup.json.gz")`` it holds
                               that backup (any version 100-106, gzip or plain JSON)
    passwords_backup_factory   ``factory(path, **restore_options)`` -> another such instance
    passwords_database         an empty database of its own per test (not installed), dropped afterwards
    passwords_session          the session: engine, ``restore_count``, ``restores_of(path)``

The engine is chosen with ``--passwords-engine=sqlite|pgsql|mysql|galera|pgsql-replica`` (ini
``passwords_engine``, default sqlite). ``galera`` starts a 3-node MariaDB Galera cluster for the
session and ``pgsql-replica`` a PostgreSQL primary with a streaming standby (testing/clusters.py);
their session fixtures ``passwords_galera`` and ``passwords_pgsql_replica`` can also be asked for
directly. PostgreSQL comes from pytest-postgresql: ``--passwords-postgresql=proc`` starts a
server with ``postgresql_proc``, ``noproc`` uses a running one through ``postgresql_noproc``, any
other value names a fixture of yours made with ``pytest_postgresql.factories``. MariaDB/MySQL is
reached through ``--passwords-mysql-dsn=mysql://root@127.0.0.1:3306``. A server that cannot be
reached fails the tests that need it; it never skips them.

Each backup fixture is restored once per session into a template; tests get copies of the template
(PostgreSQL ``CREATE DATABASE … TEMPLATE``, a table copy on MariaDB, a file copy for SQLite).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from ..errors import UserError
from .clusters import ClusterError, GaleraCluster, PostgresReplication
from .instance import OccResult, PasswordsInstance
from .scratch import ScratchDatabase, reach, scratch_database
from .servers import DatabaseServer, MysqlServer, PostgresServer, ServerAddress, SqliteServer, parse_mysql_dsn
from .session import FixtureOptionError, PasswordsSession, RestoreRecord

__all__ = [
    "BackupFactory",
    "OccResult",
    "PasswordsInstance",
    "PasswordsSession",
    "RestoreRecord",
    "ScratchDatabase",
]

ENGINES = {
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
    "pgsql": "pgsql",
    "postgresql": "pgsql",
    "postgres": "pgsql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "galera": "galera",
    "pgsql-replica": "pgsql-replica",
    "postgresql-replica": "pgsql-replica",
}
POSTGRESQL_FIXTURES = {"proc": "postgresql_proc", "noproc": "postgresql_noproc"}
DEFAULT_MYSQL_DSN = "mysql://root@127.0.0.1:3306"
MARKER = "passwords_backup"
SESSION_KEY = pytest.StashKey[PasswordsSession]()


class BackupFactory(Protocol):
    """``passwords_backup_factory(path, *, cached=True, **restore_options)``."""

    def __call__(self, backup: str | os.PathLike[str], *, cached: bool = True, **options: Any) -> PasswordsInstance: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("passwords", "ncpasswords throwaway instances")
    group.addoption(
        "--passwords-engine",
        dest="passwords_engine",
        metavar="ENGINE",
        help="database engine of passwords_instance: sqlite (default), pgsql, mysql, galera (a 3-node "
        "MariaDB Galera cluster started for the session) or pgsql-replica (a PostgreSQL primary with a "
        "streaming standby started for the session)",
    )
    group.addoption(
        "--passwords-postgresql",
        dest="passwords_postgresql",
        metavar="proc|noproc|FIXTURE",
        help="PostgreSQL server: proc (pytest-postgresql starts one, default), noproc (a running "
        "one, see --postgresql-host/--postgresql-port) or the name of your own fixture",
    )
    group.addoption(
        "--passwords-mysql-dsn",
        dest="passwords_mysql_dsn",
        metavar="DSN",
        help=f"MariaDB/MySQL server as mysql://user[:password]@host[:port] (default {DEFAULT_MYSQL_DSN})",
    )
    group.addoption(
        "--passwords-table-prefix",
        dest="passwords_table_prefix",
        metavar="PREFIX",
        help="dbtableprefix of the instances (default oc_)",
    )
    parser.addini(
        "passwords_engine",
        "database engine of passwords_instance (sqlite, pgsql, mysql, galera, pgsql-replica)",
        default="sqlite",
    )
    parser.addini("passwords_postgresql", "PostgreSQL server: proc, noproc or a fixture name", default="proc")
    parser.addini("passwords_mysql_dsn", "MariaDB/MySQL server DSN", default=DEFAULT_MYSQL_DSN)
    parser.addini("passwords_table_prefix", "dbtableprefix of the instances", default="oc_")


def _setting(config: pytest.Config, name: str) -> str:
    value = config.getoption(name)
    return str(value if value is not None else config.getini(name))


def engine_of(config: pytest.Config) -> str:
    value = _setting(config, "passwords_engine").strip().lower()
    if value not in ENGINES:
        raise pytest.UsageError(
            f"--passwords-engine: unknown engine {value!r} (use sqlite, pgsql, mysql, galera or pgsql-replica)"
        )
    return ENGINES[value]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path, **restore_options): restore this backup file (versions 100-106, .json or .json.gz) into "
        "passwords_instance before the test; relative paths are looked up beside the test file, then in the rootdir",
    )
    engine_of(config)  # a wrong engine name is a usage error before any test runs
    if engine_of(config) == "mysql":
        try:
            parse_mysql_dsn(_setting(config, "passwords_mysql_dsn"))
        except ValueError as exc:
            raise pytest.UsageError(f"--passwords-mysql-dsn: {exc}") from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker(MARKER) and "passwords_instance" not in getattr(item, "fixturenames", ()):
            item.warn(
                pytest.PytestWarning(f"@pytest.mark.{MARKER} has no effect without the passwords_instance fixture")
            )


def pytest_report_header(config: pytest.Config) -> str:
    engine = engine_of(config)
    detail = ""
    if engine == "pgsql":
        detail = f" via {_postgresql_fixture(config)}"
    elif engine == "mysql":
        detail = f" at {_setting(config, 'passwords_mysql_dsn').split('@')[-1]}"
    elif engine == "galera":
        detail = " (3 nodes started for the session)"
    elif engine == "pgsql-replica":
        detail = " (primary and standby started for the session)"
    return f"ncpasswords: engine {engine}{detail}"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        terminalreporter.write_line(
            f"ncpasswords: {session.restore_count} restore(s), {session.template_count} template(s) on {session.engine}"
        )


def _postgresql_fixture(config: pytest.Config) -> str:
    value = _setting(config, "passwords_postgresql").strip()
    return POSTGRESQL_FIXTURES.get(value, value)


def _postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    name = _postgresql_fixture(request.config)
    try:
        executor = request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.fail(f"ncpasswords: no fixture {name!r} for PostgreSQL (is pytest-postgresql installed?)", pytrace=False)
    except Exception as exc:
        hint = ""
        if name == POSTGRESQL_FIXTURES["proc"] and hasattr(os, "geteuid") and os.geteuid() == 0:
            hint = (
                " (pg_ctl refuses to run as root: run the tests as another user, or point --postgresql-exec "
                "at a wrapper that runs pg_ctl as one and give pytest a --basetemp of its own, as "
                "examples/ci-project/run.sh does)"
            )
        pytest.fail(f"ncpasswords: {name} failed: {' '.join(str(exc).split())[:300]}{hint}", pytrace=False)
    return PostgresServer(
        ServerAddress(
            host=str(executor.host),
            port=int(executor.port),
            user=str(executor.user),
            password=str(executor.password or ""),
            maintenance_dbname=str(getattr(executor, "maintenance_dbname", "postgres")),
        )
    )


def _started(start: Any) -> Any:
    """Start a cluster; one that cannot start fails the tests that need it in one line."""
    try:
        return start()
    except (ClusterError, OSError) as exc:
        pytest.fail(f"ncpasswords: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def passwords_galera() -> Iterator[GaleraCluster]:
    """A 3-node MariaDB Galera cluster on loopback for the session (``nodes``, ``servers()``,
    ``kill_node(i)``, ``start_node(i)``, ``started_in``), stopped and removed afterwards."""
    cluster = _started(GaleraCluster)
    try:
        yield _started(cluster.start)
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def passwords_pgsql_replica() -> Iterator[PostgresReplication]:
    """A PostgreSQL primary with one streaming standby for the session (``primary``, ``standby``,
    ``server()``, ``wait_replayed()``, ``stop_member(m)``, ``started_in``), removed afterwards."""
    replication = _started(PostgresReplication)
    try:
        yield _started(replication.start)
    finally:
        replication.close()


def _server(request: pytest.FixtureRequest, engine: str) -> DatabaseServer:
    server: DatabaseServer
    if engine == "sqlite":
        server = SqliteServer()
    elif engine == "pgsql":
        server = _postgres_server(request)
    elif engine == "galera":
        server = request.getfixturevalue("passwords_galera").servers()[0]
    elif engine == "pgsql-replica":
        server = request.getfixturevalue("passwords_pgsql_replica").server()
    else:
        server = MysqlServer(parse_mysql_dsn(_setting(request.config, "passwords_mysql_dsn")))
    return reach(server)


@pytest.fixture(scope="session")
def passwords_session(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PasswordsSession]:
    """The session's engine, templates and restore count (``restore_count``, ``restores_of(path)``)."""
    server = _server(request, engine_of(request.config))
    session = PasswordsSession(
        server, tmp_path_factory.mktemp("passwords"), _setting(request.config, "passwords_table_prefix")
    )
    request.config.stash[SESSION_KEY] = session
    try:
        yield session
    finally:
        session.close()


def _backup_path(request: pytest.FixtureRequest, value: str | os.PathLike[str]) -> Path:
    path = Path(value)
    candidates = [path] if path.is_absolute() else [request.path.parent / path, request.config.rootpath / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    pytest.fail(
        f"ncpasswords: backup file {os.fspath(value)!r} not found (looked at {', '.join(str(c) for c in candidates)})",
        pytrace=False,
    )


def _prepared(session: PasswordsSession, action: Any, *args: Any) -> Any:
    """Run a session step; a broken fixture file or a refused option fails the test in one line."""
    try:
        return action(*args)
    except (UserError, FixtureOptionError, FileNotFoundError) as exc:
        pytest.fail(f"ncpasswords: {exc}", pytrace=False)


@pytest.fixture
def passwords_instance(
    request: pytest.FixtureRequest,
    passwords_session: PasswordsSession,
) -> Iterator[PasswordsInstance]:
    """A fresh installed instance (its own database and folders), dropped after the test.

    With ``@pytest.mark.passwords_backup(path, **restore_options)`` it holds that backup.
    """
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        template = _prepared(passwords_session, passwords_session.template)
    else:
        if len(marker.args) != 1:
            pytest.fail(f"ncpasswords: @pytest.mark.{MARKER} takes one backup path, got {marker.args!r}", pytrace=False)
        path = _backup_path(request, marker.args[0])
        template = _prepared(passwords_session, passwords_session.template, path, dict(marker.kwargs))
    instance = _prepared(passwords_session, passwords_session.spawn, template)
    try:
        yield instance
    finally:
        passwords_session.discard(instance)


@pytest.fixture
def passwords_backup_factory(
    request: pytest.FixtureRequest,
    passwords_session: PasswordsSession,
) -> Iterator[BackupFactory]:
    """``factory(path, *, cached=True, **restore_options)`` -> a new instance holding that backup.

    Cached (the default) copies the session's template for the file, restoring it only the first
    time; ``cached=False`` restores into a fresh instance every call.
    """
    made: list[PasswordsInstance] = []

    def factory(backup: str | os.PathLike[str], *, cached: bool = True, **options: Any) -> PasswordsInstance:
        path = _backup_path(request, backup)
        if cached:
            template = _prepared(passwords_session, passwords_session.template, path, options)
            instance: PasswordsInstance = _prepared(passwords_session, passwords_session.spawn, template)
            made.append(instance)
        else:
            instance = _prepared(passwords_session, passwords_session.spawn, passwords_session.template())
            made.append(instance)
            _prepared(passwords_session, passwords_session.restore_into, instance, path, options)
        return instance

    try:
        yield factory
    finally:
        for instance in reversed(made):
            passwords_session.discard(instance)


@pytest.fixture
def passwords_database(passwords_session: PasswordsSession, tmp_path: Path) -> Iterator[ScratchDatabase]:
    """An empty database of the test's own on the session's engine, dropped after the test;
    ``install_options()`` installs an instance into it with ``tmp_path / "data"`` as data folder."""
    with scratch_database(passwords_session.server, tmp_path / "data") as database:
        yield database
