"""`occ background-job:worker`: run the app's jobs when they are due, once or in a loop."""

from __future__ import annotations

import contextlib
import functools
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType

from ..db.connection import Database
from ..errors import UserError
from ..instance.instance import Instance
from ..php.casts import php_intval
from ..php.json import json_decode
from ..php.numbers import php_numeric
from .deleted_user import InvalidJobArgument
from .joblist import JobRecord, NextcloudJobList, date_atom, store_for
from .registry import JobClass

_DURATION = re.compile(r"(\d+)([smh])", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600}


def parse_stop_after(value: str) -> int:
    """`--stop_after` as Nextcloud reads it: seconds (`30`, `30s`), minutes (`10m`) or hours (`2h`).

    Nextcloud ignores a value it cannot read (the worker then never stops); it is refused here.
    """
    if php_numeric(value) is not None:
        return php_intval(value)
    match = _DURATION.fullmatch(value)
    if match is None:
        raise UserError(f'Invalid value for --stop_after: "{value}" (use e.g. 30, 30s, 10m or 2h)')
    return int(match[1]) * _UNIT[match[2].lower()]


@dataclass
class WorkerOutput:
    """Where the worker reports: normal lines, error lines, and lines shown only with -v."""

    line: Callable[[str], None]
    error: Callable[[str], None]
    verbosity: int = 0

    def verbose(self, text: str) -> None:
        if self.verbosity:
            self.line(text)


class JobInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM arrived while a job was running (the job was stopped and cleaned up)."""


@dataclass
class PassResult:
    ran: int = 0
    failed: int = 0
    #: Whether a pass right away may find work: a queued job or one with an interval ran (a job
    #: without an interval, due on every pass, does not make the worker skip its wait).
    again: bool = False


def run_pass(
    instance: Instance, db: Database, jobs: Sequence[JobClass], out: WorkerOutput, now: float | None = None
) -> PassResult:
    """Run each of `jobs` that is due, once; a job another runner holds is left to it.

    A job's failure is reported and counted; the other jobs still run.
    """
    result = PassResult()
    for job in jobs:
        if job.queued:
            _run_queued(instance, db, job, out, result, now)
            continue
        started = int(time.time() if now is None else now)
        store = store_for(db, job)
        interval = job.interval(db)
        record = store.next(job, started)
        if record is None:
            out.verbose(f"Job {job.name} is running elsewhere or scheduled for later")
            continue
        if started < record.due_at(interval):
            out.verbose(f"Job {record.describe()} is not due before {date_atom(record.due_at(interval))}")
            continue
        with store.claim(record, started) as held:
            if held is None or started < held.due_at(interval):
                out.verbose(f"Job {record.describe()} was taken by another runner")
                continue
            store.started(held, started)
            # A failure is reported; the job runs again after its interval, as in Nextcloud.
            seconds = _run_claimed(out, held, result, functools.partial(job.run, instance, db, out.line, started, None))
            if seconds is None:
                continue
            store.finished(held, seconds)
            out.verbose(f"Job {held.describe()} has finished")
            result.again = result.again or interval > 0
    return result


def _run_claimed(out: WorkerOutput, record: JobRecord, result: PassResult, work: Callable[[], None]) -> int | None:
    """Run the work of a job this runner holds; a failure is reported and counted.

    Returns the whole seconds it took, or None when it failed."""
    out.line(f"Running job {record.describe()}")
    clock = time.monotonic()
    try:
        work()
    except KeyboardInterrupt:
        raise JobInterrupted from None
    except Exception as exc:
        _report_failure(out, record, exc)
        result.failed += 1
        return None
    result.ran += 1
    return int(time.monotonic() - clock)


def _report_failure(out: WorkerOutput, record: JobRecord, exc: Exception) -> None:
    reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
    out.error(f"Job {record.describe()} failed: {' '.join(reason.split())}")


def _run_queued(
    instance: Instance, db: Database, job: JobClass, out: WorkerOutput, result: PassResult, now: float | None
) -> None:
    """Run every row of a queued job in `oc_jobs` that no other runner holds (there is no queue
    without that table). Each row is removed in the transaction of its work, so a failure leaves
    it queued for the next pass, as the app's re-queueing does; a row whose argument the job
    cannot take is removed and reported."""
    if not db.table_exists("jobs"):
        return
    jobs = NextcloudJobList(db)
    for record in jobs.queued(job, int(time.time() if now is None else now)):
        started = int(time.time() if now is None else now)
        with jobs.claim(record, started) as held:
            if held is None:
                out.verbose(f"Job {record.describe()} was taken by another runner")
                continue
            jobs.started(held, started)

            def work(held: JobRecord = held, started: int = started) -> None:
                try:
                    with db.transaction():
                        jobs.remove(held)
                        job.run(instance, db, out.line, started, _argument(held.argument))
                except InvalidJobArgument:
                    jobs.remove(held)  # a row no run can take; reported as a failure
                    raise

            # A failure leaves the row queued for the next pass.
            seconds = _run_claimed(out, held, result, work)
            if seconds is None:
                continue
            out.verbose(f"Job {held.describe()} has finished in {seconds} seconds")
            result.again = True


def _argument(text: str) -> object:
    try:
        return json_decode(text)
    except ValueError:
        raise InvalidJobArgument(f"Invalid job argument: {text}") from None


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Treat SIGTERM (docker stop, systemctl stop) like Ctrl-C, so a running job cleans up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_worker(
    load_instance: Callable[[], Instance],
    jobs: Sequence[JobClass],
    out: WorkerOutput,
    *,
    once: bool,
    interval: int,
    stop_after: int | None,
) -> int:
    """Run passes until stopped; returns the exit code (1 when a job failed in a `once` run).

    Between passes that found nothing due (or ran only jobs due on every pass) it waits `interval`
    seconds (0: it exits instead).
    config.php is read and the database opened afresh for every pass.
    """
    started = time.monotonic()
    if stop_after is not None:
        out.line(f"Background job worker will stop after {stop_after} seconds")
    failed = 0
    with _sigterm_interrupts():
        try:
            while True:
                elapsed = time.monotonic() - started
                if stop_after is not None and elapsed >= stop_after:
                    out.verbose("stop_after time has been exceeded, exiting...")
                    break
                instance = load_instance()
                with instance.connect() as db:
                    result = run_pass(instance, db, jobs, out)
                failed += result.failed
                if once:
                    if not result.ran:
                        out.verbose(f"No job of classes [{', '.join(job.name for job in jobs)}] is due")
                        out.verbose("Exiting...")
                    break
                if result.again:
                    continue
                out.verbose("Waiting for jobs to become due")
                if interval == 0:
                    break
                time.sleep(interval if stop_after is None else min(interval, max(0.0, stop_after - elapsed)))
        except JobInterrupted:
            raise
        except KeyboardInterrupt:  # between jobs: stop without a fuss, as Nextcloud's worker does
            out.line("Background job worker stopped")
    return 1 if once and failed else 0
