"""`occ db:convert-type`: every engine pair, verification, and failures that must change nothing."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    ENGINES,
    InstalledInstance,
    ScratchDb,
    _admin,
    database_state,
    scratch_database,
    sqlite_database,
)
from ncpasswords.cli.console import Console
from ncpasswords.db import bulk, introspect, migrator
from ncpasswords.db.connection import ConnectionSettings, Database, connect
from ncpasswords.errors import UserError
from ncpasswords.instance import phpconfig
from ncpasswords.instance.install import install
from ncpasswords.instance.instance import Instance
from ncpasswords.transfer.convert import ConvertOptions, Target, TransferError, convert
from ncpasswords.transfer.tables import transfer_tables
from test_schema import load_reference
from transfer_helpers import (
    DBTYPE,
    EXAMPLE,
    checksums,
    convert_args,
    document_of,
    kill_connections,
    sequences_follow,
    source_instance,
    target_database,
    write_sample,
)

PAIRS = [(s, t) for s in ENGINES for t in ENGINES if s != t]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample") / "sample.json")


def state_of(settings_source: InstalledInstance | ScratchDb) -> dict[str, list[tuple[Any, ...]]]:
    db = (
        settings_source.connect()
        if isinstance(settings_source, InstalledInstance)
        else connect(settings_source.settings())
    )
    with db:
        return database_state(db)


def app_tables_in(scratch: ScratchDb) -> dict[str, introspect.TableInfo]:
    if scratch.engine == "sqlite" and not scratch.settings().sqlite_path.exists():  # type: ignore[union-attr]
        return {}
    with connect(scratch.settings()) as db:
        return introspect.describe(db)


def where(settings: ConnectionSettings) -> tuple[Any, ...]:
    return (
        settings.dialect,
        settings.dbname,
        settings.host,
        settings.port,
        settings.user,
        settings.password,
        settings.sqlite_path,
        settings.prefix,
    )


def target_of(scratch: ScratchDb) -> Target:
    settings = scratch.settings()
    return Target.parse(
        DBTYPE[scratch.engine], settings.user, settings.host, settings.dbname, settings.port, settings.password
    )


@pytest.mark.parametrize(("source_engine", "target_engine"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS])
def test_convert_moves_everything_and_switches_config(
    source_engine: str, target_engine: str, sample: Path, tmp_path: Path
) -> None:
    with (
        source_instance(source_engine, tmp_path / "source", sample) as source,
        target_database(target_engine, source, tmp_path / "target") as target,
    ):
        document = document_of(source.instance)
        expected = checksums(source.connect())
        source_state = state_of(source)
        assert sum(c["rows"] for c in expected.values()) > 3000

        result = source.occ(*convert_args(target), "--output=json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)

        # The target holds exactly the source's rows; the summary reports the same checksums.
        moved = source.instance
        assert where(moved.connection_settings()) == where(target.settings())
        assert checksums(moved.connect()) == expected
        reported = {name: {"rows": t["rows"], "checksum": t["checksum"]} for name, t in summary["tables"].items()}
        assert reported == expected
        assert summary["verified"] is True and summary["rows"] == sum(c["rows"] for c in expected.values())
        # ... so the backup it writes is the source's, ids included (convert keeps them).
        assert document_of(moved) == document
        # The new tables are exactly those an install creates (indexes built after the rows included).
        with scratch_database(target_engine, tmp_path / "reference") as ref:
            reference = load_reference(ref, "oc_")
        with moved.connect() as db:
            described = introspect.describe(db)
        for name, expected in reference.items():
            got = described[name]
            assert (got.columns, got.indexes, got.options) == (expected.columns, expected.indexes, expected.options)
        # Only the app's rows of the core tables moved.
        with moved.connect() as db:
            assert {r[0] for r in db.execute_sql(f"SELECT appid FROM {db.table('appconfig')}").fetchall()} == {
                "passwords"
            }
            sequences_follow(db)

        # occ works against the new database; the source was only read.
        assert json.loads(source.occ("status", "--output=json").stdout)["needsDbUpgrade"] is False
        assert source.occ("config:system:get", "dbtype").stdout == f"{DBTYPE[target_engine]}\n"
        assert source.occ("passwords:backup:create", "after-move").returncode == 0
        listing = source.occ("passwords:backup:list")
        assert listing.returncode == 0 and "after-move" in listing.stdout
        assert state_of(source.scratch) == source_state


def test_plain_output_progress_and_password_from_stdin(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        source_instance("sqlite", tmp_path / "source", sample, edge=False) as source,
        target_database("mysql", source, tmp_path / "target") as target,
    ):
        settings = target.settings()
        args = [
            "db:convert-type",
            "--only-app",
            f"--port={settings.port}",
            "mysql",
            settings.user,
            settings.host,
            settings.dbname,
        ]
        config = (source.config_dir / "config.php").read_bytes()

        wrong = source.occ(*args, input="not-the-password\n")
        assert wrong.returncode == 1
        assert wrong.stderr.count("\n") == 1 and "using password: YES" in wrong.stderr
        assert "not-the-password" not in wrong.stderr
        assert (source.config_dir / "config.php").read_bytes() == config

        monkeypatch.setattr(Console, "progress_enabled", lambda self: True)  # as on a terminal
        result = source.occ(*args, input=f"{settings.password}\n")
        assert result.returncode == 0, result.stderr
        # One transient status line: redrawn per table and phase, erased by each line of output.
        assert "\rCopying oc_passwords_password_rv: " in result.stderr
        assert "\rVerifying oc_preferences: " in result.stderr
        assert "\n" not in result.stderr and re.search(r"\r +\r$", result.stderr)
        lines = result.stdout.splitlines()
        assert lines[0] == "Creating schema in new database"
        assert "Copied oc_passwords_password_rv: 2000 rows" in lines
        assert "Verified 15 tables: row counts and checksums match" in lines
        assert lines[-1] == "config.php now points at the new database"
        instance = source.instance
        assert instance.get("dbtype") == "mysql" and instance.get("mysql.utf8mb4") is True
        assert instance.get("dbhost") == f"{settings.host}:{settings.port}" and instance.get("dbport") == ""


def test_refusals_change_nothing(sample: Path, tmp_path: Path) -> None:
    with source_instance("pgsql", tmp_path / "source", sample, edge=False) as source:
        config = (source.config_dir / "config.php").read_bytes()
        for args, message in [
            (["pgsql", "u", "h", "db"], "Can not convert from pgsql to pgsql."),
            (["oci", "u", "h", "db"], "Converting to Oracle (oci) is not supported by this tool."),
            (["sqlite3", "", "", "a/b"], "For sqlite3 the database is a file name below the datadirectory"),
            (["--chunk-size=0", "sqlite3", "", "", "x"], "The chunk size must be a positive number."),
            (["--port=1", "mysql", "u", "h:2", "db"], "Give the port either in the hostname or with --port"),
        ]:
            result = source.occ("db:convert-type", "--only-app", "--password=", *args)
            assert result.returncode == 1 and result.stderr.startswith(message), (args, result.stderr)
        assert (source.config_dir / "config.php").read_bytes() == config
        assert not (source.scratch.data_dir / "x.db").exists()


def test_tables_of_others_are_listed_and_need_a_yes(sample: Path, tmp_path: Path) -> None:
    with source_instance("pgsql", tmp_path / "source", sample, edge=False) as source:
        with source.connect() as db:
            db.execute_sql("CREATE TABLE oc_filecache (fileid BIGINT PRIMARY KEY)").close()
        config = (source.config_dir / "config.php").read_bytes()
        refused = source.occ("-n", "db:convert-type", "--only-app", "sqlite3", "", "", "moved")
        assert refused.returncode == 1
        assert "The following tables will not be converted:\n - oc_filecache\n" in refused.stdout
        assert refused.stderr == "Conversion aborted: the source has tables this tool does not convert.\n"
        assert (source.config_dir / "config.php").read_bytes() == config
        assert not (source.scratch.data_dir / "moved.db").exists()

        accepted = source.occ("db:convert-type", "--only-app", "sqlite3", "", "", "moved", input="y\n")
        assert accepted.returncode == 0, accepted.stderr
        assert source.instance.get("dbtype") == "sqlite3"
        assert "filecache" not in app_tables_in(sqlite_database("moved", source.scratch.data_dir))


# -- failures: nothing changes, a second run succeeds ---------------------------------------------


def assert_nothing_changed(
    source: InstalledInstance,
    config: bytes,
    source_state: Any,
    target: ScratchDb,
    target_state: dict[str, Any] | None,
    message: str,
) -> None:
    assert message.count("\n") == 0
    assert (source.config_dir / "config.php").read_bytes() == config
    assert state_of(source.scratch) == source_state
    if target_state is None:
        assert app_tables_in(target) == {}
    else:
        assert state_of(target) == target_state


@pytest.mark.parametrize("target_engine", ["pgsql", "mysql"])
def test_killed_target_connection(target_engine: str, sample: Path, tmp_path: Path) -> None:
    with (
        source_instance("sqlite", tmp_path / "source", sample) as source,
        target_database(target_engine, source, tmp_path / "target") as target,
    ):
        config = (source.config_dir / "config.php").read_bytes()
        source_state = state_of(source)
        killed: list[int] = []

        def progress(phase: str, table: str, rows: int) -> None:
            if phase == "copy" and table == "passwords_password_rv" and rows >= 1000 and not killed:
                killed.append(kill_connections(target_engine, target.settings().dbname))

        with pytest.raises(TransferError) as failure:
            convert(source.instance, target_of(target), ConvertOptions(), progress=progress)
        assert killed == [1]
        message = str(failure.value)
        assert message.startswith("Conversion failed while copying oc_passwords_password_rv: ")
        assert message.endswith("The target database was left as it was and config.php is unchanged.")
        assert_nothing_changed(source, config, source_state, target, None, message)

        again = source.occ(*convert_args(target))
        assert again.returncode == 0, again.stderr
        assert checksums(source.connect()) == checksums(connect(source.scratch.settings()))


@pytest.mark.parametrize("target_engine", ["pgsql", "mysql"])
def test_a_row_the_target_refuses(target_engine: str, sample: Path, tmp_path: Path) -> None:
    """SQLite does not enforce VARCHAR lengths; the servers refuse the row."""
    with (
        source_instance("sqlite", tmp_path / "source", sample) as source,
        target_database(target_engine, source, tmp_path / "target") as target,
    ):
        with source.connect() as db:
            db.execute_sql(
                f"UPDATE {db.table('passwords_password_rv')} SET user_id = '{'u' * 65}' "
                f"WHERE id = (SELECT MAX(id) FROM {db.table('passwords_password_rv')} WHERE id < 900000)"
            )
        config = (source.config_dir / "config.php").read_bytes()
        source_state = state_of(source)

        result = source.occ(*convert_args(target))
        assert result.returncode == 1
        assert result.stderr.startswith("Conversion failed while copying oc_passwords_password_rv: ")
        assert "The target database was left as it was and config.php is unchanged." in result.stderr
        assert "user_id" in result.stderr and "u" * 65 not in result.stderr  # values are not echoed
        assert_nothing_changed(source, config, source_state, target, None, result.stderr.rstrip("\n"))

        with source.connect() as db:
            db.execute_sql(f"DELETE FROM {db.table('passwords_password_rv')} WHERE length(user_id) > 64")
        again = source.occ(*convert_args(target))
        assert again.returncode == 0, again.stderr


def shorten_a_label(original: Any) -> Any:
    """`insert_many` (into MariaDB and SQLite) storing one character less of tag labels."""

    def lossy(self: Database, table: str, columns: Any, rows: Any, batch: int = 5000) -> int:
        if table == "passwords_tag_rv":
            rows = ((r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8][:-1], *r[9:]) for r in rows)
        return original(self, table, columns, rows, batch)

    return lossy


def flip_a_boolean(original: Any) -> Any:
    """`copy_binary` (binary tuples into PostgreSQL) negating one boolean of a tag revision."""

    def lossy(self: Database, table: str, columns: Any, header: bytes, chunks: Any, trailer: bytes) -> int:
        def flip(chunks: Any) -> Iterator[list[bytes]]:
            for chunk in chunks:
                if table == "passwords_tag_rv":
                    chunk = [flip_first_boolean(chunk[0]), *chunk[1:]]
                yield chunk

        return original(self, table, columns, header, flip(chunks), trailer)

    return lossy


def flip_first_boolean(data: bytes) -> bytes:
    """A binary COPY tuple with its first one-byte value (a boolean) negated."""
    at = 2
    while True:
        length = int.from_bytes(data[at : at + 4], "big", signed=True)
        at += 4
        if length == 1:
            return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
        at += max(length, 0)


@pytest.mark.parametrize(
    ("source_engine", "target_engine", "method", "spoil"),
    [
        ("pgsql", "sqlite", "insert_many", shorten_a_label),
        ("mysql", "pgsql", "copy_binary", flip_a_boolean),
    ],
    ids=["rows-into-sqlite", "tuples-into-pgsql"],
)
def test_a_silent_difference_fails_verification(
    source_engine: str,
    target_engine: str,
    method: str,
    spoil: Any,
    sample: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A target that stores a value differently (simulated) is caught by the checksums."""
    original = getattr(Database, method)
    with (
        source_instance(source_engine, tmp_path / "source", sample) as source,
        target_database(target_engine, source, tmp_path / "target") as target,
    ):
        monkeypatch.setattr(Database, method, spoil(original))
        config = (source.config_dir / "config.php").read_bytes()
        source_state = state_of(source)
        with pytest.raises(TransferError) as failure:
            convert(source.instance, target_of(target), ConvertOptions())
        message = str(failure.value)
        assert message.startswith("Conversion failed while verifying oc_passwords_tag_rv: the source has 35 rows")
        assert_nothing_changed(source, config, source_state, target, None, message)
        if target_engine == "sqlite":
            assert not target.settings().sqlite_path.exists()  # type: ignore[union-attr]

        monkeypatch.setattr(Database, method, original)
        convert(source.instance, target_of(target), ConvertOptions())
        assert source.instance.get("dbtype") == DBTYPE[target_engine]


