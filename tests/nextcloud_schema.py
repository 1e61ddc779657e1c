"""Nextcloud-shaped scratch databases: the schema a real Nextcloud 34 creates (fixtures/nextcloud-34),
loaded into an empty database on any engine and with any table prefix, plus an instance whose
config.php points at it (as on a real server that runs this tool beside Nextcloud)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import InstalledInstance, ScratchDb
from ncpasswords.db.connection import Database
from ncpasswords.db.dialects import split_statements
from ncpasswords.instance.install import build_config
from ncpasswords.instance.instance import Instance

SCHEMAS = Path(__file__).parent / "fixtures"
DUMP_PREFIX = "oc_"
_TABLE_RE = re.compile(r"^CREATE TABLE (?:public\.)?`?(oc_\w+)", re.M)
_IDENT_RE = re.compile(r"\boc_\w+")


def schema_statements(engine: str, prefix: str = DUMP_PREFIX, version: str = "34") -> list[str]:
    """The statements of Nextcloud's schema dump for an engine, with the tables' prefix replaced.

    Table names and the names derived from them (PostgreSQL's `<table>_pkey` constraints and
    `<table>_<column>_seq` sequences) take the prefix; index names keep theirs, as in Nextcloud.
    Client directives of the dump tools (psql's `\\restrict`, MariaDB's sandbox line), the emptied
    `search_path` of pg_dump and SQLite's internal `sqlite_sequence` table are left out.
    """
    text = (SCHEMAS / f"nextcloud-{version}" / f"schema-{engine}.sql").read_text(encoding="utf-8")
    tables = set(_TABLE_RE.findall(text))

    def rename(match: re.Match[str]) -> str:
        name = match[0]
        derived = name.endswith(("_pkey", "_seq")) and any(name.startswith(t + "_") for t in tables)
        return prefix + name[len(DUMP_PREFIX) :] if name in tables or derived else name

    lines = [
        line
        for line in text.splitlines()
        if not line.startswith(("\\", "/*M!", "SELECT pg_catalog.set_config('search_path'"))
        and not line.startswith("CREATE TABLE sqlite_sequence")
    ]
    return split_statements(_IDENT_RE.sub(rename, "\n".join(lines)))


def load_nextcloud_schema(db: Database, version: str = "34") -> None:
    """Create every table of Nextcloud's schema in an empty database, with the database's prefix."""
    engine = db.dialect
    for statement in schema_statements(engine, db.prefix, version):
        db.execute_sql(statement).close()


def nextcloud_instance(
    scratch: ScratchDb, base: Path, prefix: str = DUMP_PREFIX, version: str = "34"
) -> InstalledInstance:
    """A scratch database holding Nextcloud's schema and a config.php (in `base/config`) for it,
    with the data directory `scratch.data_dir`."""
    with scratch.connect(prefix) as db:
        load_nextcloud_schema(db, version)
    config_file = base / "config" / "config.php"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config = build_config(scratch.install_options(prefix), config_file)
    config["version"] = f"{version}.0.1.2"
    instance = Instance(config_file, config)
    instance.data_dir.mkdir(parents=True, exist_ok=True)
    (instance.data_dir / ".ocdata").touch()
    instance.update_config(config)
    return InstalledInstance(scratch, config_file.parent)
