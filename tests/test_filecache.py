"""Backups a real Nextcloud sees: on a database with Nextcloud's file cache, every file the tool
writes into or removes from app data is registered in the same step, with the rows Nextcloud's own
scanner would write; `files:scan-app-data` scans into the cache; a standalone instance is left alone."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance, ScratchDb
from ncpasswords.db.connection import Database
from ncpasswords.files.cache import FileCache
from ncpasswords.jobs.registry import job
from ncpasswords.jobs.worker import WorkerOutput, run_pass
from ncpasswords.repositories.config_values import AppConfig
from nextcloud_schema import nextcloud_instance

EXAMPLE = Path(__file__).parent / "fixtures" / "worked-example-v106.json"
COLUMNS = (
    "fileid",
    "storage",
    "path",
    "path_hash",
    "parent",
    "name",
    "mimetype",
    "mimepart",
    "size",
    "mtime",
    "storage_mtime",
    "encrypted",
    "unencrypted_size",
    "etag",
    "permissions",
    "checksum",
)

BACKUP = [job("OCA\\Passwords\\Cron\\BackupJob")]


def cache_rows(db: Database) -> dict[str, dict[str, Any]]:
    """Every file cache row by path, with the MIME types as names and the parent as a path."""
    mimetypes = {int(i): str(m) for i, m in db.execute_sql(f"SELECT id, mimetype FROM {db.table('mimetypes')}")}
    cur = db.execute_sql(f"SELECT {', '.join(COLUMNS)} FROM {db.table('filecache')}")
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in cur.fetchall()]
    cur.close()
    paths = {int(r["fileid"]): str(r["path"]) for r in rows}
    result = {}
    for row in rows:
        row["mimetype"] = mimetypes[int(row["mimetype"])]
        row["mimepart"] = mimetypes[int(row["mimepart"])]
        row["parent"] = paths.get(int(row["parent"]), int(row["parent"]))
        result[str(row["path"])] = row
    return result


def without_ids(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rows without what differs between two scans of the same files: file ids, folder etags
    (random) and the modification time of the data directory itself (SQLite's journal files live
    there; Nextcloud never rescans the storage's root once it is known)."""
    out = {}
    for path, row in rows.items():
        row = {k: v for k, v in row.items() if k != "fileid"}
        if row["mimetype"] == "httpd/unix-directory":
            row.pop("etag")
        if path == "":
            row.pop("mtime")
            row.pop("storage_mtime")
        out[path] = row
    return out


def disk(path: Path) -> os.stat_result:
    return os.stat(path)


def appdata(nc: InstalledInstance) -> str:
    return f"appdata_{nc.instance.instance_id}"


