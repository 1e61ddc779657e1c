"""The app's `SynchronizeShares` job: ending the shares whose copy or source is gone, whose time
has come or that would create a loop, and the `has_shares` flag of passwords no share names
(docs/background-jobs.md#synchronizeshares).

The deletes follow the app's event cascade for one password or share at a time (its tag
relations, revisions, the shares it is the source or the copy of, the source's `has_shares`);
the rows come in batches, so memory stays bounded however many there are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..crypto.errors import CryptoError
from ..db.connection import Database
from ..instance.instance import Instance
from ..php.casts import php_intval
from ..repositories.config_values import AppConfig
from . import share_copies, share_notices

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


class AmbiguousUuid(Exception):
    """More than one active row has a uuid the lineage of a share goes through."""


def _one(db: Database, name: str, uuid: str) -> tuple[object, ...] | None:
    """The only active row of a uuid; None when there is none. Two rows fail, as the app's lookup."""
    found = db.rows(name, {"uuid": uuid})
    if len(found) > 1:
        raise AmbiguousUuid(f"More than one active row has the uuid {uuid}")
    return found[0] if found else None


def lineage_reaches(db: Database, source: str, receiver: str) -> bool:
    """Whether the password a share copies, or a password it was itself copied from (up the chain
    of shares), belongs to the share's receiver."""
    seen: set[str] = set()
    while source not in seen:
        seen.add(source)
        password = _one(db, "shares.password_owner", source)
        if password is None:
            return False
        owner, share_id = password
        if owner == receiver:
            return True
        if share_id is None:
            return False
        parent = _one(db, "shares.share_source", str(share_id))
        if parent is None:
            return False
        source = str(parent[0])
    return False


@dataclass
class NewShares:
    """What the creation of copies did: how many new shares it found, the copies made per receiver
    and sharing user, and the loops ended per sharing user."""

    found: int = 0
    created: dict[str, dict[str, int]] = field(default_factory=dict)
    loops: dict[str, int] = field(default_factory=dict)


def create_new_shares(ctx: share_copies.Context) -> NewShares:
    """The app's createNewShares: each new share (no copy yet) whose receiver already owns a
    password of its chain is deleted as a loop; the others get the receiver's copy. A share whose
    source is gone is deleted; one that fails otherwise is logged and left for the next run."""
    db, now, result = ctx.db, ctx.now, NewShares()
    after = 0
    while batch := db.rows("shares.new_shares", {"after": after, "limit": BATCH}):
        after = int(batch[-1][0])
        result.found += len(batch)
        copies: list[share_copies.Copy] = []
        for share_id, uuid, owner, receiver, source, editable in batch:
            try:
                loop = lineage_reaches(db, str(source), str(receiver))
            except AmbiguousUuid as exc:
                ctx.log(f"Could not check share {uuid}: {exc}")
                continue
            if loop:
                delete_share(db, str(uuid), str(source), now)
                result.loops[str(owner)] = result.loops.get(str(owner), 0) + 1
                continue
            try:
                copy = share_copies.prepare_copy(
                    ctx, int(share_id), str(uuid), str(receiver), str(source), bool(editable)
                )
            except (share_copies.ShareError, CryptoError) as exc:
                ctx.log(f"Could not create target password from {source} for share {uuid}: {exc}")
                continue
            if copy is None:
                ctx.log(f"Could not complete share {uuid}, source password {source} does not exist")
                delete_share(db, str(uuid), str(source), now)
                continue
            copies.append(copy)
            owners = result.created.setdefault(str(receiver), {})
            owners[str(owner)] = owners.get(str(owner), 0) + 1
        if copies:
            share_copies.write_copies(ctx, copies)
    return result


def end_shares_of(db: Database, password: str, now: int, log: Log) -> None:
    """A copy whose share may not be shared on loses the shares made of it, and their copies."""
    for share, source in db.rows("shares.shares_of_source", {"uuid": password}):
        delete_share(db, str(share), str(source), now)
    _log_count(log, "Deleted {} orphaned password(s)", delete_orphaned_copies(db, now))


def remove_shared_attribute(db: Database, now: int) -> int:
    """Clear `has_shares` on passwords that no share row names as its source; returns how many."""
    return _rowcount(db, "shares.remove_shared_attribute", {"now": now})


def _log_count(log: Log, message: str, count: int) -> None:
    if count:
        log(message.format(count))


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
        _log_count(log, "Deleted {} orphaned password(s)", delete_orphaned_copies(db, stamp))
        _log_count(log, "Deleted {} expired share(s)", delete_expired_shares(db, stamp))
        ctx = share_copies.Context.load(db, instance.server_secret, instance.appdata_dir, stamp, log)
        new = create_new_shares(ctx)
        for user, amount in new.loops.items():
            log(f"Deleted {amount} share(s) of {user} that would have created a loop")
        _log_count(log, "Created {} new share(s)", new.found)
        _log_count(log, "Removed shared attribute from {} password(s)", remove_shared_attribute(db, stamp))
        updated = share_copies.update_passwords(ctx, lambda password: end_shares_of(db, password, stamp, log))
        _log_count(log, "Updated {} share(s)", updated)
        share_notices.notify(instance, db, new.created, new.loops, stamp)
        config.delete(LOCK_KEY)
