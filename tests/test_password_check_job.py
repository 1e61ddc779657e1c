"""The app's CheckPasswordsJob through `background-job:worker`, on every engine: statuses from the
local breached-password database and the users' rules, hashes cut to the users' hash length, and
the bookkeeping when the local database is incomplete."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from conftest import InstalledInstance
from job_data import T0, entity, insert, table_rows, uid_of
from ncpasswords.db.connection import Database
from ncpasswords.jobs import password_check
from ncpasswords.repositories.config_values import AppConfig, Preferences
from ncpasswords.security import pwned

CHECK = "OCA\\Passwords\\Cron\\CheckPasswordsJob"


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


BREACHED = sha1("123456")  # 7c4a8d09...
BREACHED_TOO = sha1("password")  # 5baa61e4...
FINE, SHARED_SECRET, OTHER = sha1("correct horse"), sha1("twice used"), sha1("unique one")


def write_local_db(cache: Path, files: int = 64) -> None:
    """A local database holding the two breached hashes, padded to `files` prefix files."""
    cache.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[bytes]] = {f"{n:03x}": [] for n in range(files - 2)}
    for known in (BREACHED, BREACHED_TOO):
        groups.setdefault(known[:3], []).append(known.encode())
    for prefix, hashes in groups.items():
        (cache / pwned.file_name(prefix)).write_bytes(pwned.encode_group(hashes or [b"0" * 40], True))


def revision(user: str, name: str, model: str, hash_: str, **props: Any) -> dict[str, Any]:
    return entity("passwords_password_rv", user, name, model=uid_of(user, model), hash=hash_, **props)


def seed(db: Database, now: int) -> None:
    """alice: default rules; bob: hash length 20, maximum age 30 days, no duplicate check."""
    rows: dict[str, list[dict[str, Any]]] = {"passwords_password": [], "passwords_password_rv": []}
    for user, model, current in [
        ("alice", "leaked", "leaked-rv2"), ("alice", "a", "a-rv"), ("alice", "b", "b-rv"),
        ("alice", "empty", "empty-rv"), ("alice", "kept", "kept-rv"), ("bob", "leaked", "leaked-rv"),
        ("bob", "old", "old-rv"), ("bob", "c", "c-rv"), ("bob", "d", "d-rv"),
    ]:  # fmt: skip
        rows["passwords_password"].append(
            entity("passwords_password", user, model, revision=uid_of(user, current), shareId=None)
        )
    rows["passwords_password_rv"] += [
        revision("alice", "leaked-rv1", "leaked", BREACHED),  # an older revision of the password
        revision("alice", "leaked-rv2", "leaked", BREACHED_TOO),
        revision("alice", "a-rv", "a", SHARED_SECRET),
        revision("alice", "b-rv", "b", SHARED_SECRET, statusCode="DUPLICATE", status=1),  # unchanged
        revision("alice", "empty-rv", "empty", ""),
        revision("alice", "kept-rv", "kept", BREACHED, status=2, statusCode="BREACHED"),  # never rechecked
        revision("alice", "gone-rv", "kept", BREACHED, deleted=True),
        revision("bob", "leaked-rv", "leaked", BREACHED, edited=now),
        revision("bob", "old-rv", "old", FINE, edited=now - 31 * 86400),
        revision("bob", "c-rv", "c", OTHER, edited=now - 29 * 86400),
        revision("bob", "d-rv", "d", OTHER, edited=now),
    ]
    insert(db, rows)
    prefs = Preferences(db)
    prefs.set("bob", "password/security/hash", "20")
    prefs.set("bob", "password/security/age", "30")
    prefs.set("bob", "password/security/duplicates", "0")


def statuses(db: Database) -> dict[tuple[str, str], tuple[str, int, str, bool]]:
    """(user, revision name) -> (hash, status, status code, updated changed)."""
    names = {uid_of(u, n): n for u in ("alice", "bob") for n in (
        "leaked-rv1", "leaked-rv2", "a-rv", "b-rv", "empty-rv", "kept-rv", "gone-rv", "leaked-rv", "old-rv",
        "c-rv", "d-rv",
    )}  # fmt: skip
    return {
        (user, names[uuid]): (r["hash"], r["status"], r["statusCode"], r["updated"] != T0)
        for (user, uuid), r in table_rows(db, "passwords_password_rv").items()
    }


def test_check_passwords_against_the_local_database(installed: InstalledInstance) -> None:
    now = int(time.time())
    write_local_db(installed.instance.appdata_dir / pwned.CACHE_FOLDER)
    with installed.connect() as db:
        seed(db, now)
        for key, value in {"service/security": "bigdb", "passwords/localdb/type": "bigdb"}.items():
            AppConfig(db).set(key, value)
        AppConfig(db).set("passwords/localdb/version", "16")
    result = installed.occ("background-job:worker", "--once", CHECK)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Running job {CHECK}",
        "Checked 10 passwords. 3 new bad revisions found",
        "User alice has 1 new breached password(s)",
        "User bob has 1 new breached password(s)",
    ]
    with installed.connect() as db:
        assert statuses(db) == {
            ("alice", "leaked-rv1"): (BREACHED, 2, "BREACHED", True),
            ("alice", "leaked-rv2"): (BREACHED_TOO, 2, "BREACHED", True),
            ("alice", "a-rv"): (SHARED_SECRET, 1, "DUPLICATE", True),
            ("alice", "b-rv"): (SHARED_SECRET, 1, "DUPLICATE", False),
            ("alice", "empty-rv"): ("", 3, "NOT_CHECKED", True),
            ("alice", "kept-rv"): (BREACHED, 2, "BREACHED", False),
            ("alice", "gone-rv"): (BREACHED, 0, "status_code:", False),
            # bob keeps 20 hex digits; a cut hash is looked up by prefix
            ("bob", "leaked-rv"): (BREACHED[:20], 2, "BREACHED", True),
            ("bob", "old-rv"): (FINE[:20], 1, "OUTDATED", True),
            ("bob", "c-rv"): (OTHER[:20], 0, "GOOD", True),
            ("bob", "d-rv"): (OTHER[:20], 0, "GOOD", True),
        }
        assert AppConfig(db).get(password_check.ATTEMPTS_KEY) is None
    # Once a day: not due again; a second check changes nothing.
    assert installed.occ("background-job:worker", "--once", CHECK).stdout == ""
    with installed.connect() as db:
        before = table_rows(db, "passwords_password_rv")
        result2 = password_check.check_revisions(installed.instance, db, now + 86400, batch=2)
        assert (result2.changed, result2.cut, result2.checked) == (0, 0, 10)
        assert table_rows(db, "passwords_password_rv") == before


def test_small_batches_give_the_same_statuses(installed: InstalledInstance) -> None:
    now = int(time.time())
    write_local_db(installed.instance.appdata_dir / pwned.CACHE_FOLDER)
    with installed.connect() as db:
        seed(db, now)
        result = password_check.check_revisions(installed.instance, db, now, batch=1)
        assert (result.checked, result.cut, result.changed, result.bad) == (10, 4, 8, 3)
        assert result.bad_by_user == {"alice": 1, "bob": 1}
        assert statuses(db)[("alice", "a-rv")] == (SHARED_SECRET, 1, "DUPLICATE", True)


def test_an_incomplete_local_database_is_recorded_and_used(installed: InstalledInstance) -> None:
    write_local_db(installed.instance.appdata_dir / pwned.CACHE_FOLDER, files=3)
    with installed.connect() as db:
        seed(db, int(time.time()))
        AppConfig(db).set("service/security", "smalldb")
    result = installed.occ("background-job:worker", "--once", CHECK)
    assert result.returncode == 0, result.stderr
    message = (
        "The local breached-password database is incomplete (passwords/localdb/version is not set, not 16; "
        "passwordsCache holds 3 files, fewer than 64; passwords/localdb/type is not set, not smalldb); "
        "build it with passwords:pwned-list:process"
    )
    assert result.stdout.splitlines()[:2] == [
        f"Running job {CHECK}",
        f"Could not update breached passwords database: {message}",
    ]
    with installed.connect() as db:
        app = AppConfig(db)
        assert (app.get("passwords/db/attempts"), app.get("passwords/db/error/message")) == ("1", message)
        assert statuses(db)[("alice", "leaked-rv2")][2] == "BREACHED"  # the files present are used
        # After three failed attempts the app stops trying (and forgets the count after nine).
        app.set("passwords/db/attempts", "3")
        lines: list[str] = []
        password_check.check_local_db(installed.instance, db, lines.append)
        assert lines == [] and app.get("passwords/db/attempts") == "4"
        app.set("passwords/db/attempts", "9")
        password_check.check_local_db(installed.instance, db, lines.append)
        assert app.get("passwords/db/attempts") is None
