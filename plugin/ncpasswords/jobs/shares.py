"""The app's `SynchronizeShares` job: ending the shares whose copy or source is gone or whose time
has come, and the `has_shares` flag of passwords no share names (docs/background-jobs.md#synchronizeshares).

The deletes follow the app's event cascade for one password or share at a time (its tag
relations, revisions, the shares it is the source or the copy of, the source's `has_shares`);
the rows come in batches, so memory stays bounded however many there are.
"""

from __future__ import annotations

from collections.abc import Callable

from ..db.connection import Database
from ..instance.instance import Instance
from ..php.casts import php_intval
from ..repositories.config_values import AppConfig

JOB_CLASS = "OCA\\Passwords\\Cron\\SynchronizeShares"
#: The app sets no interval: the job is due on every cron run.
INTERVAL = 0
#: The app value holding the start of a run in progress; a run starts only when it is unset or
#: more than two hours old.
LOCK_KEY = "cron/sharing/time"
LOCK_TIMEOUT = 2 * 3600
BATCH = 500

Log = Callable[[str], None]


def _rowcount(db: Database, name: str, params: dict[str, object]) -> int:
    cur = db.execute(name, params)
    try:
        return max(int(cur.rowcount), 0)
    finally:
        cur.close()


def delete_share(db: Database, uuid: str, source: str, now: int) -> None:
    """Soft-delete a share; its source loses `has_shares` once no active share of it is left."""
    _rowcount(db, "shares.delete_share", {"uuid": uuid, "now": now})
    _rowcount(db, "shares.unflag_source", {"uuid": source, "now": now})


def delete_password(db: Database, uuid: str, now: int, *, with_shares: bool) -> None:
    """Soft-delete an active password as the app's PasswordService does: its shares (always with
    `with_shares`, else only when it is flagged as shared), tag relations and revisions, and the
    share whose copy it is."""
    found = db.rows("shares.active_password", {"uuid": uuid})
    if not found:
        return
    has_shares, share_id = found[0]
    if with_shares or has_shares:
        _rowcount(db, "shares.delete_shares_of_source", {"uuid": uuid, "now": now})
    _rowcount(db, "shares.delete_relations", {"uuid": uuid, "now": now})
    _rowcount(db, "shares.delete_password", {"uuid": uuid, "now": now})
    _rowcount(db, "shares.delete_revisions", {"uuid": uuid, "now": now})
    if share_id:
        for share, source in db.rows("shares.share_of_target", {"uuid": uuid}):
            delete_share(db, str(share), str(source), now)


def delete_orphaned_copies(db: Database, now: int) -> int:
    """Delete the receivers' copies of shares that were deleted, with the shares made of those
    copies; returns how many copies."""
    total = 0
    while batch := db.rows("shares.orphaned_targets", {"limit": BATCH}):
        for _, uuid, _ in batch:
            delete_password(db, str(uuid), now, with_shares=True)
        total += len(batch)
    return total


def delete_expired_shares(db: Database, now: int) -> int:
    """Delete the shares whose `expires` has come, with the receiver's copy; returns how many."""
    total = 0
    while batch := db.rows("shares.expired_shares", {"now": now, "limit": BATCH}):
        for _, uuid, source, target in batch:
            if target is not None:
                delete_password(db, str(target), now, with_shares=False)
            delete_share(db, str(uuid), str(source), now)
        total += len(batch)
    return total


def remove_shared_attribute(db: Database, now: int) -> int:
    """Clear `has_shares` on passwords that no share row names as its source; returns how many."""
    return _rowcount(db, "shares.remove_shared_attribute", {"now": now})


def _can_start(config: AppConfig, now: int) -> bool:
    started = config.get(LOCK_KEY)
    return (php_intval(started) if started else 0) < now - LOCK_TIMEOUT


def synchronize_shares_job(instance: Instance, db: Database, log: Log, now: float) -> None:
    """The work of the app's SynchronizeShares job, its parts in the app's order, in one
    transaction. It does nothing while another run holds `cron/sharing/time` (at most two hours);
    a run that fails leaves that value set, as the app does."""
    stamp = int(now)
    config = AppConfig(db)
    if not _can_start(config, stamp):
        return
    config.set(LOCK_KEY, str(stamp))
    with db.transaction():
        for part, message in (
            (delete_orphaned_copies, "Deleted {} orphaned password(s)"),
            (delete_expired_shares, "Deleted {} expired share(s)"),
            (remove_shared_attribute, "Removed shared attribute from {} password(s)"),
        ):
            count = part(db, stamp)
            if count:
                log(message.format(count))
        config.delete(LOCK_KEY)
