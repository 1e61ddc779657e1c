"""`passwords:user:delete` and `passwords:user:move` on every engine: data before/after, prompts, exit
codes, the all-or-nothing transaction and the user-existence rule."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from conftest import InstalledInstance
from job_data import T0, entity, uid_of
from ncpasswords.backup.document import write_document
from ncpasswords.db.connection import Database
from ncpasswords.repositories.config_values import Preferences
from ncpasswords.repositories.entities import TABLES
from ncpasswords.repositories.entity_repository import EntityRepository
from ncpasswords.users import data as user_data
from ncpasswords.users.data import DELETE_USER_JOB

NON_INTERACTIVE = 'Interactive command requires "--no-interaction" to be set to run in non-interactive shell'
Snapshot = dict[str, list[dict[str, Any]]]


def seed(db: Database) -> None:
    """alice (the source), bob and carol with data and shares between them; dave is empty."""
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}

    def add(table: str, user: str, name: str, deleted: bool = False, **props: Any) -> str:
        rows[table].append(entity(table, user, name, deleted, **props))
        return uid_of(user, name)

    for user in ("alice", "bob", "carol"):
        folder = add("passwords_folder", user, "folder", revision=uid_of(user, "folder-rv"))
        add("passwords_folder_rv", user, "folder-rv", model=folder, parent=folder, sseType="SSEv1r2")
        tag = add("passwords_tag", user, "tag", revision=uid_of(user, "tag-rv"))
        add("passwords_tag_rv", user, "tag-rv", model=tag, sseType="SSEv2r1")
        for name in ("p1", "p2"):
            password = add("passwords_password", user, name, revision=uid_of(user, f"{name}-rv"), shareId=None)
            add("passwords_password_rv", user, f"{name}-rv", model=password, folder=folder, sseType="SSEv1r2")
        add("passwords_pw_tag_rel", user, "rel", password=uid_of(user, "p1"), tag=tag)
        add("passwords_keychain", user, "keychain")
        add("passwords_challenge", user, "challenge")
        add("passwords_session", user, "session")
        add("passwords_registration", user, "registration", limit=None)
        # a soft-deleted password with its revision (deleted, not yet purged)
        gone = add("passwords_password", user, "gone", deleted=True, revision=uid_of(user, "gone-rv"), shareId=None)
        add("passwords_password_rv", user, "gone-rv", deleted=True, model=gone, folder=folder)

    def share(owner: str, name: str, receiver: str, source: str, target: str | None, deleted: bool = False) -> None:
        add(
            "passwords_share",
            owner,
            name,
            deleted,
            receiver=receiver,
            sourcePassword=uid_of(owner, source),
            targetPassword=uid_of(receiver, target) if target else None,
            expires=None,
        )
        for row in rows["passwords_password"]:
            if row["userId"] == owner and row["uuid"] == uid_of(owner, source) and not deleted:
                row["hasShares"] = True
        if target:
            add(
                "passwords_password",
                receiver,
                target,
                revision=uid_of(receiver, f"{target}-rv"),
                shareId=uid_of(owner, name),
            )
            add(
                "passwords_password_rv",
                receiver,
                f"{target}-rv",
                model=uid_of(receiver, target),
                folder="00000000-0000-0000-0000-000000000000",
            )

    share("alice", "s-alice-bob", "bob", "p1", "copy-from-alice")
    share("carol", "s-carol-alice", "alice", "p1", "copy-from-carol")
    share("carol", "s-carol-bob", "bob", "p2", "copy-from-carol")
    share("alice", "s-alice-old", "bob", "p2", None, deleted=True)
    share("bob", "s-bob-alice-pending", "alice", "p2", None)
    with db.transaction():
        for table, entities in rows.items():
            EntityRepository(db, table).insert_many(entities)
        prefs = Preferences(db)
        for key, value in {
            "SSEv1UserKey": "alice-user-key",
            "user/challenge/id": uid_of("alice", "challenge"),
            "client/settings": '{"theme":"dark"}',
            "login/attempts/failed": "2",
            "password/generator/strength": "9",
            "mail/shares": "true",
            "session/lifetime": "900",
        }.items():
            prefs.set("alice", key, value)
        prefs.set("bob", "SSEv1UserKey", "bob-user-key")
        prefs.set("bob", "session/lifetime", "1200")


def portable(db: Database, sql: str, params: tuple[Any, ...] = ()) -> None:
    db.execute_sql(sql if db.dialect == "sqlite" else sql.replace("?", "%s"), params).close()


def add_nextcloud_tables(db: Database, users: dict[str, str | None]) -> None:
    """The core tables a real Nextcloud database has: users (database backend) and jobs."""
    portable(
        db,
        "CREATE TABLE oc_users (uid VARCHAR(64) NOT NULL PRIMARY KEY, displayname VARCHAR(64),"
        " password VARCHAR(255) DEFAULT '' NOT NULL, uid_lower VARCHAR(64) DEFAULT '')",
    )
    portable(
        db,
        "CREATE TABLE oc_jobs (id BIGINT NOT NULL PRIMARY KEY, class VARCHAR(255) DEFAULT '' NOT NULL,"
        " argument VARCHAR(4000) DEFAULT '' NOT NULL, last_run INT DEFAULT 0)",
    )
    for uid, name in users.items():
        portable(db, "INSERT INTO oc_users (uid, displayname, uid_lower) VALUES (?, ?, ?)", (uid, name, uid.lower()))
    for job_id, (cls, arg) in enumerate(
        [(DELETE_USER_JOB, '"alice"'), (DELETE_USER_JOB, '"zoe"'), ("OCA\\Other\\Job", '"alice"')], start=1
    ):
        portable(db, "INSERT INTO oc_jobs (id, class, argument) VALUES (?, ?, ?)", (job_id, cls, arg))


def snapshot(db: Database) -> Snapshot:
    """Every row of every app table (soft-deleted included), the passwords preferences, the jobs."""
    out: Snapshot = {}
    with db.transaction(snapshot=True):
        for table in TABLES:
            out[table] = list(EntityRepository(db, table).stream(include_deleted=True))
        out["preferences"] = [
            {"user": u, "key": k, "value": v} for u, values in Preferences(db).all().items() for k, v in values.items()
        ]
        if db.table_exists("jobs"):
            cur = db.execute_sql("SELECT id, class, argument FROM oc_jobs ORDER BY id")
            out["jobs"] = [{"id": r[0], "class": r[1], "argument": r[2]} for r in cur.fetchall()]
            cur.close()
    return out


def prefs_of(snap: Snapshot, user: str) -> dict[str, str]:
    return {p["key"]: p["value"] for p in snap["preferences"] if p["user"] == user}


def by_uuid(snap: Snapshot, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["userId"], r["uuid"]): r for r in snap[table]}


@pytest.fixture
def seeded(installed: InstalledInstance) -> InstalledInstance:
    with installed.connect() as db:
        seed(db)
    return installed


# -- move --------------------------------------------------------------------------------------------------------
def test_move_carries_every_row_and_only_the_source_shares(seeded: InstalledInstance) -> None:
    with seeded.connect() as db:
        before = snapshot(db)
    result = seeded.occ("-n", "passwords:user:move", "alice", "dave")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        '"--no-interaction" is set, will assume yes for all questions.\n\n'
        '❗❗❗ This command will move all data from "alice" to "dave" ❗❗❗\n\n'
        "Moving data ... done\n"
    )
    with seeded.connect() as db:
        after = snapshot(db)
    for table in TABLES:
        old, new = {r["id"]: r for r in before[table]}, {r["id"]: r for r in after[table]}
        if table in ("passwords_session", "passwords_registration"):
            assert set(old) - set(new) == {i for i, r in old.items() if r["userId"] == "alice"}
            assert all(new[i] == r for i, r in old.items() if r["userId"] != "alice")
            continue
        assert set(old) == set(new), table
        for row_id, row in old.items():
            expected = dict(row)
            if row["userId"] == "alice":
                expected["userId"] = "dave"
            if table == "passwords_share" and row["receiver"] == "alice":
                expected["receiver"] = "dave"
            got = new[row_id]
            if expected != row and not row["deleted"]:  # moved active rows are saved: updated bumped
                assert got["updated"] > T0, (table, row)
                expected["updated"] = got["updated"]
            assert got == expected, (table, row)  # soft-deleted rows move too, timestamp kept
    assert not any(r["userId"] == "alice" for t in TABLES for r in after[t])
    dave = prefs_of(after, "dave")
    assert dave["SSEv1UserKey"] == "alice-user-key" and dave["client/settings"] == '{"theme":"dark"}'
    assert dave["user/challenge/id"] == uid_of("alice", "challenge")
    # user settings are re-validated for the target as the reference's setter does
    assert dave["password/generator/strength"] == "1" and dave["mail/shares"] == "1"
    assert dave["session/lifetime"] == "900"
    assert prefs_of(after, "alice") == {"login/attempts/failed": "2"}
    assert prefs_of(after, "bob") == prefs_of(before, "bob")


def normalized_backup(db: Database, secret: str, rename: tuple[str, str] | None = None) -> Any:
    out = io.BytesIO()
    with db.transaction(snapshot=True):
        write_document(db, secret, out)
    doc = json.loads(out.getvalue())

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            result = {}
            for key, item in value.items():
                if key in ("id", "updated"):
                    continue
                if rename and key == rename[0]:
                    key = rename[1]
                if rename and key in ("userId", "receiver") and item == rename[0]:
                    item = rename[1]
                result[key] = walk(item)
            return result
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return {
        k: walk(doc[k])
        for k in ("passwords", "folders", "tags", "shares", "keychains", "challenges", "passwordTagRelations", "keys")
    }


def test_move_backup_before_and_after_match(seeded: InstalledInstance) -> None:
    secret = seeded.instance.server_secret
    with seeded.connect() as db:
        before = normalized_backup(db, secret, ("alice", "dave"))
    assert seeded.occ("-n", "passwords:user:move", "alice", "dave").returncode == 0
    with seeded.connect() as db:
        after = normalized_backup(db, secret)
    assert after == before
    assert "dave" in after["keys"]["users"] and "alice" not in after["keys"]["users"]


def test_move_replaces_existing_target_data_for_good(seeded: InstalledInstance) -> None:
    with seeded.connect() as db:
        before = snapshot(db)
    result = seeded.occ("-n", "passwords:user:move", "alice", "bob")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(
        '❗❗❗ The existing data of "bob" will be deleted permanently ❗❗❗\n\n'
        "Deleting data ... done\nMoving data ... done\n"
    )
    with seeded.connect() as db:
        after = snapshot(db)
    for table in TABLES:
        bobs = [r for r in after[table] if r["userId"] == "bob"]
        alices = [r for r in before[table] if r["userId"] == "alice"]
        if table in ("passwords_session", "passwords_registration"):
            assert bobs == []
        else:  # bob's old rows are gone, soft-deleted ones too; exactly alice's rows are now bob's
            assert sorted(r["uuid"] for r in bobs) == sorted(r["uuid"] for r in alices), table
    assert prefs_of(after, "bob")["SSEv1UserKey"] == "alice-user-key"
    assert "session/lifetime" in prefs_of(after, "bob") and prefs_of(after, "bob")["session/lifetime"] == "900"
    shares = by_uuid(after, "passwords_share")
    # carol's share with bob ended with bob's data; carol's share with alice now reaches bob
    assert shares[("carol", uid_of("carol", "s-carol-bob"))]["deleted"] is True
    assert shares[("carol", uid_of("carol", "s-carol-alice"))]["receiver"] == "bob"
    assert shares[("carol", uid_of("carol", "s-carol-alice"))]["deleted"] is False


@pytest.mark.parametrize("target", ["dave", "bob"])
def test_failure_mid_move_changes_nothing(
    seeded: InstalledInstance, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    with seeded.connect() as db:
        before = snapshot(db)

    def boom(db: Database, source: str, target: str) -> int:
        Preferences(db).set(target, "SSEv1UserKey", "half-done")
        raise RuntimeError("injected failure")

    monkeypatch.setattr(user_data, "move_preferences", boom)
    result = seeded.occ("-n", "passwords:user:move", "alice", target)
    assert result.returncode == 1
    assert result.stderr == "Moving data failed, nothing was changed: injected failure\n"
    assert result.stdout.endswith("Moving data ... failed\n")
    with seeded.connect() as db:
        assert snapshot(db) == before


def test_unique_key_collision_in_target_rolls_back(seeded: InstalledInstance) -> None:
    """The library move on its own (no has-data check): a target row with one of the source's
    uuids collides after challenges and keychains were already moved; everything is rolled back."""
    with seeded.connect() as db:
        with db.transaction():
            EntityRepository(db, "passwords_tag").insert_many(
                [entity("passwords_tag", "dave", "tag", revision="x", uuid=uid_of("alice", "tag"))]
            )
        before = snapshot(db)
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            user_data.move_user_data(db, "alice", "dave")
        assert not db.in_transaction
        assert snapshot(db) == before


# -- delete ------------------------------------------------------------------------------------------------------
def test_delete_soft_deletes_rows_ends_shares_and_removes_settings(seeded: InstalledInstance) -> None:
    with seeded.connect() as db:
        add_nextcloud_tables(db, {"alice": "Alice A.", "bob": None, "carol": "Carol", "dave": "Dave"})
        before = snapshot(db)
    result = seeded.occ("-n", "passwords:user:delete", "alice")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        '"--no-interaction" is set, will assume yes for all questions.\n\n'
        '❗❗❗ This command will delete all data for the passwords app from "Alice A." ❗❗❗\n\n'
        "Deleting passwords app data ... done\n"
    )
    with seeded.connect() as db:
        after = snapshot(db)
    for table in TABLES:
        old, new = {r["id"]: r for r in before[table]}, {r["id"]: r for r in after[table]}
        for row_id, row in old.items():
            if row["userId"] != "alice":
                continue
            if table in ("passwords_session", "passwords_registration"):
                assert row_id not in new
            elif row["deleted"]:
                assert new[row_id] == row  # already soft-deleted: untouched
            else:
                assert new[row_id]["deleted"] is True and new[row_id]["updated"] > T0
                assert {k: v for k, v in new[row_id].items() if k not in ("deleted", "updated", "hasShares")} == {
                    k: v for k, v in row.items() if k not in ("deleted", "updated", "hasShares")
                }
    shares = by_uuid(after, "passwords_share")
    assert shares[("carol", uid_of("carol", "s-carol-alice"))]["deleted"] is True
    assert shares[("bob", uid_of("bob", "s-bob-alice-pending"))]["deleted"] is True
    assert (
        shares[("carol", uid_of("carol", "s-carol-bob"))]
        == by_uuid(before, "passwords_share")[("carol", uid_of("carol", "s-carol-bob"))]
    )
    passwords = by_uuid(after, "passwords_password")
    assert passwords[("carol", uid_of("carol", "p1"))]["hasShares"] is False  # its only share ended
    assert passwords[("carol", uid_of("carol", "p2"))]["hasShares"] is True  # still shared with bob
    assert passwords[("bob", uid_of("bob", "p2"))]["hasShares"] is False
    assert passwords[("alice", uid_of("alice", "p1"))]["hasShares"] is False
    for table in TABLES:  # bob's and carol's own rows are untouched apart from has_shares above
        for row in after[table]:
            if row["userId"] in ("bob", "carol") and table != "passwords_share":
                old_row = by_uuid(before, table)[(row["userId"], row["uuid"])]
                assert {k: v for k, v in row.items() if k not in ("hasShares", "updated")} == {
                    k: v for k, v in old_row.items() if k not in ("hasShares", "updated")
                }
    assert prefs_of(after, "alice") == {}  # user settings too, unlike the reference
    assert prefs_of(after, "bob") == prefs_of(before, "bob")
    assert after["jobs"] == [j for j in before["jobs"] if j["id"] != 1]  # the lock on "alice" is lifted


def test_ids_with_edge_whitespace_are_refused(seeded: InstalledInstance) -> None:
    """Nextcloud never creates such ids, and MariaDB's collation would match `alice ` to `alice`."""
    with seeded.connect() as db:
        before = snapshot(db)
    for args in (
        ["passwords:user:delete", "alice "],
        ["passwords:user:delete", " alice"],
        ["passwords:user:delete", ""],
        ["passwords:user:delete", "\t"],
        ["passwords:user:move", "alice ", "dave"],
        ["passwords:user:move", "dave", "alice "],
        ["passwords:user:move", "alice", " "],
    ):
        result = seeded.occ("-n", *args)
        assert result.returncode == 1, (args, result.stdout)
        assert result.stdout == "" and result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.startswith("Invalid "), result.stderr
    assert seeded.occ("-n", "passwords:user:delete", "alice ").stderr == (
        "Invalid user id 'alice ': a user id cannot begin or end with whitespace\n"
    )
    assert seeded.occ("-n", "passwords:user:move", "alice", "").stderr == (
        "Invalid target user id '': a user id cannot be empty\n"
    )
    with seeded.connect() as db:
        assert snapshot(db) == before


