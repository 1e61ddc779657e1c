"""The receivers' copies of SynchronizeShares on every engine, on a Nextcloud database: a new share
gets the receiver's password and revision (read back by decrypting with the receiver's key), a
changed source updates the copy, the receiver's edit updates the source only for an editable
share, and the notifications land in Nextcloud's notifications table."""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

from conftest import InstalledInstance
from job_data import BASE_FOLDER, T0, entity, insert, table_rows, uid_of
from ncpasswords.crypto.ssev1 import SseKeys, decrypt_revision, encrypt_revision, generate_key
from ncpasswords.db.connection import Database
from ncpasswords.repositories.config_values import AppConfig, Preferences
from ncpasswords.repositories.entity_repository import EntityRepository

SYNC = "OCA\\Passwords\\Cron\\SynchronizeShares"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SERVER_KEY = generate_key()
# bob's key is shorter than the app makes them today: a key a user has is kept, whatever its length.
USER_KEYS = {"alice": generate_key(), "bob": "bobs-older-key16"}
FIELDS = ("label", "username", "password", "url", "notes", "customFields")


def keys(db: Database, secret: str) -> SseKeys:
    values = Preferences(db).all()
    return SseKeys(secret, SERVER_KEY, {u: v["SSEv1UserKey"] for u, v in values.items() if "SSEv1UserKey" in v})


def plain(user: str, name: str, model: str, text: str) -> dict[str, Any]:
    """A decrypted revision of `model` whose fields all read `<field>: <text>`."""
    rev = entity("passwords_password_rv", user, name, model=model, sseType="SSEv1r2", cseType="none", edited=T0)
    rev.update({f: f"{f}: {text}" for f in FIELDS}, folder=uid_of(user, "folder"), favorite=True)
    rev["hash"] = hashlib.sha1(rev["password"].encode()).hexdigest()
    return rev


def add_revision(db: Database, secret: str, user: str, name: str, model: str, text: str, flag: str) -> None:
    """A new current revision of a password, as an edit in the app leaves it: the share whose copy
    it is (`target_updated`) or the shares made of it (`source_updated`) marked."""
    rev = encrypt_revision("password", plain(user, name, model, text), keys(db, secret))
    with db.transaction():
        EntityRepository(db, "passwords_password_rv").insert_many([rev])
        # uuids are hex digits and dashes: safe to write into the statement
        db.execute_sql(f"UPDATE {db.table('passwords_password')} SET revision = '{rev['uuid']}' WHERE uuid = '{model}'")
        column = "target_password" if flag == "target" else "source_password"
        db.execute_sql(f"UPDATE {db.table('passwords_share')} SET {flag}_updated = TRUE WHERE {column} = '{model}'")


def seed(db: Database, secret: str) -> None:
    """alice shares `pw` with bob (editable) and with carl (read only, carl has no key yet and does
    not want share notifications); both shares are new."""
    with db.transaction():
        AppConfig(db).set("SSEv1ServerKey", SERVER_KEY)
        AppConfig(db, "notifications").set("enabled", "yes")
        for user, key in USER_KEYS.items():
            Preferences(db).set(user, "SSEv1UserKey", key)
        Preferences(db).set("carl", "notification/shares", "0")
    source = uid_of("alice", "pw")
    rev = encrypt_revision("password", plain("alice", "pw-rv", source, "first"), keys(db, secret))
    share = dict(receiver="bob", sourcePassword=source, targetPassword=None, expires=None, sourceUpdated=True)
    insert(
        db,
        {
            "passwords_password": [
                entity(
                    "passwords_password",
                    "alice",
                    "pw",
                    revision=rev["uuid"],
                    hasShares=True,
                    shareId=None,
                    editable=True,
                ),
            ],
            "passwords_password_rv": [rev],
            "passwords_share": [
                entity("passwords_share", "alice", "s1", editable=True, shareable=True, **share),
                entity(
                    "passwords_share", "alice", "s2", editable=False, shareable=True, **{**share, "receiver": "carl"}
                ),
            ],
        },
    )


