"""User ids compare exactly on every engine.

MariaDB's `utf8mb4_bin` collation ignores trailing spaces (`'alice ' = 'alice'`), so a query that
compares a user id with `=` found alice's rows for `alice `: `user:delete 'alice '` soft-deleted
all of alice's passwords. Every query that compares a user id with a value compares bytes, and
still finds the rows through the index on the user id. The commands refuse ids that begin or end
with whitespace (and an empty `restore --user`) before reading anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance
from ncpasswords.backup.restore import RestoreOptions, restore_backup
from ncpasswords.backup.sample import SampleSize, generate
from ncpasswords.backup.storage import write_backup_file
from ncpasswords.db.connection import Database
from ncpasswords.repositories.config_values import Preferences
from ncpasswords.repositories.entities import TABLES
from ncpasswords.repositories.entity_repository import EntityRepository
from ncpasswords.users.accounts import UserDirectory
from ncpasswords.users.data import delete_user_data, has_data, move_user_data

from .corpus import EXAMPLE
from .helpers import COUNTERS, db_state, diff

# alice owns data and settings, bob too and receives alice's share.
PADDED = ("alice ", "alice   ", "bob ")


def execute(db: Database, sql: str, params: tuple[Any, ...] = ()) -> None:
    db.execute_sql(sql if db.dialect == "sqlite" else sql.replace("?", "%s"), params).close()


def restored(installed: InstalledInstance) -> None:
    instance = installed.instance
    with instance.connect() as db:
        restore_backup(instance, db, EXAMPLE, RestoreOptions())
        # Nextcloud's account tables, with alice known to another backend only (accounts).
        execute(
            db,
            "CREATE TABLE oc_users (uid VARCHAR(64) NOT NULL PRIMARY KEY, displayname VARCHAR(64),"
            " uid_lower VARCHAR(64) DEFAULT '')",
        )
        execute(db, "CREATE TABLE oc_accounts (uid VARCHAR(64) NOT NULL PRIMARY KEY, data TEXT NOT NULL)")
        execute(db, "INSERT INTO oc_accounts (uid, data) VALUES (?, ?)", ("alice", '{"displayname":{"value":"A"}}'))


def test_padded_ids_match_nothing_in_the_library(installed: InstalledInstance, engine: str) -> None:
    restored(installed)
    problems: list[str] = []
    with installed.connect() as db:
        before = db_state(db)
        assert has_data(db, "alice") and UserDirectory(db).get("alice") is not None
        for uid in PADDED:
            if has_data(db, uid):
                problems.append(f"{uid!r} has data")
            if UserDirectory(db).get(uid) is not None:
                problems.append(f"{uid!r} found as an account")
            prefs = Preferences(db)
            if prefs.get(uid, "SSEv1UserKey") is not None or prefs.for_user(uid):
                problems.append(f"{uid!r} has preferences")
            for table in TABLES:
                if EntityRepository(db, table).find_by_user(uid):
                    problems.append(f"{uid!r} owns rows of {table}")
            delete_user_data(db, uid)  # soft delete, ends the shares received by uid
            delete_user_data(db, uid, purge=True)
            move_user_data(db, uid, "carol")
            prefs.delete(uid, "SSEv1UserKey")
            prefs.delete_user(uid)
            after = db_state(db)
            if after != before:
                problems.append(f"deleting or moving {uid!r} changed {diff(before, after)}")
                before = after
    COUNTERS.add("user ids: padded ids through the library", engine, len(PADDED) * 9)
    assert not problems, "\n".join(problems)


def test_padded_and_blank_ids_are_refused_by_the_commands(installed: InstalledInstance, engine: str) -> None:
    restored(installed)
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    with installed.connect() as db:
        before = db_state(db)
    tried = 0
    for uid in (*PADDED, "", " ", "\t"):
        for args in (
            ["passwords:user:delete", uid],
            ["passwords:user:move", uid, "carol"],
            ["passwords:user:move", "alice", uid],
            ["passwords:backup:restore", "worked-example-v106", f"--user={uid}"],
            ["passwords:backup:restore", "worked-example-v106", "-u", uid, "--no-data"],
        ):
            result = installed.occ("-n", *args)
            tried += 1
            assert result.returncode == 1 and result.stdout == "", (args, result.stdout)
            assert result.stderr.startswith("Invalid ") and result.stderr.count("\n") == 1, (args, result.stderr)
    with installed.connect() as db:
        assert db_state(db) == before
    COUNTERS.add("user ids: padded or blank ids refused", engine, tried)


@pytest.mark.parametrize("engine", ["mysql"])
def test_exact_comparisons_still_use_the_user_id_indexes(
    installed: InstalledInstance, engine: str, tmp_path: Path
) -> None:
    """A comparison that made MariaDB scan whole tables would be a regression on large instances."""
    sample = tmp_path / "sample.json.gz"
    with write_backup_file(sample) as out:
        generate(out, SampleSize(passwords=2000, revisions=1, users=20))
    instance = installed.instance
    with instance.connect() as db:
        restore_backup(instance, db, sample, RestoreOptions())
        queries: list[tuple[str, tuple[tuple[str, str], ...], dict[str, Any]]] = [
            ("users.has_rows", (("TABLE", "passwords_password_rv"),), {"uid": "alice "}),
            ("users.soft_delete", (("TABLE", "passwords_password_rv"),), {"uid": "alice ", "now": 1}),
            ("users.soft_delete_passwords", (), {"uid": "alice ", "now": 1}),
            ("users.move_rows", (("TABLE", "passwords_password_rv"),), {"source": "alice ", "target": "x", "now": 1}),
            ("entities.delete_by_user", (("TABLE", "passwords_password_rv"),), {"user_id": "alice "}),
            ("entities.by_user", (("TABLE", "passwords_password"), ("COLUMNS", '"id"')), {"user_id": "alice "}),
            ("preferences.get", (), {"userid": "alice ", "appid": "passwords", "configkey": "SSEv1UserKey"}),
            ("preferences.for_user", (), {"userid": "alice ", "appid": "passwords"}),
            (
                "preferences.update",
                (),
                {"userid": "alice ", "appid": "passwords", "configkey": "k", "configvalue": "v"},
            ),
            ("preferences.delete_user", (), {"userid": "alice ", "appid": "passwords"}),
        ]
        unindexed = []
        for name, fragments, params in queries:
            cur = db.execute_sql("EXPLAIN " + db.sql(name, fragments), params)
            plan = cur.fetchall()
            cur.close()
            # The access type of a lookup through an index (not ALL or index, which read all of
            # the table or of an index); a primary key lookup that found no exact match ends as
            # "Impossible WHERE noticed after reading const tables".
            if plan[0][3] not in ("const", "eq_ref", "ref", "range") and "const table" not in str(plan[0][9]):
                unindexed.append(f"{name}: {plan}")
    COUNTERS.add("user ids: exact comparisons explained", engine, len(queries))
    assert not unindexed, "\n".join(unindexed)
