"""MySQL/MariaDB's side of the portable schema (db/portable.py): tables read into portable records
and written as Doctrine's MariaDB platform writes them for Nextcloud: InnoDB, utf8mb4_bin
(docs/internals/portable-schema.md)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..portable import Column, Index, Table

if TYPE_CHECKING:
    from ..connection import Database

_TYPES = {
    "bigint": "bigint",
    "int": "integer",
    "smallint": "smallint",
    "varchar": "string",
    "char": "string",
    "tinytext": "text",
    "text": "text",
    "mediumtext": "text",
    "longtext": "text",
    "tinyblob": "blob",
    "blob": "blob",
    "mediumblob": "blob",
    "longblob": "blob",
    "datetime": "datetime",
    "date": "date",
    "time": "time",
    "double": "float",
    "float": "smallfloat",
    "decimal": "decimal",
    "json": "json",
}
# The length Doctrine gives a text or blob column read back as each MySQL type.
_TEXT_LENGTHS = {"tinytext": 255, "text": 65535, "mediumtext": 16777215, "tinyblob": 255, "blob": 65535}
_JSON_COMMENT = "(DC2Type:json)"
_CHARSET, _COLLATION = "utf8mb4", "utf8mb4_bin"


def read(db: Database, pattern: str, prefix: str) -> dict[str, Table]:
    """The tables whose names match the LIKE `pattern`, keyed by unprefixed name."""
    tables: dict[str, Table] = {}

    def table(physical: str) -> Table:
        short = physical[len(prefix) :]
        return tables.setdefault(short, Table(short, native={"columns": [], "indexes": [], "checks": []}))

    params = {"pattern": pattern}
    for tname, engine, collation, row_format, options, comment in db.rows("portable.tables", params):
        table(str(tname)).native["table"] = (engine, collation, row_format, options, comment)
    for row in db.rows("portable.columns", params):
        tname, cname, dtype, ctype, length, precision, scale, nullable, default, extra, comment, collation = row
        info = table(str(tname))
        info.native["columns"].append((cname, ctype, nullable, default, extra, comment, collation))
        info.columns.append(
            _column(
                str(cname),
                str(dtype).lower(),
                str(ctype).lower(),
                length,
                precision,
                scale,
                nullable == "YES",
                default,
                str(extra).lower(),
                str(comment),
            )
        )
    indexes: dict[tuple[str, str], list[tuple[str, int | None, bool]]] = {}
    for tname, iname, non_unique, column, sub_part, kind in db.rows("portable.indexes", params):
        table(str(tname)).native["indexes"].append((iname, non_unique, column, sub_part, kind))
        indexes.setdefault((str(tname), str(iname)), []).append(
            (str(column), None if sub_part is None else int(sub_part), not int(non_unique))
        )
    for (tname, iname), parts in indexes.items():
        lengths = tuple(p[1] for p in parts)
        primary = iname == "PRIMARY"
        table(tname).indexes.append(
            Index(
                iname,
                tuple(p[0] for p in parts),
                unique=parts[0][2],
                primary=primary,
                lengths=lengths if any(n is not None for n in lengths) else (),
            )
        )
    for tname, cname, clause in db.rows("portable.checks", params):
        table(str(tname)).native["checks"].append((cname, clause))
    return {name: t.sort() for name, t in tables.items()}


def _column(
    name: str,
    dtype: str,
    ctype: str,
    length: int | None,
    precision: int | None,
    scale: int | None,
    nullable: bool,
    default: str | None,
    extra: str,
    comment: str,
) -> Column:
    if dtype == "tinyint":
        kind = "boolean"
    elif dtype in ("longtext", "text") and comment == _JSON_COMMENT:
        kind = "json"
    else:
        try:
            kind = _TYPES[dtype]
        except KeyError:
            raise ValueError(f"column {name}: type {ctype} has no portable equivalent") from None
    return Column(
        name,
        kind,
        notnull=not nullable,
        default=_default(default, kind),
        length=int(length) if kind == "string" and length is not None else _TEXT_LENGTHS.get(dtype),
        fixed=dtype == "char",
        precision=int(precision) if kind == "decimal" and precision is not None else None,
        scale=int(scale) if kind == "decimal" and scale is not None else None,
        unsigned="unsigned" in ctype,
        autoincrement="auto_increment" in extra,
    )


def _default(value: str | None, kind: str) -> str | None:
    """MariaDB's column_default: NULL, a quoted literal or a number."""
    if value is None or value == "NULL":
        return None
    if value.startswith("'") and value.endswith("'"):
        return value[1:-1].replace("''", "'").replace("\\\\", "\\")
    return value


