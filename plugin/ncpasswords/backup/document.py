"""Writing the v106 backup document from the database, streamed (docs/internals/backup-format.md#the-file).

The caller opens one snapshot transaction; rows arrive through server-side cursors and each
entity is encoded on its own, so memory stays flat whatever the size of the database.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..db.connection import Database
from ..php.json import BinaryWriter, dumps
from ..repositories.config_values import AppConfig, Preferences
from ..repositories.entities import MODEL_REVISION_TABLES
from ..repositories.entity_repository import EntityRepository
from .format import MODEL_SECTIONS, ROW_SECTIONS, VERSION
from .settings import CLIENT_SETTINGS_KEY, export_application, export_user

Progress = Callable[[int], None]


@dataclass
class DocumentStats:
    """What went into a backup."""

    counts: dict[str, int] = field(default_factory=dict)
    revisions: int = 0
    users: list[str] = field(default_factory=list)
    read_from: str = ""
    """The database the rows were read from (the primary, or a replica)."""


CHUNK = 500


def stream_models(db: Database, model_table: str) -> Iterator[dict[str, Any]]:
    """Non-deleted models in id order, each with `revisions`: its non-deleted revisions of the same
    user in id order (the reference's findAll plus findAllByModel).

    The database pairs revisions with their models (a scan of the revisions looking each model up
    by its unique (user_id, uuid) index; the revision tables have no index on `model`) and sorts
    the pairs of ids; they are kept in two integer arrays (16 bytes a revision, whatever the size
    of the rows), and full rows are fetched by primary key in chunks of CHUNK models.
    """
    revision_table = MODEL_REVISION_TABLES[model_table]
    models = EntityRepository(db, model_table)
    revisions = EntityRepository(db, revision_table)
    ids = db.stream("backup.live_model_ids", None, 10000, (("TABLE", model_table),))
    model_ids = array("q", (row[0] for row in ids))
    owners = array("q")
    owned = array("q")
    fragments = (("TABLE", model_table), ("REVISIONS", revision_table))
    for model_id, revision_id in db.stream("backup.live_revision_owners", None, 10000, fragments):
        owners.append(model_id)
        owned.append(revision_id)
    end = 0
    for start in range(0, len(model_ids), CHUNK):
        chunk = model_ids[start : start + CHUNK]
        rows = models.rows_in_id_range(chunk[0], chunk[-1])
        begin, end = end, bisect.bisect_right(owners, chunk[-1], end)
        wanted = owned[begin:end].tolist()
        by_id = {r["id"]: r for r in revisions.rows_by_ids(wanted)} if wanted else {}
        position = begin
        for offset, entity in enumerate(rows):
            if entity["id"] != chunk[offset]:  # impossible inside one snapshot
                raise RuntimeError("backup snapshot changed while reading")
            first = position
            while position < end and owners[position] == entity["id"]:
                position += 1
            entity["revisions"] = [by_id[i] for i in owned[first:position]]
            yield entity


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

    emit(f'{{"version":{VERSION}')
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
