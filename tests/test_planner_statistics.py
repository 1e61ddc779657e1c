"""A create whose plan does not depend on planner statistics.

A restore or a conversion fills tables the planner knows nothing about yet. PostgreSQL's planner
then chose a nested loop that scanned all of a user's revisions for every model (create took
99 s instead of 3 s for 53,000 rows). Create's queries have one plan on every engine, with or
without statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance
from ncpasswords.backup.restore import DATA_TABLES, RestoreOptions, restore_backup
from ncpasswords.db.connection import Database
from ncpasswords.repositories.entities import MODEL_REVISION_TABLES
from transfer_helpers import write_sample

# The unique (user_id, uuid) index of each model table, through which a revision finds its model.
UNIQUE_INDEX = {"passwords_password": "pw_index_password", "passwords_folder": "pw_index_folder",
                "passwords_tag": "pw_index_tag"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample") / "sample.json")


def rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    cur = db.execute_sql(sql)
    try:
        return [tuple(r) for r in cur.fetchall()]
    finally:
        cur.close()


def plan_problems(db: Database) -> list[str]:
    """How the plans of create's revision-to-model query differ from the fixed one: scan the
    revisions once, look each model up through an index (no join the planner may reorder)."""
    problems = []
    for model, revisions in MODEL_REVISION_TABLES.items():
        sql = db.sql("backup.live_revision_owners", (("TABLE", model), ("REVISIONS", revisions)))
        if db.dialect == "pgsql":
            # LIMIT asks for a fast start, as the server-side cursor that create reads through does.
            for query in (sql, sql + " LIMIT 10"):
                plan = "\n".join(r[0] for r in rows(db, "EXPLAIN " + query))
                if "Join" in plan or "Nested Loop" in plan or "SubPlan" not in plan:
                    problems.append(f"{model}: {plan}")
                elif model == "passwords_password" and f"Seq Scan on {db.table(model)} " in plan:
                    problems.append(f"{model}: {plan}")  # a probe must use an index (uuid or unique)
        elif db.dialect == "mysql":
            plan = rows(db, "EXPLAIN " + sql)
            shape = [(r[2], r[3], r[5]) for r in plan]
            if shape != [("r", "ALL", None), ("m", "eq_ref", UNIQUE_INDEX[model])]:
                problems.append(f"{model}: {plan}")
        else:
            details = [str(r[3]) for r in rows(db, "EXPLAIN QUERY PLAN " + sql)]
            searches = [d for d in details if d.startswith("SEARCH m USING") and "INDEX" in d]
            if not details[0].startswith("SCAN r") or not searches:
                problems.append(f"{model}: {details}")
    return problems


def analyse(db: Database) -> None:
    """What an admin runs by hand: the engine's own ANALYZE of the app's tables."""
    for table in DATA_TABLES:
        statement = f"ANALYZE {'TABLE ' if db.dialect == 'mysql' else ''}{db.table(table)}"
        rows(db, statement) if db.dialect == "mysql" else db.execute_sql(statement).close()


def test_create_plan_is_fixed_with_and_without_statistics(installed: InstalledInstance, sample: Path) -> None:
    instance = installed.instance
    with instance.connect() as db:  # a load that leaves no statistics
        restore_backup(instance, db, sample, RestoreOptions())
    with instance.connect() as db:
        assert plan_problems(db) == []
        analyse(db)
        assert plan_problems(db) == []
