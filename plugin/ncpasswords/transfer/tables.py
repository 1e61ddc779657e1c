"""What the transfer commands move: the app's twelve tables, and the app's rows of Nextcloud's
`appconfig`, `preferences` and `migrations` tables.

Rows travel as tuples in a canonical Python form whatever the engine they come from: booleans as
`bool` (MySQL and SQLite hand out 0/1), integers as `int`, text as `str`, NULL as `None`. The
same form feeds the target's bulk path, the SQL dump writer and the checksums.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..db.connection import Database
from ..db.dialects import quote_canonical
from ..db.introspect import describe
from ..db.migrator import APP_ID
from ..repositories.entities import TABLES, ColumnType

Row = tuple[Any, ...]

CORE_TABLES = ("appconfig", "preferences", "migrations")
APP_COLUMN = {"appconfig": "appid", "preferences": "appid", "migrations": "app"}
"""The column of each core table that names the app a row belongs to."""

# The columns of the core tables this tool knows (Nextcloud 31 layout), with their types. Older
# layouts lack some of them; only the columns both sides have are copied, the rest take defaults.
CORE_COLUMNS: dict[str, tuple[tuple[str, ColumnType], ...]] = {
    "appconfig": (("appid", "str"), ("configkey", "str"), ("configvalue", "str"), ("type", "int"), ("lazy", "int")),
    "preferences": (
        ("userid", "str"),
        ("appid", "str"),
        ("configkey", "str"),
        ("configvalue", "str"),
        ("lazy", "int"),
        ("type", "int"),
        ("flags", "int"),
        ("indexed", "str"),
    ),
    "migrations": (("app", "str"), ("version", "str")),
}


# Integer columns that PostgreSQL's DDL (migrations/*.pgsql.sql, core.pgsql.sql) makes narrower
# than BIGINT, with their width in bytes; every other integer column is 8 bytes wide.
_NARROW_INTS = {
    ("passwords_password_rv", "status"): 2,
    ("appconfig", "type"): 4,
    ("appconfig", "lazy"): 2,
    ("preferences", "lazy"): 2,
    ("preferences", "type"): 2,
    ("preferences", "flags"): 4,
}
_INT_TYPES = {8: "int8", 4: "int4", 2: "int2"}


@dataclass(frozen=True)
class TransferTable:
    """One table as the transfer sees it: unprefixed name, the columns copied and their types."""

    name: str
    columns: tuple[str, ...]
    types: tuple[ColumnType, ...]
    app_rows_only: bool = False
    """A core table shared with Nextcloud: only the rows of the Passwords app are ours."""
    column_kinds: tuple[str, ...] = ()
    """The canonical types (`kinds`) when given rather than derived from `types` (a table of the
    whole instance, see transfer/instance_tables.py)."""

    @property
    def has_id(self) -> bool:
        return not self.app_rows_only

    def fragments(self) -> tuple[tuple[str, str], ...]:
        """The table's query fragments: *TABLE*, *COLUMNS* and *WHERE* (the app's rows of a core
        table, with the parameter `app` from `params`)."""
        quoted = ", ".join(quote_canonical(c) for c in self.columns)
        where = f'WHERE "{APP_COLUMN[self.name]}" = :app' if self.app_rows_only else ""
        return (("TABLE", self.name), ("COLUMNS", quoted), ("WHERE", where))

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        """Each column's canonical type as PostgreSQL names it: int8, int4, int2, bool or text (and
        for other tables json, bytea, timestamp, date, time, float8, float4; see tuples.py)."""
        if self.column_kinds:
            return self.column_kinds
        return tuple(
            _INT_TYPES[_NARROW_INTS.get((self.name, c), 8)] if t == "int" else t.replace("str", "text")
            for c, t in zip(self.columns, self.types, strict=True)
        )

    def canonical_types(self) -> list[tuple[str, str]]:
        """Each column with its canonical type (see `kinds`)."""
        return list(zip(self.columns, self.kinds, strict=True))

    def params(self) -> dict[str, str] | None:
        return {"app": APP_ID} if self.app_rows_only else None

    def rows(self, db: Database, batch: int = 1000) -> Generator[Row, None, None]:
        """The rows in canonical form, through a server-side cursor (see `Database.stream`)."""
        if self.app_rows_only:
            name = f"transfer.{self.name}_rows"
        else:
            name = "transfer.table_rows" if self.column_kinds else "entities.stream_all"
        convert = (
            kind_normaliser(self.kinds, db.backend.native_booleans)
            if self.column_kinds
            else normaliser(self.types, db.backend.native_booleans)
        )
        with contextlib.closing(db.stream(name, self.params(), batch, self.fragments())) as raw:
            if convert is None:
                yield from raw
            else:
                for row in raw:
                    yield convert(row)

    def delete_app_rows(self, db: Database) -> None:
        """Remove the app's rows of a core table (they are replaced by the copied ones)."""
        assert self.app_rows_only
        db.execute(f"transfer.{self.name}_delete", {"app": APP_ID}).close()

    def reset_sequence(self, db: Database) -> None:
        """Move the id sequence past the highest id, where the engine has one (PostgreSQL)."""
        if self.has_id:
            db.backend.reset_sequence(db, self.name)


