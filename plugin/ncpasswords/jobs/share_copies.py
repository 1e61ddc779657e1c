"""The receivers' copies of shared passwords, as the app's SynchronizeShares job makes and updates
them (docs/background-jobs.md#synchronizeshares): a new share gets a password and revision of the
receiver, re-encrypted with SSEv1r2 for the receiver's key; a changed source updates the copy and,
for an editable share, the receiver's edit updates the source.

Each share is one unit of work (decrypt, re-encrypt, a few statements by primary key); the shares
are read in batches by id, so memory stays bounded however many there are.
"""

from __future__ import annotations

import hashlib
import uuid as uuidlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..crypto.errors import CryptoError
from ..crypto.ssev1 import SSE_V1_TYPES, SSE_V1R2, SseKeys, decrypt_revision, encrypt_revision, generate_key
from ..db.connection import Database
from ..php.casts import php_boolval
from ..repositories.config_values import AppConfig, Preferences
from ..repositories.entity_repository import Entity, EntityRepository
from ..security import pwned
from .password_check import BreachedHashes, Rules, _status, user_rules

BASE_FOLDER = "00000000-0000-0000-0000-000000000000"
CLIENT_CRON = "CLIENT::CRON"
CSE_NONE = "none"
SSE_NONE = "none"
#: The app gives up a pass of target or source updates after 32 rounds.
MAX_ROUNDS = 32
BATCH = 500

Log = Callable[[str], None]
#: The fields a copy takes from its source when the source changed (the app's
#: createNewPasswordRevision); `statusCode` is not among them.
SYNCED = (
    "password",
    "username",
    "cseKey",
    "cseType",
    "hash",
    "label",
    "url",
    "notes",
    "customFields",
    "status",
    "edited",
)


class ShareError(Exception):
    """A share the job cannot complete now; it is logged and left for a later run."""


class UserKeys(Mapping[str, str]):
    """`SSEv1UserKey` of each user, read when first needed. A user without a key gets a new one,
    stored as the app's key generation stores it; a key the user has is never replaced, whatever
    its length (the user's data is encrypted with it)."""

    def __init__(self, db: Database) -> None:
        self.prefs = Preferences(db)
        self.cache: dict[str, str] = {}

    def __getitem__(self, user: str) -> str:
        key = self.cache.get(user)
        if key is None:
            key = self.prefs.get(user, "SSEv1UserKey")
            if not key:
                key = generate_key()
                self.prefs.set(user, "SSEv1UserKey", key)
            self.cache[user] = key
        return key

    def __iter__(self) -> Iterator[str]:
        return iter(self.cache)

    def __len__(self) -> int:
        return len(self.cache)


@dataclass
class Context:
    """What the copies need besides the rows: keys, the users' check rules, the local database of
    breached hashes, the time of the run and where the job's lines go."""

    db: Database
    keys: SseKeys
    default_rules: Rules
    rules: dict[str, Rules]
    breached: BreachedHashes
    now: int
    log: Log
    revisions: EntityRepository = field(init=False)

    def __post_init__(self) -> None:
        self.revisions = EntityRepository(self.db, "passwords_password_rv")

    @classmethod
    def load(cls, db: Database, server_secret: str, cache: Any, now: int, log: Log) -> Context:
        keys = SseKeys(server_secret, AppConfig(db).get("SSEv1ServerKey") or "", UserKeys(db))
        default, rules = user_rules(db)
        return cls(db, keys, default, rules, BreachedHashes(cache / pwned.CACHE_FOLDER), now, log)

    def rule(self, user: str) -> Rules:
        return self.rules.get(user, self.default_rules)

    def current_revision(self, password: str) -> Entity | None:
        """The decrypted current revision of an active password; None when there is none."""
        found = self.db.rows("shares.current_revision", {"uuid": password})
        if len(found) > 1:
            raise ShareError(f"More than one current revision for password {password}")
        if not found:
            return None
        revision = self.revisions.entity(tuple(found[0]))
        if revision["sseType"] == SSE_NONE:
            return revision
        if revision["sseType"] not in SSE_V1_TYPES:
            raise ShareError(f"Revision {revision['uuid']} is encrypted with {revision['sseType']}, not SSEv1")
        try:
            # PHP copies the bytes as they are, also when they are not UTF-8
            return decrypt_revision("password", revision, self.keys, errors="surrogateescape")
        except CryptoError as exc:
            raise ShareError(f"Revision {revision['uuid']} can not be decrypted: {exc}") from None

    def cut_hash(self, user: str, value: str) -> str:
        """BeforePasswordRevisionSavedEventListener: the hash cut to the user's hash length."""
        length = self.rule(user).hash_length
        if length == 0:
            return ""
        return value[:length] if len(value) > length else value

    def check(self, revision: Entity) -> tuple[int, str]:
        """The app's security check of one revision, with the owner's rules and the local database."""
        duplicate = bool(
            revision["hash"]
            and self.rule(revision["userId"]).duplicates
            and self.db.scalar(
                "shares.has_duplicate",
                {"hash": revision["hash"], "model": revision["model"], "user": revision["userId"]},
            )
        )
        return _status(
            revision["hash"], revision["edited"], self.rule(revision["userId"]), self.breached, duplicate, self.now
        )

    def insert_revision(self, revision: Entity) -> Entity:
        """Encrypt a decrypted revision for its user under a new key (not one without server-side
        encryption) and insert it."""
        if revision["sseType"] != SSE_NONE:
            encrypted = encrypt_revision("password", revision, self.keys)
        elif any(isinstance(v, str) and not v.isascii() and _not_utf8(v) for v in revision.values()):
            # the database takes only UTF-8 text (the app's save fails there as well)
            raise ShareError(f"Revision {revision['uuid']} can not be saved: a field is not valid UTF-8")
        else:
            encrypted = revision
        self.revisions.insert_many([encrypted])
        return encrypted


