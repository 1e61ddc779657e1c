"""What this tool remembers about stored backups, for `passwords:backup:list --details`: the result
of the last check (`backup:verify`, or the scheduled job right after writing a backup) and of the
last off-site copy (docs/off-site-backups.md#scheduled-off-site-copies).

Kept in the tool's own app id of `appconfig` (beside the job records), never in the backup folders,
whose files stay exactly the app's. A record names the file it is about (inode, size, time), so a
backup written again under the same name shows no old result; records of files that are gone are
dropped by `prune`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ..db.connection import Database
from ..repositories.config_values import AppConfig
from .storage import BackupFile

#: The tool's own app id in appconfig (the job records live there too).
TOOL_APP: Final = "ncpasswords"
CHECK: Final = "backup/check"
OFFSITE: Final = "backup/offsite"
# Nextcloud's limit on appconfig keys.
_KEY_LIMIT: Final = 64


@dataclass(frozen=True)
class Record:
    """One remembered result: when, `ok`/`damaged`/`cannot be opened here`/`failed`, and why."""

    time: int
    status: str
    message: str = ""

    def line(self, what: str) -> str:
        when = datetime.fromtimestamp(self.time, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{what} {when}: {self.status}" + (f": {self.message}" if self.message else "")


def _key(kind: str, folder: str, name: str) -> str | None:
    key = f"{kind}/{folder}/{name}"
    return key if len(key.encode("utf-8")) <= _KEY_LIMIT else None


def _fingerprint(backup: BackupFile) -> str:
    """Which file a record is about: a backup written again under the same name is another file."""
    try:
        info = os.lstat(backup.path)
    except OSError:
        return ""
    return f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"


def remember(db: Database, kind: str, backup: BackupFile, record: Record) -> None:
    """Store the result of a check or copy of the stored backup `backup`."""
    key = _key(kind, backup.folder, backup.name)
    if key is not None:
        value = {"time": record.time, "status": record.status, "message": record.message, "file": _fingerprint(backup)}
        AppConfig(db, TOOL_APP).set(key, json.dumps(value, ensure_ascii=False))


def recall(db: Database, kind: str, backup: BackupFile) -> Record | None:
    """The stored result of a check or copy of `backup`, if any, and if it is about this file."""
    key = _key(kind, backup.folder, backup.name)
    raw = AppConfig(db, TOOL_APP).get(key) if key is not None else None
    if not raw:
        return None
    try:
        value: Any = json.loads(raw)
        if value.get("file") != _fingerprint(backup):
            return None
        return Record(int(value["time"]), str(value["status"]), str(value.get("message", "")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def prune(db: Database, existing: set[tuple[str, str]]) -> None:
    """Drop the records of backups that are no longer there (`existing`: (folder, name) pairs)."""
    app = AppConfig(db, TOOL_APP)
    for key in list(app.all()):
        for kind in (CHECK, OFFSITE):
            if key.startswith(kind + "/"):
                folder, _, name = key[len(kind) + 1 :].partition("/")
                if (folder, name) not in existing:
                    app.delete(key)
