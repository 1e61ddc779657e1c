"""Backups end to end: round trips on every engine and across engines, old versions, faults,
bad input, and the command-line flow of create/list/restore/export/import/delete."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance, database_state, scratch_database
from ncpasswords.backup import reading_process, service
from ncpasswords.backup import restore as restore_module
from ncpasswords.backup.errors import BackupFormatError
from ncpasswords.backup.restore import RestoreOptions, restore_backup
from ncpasswords.cli.console import Console
from ncpasswords.db import introspect
from ncpasswords.instance import phpconfig
from ncpasswords.instance.install import install
from ncpasswords.instance.instance import Instance
from test_upgrade import make_v100, make_v101, make_v102, make_v103, make_v104, make_v105
from transfer_helpers import document_of

EXAMPLE = Path(__file__).parent / "fixtures" / "worked-example-v106.json"


def without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def restore_file(installed: InstalledInstance, path: Path, **options: Any) -> None:
    instance = installed.instance
    with instance.connect() as db:
        restore_backup(instance, db, path, RestoreOptions(**options))


def snapshot_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_round_trip_reproduces_the_worked_example(installed: InstalledInstance) -> None:
    with installed.connect() as db:
        schema = introspect.describe(db)
    restore_file(installed, EXAMPLE)
    with installed.connect() as db:  # indexes a restore builds after the rows are the same
        assert introspect.describe(db) == schema
    original = json.loads(EXAMPLE.read_text())
    assert without_ids(document_of(installed.instance)) == without_ids(original)
    assert installed.instance.get("passwords.secret") == original["keys"]["server"]["secret"]


def test_round_trip_of_many_rows_spanning_several_batches(installed: InstalledInstance, tmp_path: Path) -> None:
    """More rows than one bulk batch and one multi-row statement hold: every row restored once, in
    order, and written back as it was."""
    sample = tmp_path / "sample.json.gz"
    made = installed.occ("dev:sample-backup", str(sample), "--passwords", "900", "--revisions", "5")
    assert made.returncode == 0
    original = json.loads(gzip.decompress(sample.read_bytes()))
    assert len(original["passwords"]) == 900
    assert sum(len(p["revisions"]) for p in original["passwords"]) > 2 * restore_module.BATCH
    restore_file(installed, sample)
    assert without_ids(document_of(installed.instance)) == without_ids(original)


def test_postgresql_restore_into_columns_of_other_types(tmp_path: Path) -> None:
    """A column whose type is not the app's (a domain made by hand) cannot take binary COPY: that
    table's rows go by COPY text, and the restore reproduces the backup all the same."""
    with scratch_database("pgsql", tmp_path / "data") as scratch:
        config = tmp_path / "config" / "config.php"
        install(scratch.install_options(), config)
        instance = Instance.load(config)
        with instance.connect() as db:
            db.execute_sql("CREATE DOMAIN label_text AS text").close()
            db.execute_sql(f"ALTER TABLE {db.table('passwords_tag_rv')} ALTER COLUMN label TYPE label_text").close()
            restore_backup(instance, db, EXAMPLE, RestoreOptions())
            assert db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('passwords_tag_rv')}") > 0
        assert without_ids(document_of(instance)) == without_ids(json.loads(EXAMPLE.read_text()))


def test_documents_are_equal_across_engines(tmp_path: Path) -> None:
    """MariaDB -> backup -> PostgreSQL -> backup -> SQLite -> backup: all documents equal."""
    source = EXAMPLE
    documents = []
    for engine in ("mysql", "pgsql", "sqlite"):
        with scratch_database(engine, tmp_path / engine / "data") as scratch:
            config = tmp_path / engine / "config" / "config.php"
            install(scratch.install_options(), config)
            instance = Instance.load(config)
            with instance.connect() as db:
                restore_backup(instance, db, source, RestoreOptions())
                backup, _ = service.create(Instance.load(config), db, f"from-{engine}")
            documents.append(json.loads(gzip.decompress(backup.path.read_bytes())))
            source = tmp_path / f"{engine}.json.gz"
            source.write_bytes(backup.path.read_bytes())
    assert without_ids(documents[0]) == without_ids(documents[1]) == without_ids(documents[2])
    assert without_ids(documents[0]) == without_ids(json.loads(EXAMPLE.read_text()))


