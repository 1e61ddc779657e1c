"""maintenance:install (Nextcloud 34's options, one line for bad input) and status (Nextcloud 34's
keys, --output and --exit-code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import InstalledInstance, ScratchDb, run_occ
from ncpasswords.instance import phpconfig
from ncpasswords.instance.version import NEXTCLOUD_VERSION
from ncpasswords.repositories.config_values import AppConfig

KEYS = [
    "installed",
    "version",
    "versionstring",
    "edition",
    "maintenance",
    "needsDbUpgrade",
    "productname",
    "extendedSupport",
]


def install_args(scratch: ScratchDb, data_dir: Path, *extra: str) -> list[str]:
    options = scratch.install_options()
    args = ["maintenance:install", f"--database={options.database}", f"--data-dir={data_dir}", *extra]
    if options.database != "sqlite":
        args += [
            f"--database-name={options.database_name}",
            f"--database-host={options.database_host}",
            f"--database-user={options.database_user}",
            f"--database-pass={options.database_pass or ''}",
        ]
        if options.database_port:
            args.append(f"--database-port={options.database_port}")
    else:
        args.append(f"--database-name={options.database_name}")
    return args


def test_install_refuses_a_prefix_starting_with_a_digit(scratch: ScratchDb, tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    result = run_occ(config_dir, *install_args(scratch, tmp_path / "data", "--database-table-prefix=1_"))
    assert result.returncode == 1
    assert result.stderr == ("Invalid table prefix '1_': up to 32 letters, digits and '_', not starting with a digit\n")
    assert not (config_dir / "config.php").exists()
    with scratch.connect() as db:
        assert not db.table_exists("appconfig")


def test_install_accepts_nextcloud_34_options(scratch: ScratchDb, tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    result = run_occ(
        config_dir, *install_args(scratch, tmp_path / "data", "--disable-admin-user", "--database-table-space")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Nextcloud was successfully installed\n"
    config = phpconfig.read(config_dir / "config.php")
    assert not [key for key in config if "space" in str(key) or "admin" in str(key)]


@pytest.mark.parametrize("engine", ["sqlite", "pgsql"], indirect=True)
def test_install_bad_paths_and_port_give_one_line(scratch: ScratchDb, tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (install_args(scratch, a_file), f"The data directory {a_file} exists and is not a folder"),
        (
            install_args(scratch, a_file / "data"),
            f"Cannot create the data directory {a_file / 'data'}: Not a directory",
        ),
        ([*install_args(scratch, tmp_path / "new-data"), "--database-port=54x"], "Invalid database port: 54x"),
    ]
    for args, message in cases:
        result = run_occ(config_dir, *args)
        assert result.returncode == 1 and result.stderr == message + "\n", (args, result.stderr)
        assert not config_dir.exists() and not (tmp_path / "new-data").exists()


def test_status_reports_nextcloud_keys(installed: InstalledInstance, tmp_path: Path) -> None:
    result = installed.occ("status")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "  - installed: true\n"
        f"  - version: {NEXTCLOUD_VERSION}\n"
        f"  - versionstring: {'.'.join(NEXTCLOUD_VERSION.split('.')[:3])}\n"
        "  - edition: \n"
        "  - maintenance: false\n"
        "  - needsDbUpgrade: false\n"
        "  - productname: Nextcloud\n"
        "  - extendedSupport: false\n"
    )
    assert installed.occ("status", "-e").stdout == "" and installed.occ("status", "-e").returncode == 0

    # A real Nextcloud's version and theming, maintenance mode as config.php says.
    path = installed.config_dir / "config.php"
    config = phpconfig.read(path)
    config.update(version="33.0.2.1", maintenance=True)
    phpconfig.write(path, config)
    with installed.connect() as db:
        AppConfig(db, "theming").set("productName", "<b>Our</b> Cloud")
    info = json.loads(installed.occ("status", "--output=json").stdout)
    assert list(info) == KEYS
    assert info == {
        "installed": True,
        "version": "33.0.2.1",
        "versionstring": "33.0.2",
        "edition": "",
        "maintenance": True,
        "needsDbUpgrade": False,
        "productname": "Our Cloud",
        "extendedSupport": False,
    }
    quiet = installed.occ("status", "--exit-code")
    assert quiet.returncode == 1 and quiet.stdout == ""
    verbose = installed.occ("status", "-e", "-v", "--output=json")
    assert verbose.returncode == 1 and json.loads(verbose.stdout)["maintenance"] is True

    # Out of maintenance, with one of the app's migrations missing: an upgrade is needed.
    config["maintenance"] = False
    phpconfig.write(path, config)
    with installed.connect() as db:
        db.execute_sql(f"DELETE FROM {db.table('migrations')} WHERE version = '20250930'").close()
    assert json.loads(installed.occ("status", "--output=json").stdout)["needsDbUpgrade"] is True
    assert installed.occ("status", "-e").returncode == 2
    assert installed.occ("migrations:migrate", "passwords").returncode == 0
    assert installed.occ("status", "-e").returncode == 0


def test_status_without_an_instance(tmp_path: Path) -> None:
    result = run_occ(tmp_path / "config", "status", "--output=json")
    assert result.returncode == 0
    info = json.loads(result.stdout)
    assert list(info) == KEYS
    assert info["installed"] is False and info["needsDbUpgrade"] is False and info["version"] == NEXTCLOUD_VERSION
    assert not (tmp_path / "config").exists()
