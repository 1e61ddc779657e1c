"""Shared by the transfer tests: source instances with realistic data plus hard-to-move values."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conftest import InstalledInstance, ScratchDb, scratch_database, sqlite_database
from ncpasswords.backup.document import write_document
from ncpasswords.backup.restore import RestoreOptions, restore_backup
from ncpasswords.db.connection import Database
from ncpasswords.instance.install import install
from ncpasswords.instance.instance import Instance
from ncpasswords.repositories.entities import TABLES, Column
from ncpasswords.repositories.entity_repository import EntityRepository
from ncpasswords.transfer.checksum import table_checksums

DBTYPE = {"sqlite": "sqlite3", "pgsql": "pgsql", "mysql": "mysql"}
EXAMPLE = Path(__file__).parent / "fixtures" / "worked-example-v106.json"

# Everything that breaks naive escaping in one of the three SQL dialects or their clients.
TRICKY = (
    "quote ' double \" backslash \\ \\N \\. \\\\ tab\tnewline\ncarriage\rcrlf\r\n"
    ".bail off\n\\.\n\\q\n-- not a comment; /* nor this */ /*!40101 SET x=1 */ $$ `tick` ;\n"
    "ctrl \x01\x08\x0c\x1a\x1b\x7f emoji 🔐 astral 𝄞 rtl שלום nbsp\u00a0 ls\u2028 é trailing   "
)
LONG = (TRICKY + "x" * 997) * 120  # about 140,000 characters
EDGE_ID = 900_000  # explicit ids far above the sample's: sequences must follow them


def _text(column: Column, variant: int, row_id: int) -> str | None:
    if column.name == "uuid":
        return f"{row_id}-{TRICKY}"[:36]
    if column.name == "user_id":
        return ("x" * 63 + "é", "", "ü'\\\"user", "alice")[variant % 4]
    if column.nullable and variant % 4 == 0:
        return None
    if variant % 4 == 1:
        return ""
    if column.max_length is None:
        return LONG if variant % 4 == 2 else TRICKY
    return (TRICKY * 4)[: column.max_length]


def _number(column: Column, variant: int) -> int | None:
    if column.nullable and variant % 3 == 0:
        return None
    if column.name == "status":  # SMALLINT in the revision table
        return (1, 2, -1)[variant % 3]
    return (0, 2**62 + 1, -1)[variant % 3]


def edge_rows(table: str, count: int = 3) -> list[tuple[Any, ...]]:
    """Rows with explicit ids: NULL booleans, empty and maximum-length strings, long texts, big ints."""
    rows = []
    for variant in range(count):
        row_id = EDGE_ID + variant * 7
        values: list[Any] = []
        for column in TABLES[table].columns:
            if column.name == "id":
                values.append(row_id)
            elif column.type == "bool":
                values.append((None, True, False)[variant % 3])
            elif column.type == "int":
                values.append(_number(column, variant))
            else:
                values.append(_text(column, variant, row_id))
        rows.append(tuple(values))
    return rows


def add_edge_rows(db: Database) -> None:
    """Hard values in every app table (sessions and registrations too) and in the app's settings."""
    with db.transaction():
        for name, table in TABLES.items():
            db.insert_many(name, table.column_names, edge_rows(name))
        db.insert_many(
            "appconfig",
            ["appid", "configkey", "configvalue"],
            [
                ("passwords", "edge/tricky", TRICKY),
                ("passwords", "edge/empty", ""),
                ("core", "not-ours", "must stay behind"),
            ],
        )
        db.insert_many(
            "preferences",
            ["userid", "appid", "configkey", "configvalue"],
            [("x" * 63 + "é", "passwords", "edge/long", LONG), ("alice", "core", "not-ours", "x")],
        )


@contextlib.contextmanager
def source_instance(engine: str, base: Path, sample: Path, edge: bool = True) -> Iterator[InstalledInstance]:
    """A fresh instance on `engine` holding the sample backup (and the edge rows)."""
    with scratch_database(engine, base / "data") as scratch:
        config_dir = base / "config"
        install(scratch.install_options(), config_dir / "config.php")
        instance = Instance.load(config_dir / "config.php")
        with instance.connect() as db:
            restore_backup(instance, db, sample, RestoreOptions())
            if edge:
                add_edge_rows(db)
        yield InstalledInstance(scratch, config_dir)


