"""Bulk loads inside one transaction (PostgreSQL and SQLite, whose DDL is transactional):
secondary indexes built once after the rows instead of row by row, and on PostgreSQL values
stored out of line compressed with LZ4.

Neither changes the schema: the indexes are created again from their own definitions (same
names, same columns) in the same transaction, so a rollback restores them as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

from .connection import Database


def prefer_lz4(db: Database) -> bool:
    """PostgreSQL: use LZ4 for TOASTed values for the rest of the transaction, where the server
    has it (the columns keep the server's default for later writes)."""
    if not int(db.scalar("bulk.lz4_available")):
        return False
    db.execute("bulk.use_lz4").close()
    return True


def drop_secondary_indexes(db: Database, tables: Sequence[str]) -> list[str]:
    """Drop the indexes of tables (unprefixed names) that back no constraint; returns their
    definitions for `create_indexes`. Call it inside the load's transaction."""
    assert db.dialect in ("pgsql", "sqlite")
    definitions: list[str] = []
    for table in tables:
        for name, definition in db.rows("bulk.secondary_indexes", {"table": db.table(table)}):
            db.execute_sql(f"DROP INDEX {name}").close()  # a name quoted by the engine itself
            definitions.append(str(definition))
    return definitions


def create_indexes(db: Database, definitions: Sequence[str]) -> None:
    """Build the indexes `drop_secondary_indexes` dropped."""
    for definition in definitions:
        db.execute_sql(definition).close()


def column_types(db: Database, table: str) -> dict[str, str]:
    """PostgreSQL: the type name of each column of a table (unprefixed name)."""
    return {str(name): str(kind) for name, kind in db.rows("bulk.column_types", {"table": db.table(table)})}
