"""Deleting and moving one user's Passwords data (docs/internals/commands.md#passwordsuserdelete).

Everything here is SQL over the app tables and `preferences`; each public function runs in one
transaction (joining the caller's, so a command can delete a target and move a source
atomically). The differences from the reference are listed in docs/compatibility.md:

* deleting removes every passwords preference of the user, user settings included;
* shares of other users received by the deleted user are soft-deleted (and their source
  passwords lose `has_shares` once no active share is left), whether or not a copy exists;
* sessions and client registrations (transient login state) are removed, not left behind;
* moving takes the source's soft-deleted rows along, so nothing stays behind under the old id;
* only shares owned by or shared with the source are touched;
* a target's existing data is removed for good (hard delete), as the prompt announces.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..backup.settings import USER_SETTINGS, user_default, user_key, user_value
from ..db.connection import CONFLICT_ATTEMPTS, Database
from ..db.errors import ConflictError
from ..errors import UserError
from ..php.json import dumps as php_json
from ..repositories.config_values import AppConfig, Preferences
from ..repositories.entity_repository import EntityRepository

# Tables holding the user's data, in the reference's deletion order (DeleteUserDataHelper and the
# event cascades it triggers).
DATA_TABLES: tuple[str, ...] = (
    "passwords_challenge",
    "passwords_keychain",
    "passwords_tag",
    "passwords_tag_rv",
    "passwords_folder",
    "passwords_folder_rv",
    "passwords_password",
    "passwords_password_rv",
    "passwords_pw_tag_rel",
    "passwords_share",
)
# Login state that is closed rather than kept or moved.
TRANSIENT_TABLES: tuple[str, ...] = ("passwords_session", "passwords_registration")

# Preferences that mark a user as "having data" and that a move carries over.
HAS_DATA_KEYS: tuple[str, ...] = ("SSEv1UserKey", "user/challenge/id")
MOVED_KEYS: tuple[str, ...] = ("SSEv1UserKey", "client/settings", "user/challenge/id")

DELETE_USER_JOB = "OCA\\Passwords\\Cron\\ProcessDeletedUser"

Step = Callable[[str], None]
"""Told the name of each step of a command as it begins ("Deleting data", "Moving data")."""


@dataclass
class Changes:
    """Rows touched per table (and preferences removed or moved)."""

    rows: dict[str, int] = field(default_factory=dict)
    received_shares: int = 0
    preferences: int = 0

    def add(self, table: str, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + max(count, 0)


def _run(db: Database, name: str, params: dict[str, object], table: str | None = None) -> int:
    fragments = (("TABLE", table),) if table else ()
    cur = db.execute_sql(db.sql(name, fragments), params)
    try:
        return int(cur.rowcount)
    finally:
        cur.close()


def _now(now: int | None) -> int:
    return int(time.time()) if now is None else now


def has_data(db: Database, uid: str) -> bool:
    """Whether a user has Passwords data: the reference's key test, or any row in the app tables.

    The reference only looks at the `SSEv1UserKey` and `user/challenge/id` preferences; rows
    (also soft-deleted ones, which a move carries along) count here too, so a user whose data
    uses only SSEv2 is neither reported empty nor silently merged into.
    """
    prefs = Preferences(db)
    if any(prefs.get(uid, key) is not None for key in HAS_DATA_KEYS):
        return True
    for table in DATA_TABLES:
        cur = db.execute_sql(db.sql("users.has_rows", (("TABLE", table),)), {"uid": uid})
        try:
            if cur.fetchone() is not None:
                return True
        finally:
            cur.close()
    return False


def _end_received_shares(db: Database, uid: str, now: int) -> int:
    """Soft-delete other users' active shares with `uid`; unflag passwords left without shares."""
    sources = db.rows("users.received_share_sources", {"uid": uid})
    count = _run(db, "users.soft_delete_received_shares", {"uid": uid, "now": now})
    for owner, uuid in sources:
        _run(db, "users.clear_has_shares", {"owner": owner, "uuid": uuid, "now": now})
    return count


def delete_user_data(db: Database, uid: str, *, purge: bool = False, now: int | None = None) -> Changes:
    """Delete a user's Passwords data in one transaction.

    Sessions and registrations are removed. The user's rows in the data tables are soft-deleted
    (`deleted` set, `updated` bumped) as the reference does, or with `purge` removed for good,
    soft-deleted ones included. Other users' shares with the user end, and every passwords
    preference of the user (keys, client settings, user settings, counters) is removed.
    """
    stamp = _now(now)
    changes = Changes()
    with db.transaction():
        for table in TRANSIENT_TABLES:
            changes.add(table, EntityRepository(db, table).delete_by_user(uid))
        changes.received_shares = _end_received_shares(db, uid, stamp)
        for table in DATA_TABLES:
            if purge:
                count = EntityRepository(db, table).delete_by_user(uid)
            elif table == "passwords_password":
                count = _run(db, "users.soft_delete_passwords", {"uid": uid, "now": stamp})
            else:
                count = _run(db, "users.soft_delete", {"uid": uid, "now": stamp}, table)
            changes.add(table, count)
        changes.preferences = Preferences(db).delete_user(uid)
    return changes


