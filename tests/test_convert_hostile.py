"""Values Nextcloud's own convert chokes on: refused by `occ db:convert-type` before anything is
written, with the table and column named; 4-byte UTF-8 moves to MariaDB as it is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import InstalledInstance, ScratchDb, scratch_database
from ncpasswords.db.connection import Database, connect
from nextcloud_schema import nextcloud_instance
from transfer_helpers import DBTYPE, convert_args, target_database


@contextlib.contextmanager
def nextcloud_pair(source_engine: str, target_engine: str, base: Path) -> Iterator[tuple[InstalledInstance, ScratchDb]]:
    """A Nextcloud-shaped source with core installed, and an empty target."""
    with scratch_database(source_engine, base / "data") as scratch:
        source = nextcloud_instance(scratch, base)
        with source.connect() as db, db.transaction():
            db.insert_many("appconfig", ["appid", "configkey", "configvalue"], [("core", "installed_version", "34")])
        with target_database(target_engine, source, base / "target") as target:
            yield source, target


def whole_instance_args(target: ScratchDb) -> list[str]:
    """The arguments converting every table (apps installed or not) to `target`."""
    return ["--all-apps" if a == "--only-app" else a for a in convert_args(target)]


def tables_in(target: ScratchDb) -> list[str]:
    settings = target.settings()
    if settings.sqlite_path is not None and not settings.sqlite_path.exists():
        return []
    with connect(settings) as db:
        return [str(r[0]) for r in db.rows("schema.app_tables")]


def refused(source: InstalledInstance, target: ScratchDb, expected: str) -> None:
    """The conversion stops with one line naming `expected`, and nothing changed anywhere."""
    config = (source.config_dir / "config.php").read_bytes()
    result = source.occ(*whole_instance_args(target))
    assert result.returncode == 1
    assert result.stderr.startswith("Nothing was converted: ") and result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr, result.stderr
    assert (source.config_dir / "config.php").read_bytes() == config
    assert tables_in(target) == []


def insert(db: Database, table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
    with db.transaction():
        db.insert_many(table, columns, rows)


def test_negative_values_in_unsigned_columns(tmp_path: Path) -> None:
    with nextcloud_pair("pgsql", "mysql", tmp_path) as (source, target):
        with source.connect() as db:
            insert(db, "appconfig", ["appid", "configkey", "configvalue", "type"], [("x", "k", "v", -1)])
        refused(source, target, "oc_appconfig.type: 1 negative values in an unsigned column")


def test_unsigned_values_beyond_the_signed_range(tmp_path: Path) -> None:
    with nextcloud_pair("mysql", "pgsql", tmp_path) as (source, target):
        with source.connect() as db:
            columns = ["appid", "version", "name", "port", "secret", "status", "created_time"]
            insert(db, "ex_apps", columns, [("a", "1", "A", 65535, "s", "{}", 1)])
        refused(source, target, "oc_ex_apps.port: 1 values above 32767, the target's largest")


def test_zero_dates(tmp_path: Path) -> None:
    with nextcloud_pair("mysql", "pgsql", tmp_path) as (source, target):
        with source.connect() as db:
            db.execute_sql("SET SESSION sql_mode = ''").close()
            db.execute_sql(
                "INSERT INTO oc_share (share_type, uid_owner, item_type, expiration) "
                "VALUES (0, 'alice', 'file', '0000-00-00 00:00:00')"
            ).close()
        refused(source, target, "oc_share.expiration: 1 dates with a zero year, month or day")


def test_text_longer_than_the_target_column(tmp_path: Path) -> None:
    with nextcloud_pair("sqlite", "pgsql", tmp_path) as (source, target):
        with source.connect() as db:
            insert(db, "storages", ["id"], [("s" * 65,), ("ok",)])
        refused(source, target, "oc_storages.id: 1 values longer than 64 characters")


def test_keys_that_collide_under_the_target_collation(tmp_path: Path) -> None:
    with nextcloud_pair("pgsql", "mysql", tmp_path) as (source, target):
        with source.connect() as db:
            insert(db, "mimetypes", ["mimetype"], [("text/plain",), ("text/plain  ",), ("Text/plain",)])
        refused(
            source,
            target,
            "oc_mimetypes.mimetype: 1 keys of the unique index mimetype_id_index that collide "
            "when trailing spaces are ignored",
        )


@pytest.mark.parametrize("source_engine", ["sqlite", "pgsql"])
def test_four_byte_utf8_moves_to_mariadb_with_utf8mb4(source_engine: str, tmp_path: Path) -> None:
    text = "clef 𝄞, lock 🔐, 中文"
    with nextcloud_pair(source_engine, "mysql", tmp_path) as (source, target):
        with source.connect() as db:
            insert(db, "appconfig", ["appid", "configkey", "configvalue"], [("core", "astral", text)])
        result = source.occ(*whole_instance_args(target))
        assert result.returncode == 0, result.stderr
        assert source.instance.get("dbtype") == DBTYPE["mysql"]
        assert source.instance.get("mysql.utf8mb4") is True
        with source.connect() as db:
            sql = f"SELECT configvalue FROM {db.table('appconfig')} WHERE configkey = 'astral'"
            assert db.scalar_sql(sql) == text
