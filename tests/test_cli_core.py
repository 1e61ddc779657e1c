"""The core occ commands, global conventions and one-line errors for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import InstalledInstance, ScratchDb, run_occ
from ncpasswords.instance import phpconfig

NOT_INSTALLED = "Nextcloud is not installed - only a limited number of commands are available"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "args",
    [
        ["config:system:get", "dbtype"],
        ["config:app:get", "passwords", "x"],
        ["migrations:migrate", "passwords"],
        ["files:scan-app-data"],
    ],
)
def test_commands_need_an_installed_instance(tmp_path: Path, args: list[str]) -> None:
    result = run_occ(tmp_path / "config", *args)
    assert result.returncode == 1
    assert result.stderr.strip() == NOT_INSTALLED
    assert not (tmp_path / "config").exists()


def test_status_without_and_with_instance(tmp_path: Path, installed: InstalledInstance) -> None:
    result = run_occ(tmp_path / "nothing", "status")
    assert result.returncode == 0 and "  - installed: false" in result.stdout
    result = installed.occ("status", "--output=json")
    assert result.returncode == 0
    import json

    info = json.loads(result.stdout)
    assert info["installed"] is True and info["needsDbUpgrade"] is False


def test_install_writes_nextcloud_style_config(installed: InstalledInstance) -> None:
    path = installed.config_dir / "config.php"
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    config = phpconfig.read(path)
    assert list(config)[:3] == ["instanceid", "passwordsalt", "secret"]
    assert len(str(config["secret"])) == 48 and len(str(config["instanceid"])) == 12
    assert str(config["instanceid"]).startswith("oc")
    assert config["dbtableprefix"] == "oc_" and config["installed"] is True
    assert installed.instance.appdata_dir.is_dir()
    again = installed.occ("maintenance:install", "--database", "sqlite")
    assert again.returncode == 1 and "already installed" in again.stderr


def test_system_config_set_get_delete_keeps_other_keys(installed: InstalledInstance) -> None:
    path = installed.config_dir / "config.php"
    before = phpconfig.read(path)
    assert installed.occ("config:system:set", "trusted_domains", "1", "--value=cloud.example.com").stdout.strip() == (
        "System config value trusted_domains => 1 set to string cloud.example.com"
    )
    r = installed.occ("config:system:set", "loglevel", "--value=2", "--type=integer")
    assert r.stdout.strip() == "System config value loglevel set to integer 2"
    r = installed.occ("config:system:set", "maintenance", "--value=yes", "--type=boolean")
    assert r.returncode == 1 and r.stderr.strip() == "Unable to parse value as boolean"
    after = phpconfig.read(path)
    assert after["trusted_domains"] == {0: "localhost", 1: "cloud.example.com"}
    assert after["loglevel"] == 2
    assert {k: v for k, v in after.items() if k not in ("trusted_domains", "loglevel")} == {
        k: v for k, v in before.items() if k != "trusted_domains"
    }
    assert installed.occ("config:system:get", "trusted_domains").stdout == "localhost\ncloud.example.com\n"
    assert installed.occ("config:system:get", "trusted_domains", "--output=json").stdout.strip() == (
        '["localhost","cloud.example.com"]'
    )
    assert installed.occ("config:system:get", "datadirectory", "--output=json").stdout.strip().startswith('"\\/')
    missing = installed.occ("config:system:get", "nope")
    assert missing.returncode == 1 and missing.stdout == ""
    assert installed.occ("config:system:get", "nope", "--default-value=x").stdout == "x\n"
    assert installed.occ("config:system:delete", "loglevel").stdout.strip() == "System config value loglevel deleted"
    r = installed.occ("config:system:delete", "loglevel", "--error-if-not-exists")
    assert r.returncode == 1
    assert r.stderr.strip() == "System config loglevel could not be deleted because it did not exist"
    assert "loglevel" not in phpconfig.read(path)


def test_app_config_commands(installed: InstalledInstance) -> None:
    r = installed.occ("config:app:set", "passwords", "backup/interval", "--value=3600")
    assert r.returncode == 0
    assert r.stdout.strip() == (
        "Config value 'backup/interval' for app 'passwords' is now set to '3600', stored as mixed in fast cache"
    )
    assert installed.occ("config:app:set", "passwords", "backup/interval", "--value=3600").stdout.strip() == (
        "Config value were not updated"
    )
    assert installed.occ("config:app:get", "passwords", "backup/interval").stdout == "3600\n"
    r = installed.occ("config:app:set", "passwords", "x", "--value=abc", "--type=integer")
    assert r.returncode == 1 and r.stderr.strip() == "Value is not an integer"
    r = installed.occ("config:app:set", "passwords", "y", "--value=1", "--update-only")
    assert r.returncode == 1
    assert installed.occ("config:app:get", "passwords", "y").returncode == 1
    assert installed.occ("config:app:delete", "passwords", "backup/interval").returncode == 0
    r = installed.occ("config:app:delete", "passwords", "backup/interval", "--error-if-not-exists")
    assert r.returncode == 1


def test_global_options_anywhere(installed: InstalledInstance) -> None:
    assert installed.occ("-q", "config:app:set", "passwords", "k", "--value=v").stdout == ""
    assert installed.occ("config:app:get", "-n", "passwords", "k", "-v").stdout == "v\n"
    r = installed.occ("config:app:get", "passwords")
    assert r.returncode == 1 and r.stderr.startswith('Not enough arguments (missing: "name").\n')


def test_scan_app_data(installed: InstalledInstance) -> None:
    folder = installed.instance.appdata_dir / "backups"
    folder.mkdir()
    (folder / "a.json.gz").write_bytes(b"x")
    r = installed.occ("files:scan-app-data", "passwords")
    assert r.returncode == 0
    assert r.stdout.startswith("Scanning AppData for files\n\n+")
    assert "| 2       | 1     |" in r.stdout
    r = installed.occ("files:scan-app-data", "../..")
    assert r.returncode == 1 and r.stderr.strip() == "Could not find folder: ../.."


def _set_config(installed: InstalledInstance, **values: object) -> None:
    path = installed.config_dir / "config.php"
    config = phpconfig.read(path)
    config.update(values)  # type: ignore[arg-type]
    phpconfig.write(path, config)


@pytest.mark.parametrize(
    ("engine", "change", "message"),
    [
        ("pgsql", {"dbhost": "127.0.0.1:1"}, "Cannot connect to the PostgreSQL database"),
        ("mysql", {"dbhost": "127.0.0.1:1"}, "Cannot connect to the MySQL/MariaDB database"),
        ("mysql", {"dbpassword": "wrong-secret-pw"}, "Access denied"),
        ("pgsql", {"dbname": "ncp_does_not_exist"}, "ncp_does_not_exist"),
        ("mysql", {"dbname": "ncp_does_not_exist"}, "ncp_does_not_exist"),
        ("sqlite", {"dbname": "missing"}, "the file does not exist"),
        ("sqlite", {"dbtype": "oci"}, "Unsupported dbtype 'oci'"),
        ("sqlite", {"dbtableprefix": "x; DROP"}, "Invalid table prefix"),
    ],
    indirect=["engine"],
)
def test_bad_connection_settings_give_one_line(
    installed: InstalledInstance, change: dict[str, object], message: str
) -> None:
    _set_config(installed, **change)
    before = snapshot(installed.scratch.data_dir.parent)
    result = installed.occ("config:app:get", "passwords", "installed_version")
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "wrong-secret-pw" not in result.stderr
    assert snapshot(installed.scratch.data_dir.parent) == before


def test_config_syntax_error_names_file_and_line(installed: InstalledInstance) -> None:
    path = installed.config_dir / "config.php"
    lines = path.read_text().splitlines()
    lines.insert(4, "  'broken' => ,")
    path.write_text("\n".join(lines) + "\n")
    result = installed.occ("config:system:get", "dbtype")
    assert result.returncode == 1
    assert str(path) in result.stderr and "line 5" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("engine", ["pgsql", "mysql"], indirect=True)
def test_install_failure_writes_nothing(tmp_path: Path, scratch: ScratchDb) -> None:
    config_dir = tmp_path / "config"
    host = "127.0.0.1:1"
    args = [
        "maintenance:install",
        f"--database={scratch.engine}",
        f"--database-name={scratch.name}",
        f"--database-host={host}",
        "--database-user=root",
        f"--data-dir={tmp_path / 'new-data'}",
    ]
    result = run_occ(config_dir, *args)
    assert result.returncode == 1 and "Cannot connect" in result.stderr
    assert not (config_dir / "config.php").exists()
    assert not (tmp_path / "new-data").exists()


def test_python_module_and_console_script(tmp_path: Path) -> None:
    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(tmp_path / "config")}
    for cmd in ([sys.executable, "-m", "ncpasswords", "status"], [str(Path(sys.executable).parent / "occ"), "status"]):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        assert "installed: false" in out.stdout
