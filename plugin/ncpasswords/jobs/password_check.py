"""The app's `CheckPasswordsJob`: every active password revision checked against the local
breached-password database and the user's rules (docs/background-jobs.md#checkpasswordsjob).

The app loads every revision and saves the changed ones one by one. Here the hashes are cut to
each user's hash length by one statement per length, and the revisions are read in one stream
ordered by hash (duplicates found by one grouped join), so each file of the local database is
read once and memory stays flat; whether a revision that became bad is its password's current one
is asked for those revisions only.
"""

from __future__ import annotations

import bisect
import itertools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..db.connection import Database
from ..instance.instance import Instance
from ..php.casts import php_intval
from ..repositories.config_values import AppConfig
from ..security import localdb, pwned

JOB_CLASS = "OCA\\Passwords\\Cron\\CheckPasswordsJob"
INTERVAL = 24 * 60 * 60
LEVEL_OK, LEVEL_WEAK, LEVEL_BAD, LEVEL_UNKNOWN = 0, 1, 2, 3
GOOD, OUTDATED, DUPLICATE, BREACHED, NOT_CHECKED = "GOOD", "OUTDATED", "DUPLICATE", "BREACHED", "NOT_CHECKED"
#: The app values the failed updates of the local database are counted and described in.
ATTEMPTS_KEY = "passwords/db/attempts"
ERROR_KEY = "passwords/db/error/message"
DEFAULT_HASH_LENGTH = 40
BATCH = 5000

Log = Callable[[str], None]


@dataclass(frozen=True)
class Rules:
    """One user's settings as the app's UserSettingsHelper returns them."""

    hash_length: int
    max_age_days: int
    duplicates: bool


def _php_boolval(value: str) -> bool:
    return value not in ("", "0")


def user_rules(db: Database) -> tuple[Rules, dict[str, Rules]]:
    """The rules of users without settings of their own, and those of every user with one."""
    raw_default = AppConfig(db).get("settings/password/security/hash")
    default = Rules(php_intval(raw_default) if raw_default else DEFAULT_HASH_LENGTH, 0, True)
    values: dict[str, dict[str, str]] = {}
    for uid, key, value in db.rows("password_check.rule_preferences"):
        values.setdefault(str(uid), {})[str(key)] = "" if value is None else str(value)
    rules = {}
    for uid, prefs in values.items():
        hash_length = prefs.get("password/security/hash")
        age = prefs.get("password/security/age")
        duplicates = prefs.get("password/security/duplicates")
        rules[uid] = Rules(
            default.hash_length if hash_length is None else php_intval(hash_length),
            0 if age is None else php_intval(age),
            True if duplicates is None else _php_boolval(duplicates),
        )
    return default, rules


def _execute(db: Database, name: str, params: dict[str, object]) -> int:
    cur = db.execute(name, params)
    try:
        return max(int(cur.rowcount), 0)
    finally:
        cur.close()


def cut_hashes(db: Database, default: Rules, rules: dict[str, Rules]) -> int:
    """Cut stored hashes longer than their user's hash length (0: removed). A negative length,
    which only a hand-edited setting gives, is left alone (the app would cut the hash shorter on
    every run). Returns the number of revisions changed."""
    changed = 0
    if default.hash_length >= 0:
        changed += _execute(db, "password_check.truncate_default_hashes", {"length": default.hash_length})
    for uid, rule in rules.items():
        if rule.hash_length >= 0:
            changed += _execute(db, "password_check.truncate_user_hashes", {"uid": uid, "length": rule.hash_length})
    return changed


class BreachedHashes:
    """Lookups in the local database, one prefix file held at a time (the caller asks in hash order)."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.prefix: str | None = None
        self.sorted: list[str] = []
        self.set: frozenset[str] = frozenset()

    def contains(self, sha1: str) -> bool:
        """Whether the hash (or a stored hash prefix) is breached, as the app's lookup decides."""
        prefix = sha1[: pwned.HASH_FILE_KEY_LENGTH]
        if prefix != self.prefix:
            self.prefix = prefix
            self.sorted = sorted(localdb.read_hashes(self.cache, prefix)) if len(prefix) == 3 else []
            self.set = frozenset(self.sorted)
        if len(sha1) == 40:
            return sha1 in self.set
        at = bisect.bisect_left(self.sorted, sha1)
        return at < len(self.sorted) and self.sorted[at].startswith(sha1)


def _local_db_problem(instance: Instance, app: AppConfig) -> str | None:
    """Why the app would replace the local database now (None when it is complete)."""
    service = app.get("service/security") or "hibp"
    wanted = pwned.local_db_type(service)
    if wanted is None:
        return None  # the online service: this tool only uses the local files
    found = localdb.status(instance.appdata_dir / pwned.CACHE_FOLDER, app)
    problems = found.problems()
    if found.type != wanted:
        problems.append(f"{pwned.CONFIG_DB_TYPE} is {found.type or 'not set'}, not {wanted}")
    return "; ".join(problems) or None


