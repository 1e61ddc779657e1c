"""What the database really holds: tables, columns, indexes, sequences — engine-neutral records.

Used to compare schemas (tests, convert) and to fingerprint a schema so a no-op can be proven.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

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


def _normalise_default(value: Any) -> str | None:
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
    pattern = {"pattern": _like(prefix)}
    tables: dict[str, TableInfo] = {}

    def table(physical: str) -> TableInfo:
        short = physical[len(prefix) :]
        return tables.setdefault(short, TableInfo(short))

    if db.dialect == "pgsql":
        for tname, cname, _, dtype, length, nullable, default in db.rows("introspect.columns", pattern):
            auto = isinstance(default, str) and default.startswith("nextval(")
            kind = f"{dtype}({length})" if length else str(dtype)
            table(tname).columns.append(
                ColumnInfo(cname, kind, nullable == "YES", None if auto else _normalise_default(default), auto)
            )
        for tname, iname, unique, primary, cols in db.rows("introspect.indexes", pattern):
            name = "PRIMARY" if primary else str(iname)
            table(tname).indexes.append(IndexInfo(name, tuple(cols.split(",")), bool(unique), bool(primary)))
        for (seq,) in db.rows("introspect.sequences", pattern):
            table(str(seq).removesuffix("_id_seq")).options["sequence"] = str(seq)
    elif db.dialect == "mysql":
        for tname, cname, _, ctype, _len, nullable, default, extra in db.rows("introspect.columns", pattern):
            auto = "auto_increment" in str(extra).lower()
            table(tname).columns.append(
                ColumnInfo(cname, str(ctype).lower(), nullable == "YES", _normalise_default(default), auto)
            )
        for tname, iname, non_unique, cols in db.rows("introspect.indexes", pattern):
            primary = iname == "PRIMARY"
            table(tname).indexes.append(IndexInfo(str(iname), tuple(cols.split(",")), not int(non_unique), primary))
        for tname, engine, collation in db.rows("introspect.tables", pattern):
            table(tname).options.update(engine=str(engine), collation=str(collation))
    else:
        for tname, sql in db.rows("introspect.tables", pattern):
            info = table(tname)
            auto = "AUTOINCREMENT" in str(sql).upper()
            for _, cname, ctype, notnull, default, pk in db.rows("introspect.columns", {"table": tname}):
                info.columns.append(
                    ColumnInfo(cname, str(ctype).upper(), not notnull, _normalise_default(default), bool(pk) and auto)
                )
            pk_cols = tuple(r[1] for r in db.rows("introspect.columns", {"table": tname}) if r[5])
            if pk_cols:
                info.indexes.append(IndexInfo("PRIMARY", pk_cols, True, True))
            for iname, unique, origin in db.rows("introspect.index_list", {"table": tname}):
                if origin == "pk":
                    continue
                cols = tuple(str(r[0]) for r in db.rows("introspect.index_columns", {"index": iname}))
                info.indexes.append(IndexInfo(str(iname), cols, bool(unique)))
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