def drop_table(db: Database, name: str) -> None:
    """DROP TABLE IF EXISTS for a table of ours (unprefixed name)."""
    db.execute_sql(db.sql("transfer.drop_table", (("TABLE", name),))).close()


def rename_table(db: Database, name: str, new_name: str) -> None:
    """MySQL: rename a table of ours (unprefixed names; both are our own identifiers)."""
    db.execute_sql(db.sql("transfer.rename_table", (("TABLE", name), ("NEWNAME", new_name)))).close()


def normaliser(types: Sequence[ColumnType], native_booleans: bool) -> Callable[[Sequence[Any]], Row] | None:
    """A function turning a driver row into the canonical form, or None when it already is.

    Drivers return int and str as they are declared; booleans come as bool where the engine has
    them (`Backend.native_booleans`: psycopg) and as 0/1 elsewhere, so only those columns may need
    converting.
    """
    if native_booleans:
        return None
    bools = [i for i, t in enumerate(types) if t == "bool"]
    if not bools:
        return None

    def convert(row: Sequence[Any]) -> Row:
        values = list(row)
        for i in bools:
            if values[i] is not None:
                values[i] = bool(values[i])
        return tuple(values)

    return convert


def kind_normaliser(kinds: Sequence[str], native_booleans: bool) -> Callable[[Sequence[Any]], Row] | None:
    """`normaliser` for tables of any canonical type: each value as `tuples.encode_row` takes it
    whatever the driver handed out (SQLite's dates as text, MySQL's TIME as a timedelta, 0/1)."""
    converters = [(i, _CONVERTERS[k]) for i, k in enumerate(kinds) if k in _CONVERTERS]
    if native_booleans:
        converters = [(i, f) for i, f in converters if kinds[i] != "bool"]
    if not converters:
        return None

    def convert(row: Sequence[Any]) -> Row:
        values = list(row)
        for i, function in converters:
            if values[i] is not None:
                values[i] = function(values[i])
        return tuple(values)

    return convert


def _timestamp(value: Any) -> Any:
    return datetime.datetime.fromisoformat(value) if isinstance(value, str) else value


def _date(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    return value.date() if isinstance(value, datetime.datetime) else value


def _time(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.time.fromisoformat(value)
    if isinstance(value, datetime.timedelta):  # PyMySQL's TIME
        return (datetime.datetime.min + value).time()
    return value


def _bytes(value: Any) -> Any:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)


def _float(value: Any) -> Any:
    return float(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else value


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "bool": bool,
    "timestamp": _timestamp,
    "date": _date,
    "time": _time,
    "bytea": _bytes,
    "float8": _float,
    "float4": _float,
}


def app_tables() -> list[TransferTable]:
    """The twelve app tables, every column, in the physical order of a fresh install."""
    return [TransferTable(t.name, t.column_names, tuple(c.type for c in t.columns)) for t in TABLES.values()]


def core_table(name: str, available: Sequence[str] | None = None) -> TransferTable:
    """A core table restricted to the known columns that exist (`available`: None means all)."""
    known = CORE_COLUMNS[name]
    chosen = [(c, t) for c, t in known if available is None or c in available]
    return TransferTable(name, tuple(c for c, _ in chosen), tuple(t for _, t in chosen), app_rows_only=True)


def existing_columns(db: Database) -> dict[str, list[str]]:
    """The columns of the core tables present in the database (absent tables are left out)."""
    described = describe(db)
    return {name: [c.name for c in described[name].columns] for name in CORE_TABLES if name in described}


def transfer_tables(source: Database, target: Database | None = None) -> list[TransferTable]:
    """Everything a transfer moves, app tables first; core tables limited to the columns the
    source has and, when the target already has that table, the target has too."""
    source_columns = existing_columns(source)
    target_columns = existing_columns(target) if target is not None else {}
    tables = app_tables()
    for name in CORE_TABLES:
        if name not in source_columns:
            continue
        columns = [c for c in source_columns[name] if name not in target_columns or c in target_columns[name]]
        tables.append(core_table(name, columns))
    return tables