def check_local_db(instance: Instance, db: Database, log: Log) -> None:
    """The app's daily update of the local database, without the download: a database that is
    complete is used as it is; otherwise the failed attempt is recorded as the app records one
    (`passwords/db/attempts`, `passwords/db/error/message`) and the check goes on with the files
    that are there."""
    app = AppConfig(db)
    problem = _local_db_problem(instance, app)
    if problem is None:
        return
    attempts = php_intval(app.get(ATTEMPTS_KEY) or "0") + 1
    app.set(ATTEMPTS_KEY, str(attempts))
    if attempts > 3:
        if attempts > 9:
            app.delete(ATTEMPTS_KEY)
        return
    message = (
        f"The local breached-password database is incomplete ({problem}); build it with passwords:pwned-list:process"
    )
    app.set(ERROR_KEY, message)
    log(f"Could not update breached passwords database: {message}")


def _status(
    hash_: str, edited: int, rule: Rules, breached: BreachedHashes, duplicate: bool, now: int
) -> tuple[int, str]:
    if hash_ in ("", "0"):  # PHP's empty()
        return LEVEL_UNKNOWN, NOT_CHECKED
    if breached.contains(hash_):
        return LEVEL_BAD, BREACHED
    if rule.max_age_days > 0 and now - rule.max_age_days * 86400 > edited:
        return LEVEL_WEAK, OUTDATED
    if rule.duplicates and duplicate:
        return LEVEL_WEAK, DUPLICATE
    return LEVEL_OK, GOOD


@dataclass
class CheckResult:
    checked: int = 0
    cut: int = 0
    changed: int = 0
    bad: int = 0
    #: Users and how many of their passwords' current revisions became bad.
    bad_by_user: dict[str, int] | None = None


def check_revisions(instance: Instance, db: Database, now: int, batch: int = BATCH) -> CheckResult:
    """Cut the hashes, then give every active revision that is not bad or unknown its status, in
    one transaction; `updated` is set on the revisions whose status code changes.

    The revisions are read in one stream (narrow columns, hash order); the changes are spilled to
    a temporary file and written in batches of `batch` after the stream, so memory stays flat."""
    result = CheckResult(bad_by_user={})
    assert result.bad_by_user is not None
    breached = BreachedHashes(instance.appdata_dir / pwned.CACHE_FOLDER)
    with db.transaction(), tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
        result.checked = int(db.scalar("password_check.count_revisions") or 0)
        default, rules = user_rules(db)
        result.cut = cut_hashes(db, default, rules)
        rows = db.stream("password_check.revisions_to_check")
        for rev_id, uid, hash_, code, edited, is_duplicate in rows:
            user, text = str(uid), str(hash_)
            level, new_code = _status(text, int(edited), rules.get(user, default), breached, bool(is_duplicate), now)
            if new_code == code:
                continue
            spill.write(f"{int(rev_id)} {level} {new_code}\n")
            result.changed += 1
            result.bad += level == LEVEL_BAD
        spill.seek(0)
        while lines := list(itertools.islice(spill, batch)):
            bad = _write_statuses(db, lines, now)
            if bad:
                for user, count in db.rows("password_check.current_by_ids", {"ids": db.list_param(bad)}):
                    result.bad_by_user[str(user)] = result.bad_by_user.get(str(user), 0) + int(count)
    return result


def _write_statuses(db: Database, lines: list[str], now: int) -> list[int]:
    """Write spilled changes (`<id> <level> <code>` lines), one statement per status; returns the
    ids that became bad."""
    groups: dict[tuple[int, str], list[int]] = {}
    for line in lines:
        spilled_id, spilled_level, spilled_code = line.split()
        groups.setdefault((int(spilled_level), spilled_code), []).append(int(spilled_id))
    for (level, code), ids in groups.items():
        params = {"status": level, "code": code, "now": now, "ids": db.list_param(ids)}
        db.execute("password_check.set_status_ids", params).close()
    return [i for (level, _), ids in groups.items() if level == LEVEL_BAD for i in ids]


def check_passwords_job(instance: Instance, db: Database, log: Log, now: float) -> None:
    """The work of the app's CheckPasswordsJob."""
    check_local_db(instance, db, log)
    result = check_revisions(instance, db, int(now))
    if result.bad:
        log(f"Checked {result.checked} passwords. {result.bad} new bad revisions found")
    for user, count in sorted((result.bad_by_user or {}).items()):
        log(f"User {user} has {count} new breached password(s)")
