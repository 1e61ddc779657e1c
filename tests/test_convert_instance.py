"""`occ db:convert-type` for the whole instance: a Nextcloud-shaped database (fixtures/nextcloud-34)
with rows in Nextcloud's tables and the app's, converted to every other engine, comes out with the
schema Nextcloud makes there and every row equal."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ENGINES, InstalledInstance, ScratchDb, scratch_database
from ncpasswords.backup.restore import RestoreOptions, restore_backup
from ncpasswords.db import declared
from ncpasswords.db.connection import Database, connect
from ncpasswords.transfer.instance_tables import discover, transfer_table
from ncpasswords.transfer.tables import kind_normaliser
from nextcloud_schema import load_nextcloud_schema, nextcloud_instance
from test_portable_schema import described
from transfer_helpers import DBTYPE, TRICKY, convert_args, target_database, write_sample

PAIRS = [(s, t) for s in ENGINES for t in ENGINES if s != t]
APPS = sorted({*declared.TABLE_APPS.values(), "passwords"} - {"user_ldap", "files_external", "suspicious_login"})
WHEN = datetime.datetime(2025, 1, 31, 23, 59, 58)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample") / "sample.json", passwords=100)


def add_nextcloud_rows(db: Database) -> None:
    """Rows in some of Nextcloud's own tables, every kind of column among them."""
    with db.transaction():
        db.insert_many(
            "appconfig",
            ["appid", "configkey", "configvalue", "type", "lazy"],
            [(app, "installed_version", "1.0.0", 2, 0) for app in ["core", *APPS]]
            + [("core", "tricky", TRICKY, 2, 1), ("theming", "name", None, 4, 0)],
        )
        db.insert_many("storages", ["id", "available", "last_checked"], [("home::alice", 1, 1700000000)])
        db.insert_many("mimetypes", ["mimetype"], [("httpd",), ("text/plain",)])
        db.insert_many(
            "filecache",
            ["storage", "path", "path_hash", "parent", "name", "mimetype", "size", "mtime", "etag", "permissions"],
            [
                (
                    1,
                    f"files/dir {i}/🔐 ünïcode {i}.txt",
                    f"{i:032x}",
                    i - 1,
                    f"🔐 ünïcode {i}.txt",
                    2,
                    2**40 + i,
                    -i,
                    None,
                    27,
                )
                for i in range(1, 60)
            ],
        )
        db.insert_many(
            "activity",
            ["timestamp", "priority", "type", "user", "affecteduser", "app", "subject", "subjectparams", "file"],
            [
                (1700000000 + i, 30, "file_created", None, "alice", "files", "created_self", TRICKY, None)
                for i in range(40)
            ],
        )
        db.insert_many(
            "jobs",
            ["id", "class", "argument", "last_run", "argument_hash", "time_sensitive"],
            [(2**62 + i, f"OCA\\Job\\N{i}", '{"a":"é"}', 0, None, 1) for i in range(5)],
        )
        db.insert_many(
            "share",
            ["share_type", "uid_owner", "item_type", "expiration", "password_by_talk", "attributes"],
            [
                (0, "alice", "file", WHEN, True, '[{"scope":"permissions","value":true}]'),
                (3, "bob", "folder", None, None, None),
            ],
        )
        db.insert_many(
            "taskprocessing_tasks",
            ["type", "input", "status", "completion_expected_at", "progress", "allow_cleanup"],
            [("core:text2text", '{"input":"x"}', 1, WHEN, 0.25, 1), ("core:x", "{}", 0, None, 1e-300, 0)],
        )
        db.insert_many(
            "ex_apps",
            ["appid", "version", "name", "port", "secret", "status", "enabled", "created_time"],
            [("app", "1.0", "App", 8080, "s", '{"deploy": 100, "note": "🔐"}', 1, 2**40)],
        )
        db.insert_many(
            "cards",
            ["addressbookid", "carddata", "uri", "lastmodified", "etag", "size", "uid"],
            [
                (1, b"BEGIN:VCARD\x00\xff\r\n", "a.vcf", 4294967295, "e", 11, "u1"),
                (1, None, "b.vcf", None, None, 0, None),
            ],
        )


