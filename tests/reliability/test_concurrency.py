"""Backups while users work, and restores that collide.

* `passwords:backup:create`, run again and again while another process keeps inserting, updating
  and deleting passwords, revisions and tag relations (writer.py), always writes one consistent
  snapshot: every model's current revision is in the backup, and every relation's password,
  password revision and tag are too.
* Two restores at once never interleave: while one holds the backup lock (paused in the middle of
  its transaction, its deletions not yet committed), a second one with a short wait is refused
  with the lock message and changes nothing, and one with the normal wait waits, then runs; the
  result is exactly the second backup.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance
from ncpasswords.backup import service
from ncpasswords.backup.restore import RestoreOptions, restore_backup
from ncpasswords.backup.sample import SampleSize, generate
from ncpasswords.instance.instance import Instance

from .corpus import EXAMPLE
from .helpers import COUNTERS, StateReader, TableState, Zygote, db_state, diff, one_line_error, without
from .writer import WRITER_PREFIX, settings_to

WRITER = Path(__file__).with_name("writer.py")
WRITE_SECONDS = 3.0


def snapshot_problems(document: dict[str, Any]) -> list[str]:
    """What makes a backup document inconsistent (references that a snapshot cannot break)."""
    problems = []
    models: dict[str, dict[tuple[str, str], set[str]]] = {}
    for section in ("passwords", "folders", "tags"):
        models[section] = {}
        for model in document[section]:
            revisions = {r["uuid"] for r in model["revisions"]}
            models[section][(model["userId"], model["uuid"])] = revisions
            if model["revision"] not in revisions:
                problems.append(f"{section} {model['uuid']}: current revision {model['revision']} missing")
    for relation in document["passwordTagRelations"]:
        user = relation["userId"]
        revisions = models["passwords"].get((user, relation["password"]))
        if revisions is None:
            problems.append(f"relation {relation['uuid']}: password {relation['password']} missing")
        elif relation["passwordRevision"] not in revisions:
            problems.append(f"relation {relation['uuid']}: revision {relation['passwordRevision']} missing")
        if (user, relation["tag"]) not in models["tags"]:
            problems.append(f"relation {relation['uuid']}: tag {relation['tag']} missing")
    return problems


def restore_file(installed: InstalledInstance, path: Path) -> None:
    instance = installed.instance
    with instance.connect() as db:
        restore_backup(instance, db, path, RestoreOptions())


def test_backups_taken_while_users_work_are_snapshots(
    installed: InstalledInstance, zygote: Zygote, engine: str
) -> None:
    restore_file(installed, EXAMPLE)
    baseline = installed.occ("passwords:backup:create", "baseline")
    assert baseline.returncode == 0, baseline.stderr
    backups = service.storage_for(installed.instance).folder_path()
    assert snapshot_problems(json.loads(gzip.decompress((backups / "baseline.json.gz").read_bytes()))) == []

    writer = subprocess.Popen(
        [sys.executable, str(WRITER), settings_to(installed.instance.connection_settings()), str(WRITE_SECONDS), "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    taken = 0
    written_by_writer = set()
    problems: list[str] = []
    try:
        while writer.poll() is None:
            result = zygote.run(installed.config_dir, "passwords:backup:create", "busy")
            assert result.exit == 0, result.stderr
            document = json.loads(gzip.decompress((backups / "busy.json.gz").read_bytes()))
            problems += [f"backup {taken}: {p}" for p in snapshot_problems(document)]
            written_by_writer.add(sum(p["uuid"].startswith(WRITER_PREFIX) for p in document["passwords"]))
            taken += 1
    finally:
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    transactions = int(out.strip())
    COUNTERS.add("concurrency: backups taken while a writer worked", engine, taken)
    COUNTERS.add("concurrency: writer transactions during those backups", engine, transactions)
    assert not problems, "\n".join(problems[:20])
    assert taken >= 5 and transactions >= 50
    assert len(written_by_writer) >= 3  # the backups did see the data change underneath


def sample_backup(installed: InstalledInstance, label: str, seed: int, passwords: int) -> Path:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as stream:
        generate(stream, SampleSize(passwords=passwords, revisions=2, users=3, seed=seed))
    path = service.storage_for(installed.instance).folder_path() / f"{label}.json.gz"
    path.write_bytes(out.getvalue())
    return path


def expected_state(installed: InstalledInstance, path: Path) -> dict[str, TableState]:
    """The state a restore of `path` leaves (ids aside): computed by a restore that is rolled back
    (on a copy of config.php, which a restore may rewrite)."""

    class Rollback(Exception):
        pass

    instance = installed.instance
    copy = installed.config_dir.parent / "expected-config.php"
    copy.write_bytes(instance.path.read_bytes())
    shadow = Instance(copy, dict(instance.config))
    state: dict[str, TableState] = {}
    with instance.connect() as db:
        try:
            with db.transaction():
                restore_backup(shadow, db, path, RestoreOptions())
                state = without(db_state(db))
                raise Rollback
        except Rollback:
            pass
    copy.unlink()
    return state


def test_two_restores_at_once_are_serialised(
    installed: InstalledInstance, zygote: Zygote, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sample_backup(installed, "first", 11, 200)
    second = sample_backup(installed, "second", 12, 200)
    restore_file(installed, EXAMPLE)
    reader = StateReader(installed.instance.connection_settings())
    want = expected_state(installed, second)
    before = reader.state()

    # The first restore pauses for 2 s right after deleting the current data, inside its
    # transaction and holding the backup lock.
    one = zygote.start(
        installed.config_dir,
        "-n",
        "passwords:backup:restore",
        "first",
        pause_at="ncpasswords.backup.restore:_delete_data",
        pause=2.0,
    )
    try:
        _wait_for_lock(installed)
        # Others still see the data as it was: the deletions are not committed.
        assert reader.state() == before, diff(before, reader.state())

        # A restore that will not wait long is refused and changes nothing.
        monkeypatch.setattr(service, "LOCK_WAIT_SECONDS", 0.3)
        refused = installed.occ("-n", "passwords:backup:restore", "second")
        monkeypatch.undo()
        assert refused.returncode == 1
        assert one_line_error(refused.stderr) and refused.stderr.strip() == service.LOCK_BUSY, refused.stderr
        assert reader.state() == before

        # One with the normal wait waits for the first, then runs.
        two = zygote.start(installed.config_dir, "-n", "passwords:backup:restore", "second")
    finally:
        first_run = zygote.wait(one)
    second_run = zygote.wait(two)
    assert first_run.exit == 0, first_run.stderr
    assert second_run.exit == 0, second_run.stderr
    assert second_run.elapsed > 1.0, "the second restore did not wait for the first"
    got = without(reader.state())
    assert got == want, diff(got, want)
    reader.close()
    COUNTERS.add("concurrency: colliding restores serialised", engine, 2)
    assert first.exists() and second.exists()


def _wait_for_lock(installed: InstalledInstance, timeout: float = 10.0) -> None:
    """Until another process holds the instance's backup lock."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with installed.connect() as db:
            try:
                with db.advisory_lock(service.LOCK_NAME, wait=0.0):
                    pass
            except Exception:  # busy: the first restore has it
                return
        time.sleep(0.02)
    raise AssertionError("the first restore never took the lock")
