"""Writing the v106 backup document from the database, streamed (backup-format.md §1).

The caller opens one snapshot transaction; rows arrive through server-side cursors and each
entity is encoded on its own, so memory stays flat whatever the size of the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..db.connection import Database
from ..repositories.config_values import AppConfig, Preferences
from ..repositories.entities import MODEL_REVISION_TABLES
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


CHUNK = 500


def stream_models(db: Database, model_table: str) -> Iterator[dict[str, Any]]:
    """Non-deleted models in id order, each with `revisions`: its non-deleted revisions of the same
    user in id order (the reference's findAll plus findAllByModel).

    The revision tables have no index on `model`, so instead of a join (quadratic or a big sort on
    some engines) the narrow keys are read first, grouped in memory (a few dozen bytes per row),
    and full rows are then fetched by primary key in chunks.
    """
    revision_table = MODEL_REVISION_TABLES[model_table]
    models = EntityRepository(db, model_table)
    revisions = EntityRepository(db, revision_table)
    model_keys = _keys(db, model_table, "live_model_keys")
    index = {(user, uuid): i for i, (_, user, uuid) in enumerate(model_keys)}
    owned: list[list[int]] = [[] for _ in model_keys]
    for rev_id, user, model_uuid in _keys(db, revision_table, "live_revision_keys"):
        position = index.get((user, model_uuid))
        if position is not None:
            owned[position].append(rev_id)
    del index
    for start in range(0, len(model_keys), CHUNK):
        chunk = model_keys[start : start + CHUNK]
        rows = models.rows_in_id_range(chunk[0][0], chunk[-1][0])
        wanted = [rev_id for ids in owned[start : start + CHUNK] for rev_id in ids]
        by_id = {r["id"]: r for r in revisions.rows_by_ids(wanted)} if wanted else {}
        for offset, entity in enumerate(rows):
            if entity["id"] != chunk[offset][0]:  # impossible inside one snapshot
                raise RuntimeError("backup snapshot changed while reading")
            entity["revisions"] = [by_id[i] for i in owned[start + offset]]
            yield entity


def _keys(db: Database, table: str, query: str) -> list[tuple[Any, str, str]]:
    fragments = (("TABLE", table),)
    return [(r[0], str(r[1]), str(r[2])) for r in db.stream(f"backup.{query}", None, 10000, fragments)]


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