def remove_delete_user_job(db: Database, uid: str) -> bool:
    """Remove the queued `ProcessDeletedUser` job for `uid` (the "deleted user" lock, see
    docs/internals/commands.md#passwordsuserdelete); False when there is no job list or no such job."""
    if not db.table_exists("jobs"):
        return False
    return _run(db, "users.delete_job", {"class": DELETE_USER_JOB, "argument": php_json(uid)}) > 0


def move_user_data(db: Database, source: str, target: str, *, now: int | None = None) -> Changes:
    """Give all of `source`'s Passwords data to `target` in one transaction.

    Sessions and registrations of the source are closed. Every row of the source in the data
    tables, soft-deleted ones included, gets the target's id (active rows get `updated` bumped);
    shares owned by the source change owner and shares with the source change receiver. The key
    preferences and the user settings that the source set explicitly move to the target. A
    unique-key collision with rows the target already holds aborts the whole move.
    """
    if source == target:
        raise UserError("Target and source user match")
    stamp = _now(now)
    changes = Changes()
    with db.transaction():
        for table in TRANSIENT_TABLES:
            changes.add(table, EntityRepository(db, table).delete_by_user(source))
        params = {"source": source, "target": target, "now": stamp}
        for table in DATA_TABLES:
            changes.add(table, _run(db, "users.move_rows", params, table))
        changes.received_shares = _run(db, "users.move_share_receiver", params)
        changes.preferences = move_preferences(db, source, target)
    return changes


def move_preferences(db: Database, source: str, target: str) -> int:
    """Move the key preferences and the explicitly set user settings; returns how many moved.

    User settings are re-validated and cast for the target as the reference's setter does
    (booleans stored as `0`/`1`, out-of-range numbers replaced by the target's default). Unlike
    the reference, the sharing settings move even when Nextcloud sharing is disabled, instead of
    being dropped from the source without reaching the target.
    """
    prefs = Preferences(db)
    moved = 0
    with db.transaction():
        for key in MOVED_KEYS:
            value = prefs.get(source, key)
            if value is not None:
                prefs.set(target, key, value)
                prefs.delete(source, key)
                moved += 1
        source_values = prefs.for_user(source)
        target_values = prefs.for_user(target)
        app_values = AppConfig(db).all()
        for name in USER_SETTINGS:
            key = user_key(name)
            if key not in source_values:
                continue
            default = user_default(name, app_values, target_values)
            prefs.set(target, key, user_value(name, source_values[key], default))
            prefs.delete(source, key)
            moved += 1
    return moved


@contextmanager
def _all_or_nothing(db: Database, what: str) -> Iterator[None]:
    """One transaction; a database error (e.g. a unique-key collision) becomes one UserError line."""
    try:
        with db.transaction():
            yield
    except (UserError, ConflictError):
        raise  # a lost conflict is run again (Database.retry_conflicts)
    except Exception as exc:  # driver errors: rolled back
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise UserError(f"{what} failed, nothing was changed: {detail}") from exc


def _retried(db: Database, what: str, once: Callable[[], Changes]) -> Changes:
    """`once` (one transaction) run again while it loses conflicts with other nodes' commits."""
    try:
        return db.retry_conflicts(once)
    except ConflictError as exc:
        raise UserError(
            f"{what} failed, nothing was changed: it lost {CONFLICT_ATTEMPTS} times against changes "
            "committed at the same time on another database node"
        ) from exc


def delete_user(db: Database, uid: str, *, now: int | None = None) -> Changes:
    """`passwords:user:delete`: the user's data (`delete_user_data`) and the user's queued
    `ProcessDeletedUser` job, in one transaction; on any error nothing is changed (UserError)."""

    def once() -> Changes:
        with _all_or_nothing(db, "Deleting data"):
            changes = delete_user_data(db, uid, now=now)
            remove_delete_user_job(db, uid)
        return changes

    return _retried(db, "Deleting data", once)


def move_user(
    db: Database, source: str, target: str, *, replace: bool = False, step: Step | None = None, now: int | None = None
) -> Changes:
    """`passwords:user:move`: with `replace` first remove the target's data for good, then give
    the source's data to the target (`move_user_data`), all in one transaction; on any error
    nothing is changed (UserError). `step` is told each step as it begins."""
    begin = step or (lambda _: None)

    def once() -> Changes:
        with _all_or_nothing(db, "Moving data"):
            if replace:
                begin("Deleting data")
                delete_user_data(db, target, purge=True, now=now)
            begin("Moving data")
            return move_user_data(db, source, target, now=now)

    return _retried(db, "Moving data", once)
