"""Where a job's schedule lives, and how a run is claimed so that no two runners do it at once.

On a real Nextcloud the job has a row in `<prefix>jobs`; it is read and updated as Nextcloud's
JobList does (`reserved_at` while it runs, `last_checked`, `last_run`, `execution_duration`,
`backgroundjob/lastjob`), so Nextcloud's cron and this tool's worker share one schedule and never
run the job together. Where there is no such row (a standalone instance, or a Nextcloud without
the app enabled) this tool keeps its own record: `<record>/last_run` in the app config of the
app id `ncpasswords`, and a database lock while the job runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..db.connection import Database, LockBusyError
from ..db.errors import ConflictError
from ..php.casts import php_intval
from ..php.json import dumps as php_json_encode
from ..php.json import json_decode
from ..repositories.config_values import AppConfig
from .registry import APP_NAMESPACE, JOBS, JobClass, find

#: This tool's own record of its jobs (a separate app id keeps it apart from the app's settings).
STATE_APP = "ncpasswords"
#: A reservation older than this is taken to be left by a runner that died (Nextcloud's rule).
RESERVATION_TIMEOUT = 12 * 3600
#: A TimedJob runs when more than `interval - LAST_RUN_MARGIN` seconds have passed since its last
#: run (Nextcloud's TimedJob::$lastRunCheckMargin), so cron's jitter does not skip runs.
LAST_RUN_MARGIN = 20


def date_atom(timestamp: int) -> str:
    """PHP's date(DATE_ATOM, ...) in Nextcloud's time zone (UTC)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class JobRecord:
    """A job's schedule: its row in `oc_jobs` (`id` set) or its own record (`id` None)."""

    job: JobClass
    id: int | None
    last_run: int
    last_checked: int = 0
    reserved_at: int = 0
    argument: str = "null"

    def due_at(self, interval: int) -> int:
        """The first second at which the job counts as due."""
        return self.last_run + interval - LAST_RUN_MARGIN + 1

    def describe(self) -> str:
        return self.job.name if self.id is None else f"{self.job.name} with ID {self.id}"


class JobStore(Protocol):
    """Reads a job's schedule, claims runs of it and records them."""

    def next(self, job: JobClass, now: int) -> JobRecord | None:
        """The job's schedule, read without changing anything; None when no runner may take it
        now (another holds it, or it is scheduled for later)."""

    def claim(self, record: JobRecord, now: int) -> contextlib.AbstractContextManager[JobRecord | None]:
        """Hold the job for this runner: its schedule as it is now, or None when another runner
        took it since `record` was read."""

    def started(self, record: JobRecord, now: int) -> None:
        """Record the start of a run (its last run, set before running as Nextcloud does)."""

    def finished(self, record: JobRecord, duration: int) -> None:
        """Record a completed run's duration in seconds."""


class NextcloudJobList:
    """The job's rows in Nextcloud's `<prefix>jobs`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def has(self, job: JobClass) -> bool:
        return self.db.scalar("jobs.has_class", {"class": job.name}) is not None

    def next(self, job: JobClass, now: int) -> JobRecord | None:
        """Nextcloud's getNext for one class: not reserved within 12 hours, not scheduled later."""
        rows = self.db.rows("jobs.next", {"class": job.name, "now": now, "reserved_before": now - RESERVATION_TIMEOUT})
        if not rows:
            return None
        return self._record(job, rows[0])

    @staticmethod
    def _record(job: JobClass, row: tuple[Any, ...]) -> JobRecord:
        job_id, _, argument, last_run, last_checked, reserved_at = row
        return JobRecord(
            job, int(job_id), php_intval(last_run), int(last_checked), int(reserved_at), str(argument or "null")
        )

    def queued(self, job: JobClass, now: int) -> list[JobRecord]:
        """Every row of a queued job that a runner may take now, in Nextcloud's order."""
        rows = self.db.rows(
            "jobs.runnable", {"class": job.name, "now": now, "reserved_before": now - RESERVATION_TIMEOUT}
        )
        return [self._record(job, row) for row in rows]

    def remove(self, record: JobRecord) -> None:
        """Remove a queued job's rows with this argument (Nextcloud's QueuedJob does before it runs)."""
        self.db.execute("jobs.remove", {"class": record.job.name, "argument": record.argument}).close()

    @contextlib.contextmanager
    def claim(self, record: JobRecord, now: int) -> Iterator[JobRecord | None]:
        """Reserve the row as Nextcloud does: only if nobody changed it since it was read."""
        try:
            cur = self.db.execute(
                "jobs.reserve",
                {"id": record.id, "now": now, "reserved_at": record.reserved_at, "last_checked": record.last_checked},
            )
            won = cur.rowcount == 1
            cur.close()
        except ConflictError:  # Galera: another node's runner reserved it at the same moment and won
            won = False
        if not won:
            yield None
            return
        try:
            yield record
        except BaseException:
            with contextlib.suppress(Exception):  # the connection may be gone; the reservation expires
                self._unlock(record)
            raise
        self._unlock(record)

    def _unlock(self, record: JobRecord) -> None:
        self.db.execute("jobs.unlock", {"id": record.id}).close()
        AppConfig(self.db, "backgroundjob").set("lastjob", str(record.id))

    def started(self, record: JobRecord, now: int) -> None:
        self.db.execute("jobs.set_last_run", {"id": record.id, "now": now}).close()

    def finished(self, record: JobRecord, duration: int) -> None:
        self.db.execute("jobs.set_execution_time", {"id": record.id, "duration": duration}).close()