def test_create_writes_the_rows_a_scan_would_write(nextcloud: InstalledInstance) -> None:
    result = nextcloud.occ("passwords:backup:create", "x")
    assert result.returncode == 0, result.stderr
    root = appdata(nextcloud)
    data_dir = nextcloud.instance.data_dir
    file = nextcloud.instance.appdata_dir / "backups" / "x.json.gz"
    with nextcloud.connect() as db:
        storages = db.execute_sql(f"SELECT numeric_id, id, available FROM {db.table('storages')}").fetchall()
        rows = cache_rows(db)
    storage_id = f"local::{data_dir}/"  # Nextcloud keeps the MD5 of an id longer than 64 characters
    if len(storage_id) > 64:
        storage_id = hashlib.md5(storage_id.encode()).hexdigest()
    assert [(s[1], s[2]) for s in storages] == [(storage_id, 1)]
    info = disk(file)
    mtime = info.st_mtime_ns // 1_000_000_000
    path = f"{root}/passwords/backups/x.json.gz"
    assert rows[path] == {
        "fileid": rows[path]["fileid"],
        "storage": storages[0][0],
        "path": path,
        "path_hash": hashlib.md5(path.encode()).hexdigest(),
        "parent": f"{root}/passwords/backups",
        "name": "x.json.gz",
        "mimetype": "application/gzip",
        "mimepart": "application",
        "size": info.st_size,
        "mtime": mtime,
        "storage_mtime": mtime,
        "encrypted": 0,
        "unencrypted_size": 0,
        "etag": hashlib.md5(f"{mtime}{info.st_ino}{info.st_dev}{info.st_size}".encode()).hexdigest(),
        "permissions": 27,
        "checksum": "",
    }
    for folder, parent in (
        ("", -1),
        (root, ""),
        (f"{root}/passwords", root),
        (f"{root}/passwords/backups", f"{root}/passwords"),
        (f"{root}/passwords/autoBackups", f"{root}/passwords"),
    ):
        row = rows[folder]
        folder_mtime = disk(data_dir / folder).st_mtime_ns // 1_000_000_000
        assert (row["parent"], row["mimetype"], row["mimepart"]) == (parent, "httpd/unix-directory", "httpd")
        if folder == "":  # SQLite's journal comes and goes in the data folder itself after the scan
            assert row["mtime"] == row["storage_mtime"] <= folder_mtime
        else:
            assert (row["mtime"], row["storage_mtime"]) == (folder_mtime, folder_mtime)
        assert row["permissions"] == (23 if folder == "" else 31)
        assert row["size"] == (0 if folder.endswith("autoBackups") else info.st_size)
        assert (
            len(row["etag"]) == 13
            and row["checksum"] == ""
            and row["path_hash"] == hashlib.md5(folder.encode()).hexdigest()
        )
    assert len(rows) == 6

    # Nextcloud's scan afterwards finds nothing to change ...
    scan = nextcloud.occ("files:scan-app-data")
    assert scan.returncode == 0, scan.stderr
    assert "| 4       | 1     |" in scan.stdout
    with nextcloud.connect() as db:
        assert cache_rows(db) == rows
        # ... and a scan into an empty cache writes the same rows.
        db.execute_sql(f"DELETE FROM {db.table('filecache')}").close()
    assert nextcloud.occ("files:scan-app-data").returncode == 0
    with nextcloud.connect() as db:
        assert without_ids(cache_rows(db)) == without_ids(rows)


def test_delete_import_and_replace_keep_the_cache_in_step(nextcloud: InstalledInstance) -> None:
    backups = f"{appdata(nextcloud)}/passwords/backups"
    assert nextcloud.occ("passwords:backup:create", "x").returncode == 0
    with nextcloud.connect() as db:
        first = cache_rows(db)[f"{backups}/x.json.gz"]
    assert nextcloud.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    assert nextcloud.occ("passwords:backup:create", "x").returncode == 0  # replaces x.json.gz
    with nextcloud.connect() as db:
        rows = cache_rows(db)
    replaced = rows[f"{backups}/x.json.gz"]
    assert replaced["fileid"] == first["fileid"]  # the row of the replaced file is kept, as in a scan
    imported = nextcloud.instance.appdata_dir / "backups" / "worked-example-v106.json.gz"
    assert rows[f"{backups}/worked-example-v106.json.gz"]["size"] == imported.stat().st_size
    assert rows[backups]["size"] == replaced["size"] + imported.stat().st_size

    result = nextcloud.occ("passwords:backup:delete", "x")
    assert result.returncode == 0, result.stderr
    with nextcloud.connect() as db:
        rows = cache_rows(db)
    assert f"{backups}/x.json.gz" not in rows
    assert rows[backups]["size"] == imported.stat().st_size
    folder_mtime = disk(nextcloud.instance.appdata_dir / "backups").st_mtime_ns // 1_000_000_000
    assert rows[backups]["storage_mtime"] == folder_mtime
    assert sorted(p.name for p in (nextcloud.instance.appdata_dir / "backups").iterdir()) == [imported.name]
    assert nextcloud.occ("files:scan-app-data").returncode == 0
    with nextcloud.connect() as db:
        assert cache_rows(db) == rows


