"""The app's background jobs this tool can run, by the class name Nextcloud records in `oc_jobs`.

Each is a Nextcloud TimedJob: it runs when its interval has passed since its last run. A job
slots in with its class name, the name of its own record (used where `oc_jobs` has no row for it),
how to read its interval, and the work it does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..backup.scheduler import backup_interval, backup_job
from ..db.connection import Database
from ..errors import UserError
from ..instance.instance import Instance

#: What a job writes for the admin (one line per call).
Log = Callable[[str], None]

#: The namespace of the Passwords app's classes.
APP_NAMESPACE = "OCA\\Passwords\\"


@dataclass(frozen=True)
class JobClass:
    """One of the app's background jobs."""

    name: str
    record: str
    interval: Callable[[Database], int]
    run: Callable[[Instance, Database, Log, float], None]


JOBS: tuple[JobClass, ...] = (JobClass("OCA\\Passwords\\Cron\\BackupJob", "backup_job", backup_interval, backup_job),)


def find(name: str) -> JobClass | None:
    """The job of a class name as PHP resolves it: any case, an optional leading backslash."""
    wanted = name.removeprefix("\\").lower()
    return next((job for job in JOBS if job.name.lower() == wanted), None)


def resolve(names: Iterable[str]) -> list[JobClass]:
    """The jobs of these class names (all jobs for none); an unknown name is refused."""
    jobs = []
    for name in names:
        job = find(name)
        if job is None:
            raise UserError(f"Invalid job class: {name}")
        jobs.append(job)
    return jobs or list(JOBS)
