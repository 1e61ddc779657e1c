"""The portable schema: every table as Nextcloud declares it once for all engines (Doctrine DBAL's
abstract types), read back from any engine and written as each engine's platform writes it
(docs/internals/portable-schema.md).

Each backend reads its tables into these records (`Backend.read_schema`) and writes them
(`Backend.create_table_statements`). Some facts do not survive on every engine (PostgreSQL has no
unsigned integers, SQLite turns every auto-increment column into INTEGER, only MySQL keeps index
prefix lengths and the length of a text column); `restore_lost_facts` puts them back the way
Nextcloud's migrations declared them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from . import declared

INTEGER_TYPES = frozenset({"integer", "bigint", "smallint"})


@dataclass(frozen=True)
class Column:
    """One column as Doctrine describes it: `type` is integer, bigint, smallint, boolean, string,
    text, blob, datetime, datetimetz, date, time, float, smallfloat, decimal or json. `default` is
    the default's value as text (booleans "1"/"0"), None for none (a nullable column's
    `DEFAULT NULL` included)."""

    name: str
    type: str
    notnull: bool = True
    default: str | None = None
    length: int | None = None
    fixed: bool = False
    precision: int | None = None
    scale: int | None = None
    unsigned: bool = False
    autoincrement: bool = False


@dataclass(frozen=True)
class Index:
    """An index, unique index, unique constraint or the primary key. `lengths` are MySQL's index
    prefix lengths per column (None: the whole value), empty when no column has one."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    primary: bool = False
    constraint: bool = False
    lengths: tuple[int | None, ...] = ()


@dataclass
class Table:
    """A table (unprefixed name) with its columns in physical order and its indexes by name.
    `native` holds what the engine itself reported (compared by tests, not by `==`)."""

    name: str
    columns: list[Column] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    native: dict[str, Any] = field(default_factory=dict, compare=False)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def primary(self) -> Index | None:
        return next((i for i in self.indexes if i.primary), None)

    @property
    def autoincrement(self) -> Column | None:
        """The auto-increment column (at most one, the primary key's)."""
        return next((c for c in self.columns if c.autoincrement), None)

    def sort(self) -> Table:
        """The primary key first, then the indexes by name (the order every reader gives)."""
        self.indexes.sort(key=lambda i: (not i.primary, i.name.lower()))
        return self


# -- facts an engine loses, and how Nextcloud declared them -------------------------------------

LOSES_UNSIGNED = "unsigned"
"""No unsigned integers at all (PostgreSQL)."""
LOSES_AUTOINCREMENT_TYPE = "autoincrement-type"
"""Every auto-increment column reads as one type, signed (SQLite's INTEGER PRIMARY KEY)."""
LOSES_TEXT_LENGTH = "text-length"
"""Text columns have no length (PostgreSQL, SQLite; MySQL picks TEXT or LONGTEXT by it)."""
LOSES_INDEX_LENGTHS = "index-lengths"
"""Indexes cover whole values (PostgreSQL, SQLite; MySQL indexes a prefix where declared)."""
LOSES_CONSTRAINTS = "unique-constraints"
"""Unique constraints read as unique indexes (MySQL)."""
LOSES_NAME_CASE = "name-case"
"""Column and index names read in lower case (PostgreSQL folds unquoted names)."""

_GENERATED_NAME = re.compile(r"(?i)^(uniq|idx)_[0-9a-f]{8,}$")


def is_generated_name(name: str) -> bool:
    """Whether an index name is one Doctrine generated (`UNIQ_…`, `IDX_…` and a hash)."""
    return bool(_GENERATED_NAME.match(name))


def restore_lost_facts(table: Table, lost: Iterable[str]) -> Table:
    """The table with the facts its source engine lost put back as Nextcloud declares them
    (db/declared.py; docs/internals/portable-schema.md#lost-facts)."""
    lost = frozenset(lost)
    if not lost:
        return table
    columns = [_restore_column(table.name, c, lost) for c in table.columns]
    indexes = [_restore_index(table.name, i, lost) for i in table.indexes]
    if LOSES_NAME_CASE in lost:  # index columns are named as their columns
        names = {c.name.lower(): c.name for c in columns}
        indexes = [replace(i, columns=tuple(names.get(c, c) for c in i.columns)) for i in indexes]
    return Table(table.name, columns, indexes, table.native).sort()


def _restore_column(table: str, column: Column, lost: frozenset[str]) -> Column:
    if LOSES_NAME_CASE in lost:
        column = replace(column, name=declared.COLUMN_NAMES.get((table, column.name), column.name))
    if column.type in INTEGER_TYPES:
        if LOSES_UNSIGNED in lost or (LOSES_AUTOINCREMENT_TYPE in lost and column.autoincrement):
            column = replace(column, unsigned=declared_unsigned(table, column.name))
        if LOSES_AUTOINCREMENT_TYPE in lost and column.autoincrement:
            kind = "integer" if table in declared.AUTOINCREMENT_INTEGER else "bigint"
            column = replace(column, type=kind)
    if LOSES_TEXT_LENGTH in lost and column.type == "text":
        column = replace(column, length=declared.TEXT_LENGTHS.get((table, column.name)))
    return column


def declared_unsigned(table: str, column: str) -> bool:
    """Whether Nextcloud declares an integer column unsigned: as its migrations do for the tables
    of Nextcloud 34 and its default apps, signed (Doctrine's default) for any other table."""
    return column in declared.UNSIGNED.get(table, ())


def _restore_index(table: str, index: Index, lost: frozenset[str]) -> Index:
    key = (table, index.name.lower())
    if LOSES_NAME_CASE in lost:
        name = index.name.upper() if is_generated_name(index.name) else declared.INDEX_NAMES.get(key, index.name)
        index = replace(index, name=name)
    if LOSES_INDEX_LENGTHS in lost:
        index = replace(index, lengths=declared.INDEX_LENGTHS.get(key, ()))
    if LOSES_CONSTRAINTS in lost and index.unique and not index.primary:
        index = replace(index, constraint=key in declared.UNIQUE_CONSTRAINTS)
    return index


def for_engine(table: Table, skipped: frozenset[tuple[str, str]]) -> Table:
    """The table with the indexes Nextcloud creates only on some engines added or left out for an
    engine that does not get `skipped` (db/declared.py `ENGINE_INDEXES`)."""
    indexes = [i for i in table.indexes if (table.name, i.name.lower()) not in skipped]
    present = {i.name.lower() for i in indexes}
    names = {c.name for c in table.columns}
    for (name, index), columns in declared.ENGINE_INDEXES.items():
        if name == table.name and (name, index) not in skipped and index not in present and names >= set(columns):
            indexes.append(Index(index, columns, lengths=declared.INDEX_LENGTHS.get((name, index), ())))
    return Table(table.name, list(table.columns), indexes, table.native).sort()