def _not_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _execute(db: Database, name: str, params: dict[str, object]) -> None:
    db.execute(name, params).close()


def new_uuid() -> str:
    return str(uuidlib.uuid4())


@dataclass
class Copy:
    """A receiver's copy for a new share, not yet written: its revision (decrypted, without a
    status) and its password."""

    share_id: int
    revision: Entity
    password: Entity


def prepare_copy(
    ctx: Context, share_id: int, share_uuid: str, receiver: str, source: str, editable: bool
) -> Copy | None:
    """The receiver's password and revision for a new share; None when the source is gone (the
    share is then deleted, as the app does)."""
    original = ctx.current_revision(source)
    if original is None:
        return None
    if (original["cseType"] or CSE_NONE) != CSE_NONE:
        # The app's validation wants the client-side key it leaves empty (and a challenge): such a
        # share never gets a copy.
        raise ShareError("Invalid client side encryption type")
    # PHP's empty(): "0" is empty too
    if not php_boolval(original["label"]):
        raise ShareError('Field "label" can not be empty')
    if not php_boolval(original["password"]):
        raise ShareError('Field "password" can not be empty')
    model = new_uuid()
    hash_ = original["hash"] or ""
    if original["cseType"] == CSE_NONE:
        hash_ = hashlib.sha1(original["password"].encode("utf-8", "surrogateescape")).hexdigest()
    revision: Entity = {
        "userId": receiver, "uuid": new_uuid(), "model": model, "folder": BASE_FOLDER, "hidden": False,
        "trashed": False, "cseType": CSE_NONE, "cseKey": "", "sseType": SSE_V1R2, "sseKey": "",
        "username": original["username"], "password": original["password"], "label": original["label"],
        "url": original["url"], "notes": original["notes"], "customFields": original["customFields"],
        "hash": ctx.cut_hash(receiver, hash_), "favorite": False, "deleted": False, "edited": ctx.now,
        "created": ctx.now, "updated": ctx.now, "client": CLIENT_CRON,
    }  # fmt: skip
    password: Entity = {
        "userId": receiver, "uuid": model, "revision": revision["uuid"], "shareId": share_uuid, "hasShares": False,
        "editable": editable, "suspended": False, "deleted": False, "created": ctx.now, "updated": ctx.now,
    }  # fmt: skip
    return Copy(share_id, revision, password)


def write_copies(ctx: Context, copies: list[Copy]) -> None:
    """Check, encrypt and insert a batch of copies and give their shares the copy. The duplicate
    rule is asked once for the batch; a copy counts as a duplicate of the receiver's existing
    revisions and of the copies before it, as when the app makes them one after the other."""
    hashes = sorted({c.revision["hash"] for c in copies if c.revision["hash"]})
    known = (
        {(str(u), str(h)) for u, h in ctx.db.rows("shares.hash_owners", {"hashes": ctx.db.list_param(hashes)})}
        if hashes
        else set()
    )
    revisions = []
    for copy in copies:
        rev, user = copy.revision, copy.revision["userId"]
        rule = ctx.rule(user)
        duplicate = bool(rev["hash"]) and rule.duplicates and (user, rev["hash"]) in known
        if rev["hash"]:
            known.add((user, rev["hash"]))
        rev["status"], rev["statusCode"] = _status(rev["hash"], rev["edited"], rule, ctx.breached, duplicate, ctx.now)
        revisions.append(encrypt_revision("password", rev, ctx.keys))
    ctx.revisions.insert_many(revisions)
    EntityRepository(ctx.db, "passwords_password").insert_many([c.password for c in copies])
    params = [{"target": c.password["uuid"], "now": ctx.now, "id": c.share_id} for c in copies]
    ctx.db.execute_many("shares.set_target", params)


def _password(ctx: Context, uuid: str) -> tuple[int, str, Any, bool, bool]:
    found = ctx.db.rows("shares.password_state", {"uuid": uuid})
    if len(found) != 1:
        raise ShareError(f"Password {uuid} {'does not exist' if not found else 'is not unique'}")
    pid, user, share_id, has_shares, editable = found[0]
    return int(pid), str(user), share_id, bool(has_shares), bool(editable)


