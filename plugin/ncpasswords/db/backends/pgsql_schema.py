"""PostgreSQL's side of the portable schema (db/portable.py): tables read into portable records and
written as Doctrine's PostgreSQL platform writes them (docs/internals/portable-schema.md)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..portable import Column, Index, Table

if TYPE_CHECKING:
    from ..connection import Database

_TYPES = {
    "bigint": "bigint",
    "integer": "integer",
    "smallint": "smallint",
    "boolean": "boolean",
    "text": "text",
    "bytea": "blob",
    "timestamp(0) without time zone": "datetime",
    "timestamp without time zone": "datetime",
    "timestamp(0) with time zone": "datetimetz",
    "timestamp with time zone": "datetimetz",
    "date": "date",
    "time(0) without time zone": "time",
    "time without time zone": "time",
    "double precision": "float",
    "real": "smallfloat",
    "json": "json",
    "jsonb": "json",
}
_SIZED = re.compile(r"^(character varying|character|numeric)\((\d+)(?:,(\d+))?\)$")
_LITERAL = re.compile(r"^'((?:[^']|'')*)'(?:::[\w ]+)?$")
_NUMBER = re.compile(r"^\(?(-?\d+(?:\.\d+)?)\)?(?:::[\w ]+)?$")


def read(db: Database, pattern: str, prefix: str) -> dict[str, Table]:
    """The tables whose names match the LIKE `pattern`, keyed by unprefixed name."""
    tables: dict[str, Table] = {}

    def table(physical: str) -> Table:
        short = physical[len(prefix) :]
        return tables.setdefault(short, Table(short, native={"columns": [], "indexes": [], "sequences": []}))

    params = {"pattern": pattern}
    for tname, cname, ctype, notnull, default in db.rows("portable.columns", params):
        info = table(str(tname))
        info.native["columns"].append((cname, ctype, bool(notnull), default))
        info.columns.append(_column(str(cname), str(ctype), bool(notnull), default))
    for tname, iname, unique, primary, contype, cols, definition in db.rows("portable.indexes", params):
        info = table(str(tname))
        info.native["indexes"].append((iname, contype, _strip_schema(str(definition))))
        name = "PRIMARY" if primary else str(iname)
        info.indexes.append(
            Index(
                name,
                tuple(str(cols).split(",")),
                unique=bool(unique),
                primary=bool(primary),
                constraint=contype == "u",
            )
        )
    for seq, kind, start, step, low, high, cache, owner, column in db.rows("portable.sequences", params):
        native = (str(seq), str(kind), int(start), int(step), int(low), int(high), int(cache), str(column))
        if owner and str(owner).startswith(prefix):
            table(str(owner)).native["sequences"].append(native)
    return {name: t.sort() for name, t in tables.items()}


def _strip_schema(definition: str) -> str:
    return re.sub(r" ON \w+\.", " ON ", definition)


def _column(name: str, ctype: str, notnull: bool, default: str | None) -> Column:
    autoincrement = default is not None and default.startswith("nextval(")
    kind = _TYPES.get(ctype)
    length = precision = scale = None
    fixed = False
    if kind is None:
        sized = _SIZED.match(ctype)
        if sized is None:
            raise ValueError(f"column {name}: type {ctype} has no portable equivalent")
        if sized[1] == "numeric":
            kind, precision, scale = "decimal", int(sized[2]), int(sized[3] or 0)
        else:
            kind, length, fixed = "string", int(sized[2]), sized[1] == "character"
    return Column(
        name,
        kind,
        notnull=notnull,
        default=None if autoincrement else _default(default, kind),
        length=length,
        fixed=fixed,
        precision=precision,
        scale=scale,
        autoincrement=autoincrement,
    )


def _default(expression: str | None, kind: str) -> str | None:
    if expression is None or expression.startswith("NULL"):
        return None
    if kind == "boolean":
        return "1" if expression == "true" else "0"
    literal = _LITERAL.match(expression)
    if literal:
        return literal[1].replace("''", "'")
    number = _NUMBER.match(expression)
    if number:
        return number[1]
    raise ValueError(f"default {expression} has no portable equivalent")


# -- writing -------------------------------------------------------------------------------------

_DECLARATIONS = {
    "bigint": "BIGINT",
    "integer": "INT",
    "smallint": "SMALLINT",
    "boolean": "BOOLEAN",
    "text": "TEXT",
    "blob": "BYTEA",
    "datetime": "TIMESTAMP(0) WITHOUT TIME ZONE",
    "datetimetz": "TIMESTAMP(0) WITH TIME ZONE",
    "date": "DATE",
    "time": "TIME(0) WITHOUT TIME ZONE",
    "float": "DOUBLE PRECISION",
    "smallfloat": "REAL",
    "json": "JSON",
}
_SERIALS = {"bigint": "BIGSERIAL", "integer": "SERIAL", "smallint": "SMALLSERIAL"}


def quote(name: str) -> str:
    """An identifier as PostgreSQL stores one Doctrine wrote unquoted: folded to lower case."""
    return '"' + name.lower().replace('"', '""') + '"'


def create_statements(db: Database, table: Table) -> list[str]:
    """CREATE TABLE, its constraints and indexes as Doctrine's PostgreSQL platform writes them."""
    physical = db.table(table.name)
    parts = [f"{quote(c.name)} {_declaration(c)}" for c in table.columns]
    primary = table.primary
    if primary is not None:
        parts.append(f"PRIMARY KEY({', '.join(quote(c) for c in primary.columns)})")
    statements = [f"CREATE TABLE {quote(physical)} ({', '.join(parts)})"]
    for index in table.indexes:
        if index.primary:
            continue
        columns = ", ".join(quote(c) for c in index.columns)
        if index.constraint:
            statements.append(f"ALTER TABLE {quote(physical)} ADD CONSTRAINT {quote(index.name)} UNIQUE ({columns})")
        else:
            unique = "UNIQUE " if index.unique else ""
            statements.append(f"CREATE {unique}INDEX {quote(index.name)} ON {quote(physical)} ({columns})")
    return statements


def _declaration(column: Column) -> str:
    if column.autoincrement:
        return f"{_SERIALS[column.type]} NOT NULL"
    if column.type == "string":
        kind = f"{'CHAR' if column.fixed else 'VARCHAR'}({column.length or 255})"
    elif column.type == "decimal":
        kind = f"NUMERIC({column.precision or 10}, {column.scale or 0})"
    else:
        kind = _DECLARATIONS[column.type]
    if column.default is not None:
        kind += f" DEFAULT {_literal(column)}"
    elif not column.notnull:
        kind += " DEFAULT NULL"
    return kind + (" NOT NULL" if column.notnull else "")


def _literal(column: Column) -> str:
    value = column.default
    assert value is not None
    if column.type == "boolean":
        return "true" if value == "1" else "false"
    if column.type in ("bigint", "integer", "smallint") and _NUMBER.match(value):
        return value
    return "'" + value.replace("'", "''") + "'"


def reset_sequence(db: Database, table: Table) -> None:
    """Move the sequence of the table's auto-increment column past its highest value (a table
    without one, or an empty table, is left alone)."""
    column = table.autoincrement
    if column is None:
        return
    physical, name = quote(db.table(table.name)), quote(column.name)
    sql = f"SELECT setval(pg_get_serial_sequence(%s, %s), MAX({name})) FROM {physical} HAVING MAX({name}) IS NOT NULL"
    db.execute_sql(sql, (quote(db.table(table.name)), column.name)).close()
