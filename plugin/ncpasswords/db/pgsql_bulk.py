"""PostgreSQL bulk loads inside one transaction: values stored out of line compressed with LZ4,
and secondary indexes built once after the rows instead of row by row.

Both only change how the server stores what is loaded, never the schema: the indexes are created
again from their own definitions (same names, same columns) in the same transaction, so a
rollback restores them as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

from .connection import Database


def prefer_lz4(db: Database) -> bool:
    """Use LZ4 for TOASTed values for the rest of the transaction, where the server has it."""
    if not int(db.scalar("bulk.lz4_available")):
        return False
    db.execute("bulk.use_lz4").close()
    return True


def drop_secondary_indexes(db: Database, tables: Sequence[str]) -> list[str]:
    """Drop the indexes of app tables (unprefixed names) that back no constraint; returns their
    definitions for `create_indexes`. Call it inside the load's transaction."""
    definitions: list[str] = []
    for table in tables:
        for name, definition in db.rows("bulk.secondary_indexes", {"table": db.table(table)}):
            db.execute_sql(f"DROP INDEX {name}").close()  # a regclass name: quoted where needed
            definitions.append(str(definition))
    return definitions


def create_indexes(db: Database, definitions: Sequence[str]) -> None:
    """Build the indexes `drop_secondary_indexes` dropped."""
    for definition in definitions:
        db.execute_sql(definition).close()


def column_types(db: Database, table: str) -> dict[str, str]:
    """The type name of each column of an app or core table (unprefixed name)."""
    return {str(name): str(kind) for name, kind in db.rows("bulk.column_types", {"table": db.table(table)})}
