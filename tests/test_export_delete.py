"""passwords:backup:export and :delete on the file system: missing folders created (0700), `..`
resolved as the file system does, read-only targets replaced only when confirmed, and every
permission problem reported in one line."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import InstalledInstance

pytestmark = pytest.mark.parametrize("engine", ["sqlite"])  # files only; the database is not involved

NOBODY = 65534


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def backup(installed: InstalledInstance) -> bytes:
    assert installed.occ("passwords:backup:create", "x").returncode == 0
    return (installed.instance.appdata_dir / "backups" / "x.json.gz").read_bytes()


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_export_creates_missing_folders_private(
    installed: InstalledInstance, backup: bytes, tmp_path: Path, mask: int
) -> None:
    os.chdir(tmp_path)
    with umask(mask):
        result = installed.occ("passwords:backup:export", "x", "out/a/b/")
    assert result.returncode == 0, result.stderr
    target = tmp_path / "out" / "a" / "b" / "x.json.gz"
    assert result.stdout == f"Exported backup to {target}\n"
    assert target.read_bytes() == backup and mode(target) == 0o600
    assert [mode(p) for p in (tmp_path / "out", tmp_path / "out" / "a", target.parent)] == [0o700] * 3


def test_export_resolves_dotdot_as_the_file_system_does(
    installed: InstalledInstance, backup: bytes, tmp_path: Path
) -> None:
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "linkdir").symlink_to(tmp_path / "real" / "sub")
    os.chdir(tmp_path)
    result = installed.occ("passwords:backup:export", "x", "dir/linkdir/../y.json.gz")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Exported backup to {tmp_path / 'real' / 'y.json.gz'}\n"
    assert (tmp_path / "real" / "y.json.gz").read_bytes() == backup
    assert not (tmp_path / "dir" / "y.json.gz").exists()


def test_export_asks_before_replacing_a_read_only_file(
    installed: InstalledInstance, backup: bytes, tmp_path: Path
) -> None:
    target = tmp_path / "x.json.gz"
    target.write_bytes(b"keep me")
    target.chmod(0o400)
    refused = f"Export file {target} is read-only; it was not replaced\n"
    result = installed.occ("-n", "passwords:backup:export", "x", str(tmp_path))
    assert result.returncode == 1 and result.stderr == refused
    result = installed.occ("passwords:backup:export", "x", str(tmp_path), input="n\n")
    assert result.returncode == 1 and result.stderr == refused
    assert result.stdout == f"The file {target} is read-only. Replace it (y/n)? [n] "
    assert target.read_bytes() == b"keep me" and mode(target) == 0o400
    result = installed.occ("passwords:backup:export", "x", str(tmp_path), input="y\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(f"Exported backup to {target}\n")
    assert target.read_bytes() == backup and mode(target) == 0o600
    # A writable file is replaced without a question, as by the app.
    target.write_bytes(b"old")
    assert installed.occ("-n", "passwords:backup:export", "x", str(target)).returncode == 0
    assert target.read_bytes() == backup


@contextlib.contextmanager
def as_nobody(tmp_path: Path) -> Iterator[None]:
    """Run the block with effective uid/gid `nobody` (tmp_path's tree given to nobody; its parent
    folders made traversable for the time being)."""
    parents = [p for p in tmp_path.parents if p != Path("/") and str(p).startswith("/tmp/")]
    modes = {p: mode(p) for p in parents}
    for parent in parents:
        parent.chmod(modes[parent] | 0o011)
    groups = os.getgroups()
    os.setgroups([])
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)
        for parent, old in modes.items():
            parent.chmod(old)


def give_to_nobody(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.lchown(path, NOBODY, NOBODY)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_delete_in_a_read_only_folder_gives_one_line(
    installed: InstalledInstance, backup: bytes, tmp_path: Path
) -> None:
    give_to_nobody(tmp_path)
    backups = installed.instance.appdata_dir / "backups"
    os.chown(backups, 0, 0)
    backups.chmod(0o755)
    with as_nobody(tmp_path):
        result = installed.occ("passwords:backup:delete", "x")
    assert result.returncode == 1
    assert result.stderr == "Could not delete backup 'x': Permission denied\n"
    assert (backups / "x.json.gz").read_bytes() == backup


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_export_over_a_root_owned_file(installed: InstalledInstance, backup: bytes, tmp_path: Path) -> None:
    out, sticky, closed = tmp_path / "out", tmp_path / "sticky", tmp_path / "closed"
    for folder in (out, sticky, closed):
        folder.mkdir()
    give_to_nobody(tmp_path)
    for folder, folder_mode in ((sticky, 0o1777), (closed, 0o755)):
        os.chown(folder, 0, 0)
        folder.chmod(folder_mode)
    for folder in (out, sticky):
        (folder / "x.json.gz").write_bytes(b"root's")
        os.chown(folder / "x.json.gz", 0, 0)
        (folder / "x.json.gz").chmod(0o644)
    with as_nobody(tmp_path):
        refused = installed.occ("-n", "passwords:backup:export", "x", str(out))
        replaced = installed.occ("passwords:backup:export", "x", str(out), input="y\n")
        not_permitted = installed.occ("passwords:backup:export", "x", str(sticky), input="y\n")
        no_write = installed.occ("passwords:backup:export", "x", str(closed))
    assert refused.returncode == 1
    assert refused.stderr == f"Export file {out / 'x.json.gz'} is read-only; it was not replaced\n"
    assert replaced.returncode == 0, replaced.stderr
    assert (out / "x.json.gz").read_bytes() == backup and (out / "x.json.gz").stat().st_uid == NOBODY
    assert not_permitted.returncode == 1
    assert not_permitted.stderr == f"Cannot write the export file {sticky / 'x.json.gz'}: Operation not permitted\n"
    assert (sticky / "x.json.gz").read_bytes() == b"root's"
    assert no_write.returncode == 1 and no_write.stderr == f"Cannot write in {closed}: Permission denied\n"
    assert sorted(p.name for p in sticky.iterdir()) == ["x.json.gz"] and list(closed.iterdir()) == []
