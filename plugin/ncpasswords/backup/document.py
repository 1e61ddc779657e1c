"""Writing the v106 backup document from the database, streamed (backup-format.md §1).

The caller opens one snapshot transaction; rows arrive through server-side cursors and each
entity is encoded on its own, so memory stays flat whatever the size of the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..db.connection import Database
from ..db.dialects import quote_ident
from ..repositories.config_values import AppConfig, Preferences
from ..repositories.entities import MODEL_REVISION_TABLES, TABLES
from ..repositories.entity_repository import EntityRepository
from .phpjson import BinaryWriter, dumps
from .settings import CLIENT_SETTINGS_KEY, export_application, export_user

BACKUP_VERSION = 106

# Document sections holding plain rows, in document order, and their tables.
ROW_SECTIONS: dict[str, str] = {
    "shares": "passwords_share",
    "keychains": "passwords_keychain",
    "challenges": "passwords_challenge",
    "passwordTagRelations": "passwords_pw_tag_rel",
}
MODEL_SECTIONS: dict[str, str] = {
    "passwords": "passwords_password",
    "folders": "passwords_folder",
    "tags": "passwords_tag",
}

Progress = Callable[[int], None]


@dataclass
class DocumentStats:
    """What went into a backup."""

    counts: dict[str, int] = field(default_factory=dict)
    revisions: int = 0
    users: list[str] = field(default_factory=list)


def _qualified(alias: str, table: str) -> str:
    return ", ".join(f"{alias}.{quote_ident('pgsql', c)}" for c in TABLES[table].column_names)


def stream_models(db: Database, model_table: str) -> Iterator[dict[str, Any]]:
    """Non-deleted models, each with `revisions` (its non-deleted revisions), in id order."""
    revision_table = MODEL_REVISION_TABLES[model_table]
    models = EntityRepository(db, model_table)
    revisions = EntityRepository(db, revision_table)
    width = len(TABLES[model_table].columns)
    fragments = (
        ("MODEL", model_table),
        ("REVISION", revision_table),
        ("MCOLUMNS", _qualified("m", model_table)),
        ("RCOLUMNS", _qualified("r", revision_table)),
    )
    current: dict[str, Any] | None = None
    current_id = None
    for row in db.stream("backup.models_with_revisions", None, 1000, fragments):
        if row[0] != current_id:
            if current is not None:
                yield current
            current = models.entity(row[:width])
            current["revisions"] = []
            current_id = row[0]
        if row[width] is not None:
            assert current is not None
            current["revisions"].append(revisions.entity(row[width:]))
    if current is not None:
        yield current


def write_document(
    db: Database,
    server_secret: str,
    out: BinaryWriter,
    progress: Progress | None = None,
) -> DocumentStats:
    """Write the whole v106 document to `out` (PHP json_encode bytes). Call inside a snapshot."""
    stats = DocumentStats()
    seen_users: dict[str, None] = {}
    buffer: list[str] = []
    size = 0

    def emit(text: str) -> None:
        nonlocal size
        buffer.append(text)
        size += len(text)
        if size >= 1 << 16:
            flush()

    def flush() -> None:
        nonlocal size
        if buffer:
            out.write("".join(buffer).encode("ascii"))
            buffer.clear()
            size = 0

    emit(f'{{"version":{BACKUP_VERSION}')
    done = 0
    for section, table in MODEL_SECTIONS.items():
        emit(f',"{section}":[')
        count = 0
        for model in stream_models(db, table):
            emit(("," if count else "") + dumps(model))
            seen_users.setdefault(str(model["userId"]), None)
            count += 1
            stats.revisions += len(model["revisions"])
            done += 1 + len(model["revisions"])
            if progress and done % 1000 < 1 + len(model["revisions"]):
                progress(done)
        emit("]")
        stats.counts[section] = count
    for section, table in ROW_SECTIONS.items():
        emit(f',"{section}":[')
        count = 0
        for row in EntityRepository(db, table).stream():
            emit(("," if count else "") + dumps(row))
            count += 1
        emit("]")
        stats.counts[section] = count
        done += count
    if progress:
        progress(done)
    users = list(seen_users)
    stats.users = users
    app = AppConfig(db)
    prefs = Preferences(db)
    app_values = app.all()
    user_values = {uid: prefs.for_user(uid) for uid in users}
    keys = {
        "server": {
            "secret": server_secret or None,
            "SSEv1ServerKey": app_values.get("SSEv1ServerKey") or None,
        },
        "users": {
            uid: {
                "SSEv1UserKey": user_values[uid].get("SSEv1UserKey"),
                "ChallengeId": user_values[uid].get("user/challenge/id"),
            }
            for uid in users
        },
    }
    settings = {
        "application": export_application(app_values),
        "users": {uid: export_user(user_values[uid]) for uid in users},
        "clients": {uid: user_values[uid].get(CLIENT_SETTINGS_KEY, "{}") for uid in users},
    }
    emit(',"keys":' + dumps(keys) + ',"settings":' + dumps(settings) + "}")
    flush()
    return stats
