"""The app's `DatabaseObjectRepair` step (docs/repair.md), in its order: the tag, folder and
password revisions, the tag, folder and password models, the password-tag relations, the shares.

Each part finds the rows that need a fix with one query (joins against the referenced tables
instead of the app's lookup per row) and fixes them by id; fixed rows get `updated` set, as the
app's save does. Only folder parents are followed in memory (the current revision of every folder,
so the app's walk to the root can be replayed in its order). Everything runs in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..db.connection import Database

BASE_FOLDER = "00000000-0000-0000-0000-000000000000"
STEP_NAME = "Repair Passwords Database Objects"
LEVEL_OK, LEVEL_UNKNOWN = 0, 3
BATCH = 20000

Info = Callable[[str], None]


@dataclass
class RepairResult:
    """What was checked and fixed, by part ("tag revisions", "shares", ...)."""

    checked: dict[str, int] = field(default_factory=dict)
    fixed: dict[str, int] = field(default_factory=dict)


def _q(db: Database, name: str, table: str | None = None, revisions: str | None = None) -> str:
    fragments = tuple((k, v) for k, v in (("TABLE", table), ("REVISIONS", revisions)) if v)
    return db.sql(name, fragments)


def _rows(db: Database, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    cur = db.execute_sql(sql, params or {})
    try:
        with db.errors():
            return [tuple(r) for r in cur.fetchall()]
    finally:
        cur.close()


def _update(db: Database, sql: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cur = db.cursor()
    try:
        with db.errors():
            cur.executemany(sql, rows)
    finally:
        cur.close()


def _count(db: Database, table: str) -> int:
    return int(_rows(db, _q(db, "repair.count_active", table))[0][0])


def _orphaned_revisions(db: Database, now: int, model: str, revisions: str) -> int:
    """Tag revisions (and the start of the others): soft-delete those whose model is gone."""
    ids = [int(r[0]) for r in _rows(db, _q(db, "repair.orphaned_revisions", model, revisions))]
    _by_ids(db, "repair.soft_delete_ids", ids, {"now": now}, revisions)
    return len(ids)


def _folder_revisions(db: Database, now: int) -> int:
    """Parents that are the folder itself, missing, or on a path that never reaches the base
    folder are set to the base folder; revisions of missing folders are soft-deleted."""
    active: dict[str, int] = {}
    for (found,) in _rows(db, _q(db, "repair.active_folders")):
        active[str(found)] = active.get(str(found), 0) + 1
    current: dict[str, list[str]] = {}
    for model, parent in _rows(db, _q(db, "repair.current_folder_revisions")):
        current.setdefault(str(model), []).append(str(parent))

    def reaches_root(parent: str) -> bool:
        seen: list[str] = []
        at = parent
        while True:
            parents = current.get(at)
            if parents is None or len(parents) != 1:  # the app's lookup needs exactly one
                return False
            if parents[0] == BASE_FOLDER:
                return True
            if at in seen:
                return False
            seen.append(at)
            at = parents[0]

    fixes = []
    for rev_id, _, model, parent, is_current in _rows(db, _q(db, "repair.folder_revisions")):
        model, old = str(model), str(parent)
        new = old
        if new != BASE_FOLDER and new == model:
            new = BASE_FOLDER
        if new != BASE_FOLDER and active.get(new) != 1:
            new = BASE_FOLDER
        if new != BASE_FOLDER and not reaches_root(new):
            new = BASE_FOLDER
        deleted = active.get(model) != 1
        if new != old or deleted:
            fixes.append({"id": rev_id, "parent": new, "deleted": deleted, "now": now})
            if int(is_current) and len(current.get(model, [])) == 1:
                if deleted:  # the app's lookup skips deleted revisions
                    del current[model]
                else:
                    current[model] = [new]
    _update(db, _q(db, "repair.fix_folder_revision"), fixes)
    return len(fixes)


def _password_revisions(db: Database, now: int) -> int:
    """Statuses that disagree with their code or hash, folders that are gone, missing models; the
    rows to fix are read BATCH at a time and fixed with one statement per kind of fix."""
    fixed, after = 0, 0
    sql = _q(db, "repair.password_revisions_to_fix")
    while rows := _rows(db, sql, {"base": BASE_FOLDER, "after": after, "limit": BATCH}):
        deleted: list[int] = []
        to_base: list[int] = []
        statuses: dict[int, list[int]] = {}
        for rev_id, status, code, hash_, _, has_model, has_folder in rows:
            new_status = int(status)
            if new_status != LEVEL_OK and code == "GOOD":
                new_status = LEVEL_OK
            if str(hash_) in ("", "0") and new_status != LEVEL_UNKNOWN:
                new_status = LEVEL_UNKNOWN
            if int(has_model) and int(has_folder) and new_status == int(status):
                continue  # a revision without a hash but with the code GOOD: the app saves it unchanged
            fixed += 1
            if not int(has_model):
                deleted.append(int(rev_id))
            if not int(has_folder):
                to_base.append(int(rev_id))
            if new_status != int(status):
                statuses.setdefault(new_status, []).append(int(rev_id))
        _by_ids(db, "repair.soft_delete_ids", deleted, {"now": now}, "passwords_password_rv")
        _by_ids(db, "repair.revision_base_folder_ids", to_base, {"now": now, "base": BASE_FOLDER})
        for status, ids in statuses.items():
            _by_ids(db, "repair.revision_status_ids", ids, {"now": now, "status": status})
        after = int(rows[-1][0])
    return fixed


def _by_ids(db: Database, name: str, ids: list[int], params: dict[str, Any], table: str | None = None) -> None:
    """Run a fix for a list of ids (BATCH at a time) in the engine's list parameter."""
    for start in range(0, len(ids), BATCH):
        db.execute_sql(_q(db, name, table), {**params, "ids": db.list_param(ids[start : start + BATCH])}).close()