def test_a_latin1_postgresql_database_refuses_what_it_cannot_store(sample: Path, tmp_path: Path) -> None:
    """Text reaches PostgreSQL as UTF-8 whatever the database's encoding: an emoji cannot go into
    a LATIN1 database, so the conversion stops (rather than store other characters)."""
    with (
        source_instance("mysql", tmp_path / "source", sample) as source,
        target_database("pgsql", source, tmp_path / "target") as target,
    ):
        name = target.settings().dbname
        with contextlib.closing(_admin("pgsql")) as admin:
            admin.execute(f'DROP DATABASE "{name}"')
            admin.execute(
                f"CREATE DATABASE \"{name}\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
            )
        config = (source.config_dir / "config.php").read_bytes()
        source_state = state_of(source)
        result = source.occ(*convert_args(target))
        assert result.returncode == 1
        assert 'has no equivalent in encoding "LATIN1"' in result.stderr, result.stderr
        assert_nothing_changed(source, config, source_state, target, None, result.stderr.strip())


def test_canonical_types_are_postgresqls(tmp_path: Path) -> None:
    """The checksums' fixed column types are those an install creates on PostgreSQL, so every
    table is copied there as binary tuples."""
    with scratch_database("pgsql", tmp_path / "pg") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            for table in transfer_tables(db):
                actual = bulk.column_types(db, table.name)
                for column, kind in table.canonical_types():
                    assert actual[column] in ((kind, "varchar") if kind == "text" else (kind,)), (table.name, column)