def current(db: Database, secret: str, user: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The user's only active password and its current revision, decrypted."""
    (password,) = [p for p in table_rows(db, "passwords_password").values() if p["userId"] == user and not p["deleted"]]
    (rev,) = [r for (_, u), r in table_rows(db, "passwords_password_rv").items() if u == password["revision"]]
    return password, decrypt_revision("password", rev, keys(db, secret), errors="surrogateescape")


def shares(db: Database) -> dict[str, dict[str, Any]]:
    return {r["receiver"]: r for r in table_rows(db, "passwords_share").values()}


def test_a_new_share_gets_the_receivers_copy(nextcloud: InstalledInstance) -> None:
    secret = nextcloud.instance.server_secret
    before = int(time.time())
    with nextcloud.connect() as db:
        seed(db, secret)
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"Running job {SYNC}", "Created 2 new share(s)"]
    with nextcloud.connect() as db:
        assert len(Preferences(db).get("carl", "SSEv1UserKey") or "") == 1024  # made for the copy
        assert Preferences(db).get("bob", "SSEv1UserKey") == USER_KEYS["bob"]  # kept, not replaced
        by_receiver = shares(db)
        for user, editable in (("bob", True), ("carl", False)):
            password, rev = current(db, secret, user)
            assert UUID.match(password["uuid"]) and UUID.match(rev["uuid"])
            assert password["shareId"] == by_receiver[user]["uuid"]
            assert (password["editable"], password["hasShares"], password["suspended"]) == (editable, False, False)
            assert password["created"] == password["updated"] >= before
            assert {f: rev[f] for f in FIELDS} == {f: f"{f}: first" for f in FIELDS}
            assert rev["hash"] == hashlib.sha1(b"password: first").hexdigest()
            assert (rev["model"], rev["folder"], rev["sseType"], rev["cseType"], rev["cseKey"]) == (
                password["uuid"], BASE_FOLDER, "SSEv1r2", "none", "")  # fmt: skip
            assert (rev["favorite"], rev["hidden"], rev["trashed"], rev["status"], rev["statusCode"]) == (
                False, False, False, 0, "GOOD")  # fmt: skip
            assert rev["edited"] >= before and rev["client"] == "CLIENT::CRON"
            share = by_receiver[user]
            assert (share["targetPassword"], share["sourceUpdated"], share["targetUpdated"]) == (
                password["uuid"], False, False)  # fmt: skip
            assert share["updated"] >= before
        cur = db.execute_sql(
            f"SELECT app, {db.quote('user')}, timestamp, object_type, object_id, subject, subject_parameters, message, "
            f"message_parameters, link, icon, actions FROM {db.table('notifications')}"
        )
        rows = [tuple(r) for r in cur.fetchall()]
        cur.close()
    url = "http://localhost/index.php/apps/passwords/#/shared/0"
    (row,) = rows  # carl turned share notifications off
    assert row[:2] == ("passwords", "bob") and row[2] >= before
    assert row[3:] == (
        "share", "create", "share_create", '{"owners":{"alice":1}}', "", "[]", "",
        "http://localhost/apps/passwords/img/app-dark.svg",
        json.dumps([{"label": "link", "link": url, "type": "WEB", "primary": True}], separators=(",", ":")).replace(
            "/", "\\/"),
    )  # fmt: skip


def test_changes_flow_between_source_and_copies(nextcloud: InstalledInstance) -> None:
    secret = nextcloud.instance.server_secret
    with nextcloud.connect() as db:
        seed(db, secret)
    assert nextcloud.occ("background-job:worker", "--once", SYNC).returncode == 0
    with nextcloud.connect() as db:
        source = uid_of("alice", "pw")
        # alice edits her password: both copies follow.
        add_revision(db, secret, "alice", "pw-rv2", source, "alice's edit", "source")
        copies = {user: current(db, secret, user) for user in ("bob", "carl")}
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.stdout.splitlines() == [f"Running job {SYNC}", "Updated 2 share(s)"], result.stderr
    with nextcloud.connect() as db:
        for user, (old_password, old_rev) in copies.items():
            password, rev = current(db, secret, user)
            assert password["uuid"] == old_password["uuid"] and rev["uuid"] != old_rev["uuid"]
            assert {f: rev[f] for f in FIELDS} == {f: f"{f}: alice's edit" for f in FIELDS}
            assert rev["edited"] == T0 and rev["hash"] == hashlib.sha1(b"password: alice's edit").hexdigest()
            # The copy keeps its own place and marks.
            assert (rev["folder"], rev["favorite"]) == (old_rev["folder"], old_rev["favorite"]) == (BASE_FOLDER, False)
        assert all(not s["sourceUpdated"] and not s["targetUpdated"] for s in shares(db).values())
        # bob (editable share) and carl (read only) edit their copies: only bob's edit reaches alice.
        for user in ("bob", "carl"):
            add_revision(db, secret, user, "edit", current(db, secret, user)[0]["uuid"], f"{user}'s edit", "target")
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.stdout.splitlines() == [f"Running job {SYNC}", "Updated 2 share(s)"], result.stderr
    with nextcloud.connect() as db:
        assert {f: current(db, secret, "alice")[1][f] for f in FIELDS} == {f: f"{f}: bob's edit" for f in FIELDS}
        assert current(db, secret, "alice")[1]["folder"] == uid_of("alice", "folder")
        assert current(db, secret, "carl")[1]["label"] == "label: carl's edit"
        assert all(not s["sourceUpdated"] and not s["targetUpdated"] for s in shares(db).values())
        revisions = [r for r in table_rows(db, "passwords_password_rv").values() if r["userId"] == "alice"]
        assert len(revisions) == 3 and not any(r["deleted"] for r in revisions)


