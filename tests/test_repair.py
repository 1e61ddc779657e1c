"""The app's database repair step through `occ maintenance:repair` and `passwords:backup:restore
--repair`, on every engine: a database with every kind of broken reference, and the rows after."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from conftest import InstalledInstance
from job_data import BASE_FOLDER, T0, entity, insert, table_rows, uid_of
from ncpasswords.db.connection import Database
from ncpasswords.repair import objects


def seed(db: Database, empty_uuids: bool = True) -> None:
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in (
        "passwords_folder", "passwords_folder_rv", "passwords_password", "passwords_password_rv", "passwords_tag",
        "passwords_tag_rv", "passwords_pw_tag_rel", "passwords_share",
    )}  # fmt: skip

    def folder(name: str, parent: str, revision: str | None = None) -> None:
        rows["passwords_folder"].append(
            entity("passwords_folder", "alice", name, revision=revision or uid_of("alice", f"{name}-rv"))
        )
        if revision is None:
            rows["passwords_folder_rv"].append(
                entity("passwords_folder_rv", "alice", f"{name}-rv", model=uid_of("alice", name), parent=parent)
            )

    folder("f-ok", BASE_FOLDER)
    folder("f-self", uid_of("alice", "f-self"))  # its own parent
    folder("f-lost", uid_of("alice", "nowhere"))  # parent missing
    folder("f-loop1", uid_of("alice", "f-loop2"))  # f-loop1 -> f-loop2 -> f-loop1
    folder("f-loop2", uid_of("alice", "f-loop1"))
    folder("f-stale", BASE_FOLDER, revision=uid_of("alice", "nothing"))  # points to no revision
    rows["passwords_folder_rv"] += [
        entity("passwords_folder_rv", "alice", f"f-stale-rv{n}", model=uid_of("alice", "f-stale"), parent=BASE_FOLDER)
        for n in (1, 2)
    ]
    folder("f-empty", BASE_FOLDER, revision=uid_of("alice", "nothing"))  # no revision at all
    rows["passwords_folder_rv"].append(
        entity("passwords_folder_rv", "alice", "orphan-frv", model=uid_of("alice", "gone"), parent=BASE_FOLDER)
    )

    def password(user: str, name: str, share: str | None = None, **rv: Any) -> None:
        rows["passwords_password"].append(
            entity("passwords_password", user, name, revision=uid_of(user, f"{name}-rv"), shareId=share)
        )
        props = {"folder": uid_of("alice", "f-ok"), "hash": "a" * 40, "status": 0, "statusCode": "GOOD", **rv}
        rows["passwords_password_rv"].append(
            entity("passwords_password_rv", user, f"{name}-rv", model=uid_of(user, name), **props)
        )

    password("alice", "p-ok")
    password("alice", "p-folder", folder=uid_of("alice", "nowhere"), status=1)  # folder gone, GOOD but 1
    password("alice", "p-nohash", hash="")
    password("bob", "copy-gone", share=uid_of("alice", "no-share"))
    password("bob", "copy-ok", share=uid_of("alice", "s-ok"))
    rows["passwords_password_rv"].append(
        entity("passwords_password_rv", "alice", "orphan-prv", model=uid_of("alice", "gone"), hash="b" * 40)
    )
    rows["passwords_tag"].append(entity("passwords_tag", "alice", "tag", revision=uid_of("alice", "tag-rv")))
    rows["passwords_tag_rv"] += [
        entity("passwords_tag_rv", "alice", "tag-rv", model=uid_of("alice", "tag")),
        entity("passwords_tag_rv", "alice", "orphan-trv", model=uid_of("alice", "gone")),
    ]

    def relation(user: str, name: str, tag: str, deleted: bool = False, uuid: str | None = None) -> None:
        row = entity("passwords_pw_tag_rel", user, name, deleted, password=uid_of("alice", "p-ok"), tag=tag)
        if uuid is not None:
            row["uuid"] = uuid
        rows["passwords_pw_tag_rel"].append(row)

    relation("alice", "rel-ok", uid_of("alice", "tag"))
    relation("alice", "rel-lost", uid_of("alice", "no-tag"))  # tag missing
    relation("bob", "rel-foreign", uid_of("alice", "tag"))  # alice's objects, bob's relation
    if empty_uuids:  # a backup cannot hold them
        relation("alice", "rel-nouuid", uid_of("alice", "tag"), uuid="")
        relation("carol", "rel-deleted-nouuid", uid_of("alice", "tag"), deleted=True, uuid="")

    def share(name: str, target: str | None) -> None:
        rows["passwords_share"].append(
            entity(
                "passwords_share",
                "alice",
                name,
                receiver="bob",
                sourcePassword=uid_of("alice", "p-ok"),
                targetPassword=target,
                expires=None,
            )
        )

    share("s-ok", uid_of("bob", "copy-ok"))
    share("s-lost", uid_of("bob", "copy-nowhere"))
    share("s-new", None)
    insert(db, rows)


REPAIR_LINES = [
    " - Repair Passwords Database Objects",
    "     - Checking 2 tag revisions",
    "     - Fixed 1 tag revisions",
    "     - Checking 8 folder revisions",
    "     - Fixed 4 folder revisions",
    "     - Checking 6 password revisions",
    "     - Fixed 3 password revisions",
    "     - Checking 1 tag models",
    "     - Fixed 0 tag models",
    "     - Checking 7 folder models",
    "     - Fixed 2 folder models",
    "     - Checking 5 password models",
    "     - Fixed 1 password models",
    "     - Checking 5 password tag relations",
    "     - Fixed 4 password tag relations",
    "     - Checking 3 shares",
    "     - Fixed 1 shares",
]


def changed(db: Database, table: str, before: int) -> dict[str, dict[str, Any]]:
    """The rows of a table whose `updated` moved (by object name), with the fields the repair sets."""
    names = {
        uid_of(user, name): name
        for user in ("alice", "bob", "carol")
        for name in re.findall(r"[\w-]+", " ".join(NAMES))
    }
    return {names.get(uuid, uuid): row for (_, uuid), row in table_rows(db, table).items() if row["updated"] >= before}


NAMES = [
    "f-ok f-self f-lost f-loop1 f-loop2 f-stale f-empty gone nowhere nothing",
    "f-ok-rv f-self-rv f-lost-rv f-loop1-rv f-loop2-rv f-stale-rv1 f-stale-rv2 orphan-frv",
    "p-ok p-folder p-nohash copy-gone copy-ok p-ok-rv p-folder-rv p-nohash-rv copy-gone-rv copy-ok-rv orphan-prv",
    "tag tag-rv orphan-trv rel-ok rel-lost rel-foreign rel-nouuid rel-deleted-nouuid s-ok s-lost s-new",
]


def expect_repaired(db: Database, before: int) -> None:
    tag_rv = changed(db, "passwords_tag_rv", before)
    assert {k: v["deleted"] for k, v in tag_rv.items()} == {"orphan-trv": True}
    folder_rv = changed(db, "passwords_folder_rv", before)
    assert {k: (v["parent"], v["deleted"]) for k, v in folder_rv.items()} == {
        "f-self-rv": (BASE_FOLDER, False),
        "f-lost-rv": (BASE_FOLDER, False),
        "f-loop1-rv": (BASE_FOLDER, False),  # the first of the loop is cut, f-loop2 then reaches the root
        "orphan-frv": (BASE_FOLDER, True),
    }
    password_rv = changed(db, "passwords_password_rv", before)
    assert {k: (v["folder"], v["status"], v["deleted"]) for k, v in password_rv.items()} == {
        "p-folder-rv": (BASE_FOLDER, 0, False),
        "p-nohash-rv": (uid_of("alice", "f-ok"), 3, False),
        "orphan-prv": (BASE_FOLDER, 0, True),  # its folder did not exist either
    }
    assert changed(db, "passwords_tag", before) == {}
    folders = changed(db, "passwords_folder", before)
    assert {k: (v["revision"], v["deleted"]) for k, v in folders.items()} == {
        "f-stale": (uid_of("alice", "f-stale-rv2"), False),  # the newest of its revisions
        "f-empty": (uid_of("alice", "nothing"), True),
    }
    passwords = changed(db, "passwords_password", before)
    assert {k: v["deleted"] for k, v in passwords.items()} == {"copy-gone": True}
    relations = changed(db, "passwords_pw_tag_rel", before)
    assert {k if k else "": v["deleted"] for k, v in relations.items() if k in NAMES[3]} == {
        "rel-lost": True,
        "rel-foreign": True,
    }
    new_uuids = sorted((v["userId"], v["deleted"]) for k, v in relations.items() if k not in NAMES[3])
    assert new_uuids == [("alice", False), ("carol", True)]
    for k, v in relations.items():
        if k not in NAMES[3]:
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", v["uuid"])
    shares = changed(db, "passwords_share", before)
    assert {k: (v["targetPassword"], v["sourceUpdated"]) for k, v in shares.items()} == {"s-lost": (None, True)}


def test_maintenance_repair_fixes_the_references(installed: InstalledInstance) -> None:
    with installed.connect() as db:
        seed(db)
        untouched = {t: table_rows(db, t) for t in ("passwords_session", "passwords_keychain")}
    before = int(time.time())
    result = installed.occ("maintenance:repair")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == REPAIR_LINES
    with installed.connect() as db:
        expect_repaired(db, before)
        assert {t: table_rows(db, t) for t in untouched} == untouched
        assert all(r["updated"] == T0 for r in table_rows(db, "passwords_password_rv").values() if not r["deleted"]
                   and r["folder"] != BASE_FOLDER and r["status"] != 3)  # fmt: skip
    # A second run deletes the revision of the password deleted in the first (the models are
    # repaired after the revisions, as in the app); then nothing is left to fix.
    again = installed.occ("maintenance:repair").stdout.splitlines()
    assert [line for line in again if line.startswith("     - Fixed") and not line.startswith("     - Fixed 0 ")] == [
        "     - Fixed 1 password revisions"
    ]
    with installed.connect() as db:
        assert table_rows(db, "passwords_password_rv")[("bob", uid_of("bob", "copy-gone-rv"))]["deleted"] is True
    third = installed.occ("maintenance:repair").stdout.splitlines()
    assert [line for line in third if line.startswith("     - Fixed") and not line.startswith("     - Fixed 0 ")] == []


def test_restore_with_repair_runs_it_after_the_restore(installed: InstalledInstance) -> None:
    """A backup holds only active rows with their revisions; what it restores is repaired."""
    with installed.connect() as db:
        seed(db, empty_uuids=False)
    assert installed.occ("passwords:backup:create", "broken").returncode == 0
    result = installed.occ("-n", "passwords:backup:restore", "broken", "--repair")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Afterwards the database repair of maintenance:repair will run." in lines
    repair = lines[lines.index("Restoring backup ... done") + 1 :]
    assert [re.sub(r"\d+", "<n>", line) for line in repair] == [re.sub(r"\d+", "<n>", x) for x in REPAIR_LINES]
    assert "     - Fixed 2 password tag relations" in repair and "     - Fixed 1 shares" in repair
    with installed.connect() as db:
        revision = table_rows(db, "passwords_password_rv")[("alice", uid_of("alice", "p-folder-rv"))]
        assert (revision["folder"], revision["status"]) == (BASE_FOLDER, 0)
        assert table_rows(db, "passwords_share")[("alice", uid_of("alice", "s-lost"))]["targetPassword"] is None
    # Without --repair nothing is repaired.
    plain = installed.occ("-n", "passwords:backup:restore", "broken")
    assert plain.returncode == 0 and "Repair" not in plain.stdout
    with installed.connect() as db:
        revision = table_rows(db, "passwords_password_rv")[("alice", uid_of("alice", "p-folder-rv"))]
        assert (revision["folder"], revision["status"]) == (uid_of("alice", "nowhere"), 1)


def test_small_batches_fix_the_same_rows(installed: InstalledInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(objects, "BATCH", 1)
    with installed.connect() as db:
        seed(db)
        before = int(time.time())
        lines: list[str] = []
        objects.repair_objects(db, lines.append, int(time.time()))
        assert [f"     - {line}" for line in lines] == REPAIR_LINES[1:]
        expect_repaired(db, before)