def test_a_core_table_of_other_types_is_copied_row_by_row(sample: Path, tmp_path: Path) -> None:
    """A target whose preferences table has wider integers (another Nextcloud version) still
    converts, with the same checksums."""
    with (
        source_instance("mysql", tmp_path / "source", sample) as source,
        target_database("pgsql", source, tmp_path / "target") as target,
    ):
        expected = checksums(source.connect())
        with connect(target.settings()) as db, db.transaction():
            db.run_script(migrator.core_schema("pgsql"))
            for column in ("lazy", "type", "flags"):
                db.execute_sql(f"ALTER TABLE oc_preferences ALTER COLUMN {column} TYPE BIGINT").close()
        result = source.occ(*convert_args(target))
        assert result.returncode == 0, result.stderr
        assert checksums(source.instance.connect()) == expected
        with connect(target.settings()) as db:
            assert bulk.column_types(db, "preferences")["type"] == "int8"


@pytest.mark.parametrize("target_engine", ENGINES)
def test_clear_schema_replaces_the_app_tables_all_or_nothing(
    target_engine: str, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_engine = "pgsql" if target_engine == "sqlite" else "sqlite"
    with (
        source_instance(source_engine, tmp_path / "source", sample) as source,
        target_database(target_engine, source, tmp_path / "target") as target,
    ):
        # The target already is an instance with other data, and a value of another app.
        other = Instance(tmp_path / "other" / "config.php", {})
        install(target.install_options(), other.path)
        other = Instance.load(other.path)
        with other.connect() as db:
            from ncpasswords.backup.restore import RestoreOptions, restore_backup

            restore_backup(other, db, EXAMPLE, RestoreOptions())
            db.insert_many("appconfig", ["appid", "configkey", "configvalue"], [("core", "keep", "me")])
        config = (source.config_dir / "config.php").read_bytes()
        source_state = state_of(source)
        target_state = state_of(target)

        refused = source.occ(*convert_args(target))
        assert refused.returncode == 1
        assert "already has tables of the Passwords app" in refused.stderr and "--clear-schema" in refused.stderr
        assert_nothing_changed(source, config, source_state, target, target_state, refused.stderr.rstrip("\n"))

        checks: list[Any] = []
        write = phpconfig.write

        def unwritable(path: Any, config: Any) -> None:
            checks.append(path)
            if len(checks) == 1:  # the check before anything is copied passes
                write(path, config)
                return
            raise PermissionError(13, "Permission denied")

        # The last step before the commit fails: everything copied and verified is undone.
        monkeypatch.setattr(phpconfig, "write", unwritable)
        failed = source.occ("db:convert-type", "--clear-schema", *convert_args(target)[1:])
        assert failed.returncode == 1
        assert failed.stderr.startswith("Conversion failed while writing config.php: Cannot write ")
        assert failed.stderr.endswith("The target database was left as it was and config.php is unchanged.\n")
        assert_nothing_changed(source, config, source_state, target, target_state, failed.stderr.rstrip("\n"))
        monkeypatch.undo()

        done = source.occ("db:convert-type", "--clear-schema", *convert_args(target)[1:])
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Clearing schema in new database\nCreating schema in new database\n")
        assert checksums(source.connect()) == checksums(connect(source.scratch.settings()))
        with source.connect() as db:
            assert db.scalar_sql(f"SELECT configvalue FROM {db.table('appconfig')} WHERE appid = 'core'") == "me"
            sequences_follow(db)
        assert not [t for t in app_tables_in(target) if "_ncp" in t]  # nothing left aside


def test_unknown_type_is_a_user_error() -> None:
    with pytest.raises(UserError, match="Unknown database type 'oracle'"):
        Target.parse("oracle", "u", "h", "d")
