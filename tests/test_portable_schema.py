"""The portable schema (db/portable.py): Nextcloud's tables read from one engine and written for
another come out exactly as Nextcloud itself creates them there (fixtures/nextcloud-34)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import ENGINES, scratch_database
from ncpasswords.db import declared, portable
from ncpasswords.db.connection import Database
from nextcloud_schema import load_nextcloud_schema

PAIRS = [(s, t) for s in ENGINES for t in ENGINES if s != t]


def described(db: Database) -> dict[str, Any]:
    """Every table as the engine reports it: portable columns and indexes plus the engine's own
    description (declared types, defaults, collations, index definitions, sequences)."""
    tables = db.backend.read_schema(db, db.prefix.replace("_", "\\_") + "%", db.prefix)
    return {name: (t.columns, t.indexes, t.native) for name, t in tables.items()}


def nextcloud_tables(engine: str, base: Path) -> dict[str, portable.Table]:
    with scratch_database(engine, base) as scratch, scratch.connect("oc_") as db:
        load_nextcloud_schema(db)
        tables = db.backend.read_schema(db, "oc\\_%", "oc_")
        return {n: portable.restore_lost_facts(t, db.backend.schema_loses) for n, t in tables.items()}


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS])
def test_a_table_written_for_another_engine_is_the_one_nextcloud_makes_there(
    source: str, target: str, tmp_path: Path
) -> None:
    tables = nextcloud_tables(source, tmp_path / "source")
    assert len(tables) == 143
    with scratch_database(target, tmp_path / "reference") as ref, ref.connect("oc_") as db:
        load_nextcloud_schema(db)
        expected = described(db)
    with scratch_database(target, tmp_path / "target") as scratch, scratch.connect("oc_") as db:
        for table in tables.values():
            for statement in db.backend.create_table_statements(
                db, portable.for_engine(table, db.backend.skipped_indexes)
            ):
                db.execute_sql(statement).close()
        got = described(db)
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name] == expected[name], name


def test_the_declared_facts_are_those_of_nextcloud(tmp_path: Path) -> None:
    """What db/declared.py says other engines lose is what MySQL/MariaDB and PostgreSQL keep."""
    mysql = nextcloud_tables("mysql", tmp_path / "mysql")
    pgsql = nextcloud_tables("pgsql", tmp_path / "pgsql")
    unsigned = {n: tuple(c.name for c in t.columns if c.unsigned) for n, t in mysql.items()}
    assert {n: cols for n, cols in unsigned.items() if cols} == declared.UNSIGNED
    autoincrement = {n for n, t in pgsql.items() if t.autoincrement is not None and t.autoincrement.type == "integer"}
    assert autoincrement == declared.AUTOINCREMENT_INTEGER
    lengths = {(n, i.name): i.lengths for n, t in mysql.items() for i in t.indexes if i.lengths}
    assert lengths == declared.INDEX_LENGTHS
    texts = {(n, c.name): c.length for n, t in mysql.items() for c in t.columns if c.type == "text" and c.length}
    assert texts == declared.TEXT_LENGTHS
    constraints = {(n, i.name.lower()) for n, t in pgsql.items() for i in t.indexes if i.constraint}
    assert constraints == declared.UNIQUE_CONSTRAINTS


def test_unsigned_is_decided_by_table_and_column() -> None:
    assert portable.declared_unsigned("filecache_extended", "fileid")
    assert not portable.declared_unsigned("filecache", "fileid")
    assert not portable.declared_unsigned("some_app_table", "id")  # other apps: Doctrine's default
