"""The app's CleanUpEntities and ProcessDeletedUser jobs through `background-job:worker`, on every
engine: the rows they remove or soft-delete, and that ProcessDeletedUser agrees with
`passwords:user:delete`."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conftest import InstalledInstance
from job_data import add_users, entity, insert, job_ids, queue_job, table_rows, uid_of
from ncpasswords.db.connection import Database
from ncpasswords.jobs import cleanup
from ncpasswords.repositories.config_values import AppConfig, Preferences
from ncpasswords.users.data import DELETE_USER_JOB

CLEANUP = "OCA\\Passwords\\Cron\\CleanUpEntities"


def seed_cleanup(db: Database, now: int) -> None:
    """Sessions and registrations around their lifetimes; soft-deleted rows of alice (exists), of
    Carol (exists as `carol`: Nextcloud matches user ids case-insensitively) and of zoe (gone)."""
    rows: dict[str, list[dict[str, Any]]] = {
        "passwords_session": [
            entity("passwords_session", "alice", "s-stale", updated=now - 3600),
            entity("passwords_session", "alice", "s-live", updated=now - 3500),
            entity("passwords_session", "zoe", "s-deleted", deleted=True, updated=now - 9999),
        ],
        "passwords_registration": [
            entity("passwords_registration", "alice", "r-stale", created=now - 150, limit=None),
            entity("passwords_registration", "alice", "r-live", created=now - 100, limit=None),
        ],
        "passwords_password": [],
        "passwords_password_rv": [],
        "passwords_tag": [],
        "passwords_pw_tag_rel": [],
        "passwords_share": [],
        "passwords_keychain": [],
    }
    for user in ("alice", "Carol", "zoe"):
        rows["passwords_password"] += [
            entity("passwords_password", user, "old", deleted=True, updated=now - 1000, shareId=None),
            entity("passwords_password", user, "recent", deleted=True, updated=now - 10, shareId=None),
            entity("passwords_password", user, "live", updated=now - 5000, shareId=None),
        ]
        rows["passwords_password_rv"] += [
            entity("passwords_password_rv", user, "old-rv", deleted=True, updated=now - 1000),
            entity("passwords_password_rv", user, "live-rv", updated=now - 5000),
        ]
        rows["passwords_tag"].append(entity("passwords_tag", user, "tag", deleted=True, updated=now - 1000))
        rows["passwords_pw_tag_rel"].append(entity("passwords_pw_tag_rel", user, "rel", deleted=True, updated=now + 60))
        rows["passwords_share"].append(
            entity("passwords_share", user, "share", deleted=True, updated=now + 60, targetPassword=None, expires=None)
        )
        rows["passwords_keychain"].append(entity("passwords_keychain", user, "keys", deleted=True, updated=now + 60))
    insert(db, rows)


def names(db: Database, table: str) -> set[tuple[str, str]]:
    """(user, object name) of every row left in a table."""
    known = {
        uid_of(user, name): name
        for user in ("alice", "Carol", "zoe")
        for name in (
            "s-stale", "s-live", "s-deleted", "r-stale", "r-live", "old", "recent", "live", "old-rv",
            "live-rv", "tag", "rel", "share", "keys",
        )
    }  # fmt: skip
    return {(user, known[uuid]) for user, uuid in table_rows(db, table)}


def run_cleanup(installed: InstalledInstance) -> list[str]:
    result = installed.occ("background-job:worker", "--once", CLEANUP)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_cleanup_purges_the_deleted_rows_of_users_that_are_gone(nextcloud: InstalledInstance) -> None:
    now = int(time.time())
    with nextcloud.connect() as db:
        add_users(db, "alice", "carol")
        seed_cleanup(db, now)
    assert run_cleanup(nextcloud) == [
        f"Running job {CLEANUP}",
        "Closed and deleted 1 sessions permanently",
        "Deleted 1 registrations permanently",
        "Deleted 7 object(s) permanently",
    ]
    with nextcloud.connect() as db:
        # Only active sessions expire (a soft-deleted one stays, as in the app).
        assert names(db, "passwords_session") == {("alice", "s-live"), ("zoe", "s-deleted")}
        assert names(db, "passwords_registration") == {("alice", "r-live")}
        # entity/purge/timeout is unset (-1): only zoe's soft-deleted rows go, live rows stay.
        assert names(db, "passwords_password") == {
            ("alice", "old"), ("alice", "recent"), ("alice", "live"),
            ("Carol", "old"), ("Carol", "recent"), ("Carol", "live"),
            ("zoe", "live"),
        }  # fmt: skip
        assert names(db, "passwords_password_rv") == {
            ("alice", "old-rv"), ("alice", "live-rv"), ("Carol", "old-rv"), ("Carol", "live-rv"), ("zoe", "live-rv")
        }  # fmt: skip
        for table in ("passwords_tag", "passwords_pw_tag_rel", "passwords_share", "passwords_keychain"):
            assert {user for user, _ in names(db, table)} == {"alice", "Carol"}, table
    # Not due again within 15 minutes.
    assert nextcloud.occ("background-job:worker", "--once", CLEANUP).stdout == ""


@pytest.mark.parametrize(
    ("timeout", "left", "purged"), [("100", {"recent"}, 9), ("0", set(), 12), ("", {"old", "recent"}, 0)]
)
def test_cleanup_purges_by_age_with_a_purge_timeout(
    installed: InstalledInstance, timeout: str, left: set[str], purged: int
) -> None:
    """On a standalone instance every user exists: only the timeout purges, by `updated`."""
    now = int(time.time())
    with installed.connect() as db:
        seed_cleanup(db, now)
        AppConfig(db).set("entity/purge/timeout", timeout)
    lines = run_cleanup(installed)
    with installed.connect() as db:
        deleted = {(u, n) for u, n in names(db, "passwords_password") if n != "live"}
        assert deleted == {(user, name) for user in ("alice", "Carol", "zoe") for name in left}
        assert len(names(db, "passwords_password")) == len(deleted) + 3
        if timeout == "0":  # every row changed before now goes
            assert names(db, "passwords_pw_tag_rel") == {(u, "rel") for u in ("alice", "Carol", "zoe")}
            assert names(db, "passwords_tag") == set() and names(db, "passwords_password_rv") == {
                (u, "live-rv") for u in ("alice", "Carol", "zoe")
            }
    assert lines[3:] == ([f"Deleted {purged} object(s) permanently"] if purged else [])


def seed_user(db: Database) -> None:
    """carol's data: a password with its revision, a tag, a share she made and one she received."""
    insert(
        db,
        {
            "passwords_password": [
                entity("passwords_password", "carol", "pw", revision=uid_of("carol", "pw-rv"), shareId=None),
                entity("passwords_password", "bob", "bob-pw", hasShares=True, shareId=None),
            ],
            "passwords_password_rv": [entity("passwords_password_rv", "carol", "pw-rv", model=uid_of("carol", "pw"))],
            "passwords_tag": [entity("passwords_tag", "carol", "tag")],
            "passwords_share": [
                entity(
                    "passwords_share", "bob", "to-carol", receiver="carol",
                    sourcePassword=uid_of("bob", "bob-pw"), targetPassword=None, expires=None,
                ),
            ],
            "passwords_session": [entity("passwords_session", "carol", "session")],
        },
    )  # fmt: skip
    prefs = Preferences(db)
    for key, value in {"SSEv1UserKey": "key", "password/security/hash": "20", "client/settings": "{}"}.items():
        prefs.set("carol", key, value)


