"""The app's SynchronizeShares job through `background-job:worker`, on every engine: which shares,
copies, revisions and tag relations it soft-deletes and which passwords lose `has_shares`."""

from __future__ import annotations

import time
from typing import Any

from conftest import InstalledInstance
from job_data import T0, entity, insert, table_rows, uid_of
from ncpasswords.db.connection import Database
from ncpasswords.jobs import shares
from ncpasswords.repositories.config_values import AppConfig

SYNC = "OCA\\Passwords\\Cron\\SynchronizeShares"


def password(user: str, name: str, **props: Any) -> dict[str, Any]:
    props.setdefault("shareId", None)
    return entity("passwords_password", user, name, revision=uid_of(user, f"{name}-rv"), **props)


def revision(user: str, name: str) -> dict[str, Any]:
    return entity("passwords_password_rv", user, f"{name}-rv", model=uid_of(user, name))


def share(user: str, name: str, receiver: str, source: str, target: str | None, **props: Any) -> dict[str, Any]:
    props.setdefault("expires", None)
    return entity(
        "passwords_share", user, name, receiver=receiver, sourcePassword=uid_of(user, source),
        targetPassword=None if target is None else uid_of(receiver, target), **props,
    )  # fmt: skip


REVISIONS = (
    ("alice", "expiring"), ("bob", "copy1"), ("carl", "copy2"), ("alice", "kept"), ("bob", "copy3"), ("bob", "copy4"),
)  # fmt: skip


def seed(db: Database, now: int) -> None:
    """alice shares `expiring` with bob (his copy `copy1`, which bob shares on with carl as
    `copy2`) until a moment ago, and `kept` with bob for longer; her deleted `gone` has a deleted
    share whose copy `copy4` bob still has; `flagged` is marked as shared without any share, and
    `flag-deleted` has only a deleted share."""
    insert(
        db,
        {
            "passwords_password": [
                password("alice", "expiring", hasShares=True),
                password("bob", "copy1", hasShares=True, shareId=uid_of("alice", "s1")),
                password("carl", "copy2", shareId=uid_of("bob", "s2")),
                password("alice", "kept", hasShares=True),
                password("bob", "copy3", shareId=uid_of("alice", "s3")),
                password("alice", "gone", deleted=True),
                password("bob", "copy4", shareId=uid_of("alice", "s4")),
                password("alice", "flagged", hasShares=True),
                password("alice", "flag-deleted", hasShares=True),
            ],
            "passwords_password_rv": [revision(u, n) for u, n in REVISIONS],
            "passwords_pw_tag_rel": [
                entity("passwords_pw_tag_rel", "bob", "rel1", password=uid_of("bob", "copy1")),
                entity("passwords_pw_tag_rel", "bob", "rel3", password=uid_of("bob", "copy3")),
            ],
            "passwords_share": [
                share("alice", "s1", "bob", "expiring", "copy1", expires=now - 10),
                share("bob", "s2", "carl", "copy1", "copy2"),
                share("alice", "s3", "bob", "kept", "copy3", expires=now + 1000),
                share("alice", "s4", "bob", "gone", "copy4", deleted=True),
                share("alice", "s6", "bob", "flag-deleted", None, deleted=True),
            ],
        },
    )


def state(db: Database, table: str) -> dict[str, tuple[bool, ...]]:
    """Per object name: (deleted, changed) and for passwords also has_shares."""
    names = {
        uid_of(user, name): name
        for user in ("alice", "bob", "carl")
        for base in ("expiring", "copy1", "copy2", "kept", "copy3", "gone", "copy4", "flagged", "flag-deleted",
                     "s1", "s2", "s3", "s4", "s6", "rel1", "rel3")
        for name in (base, f"{base}-rv")
    }  # fmt: skip
    out: dict[str, tuple[bool, ...]] = {}
    for (_, uuid), row in table_rows(db, table).items():
        flags = (row["deleted"], row["updated"] != T0)
        out[names[uuid]] = flags + ((row["hasShares"],) if table == "passwords_password" else ())
    return out