@contextlib.contextmanager
def nextcloud_source(engine: str, base: Path, sample: Path) -> Iterator[InstalledInstance]:
    with scratch_database(engine, base / "data") as scratch:
        source = nextcloud_instance(scratch, base)
        with source.connect() as db:
            add_nextcloud_rows(db)
            restore_backup(source.instance, db, sample, RestoreOptions())
        yield source


def all_rows(db: Database) -> dict[str, list[str]]:
    """Every row of every table, in the portable form (so equal across engines), sorted."""
    found = discover(db, db.backend)
    rows: dict[str, list[str]] = {}
    for name, table in found.tables.items():
        copied = transfer_table(table, db.backend.folds_names)
        convert = kind_normaliser(copied.kinds, db.backend.native_booleans)
        with contextlib.closing(db.stream("transfer.table_rows", None, 1000, copied.fragments())) as raw:
            rows[name] = sorted(repr(convert(r) if convert else r) for r in raw)
    return rows


def target_described(scratch: ScratchDb) -> dict[str, Any]:
    with connect(scratch.settings()) as db:
        return described(db)


@pytest.mark.parametrize(("source_engine", "target_engine"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS])
def test_the_whole_instance_moves_with_nextclouds_schema_and_every_row(
    source_engine: str, target_engine: str, sample: Path, tmp_path: Path
) -> None:
    with (
        nextcloud_source(source_engine, tmp_path / "source", sample) as source,
        target_database(target_engine, source, tmp_path / "target") as target,
    ):
        with source.connect() as db:
            expected_rows = all_rows(db)
        assert len(expected_rows) == 143 and len(expected_rows["filecache"]) == 59

        args = [a for a in convert_args(target) if a != "--only-app"]
        result = source.occ(*args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "config.php now points at the new database"

        # config.php points at the target, with the same prefix.
        instance = source.instance
        assert instance.get("dbtype") == DBTYPE[target_engine]
        assert instance.get("dbtableprefix") == "oc_"
        assert instance.connection_settings().dbname == target.settings().dbname

        # The schema is the one Nextcloud makes on the target engine.
        with scratch_database(target_engine, tmp_path / "reference") as ref, ref.connect("oc_") as db:
            load_nextcloud_schema(db)
            reference = described(db)
        got = target_described(target)
        assert sorted(got) == sorted(reference)
        for name in reference:
            assert got[name] == reference[name], name

        # Every row is there, and new rows get ids above the copied ones.
        with source.connect() as db:
            assert all_rows(db) == expected_rows
            with db.transaction():
                db.insert_many("mimetypes", ["mimetype"], [("application/x-new",)])
                ids = [r[0] for r in db.execute_sql(f"SELECT id FROM {db.table('mimetypes')} ORDER BY id").fetchall()]
            assert len(ids) == 3 and ids[2] > ids[1] > ids[0]
            assert db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('appconfig')} WHERE appid = 'ncpasswords'") == 0
        assert source.occ("passwords:backup:create", "after-move").returncode == 0


def test_tables_of_apps_not_installed_need_all_apps(tmp_path: Path) -> None:
    """Only core installed: the apps' tables are listed and need a yes (-n: no) or --all-apps; a
    sequence no column uses (left over by an old Nextcloud) is not carried over."""
    with scratch_database("pgsql", tmp_path / "data") as scratch:
        source = nextcloud_instance(scratch, tmp_path)
        with source.connect() as db:
            with db.transaction():
                db.insert_many(
                    "appconfig", ["appid", "configkey", "configvalue"], [("core", "installed_version", "34")]
                )
            db.execute_sql("CREATE SEQUENCE oc_jobs_id_seq").close()
        config = (source.config_dir / "config.php").read_bytes()
        args = ["db:convert-type", "sqlite3", "", "", "moved"]

        no = source.occ("-n", *args)
        assert no.returncode == 1
        assert no.stderr == "Conversion aborted: the source has tables of apps that are not installed.\n"
        assert "The following tables will not be converted:\n - oc_activity\n - oc_activity_mq\n" in no.stdout
        assert " - oc_passwords_tag_rv\n" in no.stdout and " - oc_filecache\n" not in no.stdout
        assert (source.config_dir / "config.php").read_bytes() == config
        assert not (scratch.data_dir / "moved.db").exists()

        yes = source.occ(*args, input="y\n")
        assert yes.returncode == 0, yes.stderr
        with source.connect() as db:
            tables = {str(r[0]) for r in db.rows("schema.app_tables")}
        assert "oc_filecache" in tables and "oc_activity" not in tables and len(tables) < 143

        (source.config_dir / "config.php").write_bytes(config)  # back to the old database
        everything = source.occ("db:convert-type", "--all-apps", "--clear-schema", "sqlite3", "", "", "moved")
        assert everything.returncode == 0, everything.stderr
        with source.connect() as db:
            assert len(db.rows("schema.app_tables")) == 143