# -- prompts, exit codes, existence rule (SQLite: the logic does not depend on the engine) ------------------------
@pytest.mark.parametrize("engine", ["sqlite"])
def test_interactive_rules_and_exit_codes(seeded: InstalledInstance) -> None:
    with seeded.connect() as db:
        add_nextcloud_tables(db, {"alice": "Alice A.", "bob": None, "carol": "Carol", "dave": "Dave"})
        before = snapshot(db)

    def unchanged() -> bool:
        with seeded.connect() as db:
            return snapshot(db) == before

    for args in (["passwords:user:delete", "alice"], ["passwords:user:move", "alice", "dave"]):
        result = seeded.occ("-q", *args)
        assert (result.returncode, result.stderr, result.stdout) == (107, NON_INTERACTIVE + "\n", "")
    result = seeded.occ("passwords:user:delete", "alice", input="no\n")
    assert result.returncode == 1 and result.stdout.endswith("\naborting\n") and unchanged()
    result = seeded.occ("passwords:user:delete", "nobody", input="no\n")
    assert result.stdout.startswith(
        'Found no user for id "nobody" in database, will continue with provided user id.\n'
        "If you are sure that the user was not deleted and should exist, you might have the wrong id.\n\n"
        '❗❗❗ This command will delete all data for the passwords app from "nobody" ❗❗❗\n'
    )
    result = seeded.occ("passwords:user:move", "nobody", "dave")
    assert (result.returncode, result.stdout) == (1, "The source user does not exist\n")
    result = seeded.occ("passwords:user:move", "alice", "nobody")
    assert (result.returncode, result.stdout) == (1, "The target user does not exist\n")
    result = seeded.occ("passwords:user:move", "alice", "ALICE")
    assert (result.returncode, result.stdout) == (1, "The source user and the target user are the same\n")
    result = seeded.occ("passwords:user:move", "alice", "dave", input="nope\n")
    assert result.returncode == 2 and result.stdout.endswith("aborting\n") and unchanged()
    result = seeded.occ("passwords:user:move", "dave", "alice", input="yes\n")
    assert result.returncode == 3 and result.stdout.endswith('The user "Dave" has no data.\naborting\n')
    result = seeded.occ("passwords:user:move", "alice", "bob", input="yes\nno\n")
    assert result.returncode == 4 and unchanged()
    assert '❗❗❗ The existing data of "bob" will be deleted permanently ❗❗❗' in result.stdout
    # a differently cased id: -n keeps the given id, "change" switches to the account's uid
    result = seeded.occ("-n", "passwords:user:delete", "ALICE")
    assert 'Found user "Alice A." for user id "ALICE" but it has the id "alice" instead' in result.stdout
    assert "ignoring\n" in result.stdout and unchanged()
    result = seeded.occ("passwords:user:delete", "ALICE", input="change\nyes\n")
    assert result.returncode == 0 and "Changed user id to alice\n" in result.stdout
    with seeded.connect() as db:
        assert prefs_of(snapshot(db), "alice") == {}


