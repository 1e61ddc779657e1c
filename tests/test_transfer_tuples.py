"""The canonical binary tuples behind convert's copy into PostgreSQL and every checksum: each
engine renders the same bytes for the same rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import scratch_database
from ncpasswords.db.connection import Database
from ncpasswords.instance.install import install
from ncpasswords.transfer.tables import TransferTable, app_tables
from ncpasswords.transfer.tuples import encode_row, read_tuples
from transfer_helpers import edge_rows

LATIN1_TEXT = "café ünïcødé «quoted» 'single' \"double\" back\\slash"


def latin1_row(table: TransferTable) -> tuple[object, ...]:
    """A row of the table whose texts all fit into latin1."""
    values: list[object] = []
    for column, kind in zip(table.columns, table.types, strict=True):
        if kind == "bool":
            values.append(column == "hidden")
        elif kind == "int":
            values.append(1 if column == "id" else -5)
        else:
            values.append(LATIN1_TEXT if column == "label" else column[:10])
    return tuple(values)


def tag_rv() -> TransferTable:
    return next(t for t in app_tables() if t.name == "passwords_tag_rv")


def tuples_of(db: Database, table: TransferTable) -> list[bytes]:
    with db.transaction(snapshot=True):
        return sorted(t for chunk in read_tuples(db, table, batch=2) for t in chunk)


@pytest.mark.parametrize("engine", ["pgsql", "mysql", "sqlite"])
def test_every_engine_renders_the_python_encoding(engine: str, tmp_path: Path) -> None:
    """Rows with NULLs, empty and maximum-length strings, quotes, control characters, astral
    characters and big integers come out of each engine as `encode_row` packs them."""
    table = tag_rv()
    rows = edge_rows(table.name, count=6)
    with scratch_database(engine, tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            with db.transaction():
                db.insert_many(table.name, table.columns, rows)
            expected = sorted(encode_row(row, table.widths) for row in rows)
            assert tuples_of(db, table) == expected


def test_a_mysql_table_with_latin1_text_is_read_through_the_driver(tmp_path: Path) -> None:
    """Text stored in another character set is converted, not taken as UTF-8 bytes."""
    table = tag_rv()
    row = latin1_row(table)
    with scratch_database("mysql", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            with db.transaction():
                db.insert_many(table.name, table.columns, [row])
            assert tuples_of(db, table) == [encode_row(row, table.widths)]
            db.execute_sql(f"ALTER TABLE {db.table(table.name)} MODIFY label LONGTEXT "
                           "CHARACTER SET latin1 COLLATE latin1_bin DEFAULT NULL").close()
            assert tuples_of(db, table) == [encode_row(row, table.widths)]