def test_a_failed_write_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch the target refuses half way (in the writer thread on MariaDB): the tables created
    are dropped again, config.php is unchanged, and the error is one line."""
    original = Database.insert_many

    def refuse(self: Database, table: str, columns: Any, rows: Any, batch: int = 5000) -> int:
        if table == "filecache" and self.dialect == "mysql":
            raise RuntimeError("the server refused the batch")
        return original(self, table, columns, rows, batch)

    with scratch_database("sqlite", tmp_path / "data") as scratch:
        source = nextcloud_instance(scratch, tmp_path)
        with source.connect() as db:
            add_nextcloud_rows(db)
        config = (source.config_dir / "config.php").read_bytes()
        with target_database("mysql", source, tmp_path / "target") as target:
            monkeypatch.setattr(Database, "insert_many", refuse)
            failed = source.occ(*[a for a in convert_args(target) if a != "--only-app"])
            monkeypatch.undo()
            assert failed.returncode == 1
            assert failed.stderr == (
                "Conversion failed while copying oc_filecache: the server refused the batch. "
                "The target database was left as it was and config.php is unchanged.\n"
            )
            assert (source.config_dir / "config.php").read_bytes() == config
            with connect(target.settings()) as db:
                assert db.rows("schema.app_tables") == []


def test_clear_schema_on_mariadb_keeps_the_old_tables_until_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MariaDB commits DDL by itself: --clear-schema puts the target's tables aside, renames them
    back when the conversion fails, and drops them once it has committed."""
    original = Database.insert_many

    def refuse(self: Database, table: str, columns: Any, rows: Any, batch: int = 5000) -> int:
        if table == "filecache" and self.dialect == "mysql":
            raise RuntimeError("the server refused the batch")
        return original(self, table, columns, rows, batch)

    with scratch_database("sqlite", tmp_path / "data") as scratch:
        source = nextcloud_instance(scratch, tmp_path)
        with source.connect() as db:
            add_nextcloud_rows(db)
        config = (source.config_dir / "config.php").read_bytes()
        with target_database("mysql", source, tmp_path / "target") as target:
            args = [a for a in convert_args(target) if a != "--only-app"]
            assert source.occ(*args).returncode == 0
            (source.config_dir / "config.php").write_bytes(config)
            with connect(target.settings()) as db:
                db.execute_sql("DELETE FROM oc_filecache WHERE fileid > 10").close()
                before = all_rows(db)

            monkeypatch.setattr(Database, "insert_many", refuse)
            failed = source.occ("db:convert-type", "--clear-schema", *args[1:])
            monkeypatch.undo()
            assert failed.returncode == 1 and "config.php is unchanged" in failed.stderr
            assert (source.config_dir / "config.php").read_bytes() == config
            with connect(target.settings()) as db:
                assert all_rows(db) == before  # the target's own tables, back under their names
                assert len(db.rows("schema.app_tables")) == 143

            done = source.occ("db:convert-type", "--clear-schema", *args[1:])
            assert done.returncode == 0, done.stderr
            with connect(target.settings()) as db:
                assert len(db.rows("schema.app_tables")) == 143  # nothing left aside
                assert len(all_rows(db)["filecache"]) == 59
