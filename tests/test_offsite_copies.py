"""Scheduled off-site copies: after each scheduled backup an age-encrypted copy lands in the copy
folder (opened by the `age` tool), the folder keeps its own number of copies, and a copy that
fails fails the job and is shown by `backup:list --details`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import IN_CI, InstalledInstance
from ncpasswords.jobs.registry import JOBS
from ncpasswords.jobs.worker import WorkerOutput, run_pass
from ncpasswords.repositories.config_values import AppConfig

pytestmark = pytest.mark.parametrize("engine", ["sqlite"])  # files and the job; one engine suffices
HOUR = 3600
START = 1_700_000_000


@pytest.fixture(autouse=True)
def tools() -> None:
    missing = [tool for tool in ("age", "age-keygen") if shutil.which(tool) is None]
    if missing:
        (pytest.fail if IN_CI else pytest.skip)(f"not installed: {', '.join(missing)}")


def age_key(path: Path) -> str:
    subprocess.run(["age-keygen", "-o", str(path)], capture_output=True, check=True)
    return subprocess.run(["age-keygen", "-y", str(path)], capture_output=True, check=True, text=True).stdout.strip()


def run_jobs(installed: InstalledInstance, hours: int) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    errors: list[str] = []
    instance = installed.instance
    with instance.connect() as db:
        AppConfig(db).set("backup/interval", str(HOUR))
        for hour in range(hours):
            run_pass(instance, db, JOBS, WorkerOutput(lines.append, errors.append), now=START + hour * HOUR)
    return lines, errors


def test_copies_are_encrypted_and_rotated(installed: InstalledInstance, tmp_path: Path) -> None:
    copies = tmp_path / "remote"
    copies.mkdir()
    (copies / "notes.txt").write_text("not a copy")
    (copies / "before-upgrade.json.gz.age").write_text("a manual copy")
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    recipients = f"{age_key(first)},{age_key(second)}"
    for key, value in (
        ("backup/offsite/folder", str(copies)),
        ("backup/offsite/recipients", recipients),
        ("backup/offsite/files/maximum", "2"),
    ):
        assert installed.occ("config:app:set", "passwords", key, f"--value={value}").returncode == 0

    lines, errors = run_jobs(installed, 3)
    assert errors == []
    assert [line for line in lines if "off-site" in line] == [
        f"Copied backup off-site to {copies}/2023-11-14_22-13-20.json.gz.age",
        f"Copied backup off-site to {copies}/2023-11-14_23-13-20.json.gz.age",
        f"Copied backup off-site to {copies}/2023-11-15_00-13-20.json.gz.age",
        "Removed old off-site copy 2023-11-14_22-13-20.json.gz.age",
    ]
    assert sorted(p.name for p in copies.iterdir()) == [
        "2023-11-14_23-13-20.json.gz.age",
        "2023-11-15_00-13-20.json.gz.age",
        "before-upgrade.json.gz.age",
        "notes.txt",
    ]
    auto = installed.instance.appdata_dir / "autoBackups"
    for copy in copies.glob("2023-*.age"):
        assert copy.stat().st_mode & 0o777 == 0o600
        for key in (first, second):
            opened = subprocess.run(["age", "-d", "-i", str(key), str(copy)], capture_output=True, check=True).stdout
            assert opened == (auto / copy.name.removesuffix(".age")).read_bytes()
    details = installed.occ("passwords:backup:list", "--details").stdout
    assert f": ok: {copies}/2023-11-15_00-13-20.json.gz.age" in details
    assert details.count("    Off-site copy ") == 3  # every scheduled backup still kept has its copy


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"backup/offsite/folder": "/nonexistent/remote", "backup/offsite/recipients": "KEY"}, "does not exist"),
        ({"backup/offsite/folder": "FOLDER"}, "need recipients"),
        ({"backup/offsite/folder": "FOLDER", "backup/offsite/recipients": "age1nope"}, "Invalid recipient"),
    ],
)
def test_a_failed_copy_fails_the_job_and_is_listed(
    installed: InstalledInstance, tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    folder = tmp_path / "remote"
    folder.mkdir()
    recipient = age_key(tmp_path / "key.txt")
    for key, value in settings.items():
        value = value.replace("FOLDER", str(folder)).replace("KEY", recipient)
        assert installed.occ("config:app:set", "passwords", key, f"--value={value}").returncode == 0
    result = installed.occ("background-job:worker", "--once")
    assert result.returncode == 1
    assert "Created Backup " in result.stdout and "Checked " in result.stdout  # the backup itself is made
    assert result.stderr.startswith("Job OCA\\Passwords\\Cron\\BackupJob failed: ") and message in result.stderr
    assert list(folder.iterdir()) == []  # nothing half-written
    details = installed.occ("passwords:backup:list", "--details").stdout
    assert "    Off-site copy " in details and ": failed: " in details and message in details