@contextlib.contextmanager
def target_database(engine: str, source: InstalledInstance, base: Path) -> Iterator[ScratchDb]:
    """An empty conversion target; for SQLite a file name in the source's data directory (where
    convert puts it)."""
    if engine == "sqlite":
        yield sqlite_database("moved", source.scratch.data_dir)
        return
    with scratch_database(engine, base) as scratch:
        yield scratch


def document_of(instance: Instance) -> dict[str, Any]:
    """The backup document the instance would write now, parsed."""
    out = io.BytesIO()
    with instance.connect() as db, db.transaction(snapshot=True):
        write_document(db, instance.server_secret, out)
    parsed: dict[str, Any] = json.loads(out.getvalue())
    return parsed


def checksums(db: Database) -> dict[str, dict[str, Any]]:
    """Rows and checksum of every table the transfer moves (closes the connection)."""
    with db:
        return {name: c.as_dict() for name, c in table_checksums(db).items()}


def sequences_follow(db: Database) -> None:
    """New rows (ids from the engine) land above every copied id in every app table."""
    with db.transaction():
        for name in TABLES:
            repo = EntityRepository(db, name)
            top = repo.max_id()
            entity = repo.entity(edge_rows(name, 4)[3])
            entity["uuid"] = "new-row-after-move"
            assert repo.insert_many([entity]) == 1
            assert repo.max_id() > top >= EDGE_ID, name


def target_config(source: InstalledInstance, scratch: ScratchDb, config_dir: Path) -> InstalledInstance:
    """A copy of the source's config.php pointing at `scratch` (what an admin edits after a load)."""
    from ncpasswords.transfer.convert import Target

    settings = scratch.settings()
    dbtype = DBTYPE[scratch.engine]
    if scratch.engine == "sqlite":
        target = Target.parse(dbtype, "", "", settings.dbname)
    else:
        target = Target.parse(dbtype, settings.user, settings.host, settings.dbname, settings.port, settings.password)
    config = target.apply(source.instance.config)
    config["datadirectory"] = str(scratch.data_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    Instance(config_dir / "config.php", {}).update_config(config)
    return InstalledInstance(scratch, config_dir)


def native_load(scratch: ScratchDb, script: Path) -> subprocess.CompletedProcess[str]:
    """Load a SQL script with the engine's own command-line client, as a user would."""
    settings = scratch.settings()
    if scratch.engine == "pgsql":
        command = [
            "psql",
            "-h",
            settings.host,
            "-p",
            str(settings.port),
            "-U",
            settings.user,
            "-d",
            settings.dbname,
            "-f",
            str(script),
        ]
        return subprocess.run(command, capture_output=True, text=True, check=False)
    if scratch.engine == "mysql":
        command = [
            "mariadb",
            "-h",
            settings.host,
            "-P",
            str(settings.port),
            "-u",
            settings.user,
            f"--password={settings.password}",
            settings.dbname,
        ]
    else:
        assert settings.sqlite_path is not None
        command = ["sqlite3", str(settings.sqlite_path)]
    with script.open("rb") as stdin:
        return subprocess.run(command, stdin=stdin, capture_output=True, text=True, check=False)


def write_sample(path: Path, passwords: int = 1000) -> Path:
    """A realistic sample backup: several users, shares, tags, a few thousand rows in all."""
    from ncpasswords.backup.sample import SampleSize, generate

    with path.open("wb") as out:
        generate(out, SampleSize(passwords=passwords, revisions=2, users=4))
    return path


def kill_connections(engine: str, dbname: str) -> int:
    """End every connection to the database from another session (a crashed or killed server side)."""
    from conftest import _admin

    admin = _admin(engine)
    try:
        with admin.cursor() as cur:
            if engine == "pgsql":
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (dbname,),
                )
                return len(cur.fetchall())
            cur.execute(
                "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()", (dbname,)
            )
            ids = [row[0] for row in cur.fetchall()]
            for connection_id in ids:
                cur.execute(f"KILL {int(connection_id)}")
            return len(ids)
    finally:
        admin.close()


def convert_args(scratch: ScratchDb) -> list[str]:
    """`occ db:convert-type` arguments for a target database (SQLite: a file in the data dir)."""
    settings = scratch.settings()
    if scratch.engine == "sqlite":
        return ["db:convert-type", "--only-app", "sqlite3", "", "", settings.dbname]
    return [
        "db:convert-type",
        "--only-app",
        f"--port={settings.port}",
        f"--password={settings.password}",
        DBTYPE[scratch.engine],
        settings.user,
        settings.host,
        settings.dbname,
    ]
