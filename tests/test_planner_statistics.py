"""Planner statistics after a load, and a create whose plan does not depend on them.

A restore or a conversion fills tables the planner knows nothing about yet. PostgreSQL's planner
then chose a nested loop that scanned all of a user's revisions for every model (create took
99 s instead of 3 s for 53,000 rows). Create's queries now have one plan on every engine, with or
without statistics, and restore and convert leave the tables they filled analysed on the servers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance, scratch_database
from ncpasswords.backup.restore import RestoreOptions, restore_backup
from ncpasswords.db import bulk
from ncpasswords.db.connection import Database
from ncpasswords.repositories.entities import DATA_TABLES, MODEL_REVISION_TABLES
from transfer_helpers import DBTYPE, source_instance, write_sample

# The unique (user_id, uuid) index of each model table, through which a revision finds its model.
UNIQUE_INDEX = {
    "passwords_password": "pw_index_password",
    "passwords_folder": "pw_index_folder",
    "passwords_tag": "pw_index_tag",
}


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


def test_create_plan_is_fixed_with_and_without_statistics(
    installed: InstalledInstance, sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = installed.instance
    with monkeypatch.context() as patch, instance.connect() as db:
        patch.setattr(bulk, "analyze", lambda *args: None)  # a load that left no statistics
        restore_backup(instance, db, sample, RestoreOptions())
    with instance.connect() as db:
        assert plan_problems(db) == []
        analyse(db)
        assert plan_problems(db) == []


def statistics_problems(db: Database) -> list[str]:
    """Tables whose planner statistics are missing or far from their row count (PostgreSQL
    `reltuples` and column statistics, InnoDB's persistent `n_rows`, estimated from a few pages)."""
    problems = []
    for table in DATA_TABLES:
        count = rows(db, f"SELECT COUNT(*) FROM {db.table(table)}")[0][0]
        if db.dialect == "pgsql":
            known = rows(db, f"SELECT reltuples FROM pg_class WHERE oid = '{db.table(table)}'::regclass")[0][0]
            columns = rows(
                db,
                f"SELECT attname FROM pg_stats WHERE tablename = '{db.table(table)}' AND schemaname = current_schema()",
            )
            if count and ("user_id",) not in columns:  # an index build counts the rows, only ANALYZE does this
                problems.append(f"{table}: no column statistics")
        else:
            known = rows(
                db,
                "SELECT n_rows FROM mysql.innodb_table_stats WHERE database_name = DATABASE() "
                f"AND table_name = '{db.table(table)}'",
            )[0][0]
        if count and not count / 2 <= known <= count * 2:
            problems.append(f"{table}: {count} rows, statistics say {known}")
    return problems


@pytest.mark.parametrize("engine", ["pgsql", "mysql"])
def test_restore_leaves_the_tables_analysed(installed: InstalledInstance, sample: Path) -> None:
    assert installed.occ("passwords:backup:import", str(sample)).returncode == 0
    result = installed.occ("-n", "passwords:backup:restore", "sample")
    assert result.returncode == 0, result.stderr
    with installed.connect() as db:
        assert statistics_problems(db) == []


@pytest.mark.parametrize("target_engine", ["pgsql", "mysql"])
def test_convert_leaves_the_tables_analysed(target_engine: str, sample: Path, tmp_path: Path) -> None:
    with (
        source_instance("sqlite", tmp_path / "source", sample, edge=False) as source,
        scratch_database(target_engine, tmp_path / "target") as target,
    ):
        settings = target.settings()
        args = [
            "db:convert-type",
            "-n",
            "--password",
            settings.password,
            "--port",
            str(settings.port),
            DBTYPE[target_engine],
            settings.user,
            settings.host,
            settings.dbname,
        ]
        result = source.occ(*args)
        assert result.returncode == 0, result.stderr
        with source.connect() as db:  # config.php now points at the target
            assert db.dialect == target_engine
            assert statistics_problems(db) == []
