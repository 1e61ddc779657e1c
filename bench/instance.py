"""Whole-instance `occ db:convert-type`: a Nextcloud-shaped database converted between engines.

`python -m bench.instance` builds on MariaDB the schema a real Nextcloud 34 creates
(tests/fixtures/nextcloud-34), with every app installed, the sample backup of `--size` restored
and `--filecache` rows in `oc_filecache` and `--activity` rows in `oc_activity` (none of it
timed), then times our conversion MariaDB -> PostgreSQL against `pgloader` of every table with
the prefix, and ours PostgreSQL -> MariaDB and SQLite -> MariaDB (the PostgreSQL and SQLite
sources are the conversions of the MariaDB one), with the peak RSS of each.

Writes its own section into docs/benchmarks.md (after INSTANCE_MARKER, before the section of
`python -m bench.pwned`), which `python -m bench` keeps.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .harness import DOCS, MY, PG, PREFIX, RESULTS, ROOT, Measure, load_average, recreate_database, run, sample_file
from .pwned import PWNED_MARKER

INSTANCE_MARKER = "<!-- bench.instance: kept by python -m bench -->"
SCHEMA = ROOT / "tests" / "fixtures" / "nextcloud-34" / "schema-mysql.sql"
SOURCE = "ncp_bench_inst_mysql"
TARGETS = {
    "mysql→pgsql": "ncp_bench_inst_pgsql",
    "pgsql→mysql": "ncp_bench_inst_back",
    "sqlite→mysql": "ncp_bench_inst_lite",
}
PGLOADER_DB = "ncp_bench_inst_pgloader"
PGLOADER_TARGET = 0.3
RSS_LIMIT_MB = 200


def schema_statements() -> list[str]:
    """The MariaDB dump's statements without the client's sandbox line."""
    from ncpasswords.db.dialects import split_statements

    text = SCHEMA.read_text(encoding="utf-8")
    return split_statements("\n".join(line for line in text.splitlines() if not line.startswith("/*M!")))


def build_source(home: Path, size: str, seed: int, filecache: int, activity: int, log: Any) -> Path:
    """The MariaDB instance (config folder returned), filled; nothing of it is timed."""
    from ncpasswords.backup.restore import RestoreOptions, restore_backup
    from ncpasswords.db import declared
    from ncpasswords.instance.install import InstallOptions, build_config
    from ncpasswords.instance.instance import Instance

    recreate_database("mysql", SOURCE)
    shutil.rmtree(home, ignore_errors=True)
    (home / "data").mkdir(parents=True)
    (home / "data" / ".ocdata").touch()
    config_file = home / "config" / "config.php"
    config_file.parent.mkdir(parents=True)
    options = InstallOptions(
        database="mysql",
        database_name=SOURCE,
        database_host=f"{MY['host']}:{MY['port']}",
        database_user=MY["user"],
        database_pass=MY["password"],
        data_dir=str(home / "data"),
    )
    config = build_config(options, config_file)
    config["version"] = "34.0.1.2"
    instance = Instance(config_file, config)
    instance.update_config(config)
    instance = Instance.load(config_file)
    started = time.monotonic()
    with instance.connect() as db:
        for statement in schema_statements():
            db.execute_sql(statement).close()
        apps = sorted({"core", "passwords", *declared.TABLE_APPS.values()})
        with db.transaction():
            db.insert_many(
                "appconfig",
                ["appid", "configkey", "configvalue"],
                [(app, "installed_version", "34.0.0") for app in apps],
            )
            db.insert_many("filecache", _FILECACHE, _filecache_rows(filecache), batch=5000)
            db.insert_many("activity", _ACTIVITY, _activity_rows(activity), batch=5000)
        restore_backup(instance, db, sample_file(size, seed), RestoreOptions())
    seconds = time.monotonic() - started
    log(f"source: {filecache:,} file cache rows, {activity:,} activity rows, sample {size} ({seconds:.0f}s)")
    return config_file.parent


_FILECACHE = [
    "storage", "path", "path_hash", "parent", "name", "mimetype", "mimepart", "size", "mtime",
    "storage_mtime", "encrypted", "unencrypted_size", "etag", "permissions", "checksum",
]  # fmt: skip
_ACTIVITY = [
    "timestamp", "priority", "type", "user", "affecteduser", "app", "subject", "subjectparams",
    "message", "messageparams", "file", "link", "object_type", "object_id",
]  # fmt: skip


def _filecache_rows(count: int) -> Any:
    for i in range(1, count + 1):
        folder = i // 100
        path = f"files/Documents/folder {folder}/file {i}.txt"
        yield (
            1 + i % 50, path, f"{i:032x}", folder, f"file {i}.txt", 5, 3, 1000 + i * 7, 1_700_000_000 + i,
            1_700_000_000 + i, 0, 0, f"{i:013x}", 27, "",
        )  # fmt: skip


def _activity_rows(count: int) -> Any:
    params = '{"file":"\\/Documents\\/folder 7\\/file 77.txt","id":77}'
    for i in range(1, count + 1):
        yield (
            1_700_000_000 + i, 30, "file_created", f"user{i % 40}", f"user{(i + 1) % 40}", "files",
            "created_self", params, "", "[]", f"/Documents/file {i}.txt",
            f"https://cloud.example.com/f/{i}", "files", i,
        )  # fmt: skip


def convert(config_dir: Path, to_engine: str, database: str) -> Measure:
    """Our whole-instance conversion of the instance configured in `config_dir` (a copy of it:
    the command switches config.php), into an empty database or SQLite file."""
    copy = RESULTS / "instances" / f"instance-{to_engine}-{database}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(config_dir, copy)
    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(copy)}
    if to_engine == "sqlite3":
        args = ["db:convert-type", "-n", "sqlite3", "", "", database]
    elif to_engine == "pgsql":
        recreate_database("pgsql", database)
        args = [
            "db:convert-type",
            "-n",
            "--password",
            "",
            "--port",
            PG["port"],
            "pgsql",
            PG["user"],
            PG["host"],
            database,
        ]
    else:
        recreate_database("mysql", database)
        args = [
            "db:convert-type", "-n", "--password", MY["password"], "--port", MY["port"],
            "mysql", MY["user"], MY["host"], database,
        ]  # fmt: skip
    return run([sys.executable, "-m", "ncpasswords", *args], env=env)


def pgloader() -> Measure:
    """pgloader of every table with the prefix into an empty PostgreSQL database."""
    recreate_database("pgsql", PGLOADER_DB)
    password = f":{MY['password']}" if MY["password"] else ""
    load = f"""LOAD DATABASE
  FROM mysql://{MY["user"]}{password}@{MY["host"]}:{MY["port"]}/{SOURCE}
  INTO postgresql://{PG["user"]}@{PG["host"]}:{PG["port"]}/{PGLOADER_DB}
  WITH prefetch rows = 5000, batch rows = 2500
  INCLUDING ONLY TABLE NAMES MATCHING ~/^{PREFIX}/
  ALTER SCHEMA '{SOURCE}' RENAME TO 'public';
