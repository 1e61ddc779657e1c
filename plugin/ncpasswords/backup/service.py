"""The backup operations of the app (create, restore, import) on an instance, serialised by one
advisory lock so that a backup and a restore never interleave."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ..db.connection import CONFLICT_ATTEMPTS, Database, RowLimit
from ..db.errors import ConflictError, ConnectionLostError, DuplicateKeyError
from ..db.replicas import open_replica
from ..errors import UserError
from ..files.appdata import app_data_files
from ..instance.instance import Instance
from ..php.json import BinaryWriter, dumps
from . import dryrun, records
from .document import DocumentStats, write_document
from .dryrun import DryRunReport
from .errors import BackupError, BackupFormatError, ClientBackupError
from .format import LIST_SECTIONS, VERSION
from .reader import read_document
from .restore import RestoreOptions, RestoreResult, restore_backup
from .source import BackupSource
from .storage import BACKUPS, BackupFile, BackupStorage
from .validation import INVALID_BACKUP, Validator, php_map
from .verify import DAMAGED, VerifyResult, verify_source

LOCK_NAME = "backup"
LOCK_WAIT_SECONDS = 60.0
LOCK_BUSY = "Another backup or restore is running on this instance; try again when it has finished"
CONFLICT = (
    "The restore lost {n} times against changes committed at the same time on another database node "
    "(certification conflict); nothing was changed. Stop what writes to the app's tables (maintenance "
    "mode) and try again"
)

Progress = Callable[[int], None]


def storage_for(instance: Instance, db: Database | None = None) -> BackupStorage:
    """The backup folders of the instance (`<datadirectory>/appdata_<instanceid>/passwords`).

    With the database, files written or deleted are registered in Nextcloud's file cache where
    the database has one (docs/existing-nextcloud.md)."""
    files = app_data_files(instance, db) if db is not None else None
    return BackupStorage.for_instance(instance.data_dir, instance.instance_id, files)


@contextmanager
def backup_lock(db: Database) -> Iterator[None]:
    """Hold the instance-wide backup lock (waits up to LOCK_WAIT_SECONDS)."""
    with db.advisory_lock(LOCK_NAME, wait=LOCK_WAIT_SECONDS, busy_message=LOCK_BUSY):
        yield


def create(
    instance: Instance,
    db: Database,
    name: str | None = None,
    folder: str = BACKUPS,
    progress: Progress | None = None,
    now: datetime | None = None,
    force: bool = False,
) -> tuple[BackupFile, DocumentStats]:
    """Write a backup of the whole database from one consistent snapshot.

    The file appears only once complete (temp file, fsync, rename, mode 0600). A backup made
    under another full name is not replaced unless `force` (`BackupStorage.create`). The snapshot
    is read from a replica of config.php's `dbreplica` that has caught up with the primary
    (`db.replicas`), else from the primary; a replica that goes away while it is read is left for
    the primary, from the start. `stats.read_from` says which one it was.
    """
    storage = storage_for(instance, db)
    with backup_lock(db):  # on the primary: it serialises the users of every replica too
        instance.reload_for(db)  # the secret, or the database, may have changed while this waited
        storage.cleanup_temp_files(older_than=0)

        def write(reader: Database) -> tuple[BackupFile, DocumentStats]:
            with storage.create(name, folder, now=now, force=force) as new, reader.transaction(snapshot=True):
                stats = write_document(reader, instance.server_secret, new, progress)
            assert new.result is not None
            stats.read_from = reader.settings.describe()
            return new.result, stats

        replicas = instance.replica_settings()
        replica = open_replica(db, replicas, instance.replica_max_lag) if replicas else None
        if replica is None:
            return write(db)
        try:
            return write(replica)
        except ConnectionLostError:
            if progress is not None:
                progress(0)
            return write(db)
        finally:
            replica.close()


def restore(
    instance: Instance,
    db: Database,
    source: BackupSource,
    options: RestoreOptions,
    progress: Progress | None = None,
) -> RestoreResult:
    """Restore a backup from its open file in one transaction. A transaction that lost a conflict
    (rolled back whole, the file untouched) runs again from the start, up to CONFLICT_ATTEMPTS
    times (docs/clusters.md#configphp-on-galera)."""
    with backup_lock(db):
        instance.reload_for(db)  # the secret, or the database, may have changed while this waited
        try:
            return db.retry_conflicts(lambda: restore_backup(instance, db, source, options, progress))
        except ConflictError as exc:
            raise UserError(CONFLICT.format(n=CONFLICT_ATTEMPTS)) from exc
        except DuplicateKeyError as exc:  # rolled back; the file breaks the tables' unique indexes
            detail = " ".join(str(exc).split())
            raise BackupFormatError(f"The backup has two entities of one user with the same uuid ({detail})") from exc


def dry_run(instance: Instance, db: Database, source: BackupSource, options: RestoreOptions) -> DryRunReport:
    """What `restore` would change, with its checks, changing nothing (`dryrun`)."""
    with backup_lock(db):
        instance.reload_for(db)
        return dryrun.dry_run(instance, db, source, options)


def validate_and_write(
    source: BackupSource | Path,
    server_secret: str,
    out: BinaryWriter,
    progress: Progress | None = None,
    row_limit: RowLimit | None = None,
) -> int:
    """Read a backup file fully, check it as a restore does (`validation`), write it re-encoded as
    v106 to `out`.

    Returns the number of list items (a model with its revisions counts once). Raises
    BackupFormatError / BackupVersionError on bad input.
    """
    try:
        document = read_document(source, server_secret)
    except ClientBackupError:  # the reference's import checks `version >= 100` before upgrading
        raise BackupFormatError(INVALID_BACKUP) from None
    validator = Validator(row_limit)
    out.write(b'{"version":%d' % VERSION)
    section = ""
    count = 0
    for name, value in document.items:
        is_list = name in LIST_SECTIONS
        validator.item(name, value)
        if name != section:
            if section in LIST_SECTIONS:
                out.write(b"]")
            section = name
            out.write(f",{dumps(name)}:".encode("ascii") + (b"[" if is_list else b""))
            first = True
        if is_list:
            out.write((b"" if first else b",") + dumps(value).encode("ascii"))
            first = False
            count += 1
            if progress and count % 1000 == 0:
                progress(count)
        else:
            out.write(dumps(php_map(value) if name == "keys" else value).encode("ascii"))
    if section in LIST_SECTIONS:
        out.write(b"]")
    validator.finish()
    out.write(b"}")
    return count


def import_file(
    instance: Instance,
    db: Database,
    source: BackupSource,
    name: str,
    progress: Progress | None = None,
    *,
    force: bool = False,
) -> BackupFile:
    """Check a backup file fully (against this instance's database limits) and store it,
    re-encoded, in `backups/` under the label of `name` (the file name the admin gave)."""
    storage = storage_for(instance, db)
    with storage.import_writer(name, force=force) as new:
        validate_and_write(source, instance.server_secret, new, progress, db.row_limit())
    assert new.result is not None
    return new.result


def verify_stored(instance: Instance, db: Database, backup: BackupFile, now: float) -> VerifyResult:
    """Check a stored backup as `passwords:backup:verify` does and remember the result for
    `backup:list --details`."""
    try:
        with storage_for(instance).open(backup) as source:
            result = verify_source(source, backup.label, instance.server_secret, db.row_limit())
    except BackupError as exc:  # the file cannot be opened at all
        result = VerifyResult(backup.label, DAMAGED, str(exc))
    record = records.Record(int(now), result.status, result.message)
    records.remember(db, records.CHECK, backup, record)
    return result
