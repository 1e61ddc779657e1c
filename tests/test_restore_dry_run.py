"""passwords:backup:restore --dry-run: the report equals what the real restore then changes, row by
row (by uuid, per table and user) and setting by setting, and the dry run itself changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance, database_state
from ncpasswords.db.connection import Database
from ncpasswords.repositories.config_values import AppConfig, Preferences
from ncpasswords.repositories.entities import DATA_TABLES
from ncpasswords.repositories.entity_repository import EntityRepository

EXAMPLE = Path(__file__).parent / "fixtures" / "worked-example-v106.json"
ALICE_REVISION = "a3e8c1d4-2b7f-4a9e-8c6d-1e5f3b9a7d20"
SHARE = "b5d2f8a1-3e9c-4d7b-a1f6-8c3e5b9d2a74"
EXTRA_KEYCHAIN = "99999999-8888-4777-8666-555555555555"

Rows = dict[str, dict[tuple[str, str], dict[str, Any]]]


def rows_by_uuid(db: Database) -> Rows:
    """Every row a restore replaces, by table and (user, uuid), without its id."""
    return {
        table: {
            (row["userId"], row["uuid"]): {k: v for k, v in row.items() if k != "id"}
            for row in EntityRepository(db, table).stream(include_deleted=True)
        }
        for table in DATA_TABLES
    }


def settings(db: Database) -> dict[tuple[str | None, str], str]:
    found: dict[tuple[str | None, str], str] = {(None, k): v for k, v in AppConfig(db).all().items()}
    for user, values in Preferences(db).all().items():
        found.update({(user, k): v for k, v in values.items()})
    return found


def effect(before: Rows, after: Rows) -> dict[str, dict[str, dict[str, list[str]]]]:
    """What changed between two states, in the shape of the dry run's JSON report."""
    found: dict[str, dict[str, dict[str, list[str]]]] = {}
    for table in DATA_TABLES:
        old, new = before[table], after[table]
        for key in old.keys() | new.keys():
            kind = "removed" if key not in new else "added" if key not in old else None
            if kind is None and old[key] != new[key]:
                kind = "changed"
            if kind is not None:
                user = found.setdefault(table, {}).setdefault(key[0], {"removed": [], "added": [], "changed": []})
                user[kind].append(key[1])
    for users in found.values():
        for changes in users.values():
            for uuids in changes.values():
                uuids.sort()
    return found


@pytest.fixture
def changed(installed: InstalledInstance) -> InstalledInstance:
    """An instance restored from the example, then changed in every way a restore undoes."""
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    result = installed.occ("-n", "passwords:backup:restore", "worked-example-v106")
    assert result.returncode == 0, result.stderr
    with installed.connect() as db, db.transaction():
        rv, share = db.table("passwords_password_rv"), db.table("passwords_share")
        db.execute_sql(f"UPDATE {rv} SET label = 'edited', edited = 1 WHERE uuid = '{ALICE_REVISION}'").close()
        db.execute_sql(f"DELETE FROM {share} WHERE uuid = '{SHARE}'").close()
        keychains = EntityRepository(db, "passwords_keychain")
        [first, *_] = keychains.find_by_user("bob")
        keychains.insert_many([{**first, "uuid": EXTRA_KEYCHAIN}])
        AppConfig(db).set("backup/interval", "3600")
        Preferences(db).set("alice", "session/lifetime", "60")
        Preferences(db).delete("bob", "encryption/cse")
        Preferences(db).set("carol", "client/settings", "{}")
    return installed


@pytest.mark.parametrize("user", [None, "alice"])
def test_dry_run_reports_what_the_restore_does(changed: InstalledInstance, user: str | None) -> None:
    only = ["--user", user] if user else []
    with changed.connect() as db:
        state, rows, values = database_state(db), rows_by_uuid(db), settings(db)
    config = (changed.config_dir / "config.php").read_bytes()

    result = changed.occ("passwords:backup:restore", "--dry-run", "--output=json", *only, "worked-example-v106")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    with changed.connect() as db:
        assert database_state(db) == state  # nothing changed
    assert (changed.config_dir / "config.php").read_bytes() == config

    result = changed.occ("-n", "passwords:backup:restore", *only, "worked-example-v106")
    assert result.returncode == 0, result.stderr
    with changed.connect() as db:
        after_rows, after_values = rows_by_uuid(db), settings(db)
    assert report["tables"] == effect(rows, after_rows)
    expected_settings = [
        (key[0], key[1])
        for key in sorted(values.keys() | after_values.keys(), key=lambda k: (k[0] is not None, k[0] or "", k[1]))
        if values.get(key) != after_values.get(key)
    ]
    assert [(s["user"], s["key"]) for s in report["settings"]] == expected_settings
    for found in report["settings"]:
        key = (found["user"], found["key"])
        assert (found["before"], found["after"]) == (values.get(key), after_values.get(key))
    assert report["secret_changes"] is False
    # The changes made above are what the report names.
    assert report["tables"]["passwords_password_rv"] == {
        "alice": {"removed": [], "added": [], "changed": [ALICE_REVISION]}
    }
    assert report["tables"]["passwords_share"] == {"alice": {"removed": [], "added": [SHARE], "changed": []}}
    if user is None:
        assert report["tables"]["passwords_keychain"]["bob"]["removed"] == [EXTRA_KEYCHAIN]
        assert [s["key"] for s in report["settings"]] == ["backup/interval", "session/lifetime", "encryption/cse"]
    else:
        assert "passwords_keychain" not in report["tables"]
        assert [s["key"] for s in report["settings"]] == ["session/lifetime"]


def test_plain_report_and_refused_file(changed: InstalledInstance, tmp_path: Path) -> None:
    result = changed.occ("passwords:backup:restore", "--dry-run", "worked-example-v106")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert 'Dry run: nothing was changed. A restore of "worked-example-v106" would change:' in lines
    assert "  passwords_share of 'alice': 0 removed, 1 added, 0 changed" in lines
    assert f"    added: {SHARE}" in lines
    assert "  app backup/interval: changed from '3600' to '21600'" in lines
    assert "  user 'bob' encryption/cse: set to '1'" in lines
    # A file the restore refuses is refused by the dry run, with the same line.
    doc = json.loads(EXAMPLE.read_text())
    doc["keychains"][1]["uuid"] = doc["keychains"][0]["uuid"]
    bad = tmp_path / "twice.json"
    bad.write_text(json.dumps(doc))
    import_result = changed.occ("passwords:backup:import", str(bad))
    assert import_result.returncode == 1  # import refuses it too; put it in place by hand
    target = changed.instance.appdata_dir / "backups" / "twice.json"
    target.write_text(json.dumps(doc))
    with changed.connect() as db:
        state = database_state(db)
    result = changed.occ("passwords:backup:restore", "--dry-run", "twice")
    assert result.returncode == 1
    assert "two entities of one user with the same uuid" in result.stderr
    with changed.connect() as db:
        assert database_state(db) == state
