"""Bulk loads inside one transaction (PostgreSQL and SQLite, whose DDL is transactional):
secondary indexes built once after the rows instead of row by row, and on PostgreSQL values
stored out of line compressed with LZ4; on the servers, fresh planner statistics after the load.

Neither changes the schema: the indexes are created again from their own definitions (same
names, same columns) in the same transaction, so a rollback restores them as they were.
"""

from __future__ import annotations

import contextlib
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


def analyze(db: Database, tables: Sequence[str]) -> None:
    """Refresh the planner statistics of tables (unprefixed names) that a load has just filled.
    Call it inside the load's transaction, after the rows.

    PostgreSQL analyses them right there, from a small sample (sql/bulk.pgsql.sql): the
    statistics commit or roll back with the rows, ANALYZE counts the rows its own transaction
    wrote, and autovacuum refines them after the COMMIT. MySQL/MariaDB's ANALYZE TABLE commits by
    itself, so it runs once the transaction has committed; failing there changes nothing (InnoDB
    recalculates its statistics itself some seconds after a load). SQLite keeps statistics only
    when asked and plans these tables well without them: nothing is done.
    """
    if db.dialect == "pgsql":
        db.execute("bulk.sample_for_analyze").close()
        for table in tables:
            db.execute_sql(db.sql("bulk.analyze", (("TABLE", table),))).close()
    elif db.dialect == "mysql":
        statements = [db.sql("bulk.analyze", (("TABLE", table),)) for table in tables]

        def analyze_tables() -> None:
            with contextlib.suppress(Exception):  # statistics only: the load itself has committed
                for statement in statements:
                    cur = db.execute_sql(statement)
                    cur.fetchall()  # ANALYZE TABLE answers with a status row per table
                    cur.close()

        db.after_commit(analyze_tables)