def test_a_share_loop_notifies_the_sharing_user(nextcloud: InstalledInstance) -> None:
    """bob shares `b-pw` with alice, who shares her copy back with bob: a loop."""
    before = int(time.time())
    share = dict(expires=None, sourceUpdated=True, editable=True, shareable=True)
    with nextcloud.connect() as db, db.transaction():
        AppConfig(db, "notifications").set("enabled", "yes")
    with nextcloud.connect() as db:
        insert(
            db,
            {
                "passwords_password": [
                    entity("passwords_password", "bob", "b-pw", hasShares=True, shareId=None),
                    entity("passwords_password", "alice", "copy", hasShares=True, shareId=uid_of("bob", "s1")),
                ],
                "passwords_share": [
                    entity("passwords_share", "bob", "s1", receiver="alice", sourcePassword=uid_of("bob", "b-pw"),
                           targetPassword=uid_of("alice", "copy"), **{**share, "sourceUpdated": False}),
                    entity("passwords_share", "alice", "s2", receiver="bob", sourcePassword=uid_of("alice", "copy"),
                           targetPassword=None, **share),
                ],
            },
        )  # fmt: skip
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.stdout.splitlines() == [
        f"Running job {SYNC}",
        "Deleted 1 share(s) of alice that would have created a loop",
        "Created 1 new share(s)",
    ], result.stderr
    with nextcloud.connect() as db:
        cur = db.execute_sql(
            f"SELECT {db.quote('user')}, timestamp, object_id, subject, subject_parameters, actions "
            f"FROM {db.table('notifications')}"
        )
        rows = [tuple(r) for r in cur.fetchall()]
        cur.close()
    ((user, stamp, object_id, subject, params, actions),) = rows
    assert (user, object_id, subject, params) == ("alice", "loop", "share_loop", '{"passwords":1}')
    assert stamp >= before
    assert json.loads(actions) == [
        {
            "label": "link",
            "link": "http://localhost/index.php/apps/passwords/#/shared/1",
            "type": "WEB",
            "primary": True,
        }
    ]


def set_share(db: Database, name: str, **flags: bool) -> None:
    values = ", ".join(f"{column} = {'TRUE' if value else 'FALSE'}" for column, value in flags.items())
    with db.transaction():
        db.execute_sql(f"UPDATE {db.table('passwords_share')} SET {values} WHERE uuid = '{uid_of('alice', name)}'")


def pass_on_to_carl(nextcloud: InstalledInstance, secret: str) -> str:
    """alice shares `pw` with bob only; bob shares his copy on with carl (editable, shareable) and
    the job makes carl's copy. Returns the uuid of bob's copy."""
    with nextcloud.connect() as db:
        seed(db, secret)
        with db.transaction():
            db.execute_sql(f"DELETE FROM {db.table('passwords_share')} WHERE receiver = 'carl'")
    assert nextcloud.occ("background-job:worker", "--once", SYNC).returncode == 0
    with nextcloud.connect() as db:
        bob_copy = str(current(db, secret, "bob")[0]["uuid"])
        with db.transaction():
            db.execute_sql(f"UPDATE {db.table('passwords_password')} SET has_shares = TRUE WHERE uuid = '{bob_copy}'")
        share = entity("passwords_share", "bob", "s3", receiver="carl", sourcePassword=bob_copy, targetPassword=None,
                       expires=None, sourceUpdated=True, editable=True, shareable=True)  # fmt: skip
        insert(db, {"passwords_share": [share]})
    assert nextcloud.occ("background-job:worker", "--once", SYNC).returncode == 0
    return bob_copy


