"""Repositories round-trip every column of every table through the bulk path on every engine."""

from __future__ import annotations

import random
import uuid as uuidlib
from typing import Any

import pytest

from conftest import InstalledInstance
from ncpasswords.repositories.config_values import AppConfig, Preferences
from ncpasswords.repositories.entities import TABLES, Table, to_column, to_property
from ncpasswords.repositories.entity_repository import EntityRepository, repositories


def make_entity(table: Table, rng: random.Random, user: str, deleted: bool = False) -> dict[str, Any]:
    """An entity with every key set: maximum-length strings, unicode, both booleans, NULLs."""
    entity: dict[str, Any] = {}
    for col in table.columns:
        if col.name == "id":
            continue
        if col.type == "bool":
            value: Any = rng.choice([True, False])
        elif col.type == "int":
            value = rng.randrange(0, 2**40) if col.name not in ("status",) else rng.randrange(0, 3)
        else:
            length = col.max_length or rng.randrange(0, 5000)
            alphabet = "aZ09'\"\\%_;-- é€😀\n\t"
            value = "".join(rng.choice(alphabet) for _ in range(length))
            if col.max_length:  # stay inside the column limit counted in characters
                value = value[: col.max_length]
        if col.nullable and rng.random() < 0.3:
            value = None
        entity[col.prop] = value
    entity["userId"] = user
    entity["uuid"] = str(uuidlib.UUID(int=rng.getrandbits(128)))
    entity["deleted"] = deleted
    return entity


def test_property_names_follow_the_reference_rule() -> None:
    assert to_property("custom_fields") == "customFields"
    assert to_column("passwordRevision") == "password_revision"
    for table in TABLES.values():
        for col in table.columns:
            assert to_column(col.prop) == col.name


@pytest.mark.parametrize("table_name", sorted(TABLES))
def test_bulk_insert_and_stream_round_trip(installed: InstalledInstance, table_name: str) -> None:
    rng = random.Random(table_name)
    table = TABLES[table_name]
    entities = [make_entity(table, rng, user, deleted) for user in ("alice", "bob é") for deleted in (False, True)]
    with installed.connect() as db:
        repo = EntityRepository(db, table)
        with db.transaction():
            assert repo.insert_many(entities) == len(entities)
        with db.transaction(snapshot=True):
            back = list(repo.stream(include_deleted=True))
            active = list(repo.stream())
        assert len(back) == len(entities)
        for original, row in zip(entities, back, strict=True):
            assert list(row) == list(table.key_order)  # toArray() order
            assert isinstance(row["id"], int)
            for key, value in original.items():
                assert row[key] == value, (key, value, row[key])
                if table.by_prop[key].type == "bool":
                    assert isinstance(row[key], bool)
        assert [r["uuid"] for r in active] == [e["uuid"] for e in entities if not e["deleted"]]
        assert repo.count() == 2 and repo.count(include_deleted=True) == 4
        assert [r["uuid"] for r in repo.find_by_user("bob é")] == [e["uuid"] for e in entities[2:]]
        assert repo.find_by_uuid(entities[0]["uuid"])[0]["userId"] == "alice"
        assert repo.find_by_uuid(entities[1]["uuid"]) == []  # soft-deleted rows are not found
        with db.transaction():
            assert repo.delete_by_user("alice") == 2
        assert repo.count(include_deleted=True) == 2


def test_missing_booleans_are_written_as_defaults_never_null(installed: InstalledInstance) -> None:
    with installed.connect() as db:
        repo = EntityRepository(db, "passwords_password")
        with db.transaction():
            repo.insert_many([{"userId": "u", "uuid": "x", "revision": "r", "created": 1, "updated": 2}])
        (row,) = list(repo.stream())
        assert row["editable"] is True and row["hasShares"] is False and row["deleted"] is False
        with pytest.raises(ValueError, match="'revision' is missing"):
            repo.row_for_insert({"userId": "u", "uuid": "y", "created": 1, "updated": 2})


def test_failed_bulk_insert_rolls_back(installed: InstalledInstance) -> None:
    """A value too long for its column on the last row leaves the table as it was."""
    rng = random.Random(1)
    table = TABLES["passwords_folder"]
    rows = [make_entity(table, rng, "alice") for _ in range(50)]
    rows[-1]["revision"] = "x" * 37 if installed.scratch.engine != "sqlite" else None
    with installed.connect() as db:
        repo = EntityRepository(db, table)
        with pytest.raises(Exception), db.transaction():  # noqa: B017 - each driver raises its own type
            repo.insert_many(rows)
        assert repo.count(include_deleted=True) == 0


def test_app_and_user_values(installed: InstalledInstance) -> None:
    with installed.connect() as db:
        app = AppConfig(db)
        app.set("backup/interval", "3600")
        app.set("backup/interval", "7200")
        assert app.get("backup/interval") == "7200"
        assert app.all()["backup/interval"] == "7200"
        assert app.delete("backup/interval") and not app.delete("backup/interval")
        prefs = Preferences(db)
        prefs.set("alice", "SSEv1UserKey", "k1")
        prefs.set("alice", "client/settings", "{}")
        prefs.set("bob", "SSEv1UserKey", "k2")
        assert prefs.for_user("alice") == {"SSEv1UserKey": "k1", "client/settings": "{}"}
        assert prefs.all()["bob"] == {"SSEv1UserKey": "k2"}
        assert prefs.delete_user("alice") == 2
        assert prefs.get("alice", "SSEv1UserKey") is None


def test_all_twelve_repositories(installed: InstalledInstance) -> None:
    with installed.connect() as db:
        repos = repositories(db)
        assert sorted(repos) == sorted(TABLES)
        assert all(r.count(include_deleted=True) == 0 for r in repos.values())
