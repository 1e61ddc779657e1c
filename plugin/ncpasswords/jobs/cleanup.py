"""The app's `CleanUpEntities` job: expired sessions and client registrations, and the purge of
soft-deleted rows (docs/background-jobs.md#cleanupentities).

Each part is one statement per table instead of the app's row-by-row deletes, so it needs no memory
for the rows it removes.
"""

from __future__ import annotations

from collections.abc import Callable

from ..db.connection import Database
from ..instance.instance import Instance
from ..php.casts import php_intval
from ..repositories.config_values import AppConfig
from ..repositories.entities import DATA_TABLES  # purged in the app's order
from ..users.accounts import UserDirectory

JOB_CLASS = "OCA\\Passwords\\Cron\\CleanUpEntities"
INTERVAL = 15 * 60
#: A session is closed after an hour without use, a registration after 150 seconds.
SESSION_LIFETIME = 3600
REGISTRATION_LIFETIME = 150
#: The app value with the seconds after which soft-deleted rows are purged (-1: only for users
#: that no longer exist).
PURGE_TIMEOUT_KEY = "entity/purge/timeout"


Log = Callable[[str], None]


def _count(db: Database, name: str, params: dict[str, object], table: str | None = None) -> int:
    fragments = (("TABLE", table),) if table else ()
    cur = db.execute_sql(db.sql(name, fragments), params)
    try:
        return max(int(cur.rowcount), 0)
    finally:
        cur.close()


def _deleted_owners(db: Database, table: str) -> list[str]:
    cur = db.execute_sql(db.sql("cleanup.deleted_user_ids", (("TABLE", table),)))
    try:
        return [str(row[0]) for row in cur.fetchall()]
    finally:
        cur.close()


def purge_timeout(db: Database) -> int:
    """`entity/purge/timeout` as the app reads it: -1 when unset or empty, else its intval."""
    raw = AppConfig(db).get(PURGE_TIMEOUT_KEY)
    return -1 if raw is None or raw == "" else php_intval(raw)


def close_sessions(db: Database, now: int) -> int:
    """Remove active sessions unused for an hour; returns how many."""
    with db.transaction():
        return _count(db, "cleanup.expire_sessions", {"before": now - SESSION_LIFETIME})


def remove_registrations(db: Database, now: int) -> int:
    """Remove active client registrations older than 150 seconds; returns how many."""
    with db.transaction():
        return _count(db, "cleanup.expire_registrations", {"before": now - REGISTRATION_LIFETIME})


def purge_deleted(db: Database, now: int) -> int:
    """Remove soft-deleted rows for good: those of users that no longer exist, and with a purge
    timeout of 0 or more those last changed more than that many seconds ago. Returns how many."""
    timeout = purge_timeout(db)
    before = now - timeout if timeout >= 0 else 0
    users = UserDirectory(db)
    known: dict[str, bool] = {}
    total = 0
    with db.transaction():
        for table in DATA_TABLES:
            if before > 0:
                total += _count(db, "cleanup.purge_before", {"before": before}, table)
            if users.standalone:
                continue
            for owner in _deleted_owners(db, table):
                if owner not in known:
                    known[owner] = users.get(owner) is not None
                if not known[owner]:
                    total += _count(db, "cleanup.purge_user", {"uid": owner}, table)
    return total


def cleanup_job(instance: Instance, db: Database, log: Log, now: float) -> None:
    """The work of the app's CleanUpEntities job. Each of its three parts runs on its own, as in
    the app; a part that fails is reported after the others ran."""
    stamp = int(now)
    failed: list[str] = []
    for part, message in (
        (close_sessions, "Closed and deleted {} sessions permanently"),
        (remove_registrations, "Deleted {} registrations permanently"),
        (purge_deleted, "Deleted {} object(s) permanently"),
    ):
        try:
            count = part(db, stamp)
        except Exception as exc:  # the app logs it and goes on with the next part
            failed.append(f"{part.__name__}: {exc}")
            continue
        if count:
            log(message.format(count))
    if failed:
        raise RuntimeError("; ".join(failed))
