"""Scheduled backups (the reference's BackupJob) and the automatic restore after a wiped database
(its AutoBackupRestore repair step); docs/internals/backup-format.md#scheduled-backups-and-the-automatic-restore."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..db.connection import Database
from ..instance.instance import Instance
from ..php.casts import php_intval
from ..php.compare import compare_keys
from ..repositories.config_values import AppConfig
from ..repositories.entity_repository import EntityRepository
from . import offsite, records, service
from .agecrypt import AgeError
from .errors import BackupError
from .names import auto_restore_label, human_file_size
from .offsite import OffsiteCopyError, OffsiteSettings
from .restore import RestoreOptions
from .storage import AUTO_BACKUPS, BackupFile, BackupStorage
from .verify import DAMAGED, OK

DEFAULT_INTERVAL = 86400

Log = Callable[[str], None]


def backup_interval(db: Database) -> int:
    """`backup/interval` as the job reads it: intval of the raw value (non-numeric gives 0)."""
    raw = AppConfig(db).get("backup/interval")
    return DEFAULT_INTERVAL if raw is None or raw == "" else php_intval(raw)


def backup_job(instance: Instance, db: Database, log: Log, now: float) -> None:
    """The work of the reference's BackupJob: an automatic backup labelled with the time `now`,
    then rotation of `autoBackups/` to `backup/files/maximum`. When it is due is the job list's
    business (`jobs/`).

    Beyond the reference, the new backup is read back and checked (`verify`) and the result kept
    for `backup:list --details`; a damaged backup fails the job and rotates nothing away.
    """
    backup, _ = service.create(instance, db, None, AUTO_BACKUPS, now=datetime.fromtimestamp(now, UTC))
    log(f"Created Backup {backup.name} with {human_file_size(backup.size)}")
    checked = service.verify_stored(instance, db, backup, now)
    log(f"Checked {checked.line()}")
    if checked.status == DAMAGED:
        raise BackupError(f"The new backup {backup.name} is damaged; no old backup was removed: {checked.message}")
    storage = service.storage_for(instance, db)
    for removed in storage.remove_old_backups(AppConfig(db).get("backup/files/maximum")):
        log(f"Removed old backup {removed.name}")
    records.prune(db, {(b.folder, b.name) for b in storage.list_backups().values()})
    copy_failed = _offsite_copy(storage, db, backup, log, now)
    if checked.status != OK:
        raise BackupError(f"The new backup {backup.name} {checked.status}: {checked.message}")
    if copy_failed is not None:
        raise copy_failed


def _offsite_copy(
    storage: BackupStorage, db: Database, backup: BackupFile, log: Log, now: float
) -> OffsiteCopyError | None:
    """The encrypted off-site copy of a new scheduled backup, when one is configured; its outcome
    is logged and kept for `backup:list --details`, a failure is returned for the job to raise."""
    try:
        settings = OffsiteSettings.load(AppConfig(db))
        if settings.folder is None:
            return None
        written, removed = offsite.copy_backup(storage, backup, settings)
    except (OffsiteCopyError, AgeError) as exc:
        error = exc if isinstance(exc, OffsiteCopyError) else OffsiteCopyError(str(exc))
        records.remember(db, records.OFFSITE, backup, records.Record(int(now), "failed", str(exc)))
        return error
    log(f"Copied backup off-site to {written}")
    for path in removed:
        log(f"Removed old off-site copy {path.name}")
    records.remember(db, records.OFFSITE, backup, records.Record(int(now), "ok", str(written)))
    return None


STATUS_NOT_NEEDED, STATUS_NO_BACKUP, STATUS_RESTORED, STATUS_FAILED = 0, 1, 2, 3


@dataclass
class AutoRestoreResult:
    status: int
    restored: str | None = None


def _enabled(app: AppConfig) -> bool:
    raw = app.get("backup/update/autorestore")
    return True if raw is None else raw.strip().lower() in ("1", "true", "yes", "on")


def auto_restore(instance: Instance, db: Database, log: Log) -> AutoRestoreResult:
    """Restore the newest usable backup when the revision tables hold no live rows.

    Like the reference: backups are tried in descending label order, a safety backup
    `AUTO_<yy-mm-dd_HH-ii>` is made before each attempt, and `auto-backup/status` records the
    outcome (0 not needed, 1 no backup, 2 restored, 3 failed).
    """
    app = AppConfig(db)
    revisions = ("passwords_password_rv", "passwords_folder_rv", "passwords_tag_rv")
    if not _enabled(app) or any(EntityRepository(db, t).count() for t in revisions):
        return _status(app, AutoRestoreResult(STATUS_NOT_NEEDED))
    storage = service.storage_for(instance)
    backups = storage.list_backups()
    if not backups:
        return _status(app, AutoRestoreResult(STATUS_NO_BACKUP))
    result = AutoRestoreResult(STATUS_NO_BACKUP)
    for label in sorted(backups, key=functools.cmp_to_key(compare_keys), reverse=True):
        info = storage.info(backups[label], details=True)
        entities = info.get("entities")
        if not entities or not any(entities.get(k) for k in ("passwords", "folders", "tags")):
            continue
        try:
            with storage.open(backups[label]) as source:
                service.create(instance, db, auto_restore_label(), AUTO_BACKUPS)
                service.restore(instance, db, source, RestoreOptions())
        except Exception as exc:
            log(f"Automatic restore of backup {label} failed: {exc}")
            result = AutoRestoreResult(STATUS_FAILED, None)
            continue
        log(f"Backup {label} restored automatically (the database had no passwords, folders or tags)")
        return _status(app, AutoRestoreResult(STATUS_RESTORED, label))
    return _status(app, result)


def _status(app: AppConfig, result: AutoRestoreResult) -> AutoRestoreResult:
    app.set("auto-backup/status", str(result.status))
    return result
