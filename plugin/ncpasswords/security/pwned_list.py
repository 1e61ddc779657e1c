"""`passwords:pwned-list:process` as a library: check the request, select the hashes (both passes
of pwned.py) into a private spill folder, then either install them as the instance's local
breached-password database or pack them into the update ZIP the app's updater downloads.

Nothing here prints: what a run does is told to a `Report` (the CLI shows it as the reference's
lines and progress bars).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import UserError
from ..files.appdata import app_data_files
from ..instance.instance import Instance
from ..repositories.config_values import AppConfig
from . import pwned

CACHE_LOCK = "passwords-cache"


class Report(Protocol):
    """What a run tells as it goes."""

    def line(self, text: str) -> None:
        """A step ("Reading hashes…")."""

    def detail(self, text: str) -> None:
        """A detail for verbose output (which line of the list is at fault, how many were taken)."""

    def progress(self, maximum: int) -> pwned.Progress:
        """A started progress bar for a pass of `maximum` steps; the run calls its `finish()`."""


class SilentReport:
    """A report that shows nothing."""

    def line(self, text: str) -> None:
        pass

    def detail(self, text: str) -> None:
        pass

    def progress(self, maximum: int) -> pwned.Progress:
        return pwned.NoProgress()


@dataclass(frozen=True)
class PwnedListJob:
    """A checked request: the list file, how many million hashes to take and the mode
    (`json`, `gzip` or `import`; the reference's `file` is `gzip`)."""

    path: Path
    millions: int
    mode: str

    @classmethod
    def check(cls, file: str | os.PathLike[str], millions: int, mode: str) -> PwnedListJob:
        """The job for these arguments; a missing list, a size below 1 or an unknown mode is refused."""
        path = Path(os.path.realpath(file))
        if not path.is_file() or not os.access(path, os.R_OK):
            raise UserError(f"File not found or not readable: {path}")
        if millions < 1:
            raise UserError(f"Invalid size specified: {millions}")
        if mode not in pwned.MODES:
            raise UserError(f"Invalid mode specified: {mode}")
        return cls(path, millions, "gzip" if mode == "file" else mode)  # zlib is always there

    @property
    def importing(self) -> bool:
        return self.mode == "import"

    @property
    def quota(self) -> int:
        return self.millions * 1_000_000


def _select(job: PwnedListJob, spill: pwned.SpillStore, report: Report) -> int:
    """Both passes of the reference; returns how many hashes were taken."""
    try:
        report.line("Reading prevalence…")
        bar = report.progress(4096)
        prevalence = pwned.read_prevalence(job.path, bar)
        bar.finish()
        minimum, slots = pwned.cutoff(pwned.histogram(prevalence), job.quota)
        report.line("Reading hashes…")
        bar = report.progress(job.quota)
        taken = pwned.collect(job.path, prevalence, minimum, slots, spill, bar)
        bar.finish()
    except pwned.PwnedListError as exc:
        if exc.line:
            report.detail(f"Line {exc.line} of {job.path}")
        raise
    report.detail(
        f"Took {taken} hashes: every hash seen more than {minimum} times, "
        f"and the first {slots} seen exactly {minimum} times"
    )
    return taken


@contextmanager
def _selected(job: PwnedListJob, parent: Path, report: Report) -> Iterator[tuple[Path, pwned.SpillStore]]:
    """The selected hashes in a spill folder below `parent`, removed afterwards."""
    parent.mkdir(parents=True, exist_ok=True)
    scratch = pwned.spill_folder(parent)
    try:
        spill = pwned.SpillStore(scratch)
        _select(job, spill, report)
        yield scratch, spill
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def export_zip(job: PwnedListJob, folder: Path, report: Report | None = None) -> Path:
    """Write the update ZIP (`<size>m-v16-<mode>.zip`) into `folder`; returns its path."""
    report = report or SilentReport()
    with _selected(job, folder, report) as (_, spill):
        report.line("Creating export file…")
        target = folder / pwned.zip_name(job.millions, job.mode)
        bar = report.progress(len(spill.prefixes()))
        pwned.write_zip(target, spill, job.mode == "gzip", bar)
        bar.finish()
    return target


def import_list(job: PwnedListJob, instance: Instance, report: Report | None = None) -> int:
    """Install the selection as the instance's `passwordsCache/` (under the app's cache lock, the
    old cache replaced only when the new one is complete) and record its type and version in the
    app's settings; returns the number of files in the new cache."""
    report = report or SilentReport()
    with _selected(job, instance.appdata_dir, report) as (scratch, spill):
        report.line("Importing hashes…")
        with (
            instance.connect() as db,
            db.advisory_lock(
                CACHE_LOCK, wait=60, busy_message="Another process is updating the local password database"
            ),
        ):
            app_data = app_data_files(instance, db)
            bar = report.progress(len(spill.prefixes()))
            files = pwned.install_cache(instance.appdata_dir, spill, bar, app_data)
            bar.finish()
            app = AppConfig(db)
            with db.transaction():
                db_type = pwned.local_db_type(app.get("service/security"))
                if db_type is not None:
                    app.set(pwned.CONFIG_DB_TYPE, db_type)
                app.set(pwned.CONFIG_DB_VERSION, str(pwned.PASSWORD_VERSION))
            shutil.rmtree(scratch, ignore_errors=True)  # it lives in the app's folder
            app_data.settle(instance.appdata_dir)
    return files