def test_a_read_only_or_unshareable_share_limits_the_shares_of_its_copy(nextcloud: InstalledInstance) -> None:
    """bob passes his copy of alice's `pw` on to carl (editable); then alice makes her share with
    bob read only, and later not shareable."""
    secret = nextcloud.instance.server_secret
    pid = pass_on_to_carl(nextcloud, secret)
    with nextcloud.connect() as db:
        assert current(db, secret, "carl")[1]["label"] == "label: first"
        set_share(db, "s1", editable=False)
        add_revision(db, secret, "alice", "pw-rv2", uid_of("alice", "pw"), "second", "source")
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    # bob's copy, then carl's (marked by the read-only share)
    assert result.stdout.splitlines() == [f"Running job {SYNC}", "Updated 2 share(s)"], result.stderr
    with nextcloud.connect() as db:
        by_receiver = shares(db)
        assert by_receiver["carl"]["editable"] is False
        for user in ("bob", "carl"):
            password, rev = current(db, secret, user)
            assert password["editable"] is False and rev["label"] == "label: second"
        set_share(db, "s1", shareable=False)
        add_revision(db, secret, "alice", "pw-rv3", uid_of("alice", "pw"), "third", "source")
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.stdout.splitlines() == [
        f"Running job {SYNC}",
        "Deleted 1 orphaned password(s)",
        "Updated 1 share(s)",
    ], result.stderr
    with nextcloud.connect() as db:
        by_receiver = shares(db)
        assert by_receiver["carl"]["deleted"] is True and by_receiver["bob"]["deleted"] is False
        assert current(db, secret, "bob")[1]["label"] == "label: third"
        carl = [p for p in table_rows(db, "passwords_password").values() if p["userId"] == "carl"]
        assert [p["deleted"] for p in carl] == [True]
        assert next(p for p in table_rows(db, "passwords_password").values() if p["uuid"] == pid)["hasShares"] is False


def test_a_copy_of_an_unencrypted_revision_is_encrypted_and_checked(nextcloud: InstalledInstance) -> None:
    """alice's `pw` has a revision without server-side encryption; bob already has a password with
    the same secret (so his copy is a duplicate), carl has not."""
    secret = nextcloud.instance.server_secret
    with nextcloud.connect() as db:
        seed(db, secret)
        with db.transaction():
            db.execute_sql(f"DELETE FROM {db.table('passwords_password_rv')}")
        rev = {**plain("alice", "pw-rv", uid_of("alice", "pw"), "first"), "sseType": "none", "sseKey": ""}
        own = {**plain("bob", "own-rv", uid_of("bob", "own"), "first"), "sseType": "none", "sseKey": ""}
        insert(db, {"passwords_password_rv": [rev, own]})
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.stdout.splitlines() == [f"Running job {SYNC}", "Created 2 new share(s)"], result.stderr
    with nextcloud.connect() as db:
        for user, status in (("bob", (1, "DUPLICATE")), ("carl", (0, "GOOD"))):
            _, copy = current(db, secret, user)
            assert copy["sseType"] == "SSEv1r2" and len(copy["sseKey"]) == 1024
            assert {f: copy[f] for f in FIELDS} == {f: f"{f}: first" for f in FIELDS}
            assert (copy["status"], copy["statusCode"]) == status


def test_a_source_whose_password_reads_0_gets_no_copy(nextcloud: InstalledInstance) -> None:
    """The app's validation takes "0" for an empty field (PHP's empty()): no copy is made."""
    secret = nextcloud.instance.server_secret
    with nextcloud.connect() as db:
        seed(db, secret)
        with db.transaction():
            db.execute_sql(f"DELETE FROM {db.table('passwords_password_rv')}")
        rev = {**plain("alice", "pw-rv", uid_of("alice", "pw"), "first"), "password": "0"}
        insert(db, {"passwords_password_rv": [encrypt_revision("password", rev, keys(db, secret))]})
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.returncode == 0, result.stderr
    assert 'Field "password" can not be empty' in result.stdout + result.stderr
    with nextcloud.connect() as db:
        assert not [p for p in table_rows(db, "passwords_password").values() if p["userId"] != "alice"]
        assert all(s["targetPassword"] is None for s in shares(db).values())


