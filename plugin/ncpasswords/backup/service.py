"""The backup operations of the app (create, restore, import) on an instance, serialised by one
advisory lock so that a backup and a restore never interleave."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from ..db.connection import Database
from ..instance.instance import Instance
from ..repositories.entities import TABLES
from .document import MODEL_SECTIONS, ROW_SECTIONS, DocumentStats, write_document
from .errors import BackupFormatError, ClientBackupError
from .phpjson import BinaryWriter, dumps
from .reader import RowBuilder, model_tables, php_map, read_document
from .restore import RestoreOptions, RestoreResult, restore_backup
from .storage import BACKUPS, BackupFile, BackupStorage

LOCK_NAME = "backup"
LOCK_WAIT_SECONDS = 60.0
LOCK_BUSY = "Another backup or restore is running on this instance; try again when it has finished"

Progress = Callable[[int], None]


def storage_for(instance: Instance) -> BackupStorage:
    """The backup folders of the instance (`<datadirectory>/appdata_<instanceid>/passwords`)."""
    return BackupStorage.for_instance(instance.data_dir, instance.instance_id)


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
) -> tuple[BackupFile, DocumentStats]:
    """Write a backup of the whole database from one consistent snapshot.

    The file appears only once complete (temp file, fsync, rename, mode 0600).
    """
    storage = storage_for(instance)
    with backup_lock(db):
        instance.reload_for(db)  # the secret, or the database, may have changed while this waited
        storage.cleanup_temp_files(older_than=0)
        with storage.create(name, folder, now=now) as new, db.transaction(snapshot=True):
            stats = write_document(db, instance.server_secret, new, progress)
    assert new.result is not None
    return new.result, stats


def restore(
    instance: Instance,
    db: Database,
    backup: BackupFile,
    options: RestoreOptions,
    progress: Progress | None = None,
) -> RestoreResult:
    """Restore a stored backup in one transaction."""
    with backup_lock(db):
        instance.reload_for(db)  # the secret, or the database, may have changed while this waited
        try:
            return restore_backup(instance, db, backup.path, options, progress)
        except Exception as exc:
            if _duplicate_key(exc):  # rolled back; the file breaks the tables' unique indexes
                detail = " ".join(str(exc).split())
                raise BackupFormatError(
                    f"The backup cannot be restored: two entities of one user have the same uuid ({detail})"
                ) from exc
            raise


def _duplicate_key(exc: BaseException) -> bool:
    """A unique-index violation reported by any of the three drivers."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "UniqueViolation" in names:  # psycopg
        return True
    if "IntegrityError" not in names:
        return False
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    return (len(args) > 0 and args[0] == 1062) or "UNIQUE constraint failed" in str(exc)  # MySQL, SQLite


def validate_and_write(path: Path, server_secret: str, out: BinaryWriter, progress: Progress | None = None) -> int:
    """Read a backup file fully, validate every entity, write it re-encoded as v106 to `out`.

    Returns the number of entities. Raises BackupFormatError / BackupVersionError on bad input.
    """
    try:
        document = read_document(path, server_secret)
    except ClientBackupError:  # the reference's import checks `version >= 100` before upgrading
        raise BackupFormatError("The file does not contain a valid server backup") from None
    out.write(b'{"version":106')
    section = ""
    count = 0
    seen_keys = False
    for name, value in document.items:
        is_list = name in MODEL_SECTIONS or name in ROW_SECTIONS
        if name != section:
            if section in MODEL_SECTIONS or section in ROW_SECTIONS:
                out.write(b"]")
            section = name
            out.write(f',{dumps(name)}:'.encode("ascii") + (b"[" if is_list else b""))
            first = True
        if is_list:
            _validate(name, value)
            out.write((b"" if first else b",") + dumps(value).encode("ascii"))
            first = False
            count += 1
            if progress and count % 1000 == 0:
                progress(count)
        else:
            if name == "keys":
                value = php_map(value)
                if not isinstance(value, dict) or not isinstance(php_map(value.get("server", {})), dict):
                    raise BackupFormatError("The file does not contain a valid server backup")
                seen_keys = True
            elif name == "settings" and not isinstance(php_map(value), dict):
                raise BackupFormatError("The backup's settings are not an object")
            out.write(dumps(value).encode("ascii"))
    if section in MODEL_SECTIONS or section in ROW_SECTIONS:
        out.write(b"]")
    if not seen_keys:
        raise BackupFormatError("The file does not contain a valid server backup")
    out.write(b"}")
    return count


_BUILDERS = {name: RowBuilder(table) for name, table in TABLES.items()}


def _validate(section: str, value: Any) -> None:
    """The checks a restore makes (RowBuilder), so that an imported backup can be restored."""
    if section in MODEL_SECTIONS:
        model_table, revision_table = model_tables(section)
        _BUILDERS[model_table.name].row(value, section)
        revisions = value.get("revisions", [])
        if not isinstance(revisions, list):
            raise BackupFormatError(f"The backup's '{section}' holds revisions that are not a list")
        for revision in revisions:
            _BUILDERS[revision_table.name].row(revision, section)
    else:
        _BUILDERS[ROW_SECTIONS[section]].row(value, section)


def import_file(instance: Instance, source: Path, progress: Progress | None = None) -> BackupFile:
    """Validate a backup file fully and store it, re-encoded, in `backups/`."""
    storage = storage_for(instance)
    with storage.import_writer(source.name) as new:
        validate_and_write(source, instance.server_secret, new, progress)
    assert new.result is not None
    return new.result