"""
    command = RESULTS / "pgloader-instance.load"
    command.write_text(load)
    return run(["pgloader", "--quiet", "--dynamic-space-size", "4096", str(command)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="M", help="the sample backup restored (default M)")
    parser.add_argument("--filecache", type=int, default=1_000_000, help="oc_filecache rows (default 1,000,000)")
    parser.add_argument("--activity", type=int, default=100_000, help="oc_activity rows (default 100,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-docs", action="store_true", help=f"do not write {DOCS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if shutil.which("pgloader") is None:
        parser.error("needs pgloader (apt-get install pgloader)")
    sys.path.insert(0, str(ROOT / "plugin"))
    started = time.monotonic()

    def log(text: str) -> None:
        print(f"[{time.monotonic() - started:6.0f}s] {text}", flush=True)

    load_before = load_average()
    home = RESULTS / "instances" / "instance-mysql"
    config_dir = build_source(home, args.size, args.seed, args.filecache, args.activity, log)
    rows: list[tuple[str, Measure, Measure | None]] = []
    ours = convert(config_dir, "pgsql", TARGETS["mysql→pgsql"])
    log(f"mysql→pgsql: ours {ours.seconds:.1f}s {ours.rss_kb / 1024:.0f} MB")
    native = pgloader()
    log(f"mysql→pgsql: pgloader {native.seconds:.1f}s")
    rows.append(("MariaDB → PostgreSQL", ours, native))
    pg_config = RESULTS / "instances" / f"instance-pgsql-{TARGETS['mysql→pgsql']}"
    back = convert(pg_config, "mysql", TARGETS["pgsql→mysql"])
    log(f"pgsql→mysql: ours {back.seconds:.1f}s {back.rss_kb / 1024:.0f} MB")
    rows.append(("PostgreSQL → MariaDB", back, None))
    to_sqlite = convert(config_dir, "sqlite3", "instance")
    log(f"mysql→sqlite: ours {to_sqlite.seconds:.1f}s {to_sqlite.rss_kb / 1024:.0f} MB")
    rows.append(("MariaDB → SQLite", to_sqlite, None))
    lite_config = RESULTS / "instances" / "instance-sqlite3-instance"
    lite = convert(lite_config, "mysql", TARGETS["sqlite→mysql"])
    log(f"sqlite→mysql: ours {lite.seconds:.1f}s {lite.rss_kb / 1024:.0f} MB")
    rows.append(("SQLite → MariaDB", lite, None))
    args.load = f"{load_before} / {load_average()}"
    section = report(rows, args)
    print(section)
    if not args.no_docs:
        write_section(section)
        print(f"wrote {DOCS.relative_to(ROOT)}")
    return 0


def report(rows: list[tuple[str, Measure, Measure | None]], args: argparse.Namespace) -> str:
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"{INSTANCE_MARKER}\n",
        "## Whole-instance conversion\n",
        "`occ db:convert-type` of a Nextcloud-shaped database: the 143 tables a real Nextcloud 34 creates,",
        f"every app installed, sample `{args.size}` restored, {args.filecache:,} `oc_filecache` and "
        f"{args.activity:,} `oc_activity` rows ({date}, `python -m bench.instance`, one run each).\n",
        "| conversion | ours (s) | pgloader (s) | ours / pgloader | peak RSS (MB) | targets |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, ours, native in rows:
        ratio = ours.seconds / native.seconds if native and native.seconds else None
        rss = ours.rss_kb / 1024
        targets = [f"RSS ≤ {RSS_LIMIT_MB} MB {'met' if rss <= RSS_LIMIT_MB else 'missed'}"]
        if ratio is not None:
            targets.insert(0, f"≤ {PGLOADER_TARGET}× {'met' if ratio <= PGLOADER_TARGET else 'missed'}")
        lines.append(
            f"| {name} | {ours.seconds:.1f} | {native.seconds:.1f} | {ratio:.2f} | {rss:.0f} | {', '.join(targets)} |"
            if native
            else f"| {name} | {ours.seconds:.1f} | | | {rss:.0f} | {', '.join(targets)} |"
        )
    lines += [
        "",
        f"Load average before and after: {args.load}. MariaDB → PostgreSQL takes the fast path for every",
        "table of integers and text (binary tuples rendered by MariaDB, binary COPY, indexes built after",
        "the rows); into MariaDB and SQLite each row passes through Python (the driver's values, the",
        "canonical checksum, multi-row INSERTs encoded here and written by a second thread, or",
        "`executemany`), which is where their time goes. Ours reads every row back and compares",
        "checksums before COMMIT.",
    ]
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    head, marker, rest = text.partition(INSTANCE_MARKER)
    tail = ""
    if marker:
        _, pwned, after = rest.partition(PWNED_MARKER)
        tail = pwned + after
    else:
        head, pwned, after = text.partition(PWNED_MARKER)
        tail = pwned + after
    DOCS.write_text(head.rstrip() + "\n\n" + section + ("\n" + tail if tail else ""))


if __name__ == "__main__":
    sys.exit(main())
