"""The SQLite database holds the server's and the users' keys: it and every file beside it are
private to their owner whatever the umask and the data folder's mode.

Installing into an existing 0755 data folder used to create the database 0644, so that any local
user could copy it. Now the database, the -wal/-shm/-journal files SQLite creates beside it and
the lock file are 0600 (0640 with the folder's group where the folder belongs to another group
and is closed to everyone else), the app-data folders are not left 0777 by a umask of 000, and
installing warns when the data folder is open to other users.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import run_occ
from ncpasswords.db.connection import connect
from ncpasswords.instance.instance import Instance
from transfer_helpers import source_instance

from .corpus import EXAMPLE
from .helpers import COUNTERS


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def install(tmp_path: Path, data: Path) -> tuple[Instance, str]:
    config = tmp_path / "config"
    result = run_occ(config, "maintenance:install", "--database", "sqlite", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    return Instance.load(config / "config.php"), result.stderr


def sqlite_files(instance: Instance) -> dict[str, int]:
    """The modes of the database and of every file SQLite and the locks put beside it, each seen
    while it exists: -wal and -shm while a connection has written, -journal inside a write
    transaction in rollback-journal mode, the backup lock file after a backup."""
    settings = instance.connection_settings()
    path = settings.sqlite_path
    assert path is not None
    config = instance.path.parent
    assert run_occ(config, "passwords:backup:import", str(EXAMPLE)).returncode == 0
    assert run_occ(config, "-n", "passwords:backup:restore", "worked-example-v106").returncode == 0
    assert run_occ(config, "passwords:backup:create", "modes").returncode == 0
    seen = {"database": mode(path)}
    write = "INSERT INTO oc_appconfig (appid, configkey, configvalue) VALUES ('test', ?, 'x')"
    with instance.connect() as db:
        db.execute_sql(write, ("wal",)).close()
        for suffix in ("-wal", "-shm"):
            seen[suffix] = mode(Path(f"{path}{suffix}"))
    with connect(replace(settings, sqlite_journal_mode="DELETE")) as db, db.transaction(write_lock=True):
        db.execute_sql(write, ("journal",)).close()
        seen["-journal"] = mode(Path(f"{path}-journal"))
    for lock in path.parent.glob(f"{path.name}.*.lock"):
        seen[lock.name] = mode(lock)
    assert len(seen) == 5, seen
    return seen


@pytest.mark.parametrize("mask", [0o000, 0o022], ids=["umask000", "umask022"])
def test_database_files_are_private_in_an_open_data_folder(tmp_path: Path, mask: int) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    with umask(mask):
        instance, warnings = install(tmp_path, data)
        modes = sqlite_files(instance)
    COUNTERS.add("security: SQLite file modes checked", f"umask {mask:03o}", len(modes))
    assert modes == dict.fromkeys(modes, 0o600), {k: oct(v) for k, v in modes.items()}
    assert warnings == (
        f"Warning: The data folder {data} is open to other users (mode 0755); "
        f"run chmod o-rwx {data} so that only the web server can read it\n"
    )


def test_a_new_data_folder_is_closed_even_with_umask_000(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with umask(0):
        instance, warnings = install(tmp_path, data)
        modes = sqlite_files(instance)
    assert modes == dict.fromkeys(modes, 0o600), {k: oct(v) for k, v in modes.items()}
    folders = {
        "data": mode(data),
        "appdata": mode(instance.appdata_dir.parent),
        "passwords": mode(instance.appdata_dir),
    }
    assert folders == {"data": 0o770, "appdata": 0o750, "passwords": 0o750}, {k: oct(v) for k, v in folders.items()}
    assert warnings == ""


def test_the_folder_group_may_read_where_the_folder_is_shared_with_it(tmp_path: Path) -> None:
    """A data folder of the web server's group, closed to others: the group may read (as config.php)."""
    others = [g for g in os.getgroups() if g != os.getegid()]
    group = 4242 if os.geteuid() == 0 else (others[0] if others else None)
    if group is None:
        pytest.skip("needs root or a supplementary group to give the data folder another group")
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, -1, group)
    data.chmod(0o750)
    with umask(0o022):
        instance, warnings = install(tmp_path, data)
        path = instance.connection_settings().sqlite_path
        assert path is not None
        assert (mode(path), path.stat().st_gid) == (0o640, group)
        modes = sqlite_files(instance)
    assert warnings == ""
    assert modes["-wal"] == modes["-shm"] == modes["-journal"] == 0o640


def test_a_conversion_to_sqlite_creates_a_private_database(tmp_path: Path) -> None:
    with umask(0o022), source_instance("pgsql", tmp_path / "source", EXAMPLE, edge=False) as source:
        result = source.occ("db:convert-type", "-n", "sqlite3", "", "", "moved")
        assert result.returncode == 0, result.stderr
        path = source.instance.connection_settings().sqlite_path
        assert path is not None and path.name == "moved.db"
        assert mode(path) == 0o600