@pytest.mark.parametrize("engine", ["sqlite"])
def test_every_id_exists_on_a_standalone_instance(seeded: InstalledInstance) -> None:
    result = seeded.occ("-n", "passwords:user:delete", "ghost")
    assert result.returncode == 0 and "Found no user" not in result.stdout
    assert '"ghost"' in result.stdout
    result = seeded.occ("-n", "passwords:user:move", "alice", "somebody-new")
    assert result.returncode == 0, result.stderr
    with seeded.connect() as db:
        assert Preferences(db).get("somebody-new", "SSEv1UserKey") == "alice-user-key"
        assert db.table_exists("users") is False


@pytest.mark.parametrize("engine", ["sqlite"])
def test_accounts_of_other_backends_exist(seeded: InstalledInstance) -> None:
    with seeded.connect() as db:
        add_nextcloud_tables(db, {"alice": "Alice A."})
        portable(db, "CREATE TABLE oc_accounts (uid VARCHAR(64) NOT NULL PRIMARY KEY, data TEXT NOT NULL)")
        portable(
            db,
            "INSERT INTO oc_accounts (uid, data) VALUES (?, ?)",
            ("ldap-dave", json.dumps({"displayname": {"value": "Dave (LDAP)", "scope": "v2-federated"}})),
        )
    result = seeded.occ("-n", "passwords:user:move", "alice", "ldap-dave")
    assert result.returncode == 0, result.stderr
    assert 'from "Alice A." to "Dave (LDAP)"' in result.stdout
    result = seeded.occ("-n", "passwords:user:move", "ldap-dave", "nobody")
    assert (result.returncode, result.stdout.splitlines()[-1]) == (1, "The target user does not exist")