def test_an_unshareable_share_ends_the_shares_of_its_copy_without_errors(nextcloud: InstalledInstance) -> None:
    """bob passes his copy of alice's `pw` on to carl; alice makes her share with bob not
    shareable and edits `pw` while the share with carl is marked as changed too: carl's share
    ends with its copy, and no update of it is tried."""
    secret = nextcloud.instance.server_secret
    pass_on_to_carl(nextcloud, secret)
    with nextcloud.connect() as db:
        set_share(db, "s1", shareable=False)
        with db.transaction():
            db.execute_sql(f"UPDATE {db.table('passwords_share')} SET source_updated = TRUE WHERE receiver = 'carl'")
        add_revision(db, secret, "alice", "pw-rv2", uid_of("alice", "pw"), "second", "source")
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.returncode == 0, result.stderr
    # the app counts both shares it found marked
    assert result.stdout.splitlines() == [
        f"Running job {SYNC}",
        "Deleted 1 orphaned password(s)",
        "Updated 2 share(s)",
    ], result.stderr
    with nextcloud.connect() as db:
        by_receiver = shares(db)
        assert by_receiver["carl"]["deleted"] is True and by_receiver["bob"]["deleted"] is False
        assert current(db, secret, "bob")[1]["label"] == "label: second"


def test_a_source_with_bytes_that_are_not_utf8_is_copied_as_it_is(nextcloud: InstalledInstance) -> None:
    """PHP copies the decrypted bytes whatever they are: notes in Latin-1 reach the copy unchanged."""
    secret = nextcloud.instance.server_secret
    notes = b"caf\xe9".decode("utf-8", "surrogateescape")
    with nextcloud.connect() as db:
        seed(db, secret)
        with db.transaction():
            db.execute_sql(f"DELETE FROM {db.table('passwords_password_rv')}")
        rev = {**plain("alice", "pw-rv", uid_of("alice", "pw"), "first"), "notes": notes}
        insert(db, {"passwords_password_rv": [encrypt_revision("password", rev, keys(db, secret))]})
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.stdout.splitlines() == [f"Running job {SYNC}", "Created 2 new share(s)"], result.stderr
    with nextcloud.connect() as db:
        (password,) = [p for p in table_rows(db, "passwords_password").values() if p["userId"] == "bob"]
        (copy,) = [r for (_, u), r in table_rows(db, "passwords_password_rv").items() if u == password["revision"]]
        copy = decrypt_revision("password", copy, keys(db, secret), errors="surrogateescape")
        assert copy["notes"].encode("utf-8", "surrogateescape") == b"caf\xe9"
        assert copy["label"] == "label: first"


def test_bytes_that_are_not_utf8_do_not_reach_an_unencrypted_copy(nextcloud: InstalledInstance) -> None:
    """bob's copy has a revision without server-side encryption; alice's new notes in Latin-1
    cannot be stored there as text: that update is logged and left, carl's copy is updated."""
    secret = nextcloud.instance.server_secret
    with nextcloud.connect() as db:
        seed(db, secret)
    assert nextcloud.occ("background-job:worker", "--once", SYNC).returncode == 0
    with nextcloud.connect() as db:
        bob_copy = current(db, secret, "bob")[0]["uuid"]
        rev = {**plain("bob", "plain-rv", bob_copy, "first"), "sseType": "none", "sseKey": ""}
        insert(db, {"passwords_password_rv": [rev]})
        with db.transaction():
            table = db.table("passwords_password")
            db.execute_sql(f"UPDATE {table} SET revision = '{rev['uuid']}' WHERE uuid = '{bob_copy}'")
        source = uid_of("alice", "pw")
        new = {**plain("alice", "pw-rv2", source, "second"), "notes": b"caf\xe9".decode("utf-8", "surrogateescape")}
        insert(db, {"passwords_password_rv": [encrypt_revision("password", new, keys(db, secret))]})
        with db.transaction():
            db.execute_sql(f"UPDATE {table} SET revision = '{new['uuid']}' WHERE uuid = '{source}'")
            db.execute_sql(f"UPDATE {db.table('passwords_share')} SET source_updated = TRUE")
    result = nextcloud.occ("background-job:worker", "--once", SYNC)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "Updated 2 share(s)" and len(lines) == 3
    assert lines[1].startswith(f"Could not sync {source} to target {bob_copy} for share ")
    assert lines[1].endswith("can not be saved: a field is not valid UTF-8")
    with nextcloud.connect() as db:
        (bob,) = [p for p in table_rows(db, "passwords_password").values() if p["uuid"] == bob_copy]
        assert bob["revision"] == rev["uuid"]
        assert shares(db)["bob"]["sourceUpdated"] is True
        assert current(db, secret, "carl")[1]["label"] == "label: second"