def _models(db: Database, now: int, model: str, revisions: str) -> int:
    """Models without an active revision are soft-deleted; a model whose revision is not one of
    its active revisions gets its newest one; a password received through a share that is gone
    or points elsewhere is soft-deleted."""
    changes: dict[int, dict[str, Any]] = {}
    for model_id, latest in _rows(db, _q(db, "repair.models_to_fix", model, revisions), {"base": BASE_FOLDER}):
        change = changes.setdefault(int(model_id), {})
        if latest is None:
            change["deleted"] = True
        else:
            change["revision"] = str(latest)
    if model == "passwords_password":
        for (model_id,) in _rows(db, _q(db, "repair.shared_copies_without_share")):
            changes.setdefault(int(model_id), {})["deleted"] = True
    revised = [{"id": i, "revision": c["revision"], "now": now} for i, c in changes.items() if "revision" in c]
    _update(db, _q(db, "repair.set_model_revision", model), revised)
    _by_ids(db, "repair.soft_delete_ids", [i for i, c in changes.items() if c.get("deleted")], {"now": now}, model)
    return len(changes)


def _relations(db: Database, now: int) -> int:
    """Active relations whose password or tag is not an active row of the relation's user are
    soft-deleted; relations without a uuid get one."""
    fixes = []
    for rel_id, deleted, rel_uuid, broken in _rows(db, _q(db, "repair.relations_to_fix")):
        fixes.append(
            {
                "id": rel_id,
                "deleted": bool(deleted) or bool(int(broken)),
                "uuid": str(rel_uuid) or str(uuid.uuid4()),
                "now": now,
            }
        )
    _update(db, _q(db, "repair.fix_relation"), fixes)
    return len(fixes)


def _shares(db: Database, now: int) -> int:
    """Active shares whose copy is gone are reset so that the share job makes a new copy."""
    ids = [int(r[0]) for r in _rows(db, _q(db, "repair.shares_without_copy"))]
    _by_ids(db, "repair.reset_share_ids", ids, {"now": now})
    return len(ids)


def repair_objects(db: Database, info: Info, now: int) -> RepairResult:
    """Run the repair in one transaction; `info` gets the app's lines ("Checking <n> tag
    revisions", "Fixed <n> tag revisions", ...)."""
    result = RepairResult()

    def part(name: str, total: int, work: Callable[[], int]) -> None:
        info(f"Checking {total} {name}")
        fixed = work()
        info(f"Fixed {fixed} {name}")
        result.checked[name], result.fixed[name] = total, fixed

    with db.transaction():
        part("tag revisions", _count(db, "passwords_tag_rv"), lambda: _orphaned_revisions(
            db, now, "passwords_tag", "passwords_tag_rv"
        ))  # fmt: skip
        part("folder revisions", _count(db, "passwords_folder_rv"), lambda: _folder_revisions(db, now))
        part("password revisions", _count(db, "passwords_password_rv"), lambda: _password_revisions(db, now))
        for name, model, revisions in (
            ("tag models", "passwords_tag", "passwords_tag_rv"),
            ("folder models", "passwords_folder", "passwords_folder_rv"),
            ("password models", "passwords_password", "passwords_password_rv"),
        ):
            part(name, _count(db, model), lambda m=model, r=revisions: _models(db, now, m, r))  # type: ignore[misc]
        total = int(_rows(db, _q(db, "repair.count_relations"))[0][0])
        part("password tag relations", total, lambda: _relations(db, now))
        part("shares", _count(db, "passwords_share"), lambda: _shares(db, now))
    return result
