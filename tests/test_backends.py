"""One backend per engine: engine differences live in db/backends/, and the drivers' errors come
out of the database layer as the project's own, on every engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ScratchDb
from ncpasswords.db import backends
from ncpasswords.db.connection import Database
from ncpasswords.db.errors import DuplicateKeyError, LockTimeoutError, PacketTooLargeError
from ncpasswords.db.migrator import migrate
from ncpasswords.repositories.entity_repository import EntityRepository

PACKAGE = Path(__file__).resolve().parent.parent / "plugin" / "ncpasswords"
# An engine name compared in control flow: `x == "pgsql"`, `x in ("sqlite", ...)`, …
ENGINE_COMPARISON = re.compile(r"""(==|!=|\bin)\s*[(\[{]?\s*["'](pgsql|mysql|sqlite|sqlite3)["']""")


def test_no_engine_names_are_compared_outside_the_backends() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not {"backends", "testing"} & set(path.relative_to(PACKAGE).parts[:-1])
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ENGINE_COMPARISON.search(line)
    ]
    assert found == []


def test_every_engine_is_found_by_its_names() -> None:
    assert backends.names() == ("sqlite", "pgsql", "mysql")
    for name in backends.names():
        backend = backends.get(name)
        assert backends.for_dbtype(backend.dbtype) is backend
    assert backends.for_dbtype("sqlite") is backends.get("sqlite")  # Nextcloud's alias of sqlite3
    assert backends.for_dbtype("oci") is None


def _tag(uuid: str) -> dict[str, object]:
    return {
        "uuid": uuid,
        "userId": "alice",
        "revision": "r1",
        "created": 1,
        "updated": 1,
        "deleted": False,
    }


def _installed_schema(scratch: ScratchDb) -> Database:
    db = scratch.connect()
    migrate(db)
    return db


def test_a_duplicate_key_is_a_duplicate_key_error(scratch: ScratchDb) -> None:
    with _installed_schema(scratch) as db:
        tags = EntityRepository(db, "passwords_tag")
        with pytest.raises(DuplicateKeyError), db.transaction():
            tags.insert_many([_tag("same"), _tag("same")])
        assert tags.count(include_deleted=True) == 0


def test_a_lock_wait_past_the_timeout_is_a_lock_timeout_error(scratch: ScratchDb) -> None:
    with _installed_schema(scratch) as holder, scratch.connect() as waiter:
        table = holder.table("passwords_tag")
        short_wait = {
            "sqlite": "PRAGMA busy_timeout = 100",
            "pgsql": "SET lock_timeout = '100ms'",
            "mysql": "SET SESSION innodb_lock_wait_timeout = 1",
        }[scratch.engine]
        waiter.execute_sql(short_wait).close()
        tags = EntityRepository(holder, "passwords_tag")
        with holder.transaction():
            tags.insert_many([_tag("held")])
        with holder.transaction(write_lock=True):
            holder.execute_sql(f"UPDATE {table} SET updated = 2").close()  # the row stays locked
            with pytest.raises(LockTimeoutError), waiter.transaction(write_lock=True):
                waiter.execute_sql(f"DELETE FROM {table}").close()
        assert tags.count() == 1


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_a_statement_past_max_allowed_packet_is_a_packet_too_large_error(scratch: ScratchDb) -> None:
    with scratch.connect() as db:
        limit = db.row_limit()
        assert limit is not None
        with pytest.raises(PacketTooLargeError):
            db.execute_sql("SELECT %s", ("x" * (limit.bytes + 1),)).close()
