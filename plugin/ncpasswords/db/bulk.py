"""The steps of a bulk load inside one transaction (restore, `db:convert-type`), each done as the
engine's backend does it best: before the rows `prepare` (PostgreSQL compresses values stored out
of line with LZ4; secondary indexes are dropped where that cannot block readers), after them
`create_indexes` (the dropped ones, built once instead of row by row) and `analyze` (fresh
planner statistics on the servers).

None of it changes the schema: the indexes are created again from their own definitions (same
names, same columns) in the same transaction, so a rollback restores them as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .connection import Database


def prepare(db: Database, tables: Sequence[str], *, replace_all: bool, new_tables: bool = False) -> list[str]:
    """Make the load into `tables` (unprefixed names) cheaper; returns the definitions of indexes
    dropped, for `create_indexes`. `replace_all`: the load replaces every row of the tables;
    `new_tables`: this transaction created them. Call it inside the load's transaction."""
    return db.backend.prepare_load(db, tables, replace_all=replace_all, new_tables=new_tables)


def create_indexes(db: Database, definitions: Sequence[str]) -> None:
    """Build the indexes `prepare` dropped (or a whole-instance conversion created after the
    rows). Where DDL commits by itself (MySQL) the transaction goes on in a new one after them."""
    for definition in definitions:
        db.execute_sql(definition).close()
    if definitions:
        db.resume_transaction()


def analyze(db: Database, tables: Sequence[str]) -> None:
    """Refresh the planner statistics of tables (unprefixed names) that a load has just filled.
    Call it inside the load's transaction, after the rows (see each backend's `analyze`)."""
    db.backend.analyze(db, tables)


def column_types(db: Database, table: str) -> dict[str, str]:
    """PostgreSQL: the type name of each column of a table (unprefixed name): int8, int4, int2,
    bool, varchar, …"""
    return {str(name): str(kind) for name, kind in db.rows("bulk.column_types", {"table": db.table(table)})}
