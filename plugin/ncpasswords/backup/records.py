"""What this tool remembers about stored backups, for `passwords:backup:list --details`: the result
of the last check (`backup:verify`, or the scheduled job right after writing a backup) and of the
last off-site copy (docs/off-site-backups.md#scheduled-off-site-copies).

Kept in the tool's own app id of `appconfig` (beside the job records), never in the backup folders,
whose files stay exactly the app's. Records of files that are gone are dropped by `prune`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ..db.connection import Database
from ..repositories.config_values import AppConfig

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


def remember(db: Database, kind: str, folder: str, name: str, record: Record) -> None:
    """Store the result of a check or copy of the backup `folder/name`."""
    key = _key(kind, folder, name)
    if key is not None:
        value = {"time": record.time, "status": record.status, "message": record.message}
        AppConfig(db, TOOL_APP).set(key, json.dumps(value, ensure_ascii=False))


def recall(db: Database, kind: str, folder: str, name: str) -> Record | None:
    """The stored result of a check or copy of `folder/name`, if any."""
    key = _key(kind, folder, name)
    raw = AppConfig(db, TOOL_APP).get(key) if key is not None else None
    if not raw:
        return None
    try:
        value: Any = json.loads(raw)
        return Record(int(value["time"]), str(value["status"]), str(value.get("message", "")))
    except (ValueError, KeyError, TypeError):
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
