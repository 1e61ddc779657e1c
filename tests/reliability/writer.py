"""A busy user for the concurrency tests: inserts, updates and deletes passwords in a loop.

    python writer.py SETTINGS_JSON SECONDS SEED

Every change is one transaction that keeps the app's invariants, as the app's own requests do:
a new password comes with its revision (the password's current one) and a relation to one of the
user's tags; an update adds a revision and makes it current; a delete removes (or soft-deletes) the
password with its revisions and relations. Only passwords this writer created are touched (their
uuids start with WRITER_PREFIX). Prints the number of committed transactions.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ncpasswords.db.connection import ConnectionSettings, Database, connect
from ncpasswords.repositories.entity_repository import EntityRepository

WRITER_PREFIX = "c0ffee00-"
ROOT_FOLDER = "00000000-0000-0000-0000-000000000000"
USERS = ("alice", "bob")


def settings_from(text: str) -> ConnectionSettings:
    raw = json.loads(text)
    raw["sqlite_path"] = Path(raw["sqlite_path"]) if raw.get("sqlite_path") else None
    return ConnectionSettings(**raw)


def settings_to(settings: ConnectionSettings) -> str:
    raw = dict(settings.__dict__)
    raw["sqlite_path"] = str(settings.sqlite_path) if settings.sqlite_path else None
    return json.dumps(raw)


class Writer:
    def __init__(self, db: Database, rng: random.Random) -> None:
        self.db = db
        self.rng = rng
        self.mark = "?" if db.dialect == "sqlite" else "%s"
        self.tags = {
            user: self.rows(
                f"SELECT uuid, revision FROM {db.table('passwords_tag')} WHERE user_id = "
                f"{self.mark} AND deleted = {self.mark}",
                (user, False),
            )
            for user in USERS
        }
        self.passwords = EntityRepository(db, "passwords_password")
        self.revisions = EntityRepository(db, "passwords_password_rv")
        self.relations = EntityRepository(db, "passwords_pw_tag_rel")
        for user in USERS:
            if not self.tags[user]:
                self.tags[user] = [self.new_tag(user)]

    def new_tag(self, user: str) -> tuple[str, str]:
        """A tag with its revision, for a user who has none."""
        now = int(time.time())
        tag, revision = self.new_uuid(), self.new_uuid()
        with self.db.transaction():
            EntityRepository(self.db, "passwords_tag_rv").insert_many(
                [
                    {
                        "uuid": revision,
                        "userId": user,
                        "model": tag,
                        "label": "writer",
                        "color": "#000000",
                        "cseType": "none",
                        "cseKey": "",
                        "sseType": "none",
                        "sseKey": "",
                        "favorite": False,
                        "hidden": False,
                        "trashed": False,
                        "deleted": False,
                        "edited": now,
                        "created": now,
                        "updated": now,
                        "client": "writer",
                    }
                ]
            )
            EntityRepository(self.db, "passwords_tag").insert_many(
                [{"uuid": tag, "userId": user, "revision": revision, "deleted": False, "created": now, "updated": now}]
            )
        return tag, revision

    def rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        cur = self.db.execute_sql(sql, params)
        try:
            return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    def run(self, sql: str, params: tuple[Any, ...]) -> None:
        self.db.execute_sql(sql, params).close()

    def new_uuid(self) -> str:
        return WRITER_PREFIX + str(uuid.UUID(int=self.rng.getrandbits(128)))[9:]

    def revision(self, user: str, model: str, now: int) -> dict[str, Any]:
        return {
            "uuid": self.new_uuid(),
            "userId": user,
            "model": model,
            "folder": ROOT_FOLDER,
            "hidden": False,
            "trashed": False,
            "cseType": "none",
            "cseKey": "",
            "sseType": "none",
            "sseKey": "",
            "username": "u",
            "password": "p" * self.rng.randrange(1, 40),
            "label": f"L{now}",
            "url": "",
            "notes": "",
            "customFields": None,
            "hash": "0" * 40,
            "favorite": False,
            "status": 0,
            "statusCode": "GOOD",
            "deleted": False,
            "edited": now,
            "created": now,
            "updated": now,
            "client": "writer",
        }

    def mine(self, user: str) -> list[str]:
        found = self.rows(
            f"SELECT uuid FROM {self.db.table('passwords_password')} WHERE user_id = {self.mark} "
            f"AND deleted = {self.mark} AND uuid LIKE {self.mark}",
            (user, False, WRITER_PREFIX + "%"),
        )
        return [str(r[0]) for r in found]

    def step(self) -> None:
        user = self.rng.choice(USERS)
        now = int(time.time())
        action = self.rng.choice(["insert", "insert", "update", "update", "delete", "soft-delete"])
        with self.db.transaction():
            existing = self.mine(user) if action != "insert" else []
            if action == "insert" or not existing:
                model = self.new_uuid()
                revision = self.revision(user, model, now)
                self.revisions.insert_many([revision])
                self.passwords.insert_many(
                    [
                        {
                            "uuid": model,
                            "userId": user,
                            "revision": revision["uuid"],
                            "shareId": None,
                            "hasShares": False,
                            "editable": True,
                            "suspended": False,
                            "deleted": False,
                            "created": now,
                            "updated": now,
                        }
                    ]
                )
                tag, tag_revision = self.rng.choice(self.tags[user])
                self.relations.insert_many(
                    [
                        {
                            "uuid": self.new_uuid(),
                            "userId": user,
                            "password": model,
                            "passwordRevision": revision["uuid"],
                            "tag": tag,
                            "tagRevision": tag_revision,
                            "hidden": False,
                            "deleted": False,
                            "created": now,
                            "updated": now,
                            "client": "writer",
                        }
                    ]
                )
                return
            model = self.rng.choice(existing)
            m = self.mark
            if action == "update":
                revision = self.revision(user, model, now)
                self.revisions.insert_many([revision])
                self.run(
                    f"UPDATE {self.db.table('passwords_password')} SET revision = {m}, updated = {m} "
                    f"WHERE user_id = {m} AND uuid = {m}",
                    (revision["uuid"], now, user, model),
                )
            elif action == "delete":
                for table, column in (
                    ("passwords_pw_tag_rel", "password"),
                    ("passwords_password_rv", "model"),
                    ("passwords_password", "uuid"),
                ):
                    self.run(
                        f"DELETE FROM {self.db.table(table)} WHERE user_id = {m} AND {column} = {m}", (user, model)
                    )
            else:
                for table, column in (
                    ("passwords_pw_tag_rel", "password"),
                    ("passwords_password_rv", "model"),
                    ("passwords_password", "uuid"),
                ):
                    self.run(
                        f"UPDATE {self.db.table(table)} SET deleted = {m}, updated = {m} "
                        f"WHERE user_id = {m} AND {column} = {m}",
                        (True, now, user, model),
                    )


def main() -> None:
    settings = settings_from(sys.argv[1])
    seconds = float(sys.argv[2])
    rng = random.Random(int(sys.argv[3]))
    done = 0
    with connect(settings) as db:
        writer = Writer(db, rng)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            writer.step()
            done += 1
    print(done)


if __name__ == "__main__":
    main()