def test_expired_and_orphaned_shares_end(installed: InstalledInstance) -> None:
    before = int(time.time())
    with installed.connect() as db:
        seed(db, before)
    result = installed.occ("background-job:worker", "--once", SYNC)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Running job {SYNC}",
        "Deleted 1 orphaned password(s)",
        "Deleted 1 expired share(s)",
        "Removed shared attribute from 1 password(s)",
    ]
    with installed.connect() as db:
        # (deleted, updated changed, has_shares)
        assert state(db, "passwords_password") == {
            "expiring": (False, True, False),  # its last share expired
            "copy1": (True, True, False),  # the expired share's copy, with the share made of it
            "copy2": (False, False, False),  # its share ended in this run: left to the next one
            "kept": (False, False, True),
            "copy3": (False, False, False),
            "gone": (True, False, False),
            "copy4": (True, True, False),  # the copy of a deleted share
            "flagged": (False, True, False),
            "flag-deleted": (False, False, True),  # the app counts deleted share rows too
        }
        assert state(db, "passwords_password_rv") == {
            "expiring-rv": (False, False), "copy1-rv": (True, True), "copy2-rv": (False, False),
            "kept-rv": (False, False), "copy3-rv": (False, False), "copy4-rv": (True, True),
        }  # fmt: skip
        assert state(db, "passwords_pw_tag_rel") == {"rel1": (True, True), "rel3": (False, False)}
        assert state(db, "passwords_share") == {
            "s1": (True, True), "s2": (True, True), "s3": (False, False), "s4": (True, False), "s6": (True, False),
        }  # fmt: skip
        assert all(r["updated"] >= before for r in table_rows(db, "passwords_share").values() if r["updated"] != T0)
        assert AppConfig(db).get(shares.LOCK_KEY) is None
        # The next run deletes carl's copy, whose share ended in the first.
        lines: list[str] = []
        shares.synchronize_shares_job(installed.instance, db, lines.append, before + 1)
        assert lines == ["Deleted 1 orphaned password(s)"]
        assert state(db, "passwords_password")["copy2"] == (True, True, False)
        assert state(db, "passwords_password_rv")["copy2-rv"] == (True, True)


def test_a_run_in_progress_holds_the_job_for_two_hours(installed: InstalledInstance) -> None:
    now = int(time.time())
    with installed.connect() as db:
        seed(db, now)
        AppConfig(db).set(shares.LOCK_KEY, str(now - 7200))
        rows = table_rows(db, "passwords_share")
        lines: list[str] = []
        shares.synchronize_shares_job(installed.instance, db, lines.append, now)
        assert lines == [] and table_rows(db, "passwords_share") == rows
        assert AppConfig(db).get(shares.LOCK_KEY) == str(now - 7200)
        shares.synchronize_shares_job(installed.instance, db, lines.append, now + 1)
        assert "Deleted 1 expired share(s)" in lines
        assert AppConfig(db).get(shares.LOCK_KEY) is None


def test_a_new_share_back_to_an_owner_of_its_chain_is_deleted(installed: InstalledInstance) -> None:
    """bob shares `b-pw` with alice; alice shares her copy back with bob (a loop) and `mine` with
    carl (no loop, but its revision is not SSEv1 encrypted, so no copy can be made yet). Neither
    new share has a copy yet."""
    with installed.connect() as db:
        insert(
            db,
            {
                "passwords_password": [
                    password("bob", "b-pw", hasShares=True),
                    password("alice", "a-copy", hasShares=True, shareId=uid_of("bob", "s7")),
                    password("alice", "mine", hasShares=True),
                ],
                "passwords_password_rv": [{**revision("alice", "mine"), "sseType": "SSEv2r1"}],
                "passwords_share": [
                    share("bob", "s7", "alice", "b-pw", "a-copy"),
                    share("alice", "s8", "bob", "a-copy", None),
                    share("alice", "s9", "carl", "mine", None),
                ],
            },
        )
    result = installed.occ("background-job:worker", "--once", SYNC)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Running job {SYNC}",
        f"Could not create target password from {uid_of('alice', 'mine')} for share {uid_of('alice', 's9')}: "
        f"Revision {uid_of('alice', 'mine-rv')} is encrypted with SSEv2r1, not SSEv1",
        "Deleted 1 share(s) of alice that would have created a loop",
        "Created 2 new share(s)",
    ]
    with installed.connect() as db:
        shares_left = {
            uuid: (r["deleted"], r["updated"] != T0) for (_, uuid), r in table_rows(db, "passwords_share").items()
        }
        assert shares_left == {
            uid_of("bob", "s7"): (False, False),
            uid_of("alice", "s8"): (True, True),
            uid_of("alice", "s9"): (False, False),
        }
        flags = {uuid: r["hasShares"] for (_, uuid), r in table_rows(db, "passwords_password").items()}
        assert flags == {uid_of("bob", "b-pw"): True, uid_of("alice", "a-copy"): False, uid_of("alice", "mine"): True}
