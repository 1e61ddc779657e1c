"""Scheduled backups (background-job:worker) and the automatic restore after a wiped database."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import InstalledInstance
from ncpasswords.jobs.joblist import STATE_APP
from ncpasswords.jobs.registry import job
from ncpasswords.jobs.worker import WorkerOutput, run_pass
from ncpasswords.repositories.config_values import AppConfig
from ncpasswords.repositories.entity_repository import EntityRepository

EXAMPLE = Path(__file__).parent / "fixtures" / "worked-example-v106.json"

BACKUP = [job("OCA\\Passwords\\Cron\\BackupJob")]


def auto_backups(installed: InstalledInstance) -> list[str]:
    folder = installed.instance.appdata_dir / "autoBackups"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_worker_runs_the_backup_job_when_due(installed: InstalledInstance) -> None:
    result = installed.occ("background-job:worker", "--once", "OCA\\Passwords\\Cron\\BackupJob")
    assert result.returncode == 0, result.stderr
    first, second, third = result.stdout.splitlines()
    assert first == "Running job OCA\\Passwords\\Cron\\BackupJob"
    assert second.startswith("Created Backup ") and ".json.gz with " in second
    assert third.startswith("Checked ") and ": ok, version 106" in third
    assert len(auto_backups(installed)) == 1
    # Not due again within backup/interval (default one day).
    assert installed.occ("background-job:worker", "--once", "OCA\\Passwords\\Cron\\BackupJob").stdout == ""
    assert len(auto_backups(installed)) == 1
    with installed.connect() as db:
        assert AppConfig(db, STATE_APP).get("backup_job/last_run")


def test_job_rotates_to_the_maximum(installed: InstalledInstance) -> None:
    instance = installed.instance
    lines: list[str] = []
    out = WorkerOutput(lines.append, lines.append)
    with instance.connect() as db:
        AppConfig(db).set("backup/files/maximum", "2")
        AppConfig(db).set("backup/interval", "3600")
        for hour in range(4):
            assert run_pass(instance, db, BACKUP, out, now=1_700_000_000 + hour * 3600).ran == 1
        # Due 20 seconds early (Nextcloud's margin for cron's jitter), not earlier.
        assert run_pass(instance, db, BACKUP, out, now=1_700_000_000 + 4 * 3600 - 21).ran == 0
    assert len(auto_backups(installed)) == 2
    assert auto_backups(installed) == ["2023-11-15_00-13-20.json.gz", "2023-11-15_01-13-20.json.gz"]
    assert [line for line in lines if line.startswith("Removed")] == [
        "Removed old backup 2023-11-14_22-13-20.json.gz",
        "Removed old backup 2023-11-14_23-13-20.json.gz",
    ]


def test_automatic_restore_after_wiped_database(installed: InstalledInstance) -> None:
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    result = installed.occ("migrations:migrate", "passwords")
    assert result.returncode == 0, result.stderr
    assert "restored automatically" in result.stdout
    with installed.connect() as db:
        assert EntityRepository(db, "passwords_password").count() == 2
        assert AppConfig(db).get("auto-backup/status") == "2"
    assert [n for n in auto_backups(installed) if n.startswith("AUTO_")]
    # With data present nothing happens again.
    assert "restored automatically" not in installed.occ("migrations:migrate", "passwords").stdout
    with installed.connect() as db:
        assert AppConfig(db).get("auto-backup/status") == "0"


def test_automatic_restore_can_be_disabled(installed: InstalledInstance) -> None:
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    installed.occ("config:app:set", "passwords", "backup/update/autorestore", "--value=")
    installed.occ("migrations:migrate", "passwords")
    with installed.connect() as db:
        assert EntityRepository(db, "passwords_password").count() == 0
        assert AppConfig(db).get("auto-backup/status") == "0"


def test_automatic_restore_skips_empty_backups(installed: InstalledInstance, tmp_path: Path) -> None:
    empty = json.loads(EXAMPLE.read_text())
    empty.update(passwords=[], folders=[], tags=[])
    path = tmp_path / "zzz-empty.json"
    path.write_text(json.dumps(empty))
    assert installed.occ("passwords:backup:import", str(path)).returncode == 0
    installed.occ("migrations:migrate", "passwords")
    with installed.connect() as db:
        assert AppConfig(db).get("auto-backup/status") == "1"
