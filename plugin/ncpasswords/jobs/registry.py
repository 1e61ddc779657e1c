"""The app's background jobs this tool can run, by the class name Nextcloud records in `oc_jobs`
(docs/background-jobs.md).

A TimedJob runs when its interval has passed since its last run; a QueuedJob (`queued`) has one
row in `oc_jobs` per argument, runs once and is removed. A job slots in with its class name, the
name of its own record (used where `oc_jobs` has no row for a timed job), how to read its interval,
and the work it does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..backup.scheduler import backup_interval, backup_job
from ..db.connection import Database
from ..errors import UserError
from ..instance.instance import Instance
from . import cleanup, deleted_user, password_check, shares

#: What a job writes for the admin (one line per call).
Log = Callable[[str], None]
#: The work of a job: the instance, its database, the log, the time of the run and the job's
#: argument (JSON-decoded; None for the timed jobs).
Run = Callable[[Instance, Database, Log, float, Any], None]

#: The namespace of the Passwords app's classes.
APP_NAMESPACE = "OCA\\Passwords\\"


@dataclass(frozen=True)
class JobClass:
    """One of the app's background jobs."""

    name: str
    record: str
    interval: Callable[[Database], int]
    run: Run
    queued: bool = False


def _every(seconds: int) -> Callable[[Database], int]:
    return lambda db: seconds


def _timed(work: Callable[[Instance, Database, Log, float], None]) -> Run:
    return lambda instance, db, log, now, argument: work(instance, db, log, now)


#: In the order of the app's appinfo/info.xml; the queued job last.
JOBS: tuple[JobClass, ...] = (
    JobClass(
        password_check.JOB_CLASS,
        "check_passwords",
        _every(password_check.INTERVAL),
        _timed(password_check.check_passwords_job),
    ),
    JobClass(shares.JOB_CLASS, "synchronize_shares", _every(shares.INTERVAL), _timed(shares.synchronize_shares_job)),
    JobClass(cleanup.JOB_CLASS, "cleanup_entities", _every(cleanup.INTERVAL), _timed(cleanup.cleanup_job)),
    JobClass("OCA\\Passwords\\Cron\\BackupJob", "backup_job", backup_interval, _timed(backup_job)),
    JobClass(deleted_user.JOB_CLASS, "process_deleted_user", _every(0), deleted_user.run, queued=True),
)


def find(name: str) -> JobClass | None:
    """The job of a class name as PHP resolves it: any case, an optional leading backslash."""
    wanted = name.removeprefix("\\").lower()
    return next((job for job in JOBS if job.name.lower() == wanted), None)


def job(name: str) -> JobClass:
    """The job of a class name this tool runs (a KeyError for another)."""
    found = find(name)
    if found is None:
        raise KeyError(name)
    return found


def resolve(names: Iterable[str]) -> list[JobClass]:
    """The jobs of these class names (all jobs for none); an unknown name is refused."""
    jobs = []
    for name in names:
        found = find(name)
        if found is None:
            raise UserError(f"Invalid job class: {name}")
        jobs.append(found)
    return jobs or list(JOBS)
