"""Raw-SQL repository for one app table: rows in and out as `toArray()`-ordered entity dicts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..db.connection import Database, EncodedRows, RowEncoder
from ..db.dialects import quote_canonical
from .entities import TABLES, Column, Table

Entity = dict[str, Any]

# Column defaults of the DDL for NOT NULL columns (and every boolean), used when an entity lacks
# the key: the bulk paths write every column explicitly, so the database default cannot apply.
_DEFAULTS: dict[str, Any] = {
    "cse_key": "",
    "client": "CLIENT::UNKNOWN",
    "status": 0,
    "status_code": "GOOD",
    "login_type": "none",
}
NO_DEFAULT: Any = object()


def insert_default(table: Table, column: Column) -> Any:
    """What the bulk paths write for an entity property that is absent (or None): the column's
    default, NULL where the column holds NULLs, or NO_DEFAULT when the entity cannot lack it."""
    if column.type == "bool":
        return column.name == "editable" and table.name == "passwords_password"
    if column.nullable:
        return None
    return _DEFAULTS.get(column.name, NO_DEFAULT)


class EntityRepository:
    """Reads and writes one app table through the named queries of `sql/entities.sql`."""

    def __init__(self, db: Database, table: str | Table) -> None:
        self.db = db
        self.table = TABLES[table] if isinstance(table, str) else table
        quoted = ", ".join(quote_canonical(c) for c in self.table.column_names)
        self._fragments = (("TABLE", self.table.name), ("COLUMNS", quoted))
        cols = self.table.columns
        self._order = [self.table.column_names.index(c.name) for c in self.table.array_columns]
        self._keys = [c.prop for c in self.table.array_columns]
        self._bools = {i for i, c in enumerate(cols) if c.type == "bool"}
        self._insert_columns = [c for c in cols if c.name != "id"]

    # -- reading -------------------------------------------------------------------------------
    def entity(self, row: tuple[Any, ...]) -> Entity:
        """A row in physical column order -> the entity dict in `toArray()` order."""
        values = [bool(v) if i in self._bools and v is not None else v for i, v in enumerate(row)]
        return {key: values[i] for key, i in zip(self._keys, self._order, strict=True)}

    def _query(self, name: str, params: dict[str, Any] | None = None) -> list[Entity]:
        cur = self.db.execute_sql(self.db.sql(f"entities.{name}", self._fragments), params)
        try:
            return [self.entity(tuple(r)) for r in cur.fetchall()]
        finally:
            cur.close()

    def stream(self, include_deleted: bool = False, batch: int = 2000) -> Iterator[Entity]:
        """Every row ordered by id through a server-side cursor (soft-deleted ones on request)."""
        name = "entities.stream_all" if include_deleted else "entities.stream_active"
        for row in self.db.stream(name, None, batch, self._fragments):
            yield self.entity(row)

    def find_by_user(self, user_id: str, include_deleted: bool = True) -> list[Entity]:
        rows = self._query("by_user", {"user_id": user_id})
        return rows if include_deleted else [r for r in rows if not r["deleted"]]

    def find_by_uuid(self, uuid: str) -> list[Entity]:
        """Non-deleted rows with this uuid (uuids are unique per user, not globally)."""
        return self._query("by_uuid", {"uuid": uuid})

    def rows_in_id_range(self, low: int, high: int) -> list[Entity]:
        """Non-deleted rows with low <= id <= high, in id order."""
        sql = self.db.sql("backup.live_rows_in_id_range", self._fragments)
        cur = self.db.execute_sql(sql, {"low": low, "high": high})
        try:
            return [self.entity(tuple(r)) for r in cur.fetchall()]
        finally:
            cur.close()

    def rows_by_ids(self, ids: list[int]) -> list[Entity]:
        """Rows with these ids (any order)."""
        sql = self.db.sql("backup.rows_by_ids", self._fragments)
        cur = self.db.execute_sql(sql, {"ids": self.db.list_param(ids)})
        try:
            return [self.entity(tuple(r)) for r in cur.fetchall()]
        finally:
            cur.close()

    def count(self, include_deleted: bool = False) -> int:
        name = "entities.count_all" if include_deleted else "entities.count_active"
        return int(self.db.scalar_sql(self.db.sql(name, self._fragments)))

    def max_id(self) -> int:
        return int(self.db.scalar_sql(self.db.sql("entities.max_id", self._fragments)) or 0)

    # -- writing -------------------------------------------------------------------------------
    def row_for_insert(self, entity: Entity) -> tuple[Any, ...]:
        """The insert tuple (every column but id) for an entity dict; booleans never become NULL."""
        out = []
        for col in self._insert_columns:
            value = entity.get(col.prop)
            if value is None:
                value = insert_default(self.table, col)
                if value is NO_DEFAULT:
                    raise ValueError(f"{self.table.entity} {entity.get('uuid')!r}: '{col.prop}' is missing")
            elif col.type == "bool":
                value = bool(value)
            out.append(value)
        return tuple(out)

    @property
    def insert_columns(self) -> tuple[Column, ...]:
        """The columns of an insert tuple (every column but id), in physical order."""
        return tuple(self._insert_columns)

    def insert_many(self, entities: Iterable[Entity | tuple[Any, ...]] | EncodedRows) -> int:
        """Bulk insert (new ids are assigned, as the reference's restore does).

        Entity dicts are turned into insert tuples by `row_for_insert`; tuples are taken as ready
        insert tuples (`insert_columns` order); rows made by `encode_rows` are sent as they are.
        """
        columns = [c.name for c in self._insert_columns]
        if isinstance(entities, EncodedRows):
            return self.db.insert_many(self.table.name, columns, entities)
        rows = (e if type(e) is tuple else self.row_for_insert(e) for e in entities)  # type: ignore[arg-type]
        return self.db.insert_many(self.table.name, columns, rows)

    def encode_rows(self, rows: list[tuple[Any, ...]]) -> EncodedRows:
        """Insert tuples whose values have exactly their columns' types (as `backup.reader.RowBuilder`
        makes them) encoded for the engine's bulk path; `insert_many` sends them. Encoding needs no
        connection, so it can run beside the database's work on the previous batch."""
        return self.db.encode_rows(self.table.name, [c.name for c in self._insert_columns], rows)

    def row_encoder(self) -> RowEncoder | None:
        """An encoder of this table's insert tuples that may run in another process (see
        `Database.row_encoder`), or None."""
        return self.db.row_encoder(self.table.name, [c.name for c in self._insert_columns])

    def delete_all(self) -> int:
        cur = self.db.execute_sql(self.db.sql("entities.delete_all", self._fragments))
        count = int(cur.rowcount)
        cur.close()
        return count

    def delete_by_user(self, user_id: str) -> int:
        cur = self.db.execute_sql(self.db.sql("entities.delete_by_user", self._fragments), {"user_id": user_id})
        count = int(cur.rowcount)
        cur.close()
        return count


def repositories(db: Database) -> dict[str, EntityRepository]:
    """A repository for each of the twelve tables, keyed by unprefixed table name."""
    return {name: EntityRepository(db, table) for name, table in TABLES.items()}
