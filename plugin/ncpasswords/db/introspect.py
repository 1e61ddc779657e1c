"""What the database really holds: tables, columns, indexes, sequences — engine-neutral records.

Used to compare schemas (tests, convert) and to fingerprint a schema so a no-op can be proven.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import Database


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool
    default: str | None
    autoincrement: bool = False


@dataclass(frozen=True)
class IndexInfo:
    name: str
    columns: tuple[str, ...]
    unique: bool
    primary: bool = False


@dataclass
class TableInfo:
    name: str
    columns: list[ColumnInfo] = field(default_factory=list)
    indexes: list[IndexInfo] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("_", "\\_") + "%"


def normalise_default(value: Any) -> str | None:
    """A column default as the engines report it, without quotes and PostgreSQL's casts."""
    if value is None:
        return None
    text = str(value)
    if text.upper() == "NULL":
        return None
    text = re.sub(r"::[\w ]+$", "", text)  # PostgreSQL casts: 'GOOD'::character varying
    return text.strip("'") if text.startswith("'") else text


def describe(db: Database, prefix: str | None = None) -> dict[str, TableInfo]:
    """Every table whose name starts with the prefix, keyed by name without the prefix."""
    prefix = db.prefix if prefix is None else prefix
    tables: dict[str, TableInfo] = {}

    def table(physical: str) -> TableInfo:
        short = physical[len(prefix) :]
        return tables.setdefault(short, TableInfo(short))

    db.backend.describe(db, _like(prefix), table)
    for info in tables.values():
        info.indexes.sort(key=lambda i: i.name)
    return tables


def fingerprint(db: Database, prefix: str | None = None) -> str:
    """A SHA-256 over the described schema: equal fingerprints, equal schemas."""
    described = {name: asdict(info) for name, info in sorted(describe(db, prefix).items())}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def tables_exist(db: Database, *names: str) -> bool:
    """Whether every one of the tables (unprefixed names) exists with the database's prefix."""
    return all(db.table_exists(name) for name in names)