def stable(value: Any) -> Any:
    """A document without what an upgrade legitimately changes (ids, revision client, cseKey)."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in ("id", "client", "cseKey")}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


@pytest.mark.parametrize("make", [make_v105, make_v104, make_v102, make_v101, make_v100])
def test_old_versions_restore_to_the_same_data(installed: InstalledInstance, tmp_path: Path, make: Any) -> None:
    example = json.loads(EXAMPLE.read_text())
    old = make(json.loads(EXAMPLE.read_text()))
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    restore_file(installed, path)
    restored = document_of(installed.instance)
    assert restored["version"] == 106
    # Folders, tags and shares pass every upgrade step unchanged; passwords keep their uuids and
    # revisions (their ciphertexts change where the upgrade re-encrypts them).
    for section in ("folders", "tags", "shares"):
        assert stable(restored[section]) == stable(example[section]), section
    assert [[r["uuid"] for r in p["revisions"]] for p in restored["passwords"]] == [
        [r["uuid"] for r in p["revisions"]] for p in example["passwords"]
    ]
    assert {r["client"] for p in restored["passwords"] for r in p["revisions"]} <= {
        "CLIENT::UNKNOWN",
        "Firefox (Linux)",
        *(r["client"] for p in example["passwords"] for r in p["revisions"]),
    }
    assert list(restored["keys"]["users"]) == list(example["keys"]["users"])
    assert len(restored["keychains"]) == (2 if make is make_v105 else 0)


def test_version_103_restores_with_this_instance_secret(installed: InstalledInstance, tmp_path: Path) -> None:
    """Version 103 files are re-encrypted with the secret of the instance restoring them, which must
    be the instance that wrote them (as in the reference)."""
    secret = json.loads(EXAMPLE.read_text())["keys"]["server"]["secret"]
    path_config = installed.config_dir / "config.php"
    config = phpconfig.read(path_config)
    config["secret"] = secret
    phpconfig.write(path_config, config)
    path = tmp_path / "v103.json"
    path.write_text(json.dumps(make_v103(json.loads(EXAMPLE.read_text()), secret)))
    restore_file(installed, path)
    assert len(document_of(installed.instance)["passwords"]) == 2


def _failing_backup(tmp_path: Path) -> Path:
    """The worked example whose LAST row collides with an earlier one (same user and uuid)."""
    doc = json.loads(EXAMPLE.read_text())
    duplicate = dict(doc["challenges"][0])
    doc["passwordTagRelations"].append({**doc["passwordTagRelations"][0]})
    doc["challenges"].append(duplicate)
    path = tmp_path / "failing.json"
    path.write_text(json.dumps(doc))
    return path


def test_failed_restore_changes_nothing(installed: InstalledInstance, tmp_path: Path) -> None:
    sample = tmp_path / "sample.json.gz"
    assert installed.occ("dev:sample-backup", str(sample), "--passwords", "300").returncode == 0
    restore_file(installed, sample)
    config_before = (installed.config_dir / "config.php").read_bytes()
    with installed.connect() as db:
        before = database_state(db)
    with pytest.raises(Exception):  # noqa: B017 - the driver's integrity error
        restore_file(installed, _failing_backup(tmp_path))
    with installed.connect() as db:
        assert database_state(db) == before
    assert (installed.config_dir / "config.php").read_bytes() == config_before


def test_failed_restore_through_occ_is_one_line(installed: InstalledInstance, tmp_path: Path) -> None:
    failing = _failing_backup(tmp_path)
    imported = installed.occ("passwords:backup:import", str(failing))  # checked as a restore checks it
    assert imported.returncode == 1 and "same uuid: Challenge" in imported.stderr
    shutil.copyfile(failing, service.storage_for(installed.instance).folder_path() / failing.name)
    with installed.connect() as db:
        before = database_state(db)
    result = installed.occ("-n", "passwords:backup:restore", "failing")
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    with installed.connect() as db:
        assert database_state(db) == before


def test_single_user_restore_with_other_secret_is_refused_first(installed: InstalledInstance) -> None:
    restore_file(installed, EXAMPLE)
    phpconfig_path = installed.config_dir / "config.php"
    config = phpconfig.read(phpconfig_path)
    config["passwords.secret"] = "another-secret"
    phpconfig.write(phpconfig_path, config)
    with installed.connect() as db:
        before = database_state(db)
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    result = installed.occ("-n", "passwords:backup:restore", "worked-example-v106", "--user=alice")
    assert result.returncode == 1
    assert result.stderr.strip() == "Can not restore single user data because server secret has changed"
    with installed.connect() as db:
        assert database_state(db) == before


def test_single_user_restore_touches_only_that_user(installed: InstalledInstance, tmp_path: Path) -> None:
    restore_file(installed, EXAMPLE)
    doc = json.loads(EXAMPLE.read_text())
    for password in doc["passwords"]:
        for revision in password["revisions"]:
            revision["edited"] += 1
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc))
    restore_file(installed, changed, user="bob", app_settings=False)
    after = document_of(installed.instance)
    edited = {p["userId"]: p["revisions"][0]["edited"] for p in after["passwords"]}
    original = {p["userId"]: p["revisions"][0]["edited"] for p in json.loads(EXAMPLE.read_text())["passwords"]}
    assert edited["bob"] == original["bob"] + 1
    assert edited["alice"] == original["alice"]


def test_interrupted_create_leaves_no_file(installed: InstalledInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    restore_file(installed, EXAMPLE)

    def explode(*args: Any, **kwargs: Any) -> None:
        args[2].write(b'{"version":106,"passwords":[')
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "write_document", explode)
    result = installed.occ("passwords:backup:create", "broken")
    assert result.returncode == 1
    assert installed.occ("passwords:backup:list").stdout == "No backups found\n"
    backups = installed.instance.appdata_dir / "backups"
    assert [p.name for p in backups.iterdir()] == []


def test_created_files_are_private(installed: InstalledInstance) -> None:
    restore_file(installed, EXAMPLE)
    result = installed.occ("passwords:backup:create", "nightly")
    assert result.returncode == 0
    assert result.stdout.startswith("Created new backup: nightly, ") and result.stdout.endswith(" compressed\n")
    path = installed.instance.appdata_dir / "backups" / "nightly.json.gz"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert path.read_bytes()[:10] == bytes.fromhex("1f8b0800000000000003")


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    example = EXAMPLE.read_bytes()
    files = {
        "corrupt-gzip": gzip.compress(example)[:40] + b"\x00" * 40,
        "truncated": example[: len(example) // 2],
        "wrong-shape": b'{"version":106,"passwords":{"a":1},"keys":{}}',
        "no-keys": json.dumps({k: v for k, v in json.loads(example).items() if k != "keys"}).encode(),
        "v99": json.dumps({**json.loads(example), "version": 99}).encode(),
        "v107": json.dumps({**json.loads(example), "version": 107}).encode(),
        "not-json": b"\x00\x01 this is not json",
        "list": b"[1,2,3]",
    }
    out = {}
    for name, data in files.items():
        suffix = ".json.gz" if name == "corrupt-gzip" else ".json"
        path = tmp_path / f"{name}{suffix}"
        path.write_bytes(data)
        out[name] = path
    return out


MESSAGES = {
    "v99": "The file does not contain a valid server backup",
    "v107": "Unsupported backup version: 107",
    "no-keys": "The file does not contain a valid server backup",
}


def test_bad_backup_files_are_refused_with_one_line(installed: InstalledInstance, tmp_path: Path) -> None:
    restore_file(installed, EXAMPLE)
    with installed.connect() as db:
        before = database_state(db)
    folder = installed.instance.appdata_dir
    for name, path in _bad_files(tmp_path).items():
        files_before = snapshot_files(folder)
        result = installed.occ("passwords:backup:import", str(path))
        assert result.returncode != 0, name
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, (name, result.stderr)
        if name in MESSAGES:
            assert result.stderr.strip() == MESSAGES[name], name
        assert snapshot_files(folder) == files_before, name
        # The same file dropped into the backup folder by hand is refused by restore.
        target = folder / "backups" / path.name
        target.write_bytes(path.read_bytes())
        label = path.name.split(".json")[0]
        result = installed.occ("-n", "passwords:backup:restore", label)
        assert result.returncode != 0, name
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, (name, result.stderr)
        target.unlink()
    with installed.connect() as db:
        assert database_state(db) == before


def test_hostile_names_and_paths(installed: InstalledInstance, tmp_path: Path) -> None:
    restore_file(installed, EXAMPLE)
    assert installed.occ("passwords:backup:create", "safe").returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "folder.json.gz").write_text("a file where the export path wants a folder")
    before = snapshot_files(tmp_path)
    for args in (
        ["-n", "passwords:backup:restore", "../../x"],
        ["passwords:backup:export", "../../x"],
        ["passwords:backup:delete", "../safe"],
        ["passwords:backup:delete", "../../config/config"],
        ["passwords:backup:export", "safe", str(tmp_path / "outside" / "folder.json.gz" / "x.json.gz")],
    ):
        result = installed.occ(*args)
        assert result.returncode != 0, args
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, (args, result.stderr)
    assert snapshot_files(tmp_path) == before
    result = installed.occ("passwords:backup:create", "../../etc/passwd")
    assert result.stdout.startswith("Created new backup: ....etcpasswd,")


def test_restore_command_flow(installed: InstalledInstance) -> None:
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    name = "worked-example-v106"
    result = installed.occ("passwords:backup:restore", name, input="no\n")
    assert result.returncode == 2
    assert result.stdout.endswith("aborting\n")
    assert document_of(installed.instance)["passwords"] == []
    result = installed.occ("-q", "passwords:backup:restore", name)
    assert result.returncode == 107
    result = installed.occ(
        "-n", "passwords:backup:restore", name, "--no-data", "--no-user-settings", "--no-app-settings"
    )
    assert result.returncode == 1 and result.stdout.endswith(" - nothing\n")
    result = installed.occ("passwords:backup:restore", name, input="yes\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [f"This backup file will be used: {name}", "", "The following will be restored:"]
    assert f'❗❗❗ The backup "{name}" will now be restored ❗❗❗' in lines
    assert lines[-1] == "Restoring backup ... done"
    assert len(document_of(installed.instance)["passwords"]) == 2
    with pytest.MonkeyPatch.context() as patch:  # on a terminal: the status line gives the line back
        patch.setattr(Console, "progress_enabled", lambda self: True)
        result = installed.occ("-n", "passwords:backup:restore", name)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("\rRestoring backup ...: ") and " rows" in result.stderr
    assert result.stderr.endswith("\rRestoring backup ...")
    assert result.stdout.endswith("Restoring backup ... done\n")
    result = installed.occ("-n", "passwords:backup:restore", "nope")
    assert result.returncode == 1 and result.stderr.strip() == "Could not find backup 'nope'"


def test_list_export_import_delete(installed: InstalledInstance, tmp_path: Path) -> None:
    restore_file(installed, EXAMPLE)
    assert installed.occ("passwords:backup:list").stdout == "No backups found\n"
    assert installed.occ("passwords:backup:create", "b").returncode == 0
    assert installed.occ("passwords:backup:create", "a").returncode == 0
    listing = installed.occ("passwords:backup:list", "--details").stdout.splitlines()
    assert listing[0] == "The following backups are available:"
    assert listing[1].startswith("  a                     ")
    assert listing[2:5] == ["    Version 106", "    2     users", "    2     passwords"]
    os.chdir(tmp_path)
    result = installed.occ("passwords:backup:export", "a")
    assert result.stdout.strip() == f"Exported backup to {tmp_path}/a.json.gz"
    exported = tmp_path / "a.json.gz"
    assert oct(exported.stat().st_mode & 0o777) == "0o600"
    renamed = tmp_path / "copy.json.gz"
    renamed.write_bytes(exported.read_bytes())
    result = installed.occ("passwords:backup:import", str(renamed))
    assert result.stdout.startswith("Imported backup: copy, ")
    assert installed.occ("passwords:backup:delete", "copy").stdout == "Deleted: copy\n"
    assert installed.occ("passwords:backup:delete", "copy").returncode == 1


def test_backup_lock_serialises(installed: InstalledInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "LOCK_WAIT_SECONDS", 0.2)
    with installed.connect() as holder, service.backup_lock(holder):
        result = installed.occ("passwords:backup:create", "x")
    assert result.returncode == 1
    assert result.stderr.strip() == service.LOCK_BUSY
    assert installed.occ("passwords:backup:create", "x").returncode == 0


def test_restore_for_one_user_names_the_user_quoted(installed: InstalledInstance) -> None:
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    result = installed.occ("-n", "passwords:backup:restore", "worked-example-v106", "--user=o'hara")
    assert " - Only data for 'o'\\''hara'" in result.stdout.splitlines()
    assert " - Application settings" not in result.stdout


def test_a_value_longer_than_max_allowed_packet_is_refused_before_anything_is_deleted(
    installed: InstalledInstance, engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    restore_file(installed, EXAMPLE)
    doc = json.loads(EXAMPLE.read_text())
    doc["passwords"][0]["revisions"][1]["notes"] = "n" * (20 << 20)  # MariaDB's default packet: 16 MiB
    path = tmp_path / "huge-notes.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    shutil.copyfile(path, service.storage_for(installed.instance).folder_path() / path.name)
    with installed.connect() as db:
        before = database_state(db)
        limit = db.row_limit()
    deleted: list[Any] = []
    delete_data = restore_module._delete_data
    monkeypatch.setattr(restore_module, "_delete_data", lambda *args: deleted.append(args) or delete_data(*args))
    imported = installed.occ("passwords:backup:import", str(path), "--force")
    restored = installed.occ("-n", "passwords:backup:restore", "huge-notes")
    if engine != "mysql":  # PostgreSQL and SQLite take values of up to about 1 GB
        assert limit is None and imported.returncode == 0 and restored.returncode == 0, (imported, restored)
        return
    assert limit is not None and limit.bytes < 20 << 20
    message = (
        f"PasswordRevision 'a3e8c1d4-2b7f-4a9e-8c6d-1e5f3b9a7d20': 'notes' is 20.0 MiB, more than the "
        f"database server takes in one statement (max_allowed_packet = {limit.bytes / (1 << 20):.1f} MiB)\n"
    )
    assert (imported.returncode, imported.stderr) == (1, message)
    assert (restored.returncode, restored.stderr) == (1, message)
    assert not deleted
    with installed.connect() as db:
        assert database_state(db) == before


@pytest.mark.parametrize("engine", ["mysql"])
def test_a_row_whose_fields_together_exceed_max_allowed_packet_is_named_as_a_row(
    installed: InstalledInstance, tmp_path: Path
) -> None:
    doc = json.loads(EXAMPLE.read_text())
    revision = doc["passwords"][0]["revisions"][1]
    for field in ("password", "notes", "customFields"):
        revision[field] = "n" * (6 << 20)  # each below MariaDB's default 16 MiB, together above it
    path = tmp_path / "wide-row.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    with installed.connect() as db:
        limit = db.row_limit()
    assert limit is not None and 6 << 20 < limit.bytes < 18 << 20
    result = installed.occ("passwords:backup:import", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith(
        "PasswordRevision 'a3e8c1d4-2b7f-4a9e-8c6d-1e5f3b9a7d20' is 18.0 MiB in all "
        "(largest field 'password', 6.0 MiB), "
    ), result.stderr
    assert result.stderr.endswith(f"(max_allowed_packet = {limit.bytes / (1 << 20):.1f} MiB)\n")


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_a_value_longer_than_max_allowed_packet_after_the_first_batch_changes_nothing(
    installed: InstalledInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found while the rows are loaded (here after the first batch, of one row, was written): the
    restore stops before sending the row, and its transaction leaves the database as it was."""
    restore_file(installed, EXAMPLE)
    doc = json.loads(EXAMPLE.read_text())
    doc["passwords"][-1]["revisions"][-1]["notes"] = "n" * (20 << 20)
    path = tmp_path / "huge-notes.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    with installed.connect() as db:
        before = database_state(db)
        limit = db.row_limit()
    assert limit is not None
    deleted: list[Any] = []
    delete_data = restore_module._delete_data
    monkeypatch.setattr(restore_module, "_delete_data", lambda *args: deleted.append(args) or delete_data(*args))
    monkeypatch.setattr(restore_module, "BATCH", 1)
    for most in ("_FIRST_FRAME", "_MOST_PER_FRAME"):  # rows reach the loader one by one
        monkeypatch.setattr(reading_process, most, 1)
    with installed.connect() as db, pytest.raises(BackupFormatError) as refused:
        restore_backup(installed.instance, db, path, RestoreOptions())
    assert deleted  # the load had begun
    assert str(refused.value).endswith(
        f"'notes' is 20.0 MiB, more than the database server takes in one statement "
        f"(max_allowed_packet = {limit.bytes / (1 << 20):.1f} MiB)"
    )
    with installed.connect() as db:
        assert database_state(db) == before