def test_scheduled_job_and_rotation_keep_the_cache_in_step(nextcloud: InstalledInstance) -> None:
    instance = nextcloud.instance
    auto = f"{appdata(nextcloud)}/passwords/autoBackups"
    with instance.connect() as db:
        AppConfig(db).set("backup/files/maximum", "2")
        AppConfig(db).set("backup/interval", "3600")
        out = WorkerOutput(lambda line: None, lambda line: None)
        for hour in range(3):
            assert run_pass(instance, db, BACKUP, out, now=1_700_000_000 + hour * 3600).ran == 1
        rows = cache_rows(db)
    names = sorted(p.name for p in (instance.appdata_dir / "autoBackups").iterdir())
    assert names == ["2023-11-14_23-13-20.json.gz", "2023-11-15_00-13-20.json.gz"]
    assert sorted(p.rsplit("/", 1)[1] for p in rows if p.startswith(auto + "/")) == names
    assert rows[auto]["size"] == sum((instance.appdata_dir / "autoBackups" / n).stat().st_size for n in names)
    assert nextcloud.occ("files:scan-app-data").returncode == 0
    with nextcloud.connect() as db:
        assert cache_rows(db) == rows


def test_a_failed_registration_leaves_neither_file_nor_row(
    nextcloud: InstalledInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert nextcloud.occ("passwords:backup:create", "keep").returncode == 0
    with nextcloud.connect() as db:
        before = cache_rows(db)
    backups = nextcloud.instance.appdata_dir / "backups"
    original = FileCache.insert

    def failing_insert(self: FileCache, path: str, parent: int, meta: Any) -> int:
        if path.endswith(".json.gz"):
            raise RuntimeError("the database refused the row")
        return original(self, path, parent, meta)

    monkeypatch.setattr(FileCache, "insert", failing_insert)
    result = nextcloud.occ("passwords:backup:create", "x")
    assert result.returncode == 1 and "the database refused the row" in result.stderr
    assert sorted(p.name for p in backups.iterdir()) == ["keep.json.gz"]

    monkeypatch.setattr(FileCache, "remove", lambda self, entry: (_ for _ in ()).throw(RuntimeError("no delete")))
    result = nextcloud.occ("passwords:backup:delete", "keep")
    assert result.returncode == 1 and "no delete" in result.stderr
    assert sorted(p.name for p in backups.iterdir()) == ["keep.json.gz"]
    with nextcloud.connect() as db:
        after = cache_rows(db)
    assert set(after) == set(before)
    assert (
        after[f"{appdata(nextcloud)}/passwords/backups/keep.json.gz"]
        == before[f"{appdata(nextcloud)}/passwords/backups/keep.json.gz"]
    )


def test_scan_app_data_adds_updates_and_removes_rows(nextcloud: InstalledInstance) -> None:
    backups = nextcloud.instance.appdata_dir / "backups"
    prefix = f"{appdata(nextcloud)}/passwords/backups"
    assert nextcloud.occ("passwords:backup:create", "x").returncode == 0
    shutil.copy(EXAMPLE, backups / "copied.json")  # by hand: only a scan makes it known
    (backups / "half.json.gz.part").write_bytes(b"partial upload")  # never scanned
    with nextcloud.connect() as db:
        assert f"{prefix}/copied.json" not in cache_rows(db)
    result = nextcloud.occ("files:scan-app-data", "passwords", "-v")
    assert result.returncode == 0, result.stderr
    assert f"\tFile   /{prefix}/copied.json\n" in result.stdout
    assert f"\tFolder /{prefix}\n" in result.stdout and "half.json.gz.part" not in result.stdout
    assert result.stdout.endswith(
        "+---------+-------+--------------+\n| Folders | Files | Elapsed time |\n"
        "+---------+-------+--------------+\n| 3       | 2     | 00:00:00     |\n"
        "+---------+-------+--------------+\n"
    )
    with nextcloud.connect() as db:
        rows = cache_rows(db)
    row = rows[f"{prefix}/copied.json"]
    assert (row["mimetype"], row["size"]) == ("application/json", EXAMPLE.stat().st_size)
    assert f"{prefix}/half.json.gz.part" not in rows

    (backups / "copied.json").write_bytes(b"{}")
    os.utime(backups / "copied.json", (1_700_000_000, 1_700_000_000))
    assert nextcloud.occ("files:scan-app-data", "passwords/backups").returncode == 0
    with nextcloud.connect() as db:
        rows = cache_rows(db)
    assert (rows[f"{prefix}/copied.json"]["size"], rows[f"{prefix}/copied.json"]["mtime"]) == (2, 1_700_000_000)
    assert rows[prefix]["size"] == rows[f"{prefix}/x.json.gz"]["size"] + 2

    (backups / "copied.json").unlink()
    assert nextcloud.occ("files:scan-app-data").returncode == 0
    with nextcloud.connect() as db:
        rows = cache_rows(db)
    assert f"{prefix}/copied.json" not in rows and rows[prefix]["size"] == rows[f"{prefix}/x.json.gz"]["size"]

    missing = nextcloud.occ("files:scan-app-data", "nope")
    assert (missing.returncode, missing.stderr) == (1, "Could not find folder: nope\n")


def test_pwned_list_import_registers_the_cache_folder(nextcloud: InstalledInstance, tmp_path: Path) -> None:
    from test_pwned_list import generate

    generate(tmp_path / "list.txt", 40)
    for _ in range(2):  # the second import replaces the registered folder
        result = nextcloud.occ("passwords:pwned-list:process", str(tmp_path / "list.txt"))
        assert result.returncode == 0, result.stderr
    cache = nextcloud.instance.appdata_dir / "passwordsCache"
    folder = f"{appdata(nextcloud)}/passwords/passwordsCache"
    with nextcloud.connect() as db:
        rows = cache_rows(db)
    assert sorted(p.rsplit("/", 1)[1] for p in rows if p.startswith(folder + "/")) == sorted(
        p.name for p in cache.iterdir()
    )
    assert rows[f"{folder}/CACHEDIR.TAG"]["mimetype"] == "application/octet-stream"
    assert rows[folder]["size"] == sum(p.stat().st_size for p in cache.iterdir())
    assert nextcloud.occ("files:scan-app-data").returncode == 0
    with nextcloud.connect() as db:
        assert cache_rows(db) == rows


@pytest.mark.parametrize("engine", ["sqlite"])
def test_other_table_prefix(scratch: ScratchDb, tmp_path: Path) -> None:
    nc = nextcloud_instance(scratch, tmp_path, prefix="nc_")
    assert nc.occ("passwords:backup:create", "x").returncode == 0
    with nc.connect() as db:
        assert f"{appdata(nc)}/passwords/backups/x.json.gz" in cache_rows(db)
        assert db.table("filecache") == "nc_filecache"


def test_standalone_instance_has_no_file_cache(installed: InstalledInstance) -> None:
    assert installed.occ("passwords:backup:create", "x").returncode == 0
    assert installed.occ("passwords:backup:delete", "x").returncode == 0
    result = installed.occ("files:scan-app-data")
    assert result.returncode == 0 and "| 4       | 0     |" in result.stdout
    with installed.connect() as db:
        assert not any(db.table_exists(name) for name in ("filecache", "storages", "mimetypes"))


LOCK_WAITS = {
    "pgsql": "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    "mysql": "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND state = 'Update'"
    " AND info LIKE 'INSERT INTO %filecache%'",
}


def rival_row(nc: InstalledInstance, name: str) -> dict[str, Any]:
    """A file cache row for backup NAME as another writer would add it (stale size and etag),
    beside the row of the existing backup `one` (on the servers: `%s` parameters)."""
    backups = f"{appdata(nc)}/passwords/backups"
    path = f"{backups}/{name}.json.gz"
    with nc.connect() as db:
        storage, parent, mimetype, mimepart = db.execute_sql(
            f"SELECT storage, parent, mimetype, mimepart FROM {db.table('filecache')} WHERE path = %s",
            (f"{backups}/one.json.gz",),
        ).fetchone()
    return {
        "storage": storage,
        "path": path,
        "path_hash": hashlib.md5(path.encode()).hexdigest(),
        "parent": parent,
        "name": f"{name}.json.gz",
        "mimetype": mimetype,
        "mimepart": mimepart,
        "size": 1,
        "mtime": 1,
        "storage_mtime": 1,
        "etag": "stale",
        "permissions": 27,
        "checksum": "",
    }


def create_while_a_row_is_pending(
    nc: InstalledInstance, engine: str, name: str, env: dict[str, str] | None = None, hold: bool = False
) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run `passwords:backup:create NAME` while another connection has added (not yet committed)
    the file cache row of its file; commit that row once the create waits for it (`hold`: once
    the create has ended). Returns the rival row's file id and the finished create."""
    row = rival_row(nc, name)
    with contextlib.closing(nc.connect()) as rival, contextlib.closing(nc.connect()) as watcher, rival.transaction():
        rival.execute("filecache.insert_entry", row).close()
        rival_id = int(rival.scalar_sql(f"SELECT MAX(fileid) FROM {rival.table('filecache')}"))
        argv = [sys.executable, "-m", "ncpasswords", "passwords:backup:create", name]
        create = subprocess.Popen(
            argv,
            env={**os.environ, "NEXTCLOUD_CONFIG_DIR": str(nc.config_dir), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 60
        while create.poll() is None and (hold or not watcher.scalar_sql(LOCK_WAITS[engine])):
            assert time.monotonic() < deadline, "the create never reached the file cache"
            time.sleep(0.05)
    out, err = create.communicate(timeout=120)
    return rival_id, subprocess.CompletedProcess(argv, int(create.returncode), out, err)


@pytest.mark.parametrize("engine", ["pgsql", "mysql"])
def test_a_row_added_by_a_concurrent_scan_is_taken_over(nextcloud: InstalledInstance, engine: str) -> None:
    """Nextcloud's scanner (or a second occ) adds the row of a new backup while the create is about
    to register it: the create waits for that writer, then keeps its row (and file id) with the
    values of the file it wrote, instead of failing on the unique path hash."""
    assert nextcloud.occ("passwords:backup:create", "one").returncode == 0
    rival_id, create = create_while_a_row_is_pending(nextcloud, engine, "two")
    assert create.returncode == 0, create.stderr
    backups = f"{appdata(nextcloud)}/passwords/backups"
    info = disk(nextcloud.instance.appdata_dir / "backups" / "two.json.gz")
    with nextcloud.connect() as db:
        rows = cache_rows(db)
    row = rows[f"{backups}/two.json.gz"]
    assert (row["fileid"], row["size"]) == (rival_id, info.st_size)
    assert row["mtime"] == info.st_mtime_ns // 1_000_000_000 and row["etag"] != "stale"
    assert rows[backups]["size"] == rows[f"{backups}/one.json.gz"]["size"] + info.st_size
    assert nextcloud.occ("files:scan-app-data").returncode == 0  # and a scan finds nothing to change
    with nextcloud.connect() as db:
        assert cache_rows(db) == rows


@pytest.mark.parametrize("engine", ["pgsql"])
def test_a_create_that_waits_too_long_for_a_lock_says_so(nextcloud: InstalledInstance, engine: str) -> None:
    """A lock the database does not grant in time (here PostgreSQL's lock_timeout, set by the admin
    through libpq's PGOPTIONS) ends the create with one line and leaves no file behind."""
    assert nextcloud.occ("passwords:backup:create", "one").returncode == 0
    _, create = create_while_a_row_is_pending(nextcloud, engine, "two", {"PGOPTIONS": "-c lock_timeout=200"}, hold=True)
    assert create.returncode == 1
    assert create.stderr.startswith("The database did not grant a lock in time") and create.stderr.count("\n") == 1
    assert "what was not committed has been rolled back" in create.stderr
    assert sorted(p.name for p in (nextcloud.instance.appdata_dir / "backups").iterdir()) == ["one.json.gz"]