def copy_revision(ctx: Context, source: str, target: str, editable: bool | None = None) -> bool:
    """A new current revision of `target` with the fields of `source`'s current one, saved as the
    app's setRevision saves it (with its listener's flags on the shares); `editable` replaces the
    target's flag when given. Returns whether the target has shares of its own."""
    src = ctx.current_revision(source)
    old = ctx.current_revision(target)
    if src is None or old is None:
        raise ShareError(f"Password {source if src is None else target} has no current revision")
    pid, user, share_id, has_shares, was_editable = _password(ctx, target)
    editable = was_editable if editable is None else editable
    new = {**old, **{k: src[k] for k in SYNCED if src[k] is not None}}  # PHP's isset()
    new.update(uuid=new_uuid(), created=ctx.now, updated=ctx.now, client=CLIENT_CRON, id=None)
    new["hash"] = ctx.cut_hash(user, new["hash"] or "")
    if new["status"] == 0:
        if new["hash"] == old["hash"]:
            new["status"], new["statusCode"] = old["status"], old["statusCode"]
        else:
            new["status"], new["statusCode"] = ctx.check(new)
    ctx.insert_revision(new)
    if editable and (share_id or has_shares):
        if share_id:
            _execute(ctx.db, "shares.flag_share_of_target", {"uuid": target, "now": ctx.now})
        if has_shares:
            _execute(ctx.db, "shares.flag_shares_of_source", {"uuid": target, "now": ctx.now})
    _execute(ctx.db, "shares.set_revision", {"revision": new["uuid"], "editable": editable, "now": ctx.now, "id": pid})
    return has_shares


Batch = list[tuple[Any, ...]]


def _flagged(ctx: Context, name: str) -> Iterator[Batch]:
    after = 0
    while batch := ctx.db.rows(name, {"after": after, "limit": BATCH}):
        after = int(batch[-1][0])
        yield batch


def _log_pending(ctx: Context, name: str, failed: set[int], side: str) -> None:
    """The app's line when updates are still pending after its last round."""
    pending = sum(1 for batch in _flagged(ctx, name) for row in batch if int(row[0]) not in failed)
    if pending:
        ctx.log(f"Failed to update all {side} passwords in 32 loops, {pending} still pending update")


def _targets_round(ctx: Context, failed: set[int], end_shares_of: Callable[[str], None]) -> int:
    """One round of `update_targets`; returns how many marked shares it found. Like the app, a
    round ends once a copy lost its shares: the rows read before may name shares ended since."""
    count = 0
    for batch in _flagged(ctx, "shares.source_updated"):
        rows = [row for row in batch if int(row[0]) not in failed]
        count += len(rows)
        for share_id, share_uuid, source, target, editable, shareable in rows:
            try:
                has_shares = copy_revision(ctx, str(source), str(target), bool(editable))
            except (ShareError, CryptoError) as exc:
                failed.add(int(share_id))
                ctx.log(f"Could not sync {source} to target {target} for share {share_uuid}: {exc}")
                continue
            _execute(ctx.db, "shares.clear_flags", {"now": ctx.now, "id": share_id})
            if not shareable and has_shares:
                end_shares_of(str(target))
                return count
            if not editable:
                _execute(ctx.db, "shares.lock_shares_of_source", {"uuid": target, "now": ctx.now})
    return count


def update_targets(ctx: Context, failed: set[int], end_shares_of: Callable[[str], None]) -> int:
    """Copies whose source changed get the source's fields; returns how many shares were updated.
    A copy whose share may not be shared on loses its own shares (`end_shares_of`)."""
    total = 0
    for _ in range(MAX_ROUNDS):
        count = _targets_round(ctx, failed, end_shares_of)
        total += count
        if count == 0:
            return total
    _log_pending(ctx, "shares.source_updated", failed, "target")
    return total


def update_sources(ctx: Context, failed: set[int]) -> int:
    """Sources of editable shares get the fields of the copy the receiver edited; the flags of
    every share so marked are cleared. Returns how many shares."""
    total = 0
    for _ in range(MAX_ROUNDS):
        count = 0
        for batch in _flagged(ctx, "shares.target_updated"):
            for share_id, share_uuid, source, target, editable, _ in batch:
                if int(share_id) in failed:
                    continue
                count += 1
                try:
                    if editable and target is not None:
                        copy_revision(ctx, str(target), str(source))
                except (ShareError, CryptoError) as exc:
                    failed.add(int(share_id))
                    ctx.log(f"Could not sync {target} to source {source} for share {share_uuid}: {exc}")
                    continue
                _execute(ctx.db, "shares.clear_flags", {"now": ctx.now, "id": share_id})
        total += count
        if count == 0:
            return total
    _log_pending(ctx, "shares.target_updated", failed, "source")
    return total


def update_passwords(ctx: Context, end_shares_of: Callable[[str], None]) -> int:
    """The app's updatePasswords: copies, then sources, until a round changes nothing. A share
    whose update fails is left flagged for the next run."""
    failed: set[int] = set()
    total = 0
    for _ in range(MAX_ROUNDS):
        count = update_targets(ctx, failed, end_shares_of) + update_sources(ctx, failed)
        total += count
        if count == 0:
            break
    return total