def test_restore_refuses_an_empty_or_blank_user(installed: InstalledInstance) -> None:
    restore_file(installed, EXAMPLE)
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    with installed.connect() as db:  # a changed row that a restore would overwrite
        db.execute_sql(f"UPDATE {db.table('passwords_password')} SET updated = 7").close()
        before = database_state(db)
    name = "worked-example-v106"
    # `--user $U` and `-u $U` with an empty, unquoted variable reach occ as `--user` / `-u` alone.
    for args in (["--user="], ["-u", ""], ["--user"], ["-u"], ["--user", " "], ["--user=alice "], ["-u", "\talice"]):
        for nodata in ([], ["--no-data"]):
            result = installed.occ("-n", "passwords:backup:restore", name, *args, *nodata)
            assert result.returncode == 1, (args, result.stdout)
            assert result.stdout == "", args  # refused before the plan or the prompt
            assert result.stderr.count("\n") == 1 and result.stderr.startswith("Invalid --user "), result.stderr
    assert installed.occ("-n", "passwords:backup:restore", name, "--user=").stderr == (
        "Invalid --user '': a user id cannot be empty\n"
    )
    with installed.connect() as db:
        assert database_state(db) == before
    # Only leaving `--user` out restores every user.
    result = installed.occ("-n", "passwords:backup:restore", name)
    assert result.returncode == 0, result.stderr
    assert " - Application settings" in result.stdout
    with installed.connect() as db:
        assert database_state(db) != before
