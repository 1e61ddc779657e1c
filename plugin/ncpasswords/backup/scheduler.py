"""Scheduled backups (the reference's BackupJob) and the automatic restore after a wiped database
(its AutoBackupRestore repair step); backup-format.md §7."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..db.connection import Database
from ..instance.instance import Instance
from ..php import php_intval
from ..repositories.config_values import AppConfig
from ..repositories.entity_repository import EntityRepository
from . import service
from .restore import RestoreOptions
from .storage import AUTO_BACKUPS, BackupFile, auto_restore_label, compare_labels, human_file_size

# Where this tool remembers when the backup job last ran (Nextcloud keeps it in oc_jobs, which a
# standalone instance does not have); its own app id keeps it apart from the app's settings.
STATE_APP = "ncpasswords"
LAST_RUN_KEY = "backup_job/last_run"
DEFAULT_INTERVAL = 86400

Log = Callable[[str], None]


def backup_interval(app: AppConfig) -> int:
    """`backup/interval` as the job reads it: intval of the raw value (non-numeric gives 0)."""
    raw = app.get("backup/interval")
    return DEFAULT_INTERVAL if raw is None or raw == "" else php_intval(raw)


def run_backup_job(instance: Instance, db: Database, log: Log, now: float | None = None) -> BackupFile | None:
    """Create an automatic backup if `backup/interval` seconds have passed since the last one,
    then rotate `autoBackups/` to `backup/files/maximum`. Returns the new backup, if any."""
    now = time.time() if now is None else now
    state = AppConfig(db, STATE_APP)
    app = AppConfig(db)
    last = php_intval(state.get(LAST_RUN_KEY) or "0")
    if last and now - last < backup_interval(app):
        return None
    backup, _ = service.create(instance, db, None, AUTO_BACKUPS, now=datetime.fromtimestamp(now, UTC))
    state.set(LAST_RUN_KEY, str(int(now)))
    log(f"Created Backup {backup.name} with {human_file_size(backup.size)}")
    for removed in service.storage_for(instance, db).remove_old_backups(app.get("backup/files/maximum")):
        log(f"Removed old backup {removed.name}")
    return backup


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
    for label in sorted(backups, key=functools.cmp_to_key(compare_labels), reverse=True):
        info = storage.info(backups[label], details=True)
        entities = info.get("entities")
        if not entities or not any(entities.get(k) for k in ("passwords", "folders", "tags")):
            continue
        try:
            service.create(instance, db, auto_restore_label(), AUTO_BACKUPS)
            service.restore(instance, db, backups[label], RestoreOptions())
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