def expect_user_deleted(db: Database, before: int) -> None:
    passwords = table_rows(db, "passwords_password")
    carol = passwords[("carol", uid_of("carol", "pw"))]
    assert carol["deleted"] is True and carol["updated"] >= before and carol["hasShares"] is False
    assert table_rows(db, "passwords_password_rv")[("carol", uid_of("carol", "pw-rv"))]["deleted"] is True
    assert table_rows(db, "passwords_tag")[("carol", uid_of("carol", "tag"))]["deleted"] is True
    share = table_rows(db, "passwords_share")[("bob", uid_of("bob", "to-carol"))]
    assert share["deleted"] is True
    # bob's password has no active share left.
    bob = passwords[("bob", uid_of("bob", "bob-pw"))]
    assert bob["deleted"] is False and bob["hasShares"] is False
    assert table_rows(db, "passwords_session") == {}
    assert Preferences(db).for_user("carol") == {}
    assert job_ids(db) == [2]  # carol's job is gone, zoe's is left


@pytest.mark.parametrize("via", ["job", "command"])
def test_process_deleted_user_agrees_with_user_delete(nextcloud: InstalledInstance, via: str) -> None:
    before = int(time.time())
    with nextcloud.connect() as db:
        seed_user(db)
        queue_job(db, 1, DELETE_USER_JOB, "carol")
        queue_job(db, 2, "OCA\\Other\\Job", "carol")
    if via == "job":
        result = nextcloud.occ("background-job:worker", "--once", DELETE_USER_JOB)
        assert result.stdout.splitlines() == [
            f"Running job {DELETE_USER_JOB} with ID 1",
            "Database of carol deleted due to user deletion",
        ]
    else:
        result = nextcloud.occ("-n", "passwords:user:delete", "carol")
    assert result.returncode == 0, result.stderr
    with nextcloud.connect() as db:
        expect_user_deleted(db, before)
    # The queue is empty now: nothing runs.
    assert nextcloud.occ("background-job:worker", "--once", DELETE_USER_JOB).stdout == ""


def test_a_queued_job_without_a_user_id_is_dropped(nextcloud: InstalledInstance) -> None:
    with nextcloud.connect() as db:
        seed_user(db)
        queue_job(db, 1, DELETE_USER_JOB, None)
        queue_job(db, 2, DELETE_USER_JOB, ["carol"])
        rows = {t: table_rows(db, t) for t in ("passwords_password", "passwords_share")}
    result = nextcloud.occ("background-job:worker", "--once", DELETE_USER_JOB)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Job {DELETE_USER_JOB} with ID 1 failed: Invalid user id argument for {DELETE_USER_JOB}: null",
        f'Job {DELETE_USER_JOB} with ID 2 failed: Invalid user id argument for {DELETE_USER_JOB}: ["carol"]',
    ]
    with nextcloud.connect() as db:
        assert job_ids(db) == []
        assert {t: table_rows(db, t) for t in rows} == rows


def test_lifetimes_count_to_the_second(installed: InstalledInstance) -> None:
    now = 1_700_000_000
    with installed.connect() as db:
        seed_cleanup(db, now + 1)  # s-stale: updated now - 3599, r-stale: created now - 149
        assert cleanup.close_sessions(db, now) == 0 and cleanup.remove_registrations(db, now) == 0
        assert cleanup.close_sessions(db, now + 1) == 1 and cleanup.remove_registrations(db, now + 1) == 1
        assert names(db, "passwords_session") == {("alice", "s-live"), ("zoe", "s-deleted")}
