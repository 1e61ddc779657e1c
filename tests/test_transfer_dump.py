"""`occ passwords:db:dump`: scripts that psql, mariadb and sqlite3 load as they are."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ENGINES, ScratchDb, database_state, scratch_database, sqlite_database
from ncpasswords.db.connection import connect
from ncpasswords.repositories.entities import TABLES
from ncpasswords.repositories.entity_repository import EntityRepository
from transfer_helpers import (
    DBTYPE,
    checksums,
    document_of,
    native_load,
    sequences_follow,
    source_instance,
    target_config,
    write_sample,
)

COMBINATIONS = [(s, d) for s in ENGINES for d in ENGINES]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample") / "sample.json")


@contextlib.contextmanager
def empty_database(engine: str, base: Path) -> Iterator[ScratchDb]:
    """A new empty database; for SQLite a file the sqlite3 shell creates."""
    if engine == "sqlite":
        base.mkdir(parents=True)
        yield sqlite_database("loaded", base)
        return
    with scratch_database(engine, base) as scratch:
        yield scratch


@pytest.mark.parametrize(("source_engine", "dialect"), COMBINATIONS, ids=[f"{s}-as-{d}" for s, d in COMBINATIONS])
def test_dump_loads_with_the_native_client(source_engine: str, dialect: str, sample: Path, tmp_path: Path) -> None:
    with (
        source_instance(source_engine, tmp_path / "source", sample) as source,
        empty_database(dialect, tmp_path / "target") as target,
    ):
        script = tmp_path / "passwords.sql"
        result = source.occ("passwords:db:dump", f"--dialect={dialect}", "--output=json", str(script))
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert "verified" not in summary  # a dump reads nothing back; the load is compared below
        (tmp_path / "summary.json").write_text(result.stdout)
        assert oct(script.stat().st_mode & 0o777) == "0o600"

        loaded = native_load(target, script)
        assert loaded.returncode == 0, loaded.stderr[-2000:]

        expected = checksums(source.connect())
        reported = {name: {"rows": t["rows"], "checksum": t["checksum"]} for name, t in summary["tables"].items()}
        assert reported == expected
        assert checksums(connect(target.settings())) == expected

        moved = target_config(source, target, tmp_path / "target-config")
        assert json.loads(moved.occ("status", "--output=json").stdout)["needsDbUpgrade"] is False
        assert moved.occ("config:system:get", "dbtype").stdout == f"{DBTYPE[dialect]}\n"
        compare = moved.occ("passwords:db:checksum", f"--compare={tmp_path / 'summary.json'}")
        assert compare.returncode == 0, compare.stderr
        assert compare.stdout.splitlines()[-1] == f"All 15 tables of {tmp_path / 'summary.json'} match"
        # A summary of the earlier checksum definition (no format marker) is not compared.
        older = tmp_path / "older.json"
        older.write_text(json.dumps({k: v for k, v in summary.items() if k != "checksum_format"}))
        compare = moved.occ("passwords:db:checksum", f"--compare={older}")
        assert compare.returncode == 1
        assert compare.stderr.strip() == (
            f"{older} holds checksums of another definition (written by another "
            "version of ncpasswords); write the summary again with this version "
            "to compare"
        )
        assert "Executed Migrations:             3" in moved.occ("migrations:status", "passwords").stdout
        assert document_of(moved.instance) == document_of(source.instance)
        assert moved.occ("passwords:backup:create", "loaded").returncode == 0
        assert "loaded" in moved.occ("passwords:backup:list").stdout
        with moved.connect() as db:
            sequences_follow(db)


@pytest.mark.parametrize("dialect", ENGINES)
def test_schema_only_then_data_only(dialect: str, sample: Path, tmp_path: Path) -> None:
    with (
        source_instance("sqlite", tmp_path / "source", sample) as source,
        empty_database(dialect, tmp_path / "target") as target,
    ):
        schema, data = tmp_path / "schema.sql", tmp_path / "data.sql"
        assert source.occ("passwords:db:dump", f"--dialect={dialect}", "--schema-only", str(schema)).returncode == 0
        assert source.occ("passwords:db:dump", f"--dialect={dialect}", "--data-only", str(data)).returncode == 0
        schema_text, data_text = schema.read_text(), data.read_text()
        assert "CREATE TABLE" in schema_text and "oc_migrations" in schema_text
        assert "INSERT INTO oc_passwords_" not in schema_text and "COPY oc_passwords_" not in schema_text
        assert "CREATE " not in data_text and "oc_migrations" not in data_text

        assert native_load(target, schema).returncode == 0
        with connect(target.settings()) as db:
            assert all(db.table_exists(name) for name in TABLES)
            assert EntityRepository(db, "passwords_password").count(include_deleted=True) == 0
        loaded = native_load(target, data)
        assert loaded.returncode == 0, loaded.stderr[-2000:]
        assert checksums(connect(target.settings())) == checksums(source.connect())


@pytest.mark.parametrize("dialect", ENGINES)
def test_a_second_load_fails_and_changes_nothing(dialect: str, sample: Path, tmp_path: Path) -> None:
    """The scripts stop at the first error, and the rows go in one transaction."""
    with (
        source_instance("pgsql", tmp_path / "source", sample) as source,
        empty_database(dialect, tmp_path / "target") as target,
    ):
        script = tmp_path / "passwords.sql"
        assert source.occ("passwords:db:dump", f"--dialect={dialect}", str(script)).returncode == 0
        assert native_load(target, script).returncode == 0
        with connect(target.settings()) as db:
            before = database_state(db)
        again = native_load(target, script)
        assert again.returncode != 0
        assert "duplicate" in again.stderr.lower() or "unique" in again.stderr.lower(), again.stderr
        with connect(target.settings()) as db:
            assert database_state(db) == before


def test_stdout_holds_the_instances_own_dialect(sample: Path, tmp_path: Path) -> None:
    with source_instance("mysql", tmp_path / "source", sample, edge=False) as source:
        to_stdout = source.occ("passwords:db:dump")
        assert to_stdout.returncode == 0 and to_stdout.stderr == ""
        script = tmp_path / "passwords.sql"
        written = source.occ("passwords:db:dump", "--dialect=mysql", str(script))
        assert written.stdout.startswith(f"Wrote {script}: ")
        assert to_stdout.stdout == script.read_text(encoding="utf-8")
        assert to_stdout.stdout.startswith("-- Passwords app schema and data for MySQL/MariaDB")


def test_bad_options_and_values_a_dialect_cannot_hold(sample: Path, tmp_path: Path) -> None:
    with source_instance("mysql", tmp_path / "source", sample, edge=False) as source:
        both = source.occ("passwords:db:dump", "--schema-only", "--data-only")
        assert both.returncode == 1 and both.stderr == "--schema-only and --data-only exclude each other\n"
        json_to_stdout = source.occ("passwords:db:dump", "--output=json")
        assert json_to_stdout.returncode == 1 and "--output needs FILE" in json_to_stdout.stderr

        with source.connect() as db:  # MySQL stores NUL characters; PostgreSQL and SQLite scripts cannot
            db.execute_sql(f"UPDATE {db.table('passwords_password_rv')} SET notes = 'a\\0b' WHERE id = 1")
        for dialect, engine in (("pgsql", "PostgreSQL"), ("sqlite", "A SQLite script")):
            script = tmp_path / f"{dialect}.sql"
            refused = source.occ("passwords:db:dump", f"--dialect={dialect}", str(script))
            assert refused.returncode == 1
            assert refused.stderr.startswith(f"Cannot dump oc_passwords_password_rv: {engine} cannot")
            assert not script.exists() and not list(tmp_path.glob(".*"))

        script = tmp_path / "mysql.sql"
        assert source.occ("passwords:db:dump", "--dialect=mysql", str(script)).returncode == 0
        with scratch_database("mysql", tmp_path / "target") as target:
            assert native_load(target, script).returncode == 0
            assert checksums(connect(target.settings())) == checksums(source.connect())
            with connect(target.settings()) as db:
                assert db.scalar_sql(f"SELECT notes FROM {db.table('passwords_password_rv')} WHERE id = 1") == "a\0b"
