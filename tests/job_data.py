"""Rows for the background-job tests: complete entities with chosen fields, Nextcloud users and
queued jobs, and the rows of a table read back by (user, uuid)."""

from __future__ import annotations

import hashlib
from typing import Any

from ncpasswords.db.connection import Database
from ncpasswords.php.json import dumps as php_json
from ncpasswords.repositories.entities import TABLES
from ncpasswords.repositories.entity_repository import EntityRepository

T0 = 1_600_000_000
BASE_FOLDER = "00000000-0000-0000-0000-000000000000"


def uid_of(user: str, name: str) -> str:
    """A stable uuid-shaped id per user and object name."""
    digest = hashlib.md5(f"{user}-{name}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def entity(table: str, user: str, name: str, deleted: bool = False, **props: Any) -> dict[str, Any]:
    """A complete row for `table` (every column set, deterministic values), `props` by property name."""
    out: dict[str, Any] = {}
    for col in TABLES[table].columns:
        if col.name == "id":
            continue
        if col.type == "bool":
            out[col.prop] = False
        elif col.type == "int":
            out[col.prop] = T0 if col.name in ("created", "updated", "edited") else 0
        else:
            out[col.prop] = f"{col.name}:{name}"[: col.max_length or 200]
    out.update(userId=user, uuid=uid_of(user, name), deleted=deleted)
    assert set(props) <= set(TABLES[table].by_prop), props
    out.update(props)
    return out


def insert(db: Database, rows: dict[str, list[dict[str, Any]]]) -> None:
    with db.transaction():
        for table, entities in rows.items():
            EntityRepository(db, table).insert_many(entities)


def table_rows(db: Database, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every row of an app table, soft-deleted ones included, by (user id, uuid)."""
    return {(r["userId"], r["uuid"]): r for r in EntityRepository(db, table).stream(include_deleted=True)}


def add_users(db: Database, *uids: str) -> None:
    """Users of Nextcloud's database backend (`<prefix>users`)."""
    with db.transaction():
        db.insert_many("users", ["uid", "displayname", "password", "uid_lower"], [(u, u, "", u.lower()) for u in uids])


def queue_job(db: Database, job_id: int, class_name: str, argument: Any) -> None:
    """A row of Nextcloud's job list as IJobList::add writes it."""
    text = php_json(argument)
    with db.transaction():
        db.insert_many(
            "jobs",
            ["id", "class", "argument", "argument_hash", "last_run", "last_checked", "reserved_at"],
            [(job_id, class_name, text, hashlib.sha256(text.encode()).hexdigest(), 0, T0, 0)],
        )


def job_ids(db: Database) -> list[int]:
    cur = db.execute_sql(f"SELECT id FROM {db.table('jobs')} ORDER BY id")
    try:
        return [int(r[0]) for r in cur.fetchall()]
    finally:
        cur.close()
