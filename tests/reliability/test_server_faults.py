"""The database server drops the connection in the middle of the work (pg_terminate_backend,
MariaDB `KILL <id>` from a second connection): rollback, one clear line on stderr, a non-zero
exit, and nothing changed - database, config.php, backup folders, the target of a conversion.

The session is killed from inside the running command: the bulk insert (`Database.insert_many`,
or `copy_binary` for a conversion into PostgreSQL) is wrapped so that, at its n-th call, the
server first ends the session (the one about to write, or the conversion's source session that
is being read).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance, ScratchDb, _admin, scratch_database
from ncpasswords.backup import service
from ncpasswords.backup.restore import RestoreOptions, restore_backup
from ncpasswords.backup.sample import SampleSize, generate
from ncpasswords.db.connection import Database, connect
from ncpasswords.instance.install import install
from ncpasswords.instance.journal import JOURNAL_NAME
from ncpasswords.repositories.entities import TABLES
from transfer_helpers import checksums, convert_args, target_database

from .helpers import COUNTERS, db_state, diff, files_state, one_line_error, sessions_on

SERVERS = ("pgsql", "mysql")


def session_of(db: Database) -> int:
    return int(db.raw.info.backend_pid if db.dialect == "pgsql" else db.raw.thread_id())


def other_session(engine: str, dbname: str) -> int:
    """The one session connected to `dbname` (the command's), seen from an admin connection."""
    ids = sessions_on(engine, dbname)
    assert len(ids) == 1, ids
    return ids[0]


def kill_session(engine: str, session: int) -> None:
    """End a session from a second connection, as an administrator or a failing server would."""
    admin = _admin(engine)
    try:
        with admin.cursor() as cur:
            if engine == "pgsql":
                cur.execute("SELECT pg_terminate_backend(%s)", (session,))
            else:
                cur.execute(f"KILL {int(session)}")
    finally:
        admin.close()


@contextlib.contextmanager
def killed_at_insert(
    monkeypatch: pytest.MonkeyPatch, nth: int, victim: Callable[[Database], tuple[str, int]]
) -> Iterator[list[str]]:
    """Kill `victim(db)` right before the n-th bulk insert; yields the tables inserted into."""
    calls: list[str] = []

    def killing(original: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(original)
        def bulk_write(self: Database, table: str, *args: Any, **kwargs: Any) -> int:
            calls.append(table)
            if len(calls) == nth:
                kill_session(*victim(self))
            return original(self, table, *args, **kwargs)

        return bulk_write

    with monkeypatch.context() as patch:
        for method in ("insert_many", "copy_binary"):
            patch.setattr(Database, method, killing(getattr(Database, method)))
        yield calls


def sample_file(tmp_path: Path, seed: int, passwords: int) -> Path:
    path = tmp_path / f"sample-{seed}.json.gz"
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as stream:
        generate(stream, SampleSize(passwords=passwords, revisions=2, users=4, seed=seed))
    path.write_bytes(out.getvalue())
    return path


@contextlib.contextmanager
def instance_on(engine: str, tmp_path: Path, seed: int, passwords: int) -> Iterator[InstalledInstance]:
    """An installed instance on `engine` holding a sample backup."""
    with scratch_database(engine, tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        installed = InstalledInstance(scratch, tmp_path / "config")
        instance = installed.instance
        with instance.connect() as db:
            restore_backup(instance, db, sample_file(tmp_path, seed, passwords), RestoreOptions())
        yield installed


def whole_state(installed: InstalledInstance) -> tuple[Any, bytes, Any]:
    with installed.connect() as db:
        return (
            db_state(db),
            (installed.config_dir / "config.php").read_bytes(),
            files_state(installed.instance.appdata_dir),
        )


def assert_unchanged(installed: InstalledInstance, before: tuple[Any, bytes, Any]) -> None:
    after = whole_state(installed)
    assert after[0] == before[0], diff(before[0], after[0])
    assert after[1] == before[1], "config.php changed"
    assert after[2] == before[2], "the backup folders changed"
    assert not (installed.config_dir / JOURNAL_NAME).exists()


@pytest.mark.parametrize("engine", SERVERS)
@pytest.mark.parametrize("nth", [1, 3])
def test_connection_dropped_mid_restore(engine: str, nth: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with instance_on(engine, tmp_path, 1, 300) as installed:
        storage = service.storage_for(installed.instance)
        (storage.folder_path() / "other.json.gz").write_bytes(sample_file(tmp_path, 2, 300).read_bytes())
        storage.list_backups()  # creates the empty backup folders, as any listing does
        before = whole_state(installed)

        with killed_at_insert(monkeypatch, nth, lambda db: (db.dialect, session_of(db))) as calls:
            result = installed.occ("-n", "passwords:backup:restore", "other")
        assert len(calls) >= nth
        COUNTERS.add("server faults: connection killed mid-work", engine)
        assert result.returncode == 1
        assert one_line_error(result.stderr), result.stderr
        assert result.stderr.startswith("The connection to the database was lost ("), result.stderr
        assert result.stderr.rstrip().endswith("what was not committed has been rolled back"), result.stderr
        assert_unchanged(installed, before)

        result = installed.occ("-n", "passwords:backup:restore", "other")
        assert result.returncode == 0, result.stderr


def app_tables(target: ScratchDb) -> list[str]:
    settings = target.settings()
    if settings.sqlite_path is not None and not settings.sqlite_path.exists():
        return []
    with connect(settings) as db:
        return [t for t in TABLES if db.table_exists(t)]


CONVERT_FAULTS = [
    ("pgsql", "mysql", "source"),
    ("mysql", "pgsql", "source"),
    ("pgsql", "sqlite", "source"),
    ("sqlite", "mysql", "target"),
    ("mysql", "pgsql", "target"),
    ("sqlite", "pgsql", "target"),
]


@pytest.mark.parametrize(
    ("source_engine", "target_engine", "killed"), CONVERT_FAULTS, ids=[f"{s}-to-{t}-{k}" for s, t, k in CONVERT_FAULTS]
)
def test_connection_dropped_mid_convert(
    source_engine: str, target_engine: str, killed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        instance_on(source_engine, tmp_path, 3, 200) as installed,
        target_database(target_engine, installed, tmp_path / "target") as target,
    ):
        source = installed.instance.connection_settings()
        before = whole_state(installed)

        def victim(db: Database) -> tuple[str, int]:
            if killed == "target":
                return db.dialect, session_of(db)
            return source.dialect, other_session(source.dialect, source.dbname)

        with killed_at_insert(monkeypatch, 4, victim):
            result = installed.occ(*convert_args(target))
        COUNTERS.add(
            "server faults: connection killed mid-work", target_engine if killed == "target" else source_engine
        )
        assert result.returncode == 1
        assert one_line_error(result.stderr), result.stderr
        assert result.stderr.startswith("Conversion failed while copying "), result.stderr
        assert result.stderr.rstrip().endswith("The target database was left as it was and config.php is unchanged."), (
            result.stderr
        )
        assert_unchanged(installed, before)
        assert app_tables(target) == []

        result = installed.occ(*convert_args(target))
        assert result.returncode == 0, result.stderr
        assert checksums(connect(target.settings())) == checksums(connect(source))
