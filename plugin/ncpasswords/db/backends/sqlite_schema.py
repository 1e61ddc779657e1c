"""SQLite's side of the portable schema (db/portable.py): tables read into portable records from
their declared types, and written with the declared types Doctrine's SQLite platform gives them
(docs/internals/portable-schema.md)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..portable import Column, Index, Table

if TYPE_CHECKING:
    from ..connection import Database

_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "INT": "integer",
    "SMALLINT": "smallint",
    "BOOLEAN": "boolean",
    "CLOB": "text",
    "TEXT": "text",
    "BLOB": "blob",
    "DATETIME": "datetime",
    "DATE": "date",
    "TIME": "time",
    "DOUBLE PRECISION": "float",
    "DOUBLE": "float",
    "REAL": "smallfloat",
}
_SIZED = re.compile(r"^(VARCHAR|CHAR|NUMERIC)\((\d+)(?:,\s*(\d+))?\)$")
_JSON_COMMENT = "--(DC2Type:json)"
_CONSTRAINT = re.compile(r'CONSTRAINT\s+"?(\w+)"?\s+UNIQUE\s*\(([^)]*)\)', re.I)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def read(db: Database, pattern: str, prefix: str) -> dict[str, Table]:
    """The tables whose names match the LIKE `pattern`, keyed by unprefixed name."""
    tables: dict[str, Table] = {}
    for physical, sql in db.rows("portable.tables", {"pattern": pattern}):
        name = str(physical)[len(prefix) :]
        tables[name] = _table(db, name, str(physical), str(sql))
    return tables


def _table(db: Database, name: str, physical: str, sql: str) -> Table:
    autoincrement = "AUTOINCREMENT" in sql.upper()
    info = Table(name, native={"columns": [], "indexes": [], "autoincrement": autoincrement})
    json_columns = {m[1] for m in re.finditer(r'"?(\w+)"? CLOB[^,]*' + re.escape(_JSON_COMMENT), sql)}
    rows = db.rows("portable.columns", {"table": physical})
    for cname, ctype, notnull, default, pk in rows:
        info.native["columns"].append((cname, ctype, notnull, default, pk, str(cname) in json_columns))
        info.columns.append(
            _column(str(cname), str(ctype).upper(), bool(notnull), default, autoincrement and bool(pk), json_columns)
        )
    primary = tuple(str(r[0]) for r in sorted(rows, key=lambda r: r[4]) if r[4])
    if primary:
        info.indexes.append(Index("PRIMARY", primary, unique=True, primary=True))
    constraints = [(m[1], tuple(c.strip().strip('"') for c in m[2].split(","))) for m in _CONSTRAINT.finditer(sql)]
    for iname, unique, origin in db.rows("portable.index_list", {"table": physical}):
        if origin == "pk":
            continue
        columns = tuple(str(r[0]) for r in db.rows("portable.index_columns", {"index": iname}))
        index_name = str(iname)
        if origin == "u":
            index_name = next((n for n, cols in constraints if cols == columns), index_name)
        info.native["indexes"].append((index_name, unique, origin, columns))
        info.indexes.append(Index(index_name, columns, unique=bool(unique), constraint=origin == "u"))
    return info.sort()


def _column(
    name: str, ctype: str, notnull: bool, default: str | None, autoincrement: bool, json_columns: set[str]
) -> Column:
    unsigned = ctype.endswith(" UNSIGNED")
    base = ctype.removesuffix(" UNSIGNED")
    length = precision = scale = None
    fixed = False
    kind = _TYPES.get(base)
    if kind is None:
        sized = _SIZED.match(base)
        if sized is None:
            raise ValueError(f"column {name}: type {ctype} has no portable equivalent")
        if sized[1] == "NUMERIC":
            kind, precision, scale = "decimal", int(sized[2]), int(sized[3] or 0)
        else:
            kind, length, fixed = "string", int(sized[2]), sized[1] == "CHAR"
    if kind == "text" and name in json_columns:
        kind = "json"
    return Column(
        name,
        kind,
        notnull=notnull or autoincrement,
        default=_default(default),
        length=length,
        fixed=fixed,
        precision=precision,
        scale=scale,
        unsigned=unsigned,
        autoincrement=autoincrement,
    )


def _default(value: str | None) -> str | None:
    if value is None or value.upper() == "NULL":
        return None
    if value.startswith("'") and value.endswith("'"):
        return value[1:-1].replace("''", "'")
    return value


# -- writing -------------------------------------------------------------------------------------

_DECLARATIONS = {
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "boolean": "BOOLEAN",
    "text": "CLOB",
    "json": "CLOB",
    "blob": "BLOB",
    "datetime": "DATETIME",
    "datetimetz": "DATETIME",
    "date": "DATE",
    "time": "TIME",
    "float": "DOUBLE PRECISION",
    "smallfloat": "REAL",
}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_statements(db: Database, table: Table) -> list[str]:
    """CREATE TABLE and CREATE INDEX as Doctrine's SQLite platform writes them."""
    physical = db.table(table.name)
    parts = [f"{quote(c.name)} {_declaration(c)}" for c in table.columns]
    for index in table.indexes:
        if index.constraint:
            parts.append(f"CONSTRAINT {quote(index.name)} UNIQUE ({', '.join(quote(c) for c in index.columns)})")
    primary = table.primary
    if primary is not None and table.autoincrement is None:
        parts.append(f"PRIMARY KEY({', '.join(quote(c) for c in primary.columns)})")
    statements = [f"CREATE TABLE {quote(physical)} ({', '.join(parts)})"]
    for index in table.indexes:
        if index.primary or index.constraint:
            continue
        unique = "UNIQUE " if index.unique else ""
        columns = ", ".join(quote(c) for c in index.columns)
        statements.append(f"CREATE {unique}INDEX {quote(index.name)} ON {quote(physical)} ({columns})")
    return statements


def _declaration(column: Column) -> str:
    if column.autoincrement:
        return "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"
    if column.type == "string":
        declared = f"{'CHAR' if column.fixed else 'VARCHAR'}({column.length or 255})"
    elif column.type == "decimal":
        declared = f"NUMERIC({column.precision or 10}, {column.scale or 0})"
    else:
        declared = _DECLARATIONS[column.type]
    if column.unsigned and column.type in ("bigint", "integer", "smallint"):
        declared += " UNSIGNED"
    if column.default is not None:
        declared += f" DEFAULT {_literal(column)}"
    elif not column.notnull:
        declared += " DEFAULT NULL"
    if column.notnull:
        declared += " NOT NULL"
    if column.type == "json":
        declared += f" {_JSON_COMMENT}\n"
    return declared


def _literal(column: Column) -> str:
    value = column.default
    assert value is not None
    if column.type in ("bigint", "integer", "smallint", "boolean") and _NUMBER.match(value):
        return value
    return "'" + value.replace("'", "''") + "'"
