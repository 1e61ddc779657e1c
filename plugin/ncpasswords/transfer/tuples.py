"""Rows as canonical binary tuples: what `db:convert-type` sends to PostgreSQL and what the checksums hash.

A row's tuple is the row as PostgreSQL's binary COPY format writes it with the canonical column
types of `tables.py`: a 16-bit field count, then per value a 32-bit length (-1 for NULL) and the
value's bytes: integers big-endian two's complement of their width (8 bytes for BIGINT, 4 for
INT, 2 for SMALLINT), booleans one byte 0 or 1, text UTF-8. All numbers are big-endian.
`COPY … FROM STDIN (FORMAT binary)` reads a stream of such tuples (between `HEADER` and
`TRAILER`) as the same values, without parsing any text.

Each engine renders the tuples itself, so rows never pass through the drivers' per-value
decoding: PostgreSQL with `COPY … TO STDOUT (FORMAT binary)`, MySQL/MariaDB with string
functions in SQL (`sql/transfer.mysql.sql`, one binary value per row, for tables whose text is
stored as UTF-8), SQLite through `encode_row` here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Sequence
from typing import Any

from ..db.connection import Database
from ..errors import UserError
from .tables import TransferTable

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
"""Binary COPY signature, flags (none) and header extension length (0)."""
TRAILER = b"\xff\xff"
_NULL = b"\xff\xff\xff\xff"
_TRUE = b"\x00\x00\x00\x01\x01"
_FALSE = b"\x00\x00\x00\x01\x00"


_WIDTHS = {"int8": 8, "int4": 4, "int2": 2}


class TupleFormatError(ValueError):
    """An engine handed out something that is not a canonical tuple."""


class RowTypeError(UserError):
    """A value of another type than its column's (SQLite stores what it is given)."""


def encode_row(row: Sequence[Any], table: TransferTable) -> bytes:
    """The canonical tuple of a row of `table` in the canonical Python form of `tables.py`.

    Each value must be of its column's type (or None): packed as it is, text in an integer column
    could read back as a number.
    """
    out = [len(row).to_bytes(2, "big")]
    append = out.append
    for value, kind, column in zip(row, table.kinds, table.columns, strict=True):
        if value is None:
            append(_NULL)
        elif kind == "text":
            if type(value) is not str:
                raise _mistyped(table, column, value, "text")
            data = value.encode("utf-8", "surrogatepass")
            append(len(data).to_bytes(4, "big"))
            append(data)
        elif kind == "bool":
            if type(value) is not bool:
                raise _mistyped(table, column, value, "a boolean")
            append(_TRUE if value else _FALSE)
        else:
            if type(value) is not int:
                raise _mistyped(table, column, value, "an integer")
            width = _WIDTHS[kind]
            try:
                append(width.to_bytes(4, "big") + value.to_bytes(width, "big", signed=True))
            except OverflowError:
                raise RowTypeError(
                    f"{table.name}.{column} holds an integer that does not fit into {width * 8} bits"
                ) from None
    return b"".join(out)


def _mistyped(table: TransferTable, column: str, value: Any, expected: str) -> RowTypeError:
    """The error for a value of the wrong type (the value itself is not shown: it may be secret)."""
    return RowTypeError(f"{table.name}.{column} holds a value of type {type(value).__name__} where {expected} belongs")


def read_tuples(db: Database, table: TransferTable, batch: int = 1000) -> Generator[list[bytes], None, None]:
    """The table's rows as canonical tuples, in lists of up to `batch`, rendered by the engine.

    Rows come in no particular order. Call it inside the snapshot the caller reads from.
    """
    fragments = table.fragments()
    params = table.params()
    if db.dialect == "pgsql":
        casts = (*fragments, ("CAST_COLUMNS", table.cast_columns()))
        with contextlib.closing(_pgsql_tuples(db, table, params, casts, batch)) as chunks:
            yield from chunks
    elif db.dialect == "mysql" and _renders_in_sql(db, table):
        values = ", ".join(
            db.sql(f"transfer.tuple_{kind}", (("COLUMN", f'"{column}"'),)) for column, kind in table.canonical_types()
        )
        fields = ("FIELDS", f"{len(table.columns):04x}")
        with contextlib.closing(
            db.stream_chunks("transfer.tuples", params, batch, (*fragments, ("VALUES", values), fields))
        ) as chunks:
            for rendered in chunks:
                tuples = [row[0] for row in rendered]
                if None in tuples:  # CONCAT gives NULL past max_allowed_packet
                    raise TupleFormatError(
                        f"a row of {db.table(table.name)} is larger than the server's "
                        "max_allowed_packet; raise it to read the row"
                    )
                yield tuples
    else:  # SQLite, or a MySQL table of other column types (the driver converts)
        chunk: list[bytes] = []
        with contextlib.closing(table.rows(db, batch)) as rows:
            for row in rows:
                chunk.append(encode_row(row, table))
                if len(chunk) >= batch:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk


# MySQL column types the SQL of the tuples renders exactly, per canonical type.
_MYSQL_TYPES = {
    "text": {"varchar", "char", "tinytext", "text", "mediumtext", "longtext"},
    "bool": {"tinyint"},
    "int8": {"tinyint", "smallint", "mediumint", "int", "bigint"},
}
_MYSQL_TYPES["int4"] = _MYSQL_TYPES["int2"] = _MYSQL_TYPES["int8"]


def _renders_in_sql(db: Database, table: TransferTable) -> bool:
    """Whether a MySQL table has the column types the SQL of the tuples expects: integers,
    TINYINT booleans and text stored as UTF-8 (utf8mb4, or utf8mb3 before it)."""
    found = {
        str(name): (str(kind).lower(), str(charset or "").lower())
        for name, kind, charset in db.rows("transfer.column_types", {"table": db.table(table.name)})
    }
    for column, kind in table.canonical_types():
        data_type, charset = found.get(column, ("", ""))
        if data_type not in _MYSQL_TYPES[kind]:
            return False
        if kind == "text" and charset not in ("utf8mb4", "utf8mb3", "utf8"):
            return False
    return True


def _pgsql_tuples(
    db: Database, table: TransferTable, params: Any, fragments: tuple[tuple[str, str], ...], batch: int
) -> Generator[list[bytes], None, None]:
    """PostgreSQL sends one row per COPY message, the header in front of the first one and the
    trailer on its own; each tuple's field count is checked."""
    fields = len(table.columns).to_bytes(2, "big")
    chunk: list[bytes] = []
    first = True
    ended = False
    with contextlib.closing(db.copy_out("transfer.tuples", params, fragments)) as messages:
        for message in messages:
            if first:
                if not message.startswith(HEADER):
                    raise TupleFormatError("binary COPY output without its header")
                message = message[len(HEADER) :]
                first = False
                if not message:
                    continue
            if ended:
                raise TupleFormatError("binary COPY output after its trailer")
            if message == TRAILER:
                ended = True  # read on to the end of the COPY: leaving early would cancel it
                continue
            if message[:2] != fields:
                raise TupleFormatError("binary COPY output not framed as one row per message")
            chunk.append(message)
            if len(chunk) >= batch:
                yield chunk
                chunk = []
    if not ended:
        raise TupleFormatError("binary COPY output without its trailer")
    if chunk:
        yield chunk
