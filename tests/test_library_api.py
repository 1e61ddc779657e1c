"""The commands' work called as a library, as another program or a test would: nothing is printed,
results come back as values, progress through callbacks, refusals as one UserError line."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from conftest import InstalledInstance
from ncpasswords.errors import UserError
from ncpasswords.files.appdata_scan import scan_app_data
from ncpasswords.instance import system_config
from ncpasswords.instance.status import migration_status
from ncpasswords.repositories import app_config
from ncpasswords.repositories.config_values import AppConfig, Preferences
from ncpasswords.security import pwned
from ncpasswords.security.pwned_list import PwnedListJob, export_zip, import_list
from ncpasswords.users.data import delete_user, move_user
from test_pwned_list import generate


def test_system_config_tree(installed: InstalledInstance, capsys: pytest.CaptureFixture[str]) -> None:
    instance = installed.instance
    value, readable = system_config.cast_system_value("8080", "integer", ("proxy", "port"))
    assert (value, readable) == (8080, "integer 8080")
    system_config.set_value(instance, ("proxy", "port"), value)
    with pytest.raises(UserError, match="not been set before"):
        system_config.set_value(instance, ("proxy", "host"), "x", update_only=True)
    assert system_config.get_value(installed.instance, ("proxy", "port")) == (True, 8080)
    assert installed.occ("config:system:get", "proxy", "port").stdout == "8080\n"
    system_config.delete_value(instance, ("proxy", "port"))
    assert system_config.get_value(installed.instance, ("proxy",)) == (True, {})
    with pytest.raises(UserError, match="did not exist"):
        system_config.delete_value(instance, ("proxy", "port"), error_if_not_exists=True)
    assert capsys.readouterr() == ("", "")


def test_app_config_values(installed: InstalledInstance) -> None:
    with pytest.raises(UserError, match="too long"):
        app_config.prepare_value("a" * 33, "key", "1", None)
    stored = app_config.prepare_value("files", "max", "yes", "boolean")
    assert stored == "1"
    with installed.connect() as db:
        assert app_config.store_value(db, "files", "max", stored) is True
        assert app_config.store_value(db, "files", "max", stored) is False  # unchanged
        assert AppConfig(db, "files").get("max") == "1"
        app_config.delete_value(db, "files", "max")
        with pytest.raises(UserError, match="could not be deleted"):
            app_config.delete_value(db, "files", "max", error_if_not_exists=True)


def test_user_data_moves_and_deletes_in_one_step(installed: InstalledInstance) -> None:
    steps: list[str] = []
    with installed.connect() as db:
        prefs = Preferences(db)
        prefs.set("alice", "SSEv1UserKey", "key-a")
        prefs.set("bob", "SSEv1UserKey", "key-b")
        move_user(db, "alice", "bob", replace=True, step=steps.append)
        assert steps == ["Deleting data", "Moving data"]
        assert (prefs.get("alice", "SSEv1UserKey"), prefs.get("bob", "SSEv1UserKey")) == (None, "key-a")
        delete_user(db, "bob")
        assert prefs.get("bob", "SSEv1UserKey") is None


def test_pwned_list_export_and_import(
    installed: InstalledInstance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate(tmp_path / "list.txt", 5000)
    job = PwnedListJob.check(tmp_path / "list.txt", 1, "file")
    assert job.mode == "gzip"
    created = export_zip(job, tmp_path)
    assert created == tmp_path / f"1m-v{pwned.PASSWORD_VERSION}-gzip.zip"
    with zipfile.ZipFile(created) as archive:
        assert len(archive.namelist()) == 4096
    files = import_list(PwnedListJob.check(tmp_path / "list.txt", 1, "import"), installed.instance)
    assert files == 4097  # CACHEDIR.TAG and one file per prefix
    assert capsys.readouterr() == ("", "")
    with pytest.raises(UserError, match="Invalid mode specified: zip"):
        PwnedListJob.check(tmp_path / "list.txt", 1, "zip")


def test_scan_and_migration_status(installed: InstalledInstance) -> None:
    instance = installed.instance
    (instance.appdata_dir / "sub").mkdir(parents=True)
    (instance.appdata_dir / "sub" / "a.txt").write_text("a")
    found: list[str] = []
    counts = scan_app_data(instance, "passwords", on_file=found.append)
    assert (counts.files, counts.folders) == (1, 2)
    assert found == [f"appdata_{instance.instance_id}/passwords/sub/a.txt"]
    status = migration_status(instance)
    assert status["New Migrations"] == 0 and status["Version Table Name"] == "oc_migrations"
