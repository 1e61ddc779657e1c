"""background-job:worker and background-job:list: the app's jobs scheduled through Nextcloud's
`oc_jobs` where it has them (shared with Nextcloud's cron), else through this tool's own record."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import InstalledInstance
from ncpasswords.db.connection import Database
from ncpasswords.errors import UserError
from ncpasswords.jobs.joblist import STATE_APP, NextcloudJobList
from ncpasswords.jobs.registry import JOBS, job
from ncpasswords.jobs.worker import parse_stop_after
from ncpasswords.repositories.config_values import AppConfig

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "nextcloud-34"
BACKUP_JOB = "OCA\\Passwords\\Cron\\BackupJob"
COLUMNS = "id, class, argument, argument_hash, last_run, last_checked, reserved_at, execution_duration"


def create_nextcloud_jobs_table(db: Database, engine: str) -> None:
    """`oc_jobs` exactly as a real Nextcloud 34 has it on this engine (from its schema dump)."""
    text = (FIXTURES / f"schema-{engine}.sql").read_text(encoding="utf-8")
    for statement in re.split(r";\s*\n", text):
        body = "\n".join(line for line in statement.splitlines() if not line.startswith(("--", "/*"))).strip()
        if body.upper().startswith(("CREATE", "ALTER")) and re.search(r"\boc_jobs\b", body):
            db.execute_sql(body).close()


def add_job(db: Database, job_id: int, class_name: str, **columns: int) -> None:
    values = {"last_run": 0, "last_checked": 0, "reserved_at": 0, **columns}
    db.insert_many(
        "jobs",
        ["id", "class", "argument", "argument_hash", "last_run", "last_checked", "reserved_at"],
        [
            (
                job_id,
                class_name,
                "null",
                hashlib.sha256(b"null").hexdigest(),
                values["last_run"],
                values["last_checked"],
                values["reserved_at"],
            )
        ],
    )


def job_row(db: Database, job_id: int) -> dict[str, object]:
    cur = db.execute_sql(f"SELECT {COLUMNS} FROM {db.table('jobs')} WHERE id = {job_id}")
    row = cur.fetchone()
    cur.close()
    return dict(zip(COLUMNS.split(", "), row, strict=True))


def auto_backups(installed: InstalledInstance) -> list[str]:
    folder = installed.instance.appdata_dir / "autoBackups"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def nextcloud(installed: InstalledInstance) -> InstalledInstance:
    """An instance whose database has Nextcloud's `oc_jobs` with the app's BackupJob (ID 4711), a
    queued job of the app and a core job."""
    with installed.connect() as db:
        create_nextcloud_jobs_table(db, installed.scratch.engine)
        add_job(db, 4711, BACKUP_JOB)
        add_job(db, 4712, "OCA\\Passwords\\Cron\\ProcessDeletedUser", last_checked=1_700_000_000)
        add_job(db, 17, "OC\\Core\\BackgroundJobs\\CleanupLoginFlowV2")
    return installed


def test_worker_runs_the_job_through_nextclouds_job_list(nextcloud: InstalledInstance) -> None:
    before = time.time()
    result = nextcloud.occ("background-job:worker", "--once", BACKUP_JOB)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Running job {BACKUP_JOB} with ID 4711"
    assert lines[1].startswith("Created Backup ") and lines[2].startswith("Checked ") and len(lines) == 3
    assert len(auto_backups(nextcloud)) == 1
    with nextcloud.connect() as db:
        row = job_row(db, 4711)
        assert before - 1 <= int(row["last_run"]) <= time.time()  # type: ignore[call-overload]
        assert row["last_checked"] == row["last_run"] and row["reserved_at"] == 0
        assert AppConfig(db, "backgroundjob").get("lastjob") == "4711"
        assert AppConfig(db, STATE_APP).get("backup_job/last_run") is None  # Nextcloud's row is the record
        assert job_row(db, 17)["last_checked"] == 0  # other jobs are left to Nextcloud

    # Not due again: nothing printed and nothing written.
    again = nextcloud.occ("background-job:worker", "--once", BACKUP_JOB)
    assert again.returncode == 0 and again.stdout == ""
    with nextcloud.connect() as db:
        assert job_row(db, 4711) == row


def test_worker_leaves_a_job_reserved_by_nextclouds_cron_alone(nextcloud: InstalledInstance) -> None:
    now = int(time.time())
    with nextcloud.connect() as db:
        db.execute_sql(f"UPDATE {db.table('jobs')} SET reserved_at = {now - 60} WHERE id = 4711").close()
        reserved = job_row(db, 4711)
    result = nextcloud.occ("background-job:worker", "--once", "-v", BACKUP_JOB)
    assert result.returncode == 0
    assert "Running job" not in result.stdout and "running elsewhere" in result.stdout
    assert auto_backups(nextcloud) == []
    with nextcloud.connect() as db:
        assert job_row(db, 4711) == reserved
        # A reservation older than 12 hours was left by a runner that died: the job runs.
        db.execute_sql(f"UPDATE {db.table('jobs')} SET reserved_at = {now - 13 * 3600} WHERE id = 4711").close()
    assert nextcloud.occ("background-job:worker", "--once", BACKUP_JOB).stdout.startswith("Running job")
    assert len(auto_backups(nextcloud)) == 1


def test_a_row_changed_since_it_was_read_is_not_claimed(nextcloud: InstalledInstance) -> None:
    now = int(time.time())
    with nextcloud.connect() as db:
        jobs = NextcloudJobList(db)
        record = jobs.next(job(BACKUP_JOB), now)
        assert record is not None and record.id == 4711
        # Nextcloud's cron reserves the row between our read and our reservation.
        db.execute_sql(
            f"UPDATE {db.table('jobs')} SET reserved_at = {now}, last_checked = {now} WHERE id = 4711"
        ).close()
        with jobs.claim(record, now) as held:
            assert held is None
        assert job_row(db, 4711)["reserved_at"] == now
        assert AppConfig(db, "backgroundjob").get("lastjob") is None


def test_list_shows_the_apps_jobs(nextcloud: InstalledInstance) -> None:
    with nextcloud.connect() as db:
        db.execute_sql(
            f"UPDATE {db.table('jobs')} SET last_run = 1700000000, last_checked = 1700000000 WHERE id = 4711"
        ).close()
    result = nextcloud.occ("background-job:list", "--output=json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "id": 4711,
            "class": BACKUP_JOB,
            "last_run": "2023-11-14T22:13:20+00:00",
            "argument": "null",
            "next_run": "2023-11-15T22:13:01+00:00",
        },
        {
            "id": 4712,
            "class": "OCA\\Passwords\\Cron\\ProcessDeletedUser",
            "last_run": "1970-01-01T00:00:00+00:00",
            "argument": "null",
            "next_run": "2023-11-14T22:13:20+00:00",  # a queued job is due when it was queued
        },
        *own_records(),
    ]
    plain = nextcloud.occ("background-job:list", "--class", BACKUP_JOB, "--limit=1").stdout.splitlines()
    assert (
        plain[1] == "| id   | class                        | last_run                  | argument | next_run"
        "                  |"
    )
    assert plain[3].startswith(f"| 4711 | {BACKUP_JOB} | 2023-11-14T22:13:20+00:00 | null     |")
    assert plain[-1] == "Output is currently limited to 1 jobs. Specify `-l, --limit[=LIMIT]` to override."
    grouped = json.loads(nextcloud.occ("background-job:list", "--group", "--output=json").stdout)
    assert grouped == sorted(
        [{"class": j.name, "count": 1} for j in JOBS if j.name != BACKUP_JOB] + [{"class": BACKUP_JOB, "count": 1}],
        key=lambda row: str(row["class"]),
    )


def own_records() -> list[dict[str, object]]:
    """The rows `background-job:list` shows for the timed jobs other than the backup job that have
    no row in `oc_jobs` (never run: due since the start of 1970)."""
    rows: list[dict[str, object]] = []
    for j in JOBS:
        if j.queued or j.name == BACKUP_JOB:
            continue
        due = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(max(0, j.interval(None) - 19)))  # type: ignore[arg-type]
        rows.append(
            {"id": None, "class": j.name, "last_run": "1970-01-01T00:00:00+00:00", "argument": "null", "next_run": due}
        )
    return rows


def test_list_and_worker_without_nextclouds_job_list(installed: InstalledInstance) -> None:
    listed = json.loads(installed.occ("background-job:list", "--output=json").stdout)
    assert [row["class"] for row in listed] == [j.name for j in JOBS if not j.queued]
    assert [row for row in listed if row["class"] == BACKUP_JOB] == [
        {
            "id": None,
            "class": BACKUP_JOB,
            "last_run": "1970-01-01T00:00:00+00:00",
            "argument": "null",
            "next_run": "1970-01-01T23:59:41+00:00",
        }
    ]
    with installed.connect() as db:
        AppConfig(db).set("backup/interval", "3600")
    assert installed.occ("background-job:worker", "--once", "\\oca\\passwords\\cron\\backupjob").returncode == 0
    with installed.connect() as db:
        last_run = int(AppConfig(db, STATE_APP).get("backup_job/last_run") or 0)
    listed = [r for r in json.loads(installed.occ("background-job:list", "--output=json").stdout) if r["id"] is None]
    listed = [r for r in listed if r["class"] == BACKUP_JOB]
    assert listed[0]["last_run"] == time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(last_run))
    assert listed[0]["next_run"] == time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(last_run + 3600 - 19))


def test_worker_refuses_unknown_classes_and_durations(installed: InstalledInstance) -> None:
    for args, message in [
        (["OCA\\Passwords\\Cron\\Nope"], "Invalid job class: OCA\\Passwords\\Cron\\Nope"),
        ([BACKUP_JOB, "Foo"], "Invalid job class: Foo"),
        (["--stop_after=10x"], 'Invalid value for --stop_after: "10x" (use e.g. 30, 30s, 10m or 2h)'),
    ]:
        result = installed.occ("background-job:worker", *args)
        assert result.returncode == 1 and result.stderr == message + "\n", (args, result.stderr)
    assert auto_backups(installed) == []


@pytest.mark.parametrize(
    ("value", "seconds"), [("30", 30), ("30s", 30), ("10m", 600), ("2H", 7200), ("1.9", 1), ("1e400", 0)]
)
def test_stop_after_units(value: str, seconds: int) -> None:
    assert parse_stop_after(value) == seconds
    with pytest.raises(UserError):
        parse_stop_after("1h30m")


def test_a_failing_job_is_reported_and_the_worker_goes_on(installed: InstalledInstance) -> None:
    folder = installed.instance.appdata_dir / "autoBackups"
    folder.write_text("not a folder")
    result = installed.occ("background-job:worker", "--once", BACKUP_JOB)
    assert result.returncode == 1
    assert result.stdout == f"Running job {BACKUP_JOB}\n"
    assert result.stderr.startswith(f"Job {BACKUP_JOB} failed: ") and result.stderr.count("\n") == 1
    assert "Unexpected error" not in result.stderr
    # As in Nextcloud, the run counts: the job is next due after its interval.
    assert installed.occ("background-job:worker", "--once", BACKUP_JOB).stdout == ""


@pytest.mark.parametrize("engine", ["sqlite"])
def test_looping_worker_stops_after_its_time_and_on_sigterm(installed: InstalledInstance) -> None:
    assert installed.occ("background-job:worker", "--once", BACKUP_JOB).returncode == 0
    result = installed.occ("background-job:worker", "-i", "1", "-t", "1s", BACKUP_JOB)
    assert result.returncode == 0 and result.stdout == "Background job worker will stop after 1 seconds\n"
    assert installed.occ("background-job:worker", "--interval=0", BACKUP_JOB).returncode == 0  # nothing due: exits

    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(installed.config_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ncpasswords", "background-job:worker", "-v", "-i", "60"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    watchdog = threading.Timer(60, process.kill)  # a worker that never waits fails the test, not the run
    watchdog.start()
    try:
        while "Waiting for jobs to become due" not in (line := process.stdout.readline()):
            assert line, process.stderr.read() if process.stderr else ""
    finally:
        watchdog.cancel()
    process.terminate()
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert stdout.endswith("Background job worker stopped\n")
