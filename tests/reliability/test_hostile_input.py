"""Hostile and corrupt input through occ: every case of corpus.py is imported
(`passwords:backup:import FILE`) and restored after being dropped into the backup folder by hand
(`passwords:backup:restore`). A refused file gives a non-zero exit and one line on stderr (no
traceback, no "Unexpected error") and leaves the database, config.php and the backup folders as
they were; an accepted one succeeds cleanly. Plus names and paths: `..`, `/`, NUL, long names,
symlinked folders and files."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance
from ncpasswords.backup import service
from ncpasswords.backup.restore import RestoreOptions, restore_backup

from .corpus import EXAMPLE, Case, corpus, gzip_bomb
from .helpers import COUNTERS, StateReader, checksum, diff, files_state, one_line_error

MIN_CASES = 200


_READERS: dict[Path, StateReader] = {}


def reader(installed: InstalledInstance) -> StateReader:
    if installed.config_dir not in _READERS:
        for old in _READERS.values():
            old.close()
        _READERS.clear()
        _READERS[installed.config_dir] = StateReader(installed.instance.connection_settings())
    return _READERS[installed.config_dir]


def instance_state(installed: InstalledInstance) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    return (
        reader(installed).state(),
        (installed.config_dir / "config.php").read_bytes(),
        files_state(installed.instance.appdata_dir),
    )


def files_and_config(installed: InstalledInstance) -> tuple[bytes, dict[str, Any]]:
    return (installed.config_dir / "config.php").read_bytes(), files_state(installed.instance.appdata_dir)


def check_refused(what: str, case: Case, result: Any) -> list[str]:
    problems = []
    if result.returncode == 0:
        problems.append(f"{case.name}: {what} accepted a file that must be refused")
    elif not one_line_error(result.stderr) or "Unexpected error" in result.stderr:
        problems.append(f"{case.name}: {what} did not fail with one clear line: {result.stderr[:300]!r}")
    elif case.message and case.message not in result.stderr:
        problems.append(f"{case.name}: {what} said {result.stderr.strip()[:200]!r}, expected {case.message!r}")
    return problems


def run_case(installed: InstalledInstance, case: Case, workdir: Path) -> list[str]:
    """Import and restore one case; returns what went wrong."""
    problems: list[str] = []
    backups = service.storage_for(installed.instance).folder_path()
    source = workdir / f"case{case.suffix}"
    source.write_bytes(case.data)

    before_files = files_and_config(installed)  # an import does not touch the database
    result = installed.occ("passwords:backup:import", str(source))
    imported = backups / "case.json.gz"
    if case.import_ok:
        if result.returncode != 0 or result.stderr:
            problems.append(f"{case.name}: import refused a file it must accept: {result.stderr.strip()[:300]!r}")
    else:
        problems += check_refused("import", case, result)
    if result.returncode == 0:
        imported.unlink(missing_ok=True)
    after_files = files_and_config(installed)
    if after_files != before_files:
        problems.append(
            f"{case.name}: import changed the instance: "
            f"config {'changed' if after_files[0] != before_files[0] else 'same'}, "
            f"files {sorted(set(after_files[1].items()) ^ set(before_files[1].items()))[:4]}"
        )
        imported.unlink(missing_ok=True)

    before = instance_state(installed)
    dropped = backups / f"case{case.suffix}"
    shutil.copyfile(source, dropped)
    try:
        result = installed.occ("-n", "passwords:backup:restore", "case")
    finally:
        dropped.unlink()
    after = instance_state(installed)
    if case.restore_ok:
        if result.returncode != 0 or result.stderr:
            problems.append(f"{case.name}: restore refused a file it must accept: {result.stderr.strip()[:300]!r}")
        else:
            expected = json.loads(gzip.decompress(case.data) if case.gz else case.data)
            count = len(expected.get("passwords", []))
            db = reader(installed).db
            restored = db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('passwords_password')}")
            if restored != count:
                problems.append(f"{case.name}: restore left {restored} passwords, the file has {count}")
    else:
        problems += check_refused("restore", case, result)
        if checksum(after[0]) != checksum(before[0]):
            problems.append(f"{case.name}: a refused restore changed the database: {diff(before[0], after[0])}")
        if after[1] != before[1]:
            problems.append(f"{case.name}: a refused restore changed config.php")
    if after[2] != before[2]:
        changed = sorted(set(after[2].items()) ^ set(before[2].items()))[:4]
        problems.append(f"{case.name}: restore changed the backup folders: {changed}")
    if (installed.config_dir / ".ncpasswords-config-journal.json").exists():
        problems.append(f"{case.name}: restore left a config journal behind")
    return problems


def restore_example(installed: InstalledInstance) -> None:
    instance = installed.instance
    with instance.connect() as db:
        restore_backup(instance, db, EXAMPLE, RestoreOptions())
    service.storage_for(instance).list_backups()  # both folders exist from here on


def test_hostile_and_corrupt_files(installed: InstalledInstance, engine: str, tmp_path: Path) -> None:
    restore_example(installed)
    cases = corpus()
    assert len(cases) >= MIN_CASES
    problems: list[str] = []
    for case in cases:
        problems += run_case(installed, case, tmp_path)
    COUNTERS.add("hostile input: corpus cases (import + restore)", engine, len(cases))
    COUNTERS.add("hostile input: cases accepted as the reference would", engine, sum(c.restore_ok for c in cases))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_gzip_bomb_is_refused(installed: InstalledInstance, engine: str, tmp_path: Path) -> None:
    restore_example(installed)
    case = gzip_bomb()
    assert len(case.data) < 1 << 20  # under a MiB on disk, 300 MiB inflated
    problems = run_case(installed, case, tmp_path)
    COUNTERS.add("hostile input: corpus cases (import + restore)", engine)
    assert not problems, problems


# -- names and paths ----------------------------------------------------------------------------
def test_hostile_names_and_paths(installed: InstalledInstance, engine: str, tmp_path: Path) -> None:
    restore_example(installed)
    assert installed.occ("passwords:backup:create", "safe").returncode == 0
    appdata = installed.instance.appdata_dir
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text(EXAMPLE.read_text())
    os.chdir(tmp_path)
    long_name = "n" * 300
    cases: list[tuple[list[str], str | None]] = [
        (["-n", "passwords:backup:restore", "../../outside/secret"], "Could not find backup"),
        (["-n", "passwords:backup:restore", "../backups/safe"], "Could not find backup"),
        (["-n", "passwords:backup:restore", "/etc/passwd"], "Could not find backup"),
        (["-n", "passwords:backup:restore", "safe\x00.json.gz"], "Could not find backup"),
        (["-n", "passwords:backup:restore", long_name], "Could not find backup"),
        (["-n", "passwords:backup:restore", ""], "Could not find backup"),
        (["passwords:backup:export", "../safe", str(outside)], "Could not find backup"),
        (["passwords:backup:export", "safe\x00", str(outside)], "Could not find backup"),
        (["passwords:backup:export", "safe", str(outside / "secret.json" / "x.json.gz")], "Invalid export file path"),
        (["passwords:backup:export", "safe", str(outside / ("x" * 300 + ".json.gz"))], None),
        (["passwords:backup:export", "safe", "/proc/self/x.json.gz"], None),
        (["passwords:backup:delete", "../backups/safe"], "Could not find backup"),
        (["passwords:backup:delete", "../../config/config"], "Could not find backup"),
        (["passwords:backup:delete", "."], "Could not find backup"),
        (["passwords:backup:delete", "safe/"], "Could not find backup"),
        (["passwords:backup:import", str(outside / "missing.json")], "Could not find a readable file"),
        (["passwords:backup:import", str(outside)], "Could not find a readable file"),
        (["passwords:backup:import", str(outside / "secret.txt")], "Could not find a readable file"),
        (["passwords:backup:import", "/dev/null"], "Could not find a readable file"),
        (["passwords:backup:import", str(tmp_path / "a\x00b.json")], "Could not find a readable file"),
        (["passwords:backup:import", "/proc/self/environ"], "Invalid file type"),
    ]
    before = instance_state(installed)
    outside_before = files_state(outside)
    problems = []
    for args, message in cases:
        result = installed.occ(*args)
        if result.returncode == 0 or not one_line_error(result.stderr) or "Unexpected error" in result.stderr:
            problems.append(f"{args!r}: {result.returncode} {result.stderr[:200]!r}")
        elif message and message not in result.stderr:
            problems.append(f"{args!r}: {result.stderr.strip()!r}, expected {message!r}")
    assert instance_state(installed) == before
    assert files_state(outside) == outside_before

    # Names that are cleaned or cut, never followed: create keeps [A-Za-z0-9_.-] and 20 bytes.
    for name, label in (
        ("../../etc/passwd", "....etcpasswd"),
        ("a/b\\c", "abc"),
        ("x" * 300, "x" * 20),
        ("\x00evil", "evil"),
        ("..", ".."),
    ):
        result = installed.occ("passwords:backup:create", name)
        if result.returncode != 0 or not result.stdout.startswith(f"Created new backup: {label},"):
            problems.append(f"create {name[:30]!r}: {result.returncode} {result.stdout[:80]!r} {result.stderr[:120]!r}")
    created = sorted(p.name for p in (appdata / "backups").iterdir())
    assert all("/" not in n and n.startswith(("....", "abc", "x", "evil", "..", "safe")) for n in created), created
    assert files_state(outside) == outside_before
    COUNTERS.add("hostile input: names and paths", engine, len(cases) + 5)
    assert not problems, "\n".join(problems)


def test_symlinked_backup_folders_and_files(installed: InstalledInstance, engine: str, tmp_path: Path) -> None:
    restore_example(installed)
    assert installed.occ("passwords:backup:create", "real").returncode == 0
    appdata = installed.instance.appdata_dir
    backups = appdata / "backups"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "planted.json").write_text(EXAMPLE.read_text())
    problems = []

    # A backup file that is a symlink (to a backup outside, to config.php) is not listed or read.
    (backups / "planted.json").symlink_to(outside / "planted.json")
    (backups / "config.json").symlink_to(installed.config_dir / "config.php")
    listing = installed.occ("passwords:backup:list")
    if "planted" in listing.stdout or "config" in listing.stdout:
        problems.append(f"symlinked files are listed: {listing.stdout!r}")
    for label in ("planted", "config"):
        result = installed.occ("-n", "passwords:backup:restore", label)
        if result.returncode == 0 or "Could not find backup" not in result.stderr:
            problems.append(f"restore of symlinked {label}: {result.returncode} {result.stderr!r}")
    (backups / "planted.json").unlink()
    (backups / "config.json").unlink()

    # The backups folder replaced by a symlink that leads outside the app data: refused.
    moved = appdata / "backups-moved"
    backups.rename(moved)
    backups.symlink_to(outside)
    before = instance_state(installed)
    for args in (
        ["passwords:backup:list"],
        ["passwords:backup:create", "x"],
        ["-n", "passwords:backup:restore", "planted"],
        ["passwords:backup:import", str(EXAMPLE)],
        ["passwords:backup:delete", "planted"],
    ):
        result = installed.occ(*args)
        if result.returncode == 0 or not one_line_error(result.stderr) or "outside" not in result.stderr:
            problems.append(f"{args!r} through a symlink leading outside: {result.returncode} {result.stderr!r}")
    if sorted(p.name for p in outside.iterdir()) != ["planted.json"]:
        problems.append(f"files appeared outside: {sorted(p.name for p in outside.iterdir())}")
    assert instance_state(installed) == before
    backups.unlink()

    # A symlink that stays inside the app data folder is followed.
    backups.symlink_to(moved.name)
    result = installed.occ("passwords:backup:list")
    if "real" not in result.stdout:
        problems.append(f"a symlink inside the app data is not followed: {result.stdout!r}")
    COUNTERS.add("hostile input: names and paths", engine, 9)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("engine", ["sqlite"])
def test_corpus_is_big_enough(engine: str) -> None:
    cases = corpus()
    assert len(cases) + 1 >= MIN_CASES
    assert sum(not c.restore_ok for c in cases) > 150 and sum(c.restore_ok for c in cases) > 20
