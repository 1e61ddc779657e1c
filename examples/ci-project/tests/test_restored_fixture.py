"""A CI suite that starts every test from a known Passwords database: the worked-example backup."""

from contextlib import closing
from typing import Any

import pytest

BACKUP = "fixtures/worked-example-v106.json.gz"


def scalar(instance: Any, sql: str) -> Any:
    with closing(instance.connect()) as connection:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchone()[0]


def count(instance: Any, table: str, where: str = "") -> int:
    return int(scalar(instance, f"SELECT COUNT(*) FROM {instance.table(table)} {where}"))


def test_a_fresh_instance_is_installed_and_empty(passwords_instance: Any) -> None:
    assert passwords_instance.occ("status").check().stdout.startswith("  - installed: true")
    assert count(passwords_instance, "passwords_password") == 0
    assert passwords_instance.occ("passwords:backup:list").stdout == "No backups found\n"


@pytest.mark.passwords_backup(BACKUP)
def test_the_backup_is_restored_before_the_test(passwords_instance: Any) -> None:
    assert count(passwords_instance, "passwords_password") == 2
    assert count(passwords_instance, "passwords_password_rv") == 3
    assert count(passwords_instance, "passwords_keychain", "WHERE user_id = 'bob'") == 2
    # The restore stored the backup's server secret in config.php, as the app does.
    secret = passwords_instance.occ("config:system:get", "passwords.secret").check().stdout
    assert secret == "nL0q3Zx7Rk2VtY8mWc5PfH1sJd9GbE4a\n"
    assert passwords_instance.occ("config:app:get", "passwords", "backup/interval").stdout == "21600\n"


@pytest.mark.passwords_backup(BACKUP)
def test_changes_stay_in_their_test_part_1(passwords_instance: Any) -> None:
    with closing(passwords_instance.connect()) as connection:
        connection.cursor().execute(f"DELETE FROM {passwords_instance.table('passwords_password')}")
    assert count(passwords_instance, "passwords_password") == 0


@pytest.mark.passwords_backup(BACKUP)
def test_changes_stay_in_their_test_part_2(passwords_instance: Any) -> None:
    assert count(passwords_instance, "passwords_password") == 2


@pytest.mark.passwords_backup(BACKUP)
def test_occ_backup_commands_work_on_the_instance(passwords_instance: Any, tmp_path: Any) -> None:
    created = passwords_instance.occ("passwords:backup:create", "before-test").check()
    assert created.stdout.startswith("Created new backup: before-test, ")
    listed = passwords_instance.occ("passwords:backup:list", "--details").check().stdout
    assert "Version 106" in listed and "2     passwords" in listed
    exported = passwords_instance.occ("passwords:backup:export", "before-test", str(tmp_path)).check()
    assert (tmp_path / "before-test.json.gz").is_file(), exported.stdout
    backups = passwords_instance.appdata_dir / "backups"
    assert [p.name for p in backups.iterdir()] == ["before-test.json.gz"]


@pytest.mark.passwords_backup(BACKUP, data=False, user_settings=False, client_settings=False)
def test_restore_options_come_from_the_marker(passwords_instance: Any) -> None:
    # Only the application settings were restored.
    assert count(passwords_instance, "passwords_password") == 0
    assert passwords_instance.occ("config:app:get", "passwords", "backup/files/maximum").stdout == "14\n"


def test_the_factory_makes_more_instances(passwords_backup_factory: Any, passwords_session: Any) -> None:
    first = passwords_backup_factory(BACKUP)
    legacy = passwords_backup_factory("fixtures/legacy-v105.json")  # an old format, upgraded on restore
    assert first.config_dir != legacy.config_dir
    assert count(first, "passwords_password") == count(legacy, "passwords_password") == 2
    assert count(legacy, "passwords_password_rv", "WHERE client = 'CLIENT::UNKNOWN'") == 3
    before = passwords_session.restores_of("fixtures/legacy-v105.json")
    uncached = passwords_backup_factory("fixtures/legacy-v105.json", cached=False)
    assert passwords_session.restores_of("fixtures/legacy-v105.json") == before + 1
    assert count(uncached, "passwords_password") == 2


PREVIOUS: dict[str, Any] = {}


def test_an_instance_is_removed_after_its_test_part_1(passwords_instance: Any) -> None:
    PREVIOUS["instance"] = passwords_instance
    assert passwords_instance.config_file.is_file()


def test_an_instance_is_removed_after_its_test_part_2(passwords_session: Any) -> None:
    previous = PREVIOUS["instance"]
    assert not previous.config_dir.exists() and not previous.data_dir.exists()
    assert not passwords_session.server.exists(previous.dbname)  # its database was dropped