# -- writing -------------------------------------------------------------------------------------

_DECLARATIONS = {
    "bigint": "BIGINT",
    "integer": "INT",
    "smallint": "SMALLINT",
    "boolean": "TINYINT(1)",
    "datetime": "DATETIME",
    "datetimetz": "DATETIME",
    "date": "DATE",
    "time": "TIME",
    "float": "DOUBLE PRECISION",
    "smallfloat": "FLOAT",
    "json": "JSON",
}
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def create_statements(db: Database, table: Table) -> list[str]:
    """The table as Doctrine's MariaDB platform writes it for Nextcloud: CREATE TABLE with its
    primary key, then one ALTER TABLE adding the other indexes (InnoDB builds them all in one
    sorted pass, several times faster after a load than row by row during it)."""
    parts = [f"{quote(c.name)} {_declaration(c)}" for c in table.columns]
    indexes = []
    for index in table.indexes:
        columns = ", ".join(
            quote(c) + (f"({n})" if n is not None else "")
            for c, n in zip(index.columns, index.lengths or [None] * len(index.columns), strict=True)
        )
        if index.primary:
            parts.append(f"PRIMARY KEY({columns})")
        elif index.unique:
            indexes.append(f"ADD UNIQUE INDEX {quote(index.name)} ({columns})")
        else:
            indexes.append(f"ADD INDEX {quote(index.name)} ({columns})")
    name = quote(db.table(table.name))
    create = (
        f"CREATE TABLE {name} ({', '.join(parts)}) "
        f"DEFAULT CHARACTER SET {_CHARSET} COLLATE `{_COLLATION}` ENGINE = InnoDB"
    )
    return [create, f"ALTER TABLE {name} {', '.join(indexes)}"] if indexes else [create]


def _declaration(column: Column) -> str:
    kind = column.type
    if kind == "string":
        declared = f"{'CHAR' if column.fixed else 'VARCHAR'}({column.length or 255})"
    elif kind == "text":
        declared = _sized("TEXT", column.length)
    elif kind == "blob":
        declared = _sized("BLOB", column.length)
    elif kind == "decimal":
        declared = f"NUMERIC({column.precision or 10}, {column.scale or 0})"
    else:
        declared = _DECLARATIONS[kind]
    if kind in ("integer", "bigint", "smallint") and column.unsigned:
        declared += " UNSIGNED"
    if column.autoincrement:
        declared += " AUTO_INCREMENT"
    if column.default is not None:
        declared += f" DEFAULT {_literal(column)}"
    elif not column.notnull:
        declared += " DEFAULT NULL"
    declared += " NOT NULL" if column.notnull else " NULL"
    if kind == "json":
        declared += f" COMMENT '{_JSON_COMMENT}'"
    return declared


def _sized(base: str, length: int | None) -> str:
    """Doctrine's choice among TINY…, plain, MEDIUM… and LONG… by the declared length."""
    if length is None:
        return f"LONG{base}"
    if length <= 255:
        return f"TINY{base}"
    if length <= 65535:
        return base
    if length <= 16777215:
        return f"MEDIUM{base}"
    return f"LONG{base}"


def _literal(column: Column) -> str:
    value = column.default
    assert value is not None
    if column.type in ("bigint", "integer", "smallint", "boolean") and _NUMBER.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