class OwnRecord:
    """This tool's record of a job where Nextcloud has none; a database lock while it runs."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.state = AppConfig(db, STATE_APP)

    def last_run(self, job: JobClass) -> int:
        return php_intval(self.state.get(f"{job.record}/last_run") or "0")

    def next(self, job: JobClass, now: int) -> JobRecord | None:
        return JobRecord(job, None, self.last_run(job))

    @contextlib.contextmanager
    def claim(self, record: JobRecord, now: int) -> Iterator[JobRecord | None]:
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self.db.advisory_lock(f"job-{record.job.record}"))
                held = True
            except LockBusyError:
                held = False
            yield self.next(record.job, now) if held else None

    def started(self, record: JobRecord, now: int) -> None:
        self.state.set(f"{record.job.record}/last_run", str(now))

    def finished(self, record: JobRecord, duration: int) -> None:
        """The own record keeps no durations."""


def store_for(db: Database, job: JobClass) -> JobStore:
    """Nextcloud's job list where it has a row for the job, else this tool's own record."""
    if db.table_exists("jobs"):
        jobs = NextcloudJobList(db)
        if jobs.has(job):
            return jobs
    return OwnRecord(db)


def _next_run(job: JobClass | None, db: Database, last_run: int, last_checked: int) -> str | None:
    if job is None:
        return None
    due = JobRecord(job, None, last_run).due_at(job.interval(db))
    return date_atom(max(due, last_checked))


def _listed(
    db: Database, job_id: int | None, class_name: str, argument: str, last_run: int, last_checked: int
) -> dict[str, Any]:
    """A row of `background-job:list`: Nextcloud's columns, then when it is next due."""
    try:
        shown = php_json_encode(json_decode(argument))
    except ValueError:
        shown = "null"
    return {
        "id": job_id,
        "class": class_name,
        "last_run": date_atom(last_run),
        "argument": shown,
        "next_run": _next_run(find(class_name), db, last_run, last_checked),
    }


def list_jobs(db: Database, class_name: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """The app's jobs (or those of one class) from `oc_jobs`, `limit` rows from `offset`; the jobs
    this tool runs that have no row there follow from its own record (on the first page)."""
    listed: list[dict[str, Any]] = []
    registered: set[str] = set()
    if db.table_exists("jobs"):
        if class_name is None:
            query, params = "jobs.list_app", {"prefix": APP_NAMESPACE, "prefix_length": len(APP_NAMESPACE)}
        else:
            query, params = "jobs.list_class", {"class": class_name}
        for job_id, name, argument, last_run, last_checked in db.rows(
            query, {**params, "limit": limit, "offset": offset}
        ):
            listed.append(
                _listed(db, int(job_id), str(name), str(argument or ""), php_intval(last_run), php_intval(last_checked))
            )
        registered = {job.name for job in JOBS if NextcloudJobList(db).has(job)}
    own = OwnRecord(db)
    if offset == 0:
        for job in JOBS:
            if not job.queued and job.name not in registered and class_name in (None, job.name):
                listed.append(_listed(db, None, job.name, "null", own.last_run(job), 0))
    return listed[:limit]


def count_by_class(db: Database, limit: int, offset: int) -> list[dict[str, Any]]:
    """`background-job:list --group`: the number of the app's jobs per class, fewest first."""
    counts: dict[str, int] = {}
    if db.table_exists("jobs"):
        rows = db.rows("jobs.count_by_class", {"prefix": APP_NAMESPACE, "prefix_length": len(APP_NAMESPACE)})
        counts = {str(name): int(count) for name, count in rows}
    for job in JOBS:
        if not job.queued:
            counts.setdefault(job.name, 1)  # its own record
    ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]))
    return [{"class": name, "count": count} for name, count in ordered][offset : offset + limit]
