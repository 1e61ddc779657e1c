"""kill -9 in the middle of restore, create, user move and user delete, on every engine.

Each operation runs as a real occ process (forked from the pre-loaded zygote, see zygote.py) and is
killed with SIGKILL at seeded random times spread over the measured duration of an undisturbed
run: the i-th of KILLS kills lands in the i-th slice of that duration. A kill that arrives after
the process finished is not counted and is tried again earlier. After each kill:

* the database equals its state before (every row of every table, app config and preferences
  included), or, if the kill came after the COMMIT, the state a complete run produces;
* config.php agrees with the database (the restored server secret only with the restored data);
* no partial backup is listed by `passwords:backup:list`, and the listed files are complete;
* the next run of the same command succeeds, produces the expected state and leaves no
  temporary files behind.

A few kills are also placed exactly, right after a chosen function returned (`die_at`), at the
points where a crash is most dangerous: config.php written, rows loaded, backup renamed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance, run_occ
from ncpasswords.backup import service
from ncpasswords.backup.document import write_document
from ncpasswords.backup.restore import RestoreOptions, restore_backup
from ncpasswords.backup.sample import SampleSize, generate
from ncpasswords.backup.storage import BACKUP_FOLDERS
from ncpasswords.fsutil import TEMP_PREFIX
from ncpasswords.instance.instance import Instance
from ncpasswords.instance.journal import JOURNAL_NAME
from ncpasswords.users.data import delete_user_data, has_data, move_user_data

from .helpers import (
    COUNTERS,
    Run,
    Snapshot,
    TableState,
    Zygote,
    db_state,
    diff,
    snapshot,
    wait_for_sessions_to_end,
    without,
)

KILLS = 20
PASSWORDS = 100  # per sample: 100 passwords x 2 revisions, 4 users, folders, tags, shares
SEED = 20240806
USERS = ("alice", "bob.ünicode@example.org", "user2", "x" * 63 + "é")  # the sample's four users
APP_TABLES_WITH_UPDATED = ("updated",)


class _Rollback(Exception):
    pass


@dataclass
class Harness:
    inst: InstalledInstance
    zygote: Zygote
    engine: str

    @property
    def appdata(self) -> Path:
        return self.inst.instance.appdata_dir

    def snap(self) -> Snapshot:
        with self.inst.connect() as db:
            return snapshot(self.inst.config_dir, self.appdata, db)

    def run(
        self,
        *argv: str,
        kill_after: float | None = None,
        die_at: str | None = None,
        die_call: int = 1,
        die_before: bool = False,
    ) -> Run:
        result = self.zygote.run(
            self.inst.config_dir, *argv, kill_after=kill_after, die_at=die_at, die_call=die_call, die_before=die_before
        )
        if result.killed:  # what the server does with the dead client's transaction is part of the outcome
            wait_for_sessions_to_end(self.engine, self.inst.scratch.name)
        return result

    def simulate(self, work: Callable[[Instance, Any], None]) -> dict[str, TableState]:
        """The database state `work` produces, computed inside a transaction that is rolled back
        (on a copy of config.php, which a restore may rewrite)."""

        instance = self.inst.instance
        copy = self.inst.config_dir.parent / "simulated-config.php"
        copy.write_bytes(instance.path.read_bytes())
        shadow = Instance(copy, dict(instance.config))
        state: dict[str, TableState] = {}
        with instance.connect() as db:
            try:
                with db.transaction():
                    work(shadow, db)
                    state = db_state(db)
                    raise _Rollback
            except _Rollback:
                pass
        copy.unlink()
        return state


_SAMPLES: dict[tuple[int, int], bytes] = {}


def sample_bytes(seed: int, passwords: int) -> bytes:
    """A deterministic v106 sample backup (gzip), generated once per session."""
    key = (seed, passwords)
    if key not in _SAMPLES:
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as stream:
            generate(stream, SampleSize(passwords=passwords, revisions=2, users=4, seed=seed))
        _SAMPLES[key] = out.getvalue()
    return _SAMPLES[key]


def sample(inst: InstalledInstance, tmp: Path, label: str, seed: int, passwords: int = PASSWORDS) -> Path:
    """The sample written to `tmp/<label>.json.gz` and stored as backup `<label>` (as an import would)."""
    data = sample_bytes(seed, passwords)
    path = tmp / f"{label}.json.gz"
    path.write_bytes(data)
    storage = service.storage_for(inst.instance)
    (storage.folder_path() / path.name).write_bytes(data)
    return path


def restore_in_process(inst: InstalledInstance, path: Path) -> None:
    instance = inst.instance
    with instance.connect() as db:
        restore_backup(instance, db, path, RestoreOptions())


def kill_times(rng: random.Random, duration: float) -> list[float]:
    """KILLS times spread over `duration`: one in each of KILLS equal slices, at a random offset."""
    return [duration * (i + rng.random()) / KILLS for i in range(KILLS)]


def measure(h: Harness, argv: Callable[[], list[str]], reset: Callable[[], None] | None = None) -> float:
    """Median duration of three undisturbed runs (fork to exit)."""
    times = []
    for _ in range(3):
        if reset:
            reset()
        result = h.run(*argv())
        assert result.exit == 0, result.stderr
        times.append(result.elapsed)
    return sorted(times)[1]


def temp_files(h: Harness) -> list[str]:
    return [
        f"{folder}/{p.name}"
        for folder in BACKUP_FOLDERS
        if (h.appdata / folder).is_dir()
        for p in (h.appdata / folder).iterdir()
        if p.name.startswith(TEMP_PREFIX)
    ]


def listed_backups(h: Harness, parse: bool = True) -> dict[str, Path]:
    """What `passwords:backup:list` shows, label -> file; every listed file must be complete."""
    result = run_occ(h.inst.config_dir, "passwords:backup:list")
    assert result.returncode == 0, result.stderr
    storage = service.storage_for(h.inst.instance)
    backups = {label: b.path for label, b in storage.list_backups().items()}
    shown = [line.split()[0] for line in result.stdout.splitlines()[1:] if line.startswith("  ")]
    assert sorted(shown) == sorted(backups), (shown, backups)
    for label, path in backups.items() if parse else ():
        data = path.read_bytes()
        try:
            document = json.loads(gzip.decompress(data) if path.name.endswith(".gz") else data)
        except Exception as exc:  # a partial file would be listed: that is the bug this catches
            raise AssertionError(f"backup {label} is listed but incomplete: {exc}") from None
        assert document["version"] == 106 and "keys" in document and "settings" in document, label
    return backups


def document_of(inst: InstalledInstance) -> dict[str, Any]:
    out = io.BytesIO()
    instance = inst.instance
    with instance.connect() as db, db.transaction(snapshot=True):
        write_document(db, instance.server_secret, out)
    parsed: dict[str, Any] = json.loads(out.getvalue())
    return parsed


def secret_of(backup: Path) -> str:
    return str(json.loads(gzip.decompress(backup.read_bytes()))["keys"]["server"]["secret"])


def kill_series(
    h: Harness,
    name: str,
    argv: Callable[[], list[str]],
    check: Callable[[Snapshot, Snapshot, Run], bool],
    next_run: Callable[[Snapshot], None],
    duration: float,
    rng: random.Random,
    before_each: Callable[[], None] | None = None,
    snap: Callable[[], Snapshot] | None = None,
) -> None:
    """KILLS kills that land while the process runs; `check(before, after, run)` returns whether
    the killed run had committed; `next_run(before)` runs the command again and checks it."""
    snap = snap or h.snap
    kills = 0
    for t in kill_times(rng, duration):
        for _attempt in range(4):
            if before_each:
                before_each()
            before = snap()
            result = h.run(*argv(), kill_after=t)
            after = snap()
            committed = check(before, after, result)
            if result.killed:
                kills += 1
                if not committed:
                    next_run(before)
                break
            assert result.exit == 0, result.stderr
            # Finished before the kill (the machine was faster than when measured): aim inside the
            # run that just finished.
            t = min(t, result.elapsed) * (0.2 + 0.6 * rng.random())
        else:
            pytest.fail(f"{name}: the process always finished before {t:.3f}s")
    COUNTERS.add(f"crash: kill -9 during {name}", h.engine, kills)
    assert kills >= KILLS


# -- restore ------------------------------------------------------------------------------------
@pytest.fixture
def restore_setup(installed: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path) -> Harness:
    h = Harness(installed, zygote, engine)
    sample(installed, tmp_path, "alpha", 1)
    sample(installed, tmp_path, "beta", 2)
    restore_in_process(installed, tmp_path / "alpha.json.gz")
    return h


def test_restore_survives_kill_9(restore_setup: Harness, tmp_path: Path) -> None:
    h = restore_setup
    rng = random.Random(f"{SEED}-restore-{h.engine}")
    secrets = {label: secret_of(tmp_path / f"{label}.json.gz") for label in ("alpha", "beta")}
    expected: dict[str, dict[str, TableState]] = {}
    current = ["alpha"]

    def target() -> str:
        return "beta" if current[0] == "alpha" else "alpha"

    def restore(shadow: Instance, db: Any) -> None:
        restore_backup(shadow, db, tmp_path / f"{target()}.json.gz", RestoreOptions())

    def expected_state() -> dict[str, TableState]:
        if target() not in expected:
            expected[target()] = without(h.simulate(restore))
        return expected[target()]

    def argv() -> list[str]:
        return ["-n", "passwords:backup:restore", target()]

    def check(before: Snapshot, after: Snapshot, result: Run) -> bool:
        assert after.files == before.files
        if after.checksum == before.checksum:
            assert after.config == before.config, "config.php changed but the database was not restored"
            return False
        # Committed before the kill: the data is the target's; config.php gets the target's secret
        # at the latest when the next command opens the database.
        opened = run_occ(h.inst.config_dir, "config:app:get", "passwords", "backup/interval")
        assert opened.returncode in (0, 1) and opened.stderr == "", opened.stderr
        recovered = h.snap()
        assert without(recovered.db) == expected_state(), diff(without(recovered.db), expected_state())
        assert Instance.load(h.inst.config_dir / "config.php").server_secret == secrets[target()], (
            "data restored but config.php has the old secret"
        )
        assert not (h.inst.config_dir / JOURNAL_NAME).exists()
        current[0] = target()
        return True

    def next_run(before: Snapshot) -> None:
        want = expected_state()
        result = h.run(*argv())
        assert result.exit == 0 and result.stderr == "", result.stderr
        after = h.snap()
        assert without(after.db) == want, diff(without(after.db), want)
        assert Instance.load(h.inst.config_dir / "config.php").server_secret == secrets[target()]
        assert not (h.inst.config_dir / JOURNAL_NAME).exists()
        current[0] = target()

    def flip() -> None:
        result = h.run(*argv())
        assert result.exit == 0, result.stderr
        current[0] = target()

    duration = measure(h, argv, flip)
    kill_series(h, "passwords:backup:restore", argv, check, next_run, duration, rng)


# (function, n-th call, kill before the call instead of after it, committed by then)
RESTORE_POINTS = (
    ("ncpasswords.backup.restore:_delete_data", 1, False, False),  # current data deleted
    ("ncpasswords.repositories.entity_repository:EntityRepository.insert_many", 1, False, False),  # first batch
    ("ncpasswords.repositories.entity_repository:EntityRepository.insert_many", 3, False, False),
    ("ncpasswords.repositories.config_values:AppConfig.set", 1, False, False),  # keys being written
    ("ncpasswords.db.connection:Database.execute_sql", 40, False, False),
    ("ncpasswords.instance.journal:ConfigChange.begin", 1, False, False),  # journal written
    ("ncpasswords.instance.journal:ConfigChange.mark", 1, False, False),  # token written, not committed
    ("ncpasswords.instance.journal:ConfigChange.apply", 1, True, True),  # committed, config.php not written
    ("ncpasswords.instance.instance:Instance.update_config", 1, False, True),  # config.php written
    ("ncpasswords.instance.journal:_remove_journal", 1, True, True),  # token removed, journal not
    ("ncpasswords.instance.journal:fsync_dir", 1, False, True),  # token and journal removed
)


def test_restore_killed_at_chosen_points(restore_setup: Harness, tmp_path: Path) -> None:
    """Kills right after chosen steps. Until COMMIT nothing changes (a journal may be left, and the
    next command drops it); after COMMIT the next command that opens the database completes the
    config.php change."""
    h = restore_setup
    label = "alpha"
    for point, call, early, committed in RESTORE_POINTS:
        label = "beta" if label == "alpha" else "alpha"
        secret = secret_of(tmp_path / f"{label}.json.gz")
        before = h.snap()
        result = h.run("-n", "passwords:backup:restore", label, die_at=point, die_call=call, die_before=early)
        assert result.killed, (point, result.exit, result.stderr)
        COUNTERS.add("crash: kill -9 at chosen points", h.engine)
        after = h.snap()
        if not committed:
            assert after.checksum == before.checksum, (point, diff(before.db, after.db))
            assert after.config == before.config, f"{point}: config.php changed, the database did not"
        else:
            assert after.checksum != before.checksum, point
        opened = run_occ(h.inst.config_dir, "config:app:get", "passwords", "backup/interval")
        assert opened.returncode in (0, 1) and opened.stderr == "", opened.stderr
        assert not (h.inst.config_dir / JOURNAL_NAME).exists(), point
        assert (Instance.load(h.inst.config_dir / "config.php").server_secret == secret) == committed, point
        if not committed:
            assert h.snap().checksum == before.checksum, point
            result = h.run("-n", "passwords:backup:restore", label)
            assert result.exit == 0, result.stderr
            assert Instance.load(h.inst.config_dir / "config.php").server_secret == secret


# -- create -------------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_create_survives_kill_9(installed: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path) -> None:
    h = Harness(installed, zygote, engine)
    restore_in_process(installed, sample(installed, tmp_path, "alpha", 3, passwords=2 * PASSWORDS))
    assert installed.occ("passwords:backup:delete", "alpha").returncode == 0
    rng = random.Random(f"{SEED}-create-{engine}")
    # The complete backup, byte for byte (gzip without a timestamp: every run writes the same bytes).
    result = h.run("passwords:backup:create", "crash")
    assert result.exit == 0, result.stderr
    complete = listed_backups(h)["crash"]
    assert json.loads(gzip.decompress(complete.read_bytes())) == document_of(installed)
    good = sha256(complete)
    left_temp = 0

    def argv() -> list[str]:
        return ["passwords:backup:create", "crash"]

    def check(before: Snapshot, after: Snapshot, result: Run) -> bool:
        nonlocal left_temp
        assert after.checksum == before.checksum, diff(before.db, after.db)
        assert after.config == before.config
        listed = listed_backups(h, parse=False)
        assert set(listed) == {"crash"}
        assert sha256(listed["crash"]) == good, "the listed backup is not the complete file"
        assert oct(listed["crash"].stat().st_mode & 0o777) == "0o600"
        left_temp += bool(temp_files(h))
        return False

    def next_run(before: Snapshot) -> None:
        result = h.run(*argv())
        assert result.exit == 0, result.stderr
        assert temp_files(h) == [], "the next run did not clean the temporary files"
        assert sha256(listed_backups(h, parse=False)["crash"]) == good

    duration = measure(h, argv)
    kill_series(h, "passwords:backup:create", argv, check, next_run, duration, rng)
    COUNTERS.add("crash: create kills that left a temp file", engine, left_temp)

    # Exactly placed: the document written but not renamed; renamed but the folder not fsynced;
    # a new label whose first file is not yet in place.
    for point, name in (
        ("ncpasswords.backup.service:write_document", "crash"),
        ("os:replace", "crash"),
        ("ncpasswords.backup.service:write_document", "fresh"),
    ):
        result = h.run("passwords:backup:create", name, die_at=point)
        assert result.killed, (point, result.exit, result.stderr)
        COUNTERS.add("crash: kill -9 at chosen points", engine)
        listed = listed_backups(h)
        assert set(listed) <= {"crash", "fresh"} and sha256(listed["crash"]) == good
        if "fresh" in listed:
            assert sha256(listed["fresh"]) == good
    result = h.run("passwords:backup:create", "fresh")
    assert result.exit == 0, result.stderr
    assert temp_files(h) == []
    assert sha256(listed_backups(h)["fresh"]) == good


# -- user move and delete -----------------------------------------------------------------------
def _user_harness(installed: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path) -> Harness:
    h = Harness(installed, zygote, engine)
    restore_in_process(installed, sample(installed, tmp_path, "alpha", 4))
    return h


def test_user_move_survives_kill_9(installed: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path) -> None:
    h = _user_harness(installed, zygote, engine, tmp_path)
    rng = random.Random(f"{SEED}-move-{engine}")
    pair: list[str] = []

    def with_data() -> list[str]:
        with installed.connect() as db:
            return [u for u in USERS if has_data(db, u)]

    def choose() -> None:
        sources = with_data()
        source = rng.choice(sources)
        pair[:] = [source, rng.choice([u for u in USERS if u != source])]

    def argv() -> list[str]:
        return ["-n", "passwords:user:move", *pair]

    def move(shadow: Instance, db: Any) -> None:
        source, target = pair
        if has_data(db, target):
            delete_user_data(db, target, purge=True)
        move_user_data(db, source, target)

    def expected() -> dict[str, TableState]:
        return without(h.simulate(move), APP_TABLES_WITH_UPDATED)

    want_now: list[dict[str, TableState]] = [{}]

    def prepare() -> None:
        choose()
        want_now[0] = expected()

    check, next_run = _user_checks(h, argv, want_now)
    duration = measure(h, argv, choose)
    kill_series(h, "passwords:user:move", argv, check, next_run, duration, rng, before_each=prepare)


def _user_checks(
    h: Harness, argv: Callable[[], list[str]], want_now: list[dict[str, TableState]]
) -> tuple[Callable[[Snapshot, Snapshot, Run], bool], Callable[[Snapshot], None]]:
    """The kill series' checks for a user command: after a kill the database is as before or
    exactly as `want_now[0]` (config.php and files untouched); a next run completes it."""

    def check(before: Snapshot, after: Snapshot, result: Run) -> bool:
        assert after.config == before.config and after.files == before.files
        if after.checksum == before.checksum:
            return False
        got = without(after.db, APP_TABLES_WITH_UPDATED)
        assert got == want_now[0], diff(got, want_now[0])
        return True

    def next_run(before: Snapshot) -> None:
        result = h.run(*argv())
        assert result.exit == 0, result.stderr
        got = without(h.snap().db, APP_TABLES_WITH_UPDATED)
        assert got == want_now[0], diff(got, want_now[0])

    return check, next_run


def test_user_delete_survives_kill_9(installed: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path) -> None:
    h = _user_harness(installed, zygote, engine, tmp_path)
    backup = tmp_path / "alpha.json.gz"
    rng = random.Random(f"{SEED}-delete-{engine}")
    victim: list[str] = [USERS[0]]
    want_now: list[dict[str, TableState]] = [{}]

    def prepare() -> None:
        with installed.connect() as db:
            alive = [u for u in USERS if has_data(db, u)]
        if not alive:
            restore_in_process(installed, backup)
            alive = list(USERS)
        victim[0] = rng.choice(alive)
        want_now[0] = without(h.simulate(lambda shadow, db: delete_user_data(db, victim[0])), APP_TABLES_WITH_UPDATED)

    def argv() -> list[str]:
        return ["-n", "passwords:user:delete", victim[0]]

    check, next_run = _user_checks(h, argv, want_now)
    duration = measure(h, argv, prepare)
    kill_series(h, "passwords:user:delete", argv, check, next_run, duration, rng, before_each=prepare)
