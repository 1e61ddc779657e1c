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
import datetime
import struct
from collections.abc import Callable, Generator, Sequence
from typing import Any

from ..db.backends.base import TUPLE_HEADER as HEADER
from ..db.backends.base import TUPLE_TRAILER as TRAILER
from ..db.backends.base import TupleFormatError
from ..db.connection import Database
from ..errors import UserError
from .tables import TransferTable

__all__ = ["HEADER", "TRAILER", "RowTypeError", "TupleFormatError", "encode_row", "read_tuples"]

_NULL = b"\xff\xff\xff\xff"
_TRUE = b"\x00\x00\x00\x01\x01"
_FALSE = b"\x00\x00\x00\x01\x00"


_WIDTHS = {"int8": 8, "int4": 4, "int2": 2}


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
        elif kind in _OTHER_KINDS:
            data = _OTHER_KINDS[kind](value, table, column)
            append(len(data).to_bytes(4, "big"))
            append(data)
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


def _json(value: Any, table: TransferTable, column: str) -> bytes:
    if type(value) is not str:
        raise _mistyped(table, column, value, "text")
    return value.encode("utf-8", "surrogatepass")


def _bytea(value: Any, table: TransferTable, column: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise _mistyped(table, column, value, "bytes")
    return bytes(value)


def _float8(value: Any, table: TransferTable, column: str) -> bytes:
    if type(value) is not float:
        raise _mistyped(table, column, value, "a float")
    return struct.pack(">d", value)


def _float4(value: Any, table: TransferTable, column: str) -> bytes:
    if type(value) is not float:
        raise _mistyped(table, column, value, "a float")
    return struct.pack(">f", value)


# PostgreSQL's binary forms: microseconds since 2000-01-01 00:00, days since 2000-01-01,
# microseconds since midnight.
_EPOCH = datetime.datetime(2000, 1, 1)
_MICROSECOND = datetime.timedelta(microseconds=1)


def _timestamp(value: Any, table: TransferTable, column: str) -> bytes:
    if type(value) is not datetime.datetime:
        raise _mistyped(table, column, value, "a date and time")
    return ((value.replace(tzinfo=None) - _EPOCH) // _MICROSECOND).to_bytes(8, "big", signed=True)


def _date(value: Any, table: TransferTable, column: str) -> bytes:
    if type(value) is not datetime.date:
        raise _mistyped(table, column, value, "a date")
    return (value - _EPOCH.date()).days.to_bytes(4, "big", signed=True)


def _time(value: Any, table: TransferTable, column: str) -> bytes:
    if type(value) is not datetime.time:
        raise _mistyped(table, column, value, "a time")
    micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    return micros.to_bytes(8, "big", signed=True)


_OTHER_KINDS: dict[str, Callable[[Any, TransferTable, str], bytes]] = {
    "json": _json,
    "bytea": _bytea,
    "float8": _float8,
    "float4": _float4,
    "timestamp": _timestamp,
    "date": _date,
    "time": _time,
}


def _mistyped(table: TransferTable, column: str, value: Any, expected: str) -> RowTypeError:
    """The error for a value of the wrong type (the value itself is not shown: it may be secret)."""
    return RowTypeError(f"{table.name}.{column} holds a value of type {type(value).__name__} where {expected} belongs")


def read_tuples(db: Database, table: TransferTable, batch: int = 1000) -> Generator[list[bytes], None, None]:
    """The table's rows as canonical tuples, in lists of up to `batch`, rendered by the engine
    where its backend can (`Backend.tuple_chunks`), else encoded here.

    Rows come in no particular order. Call it inside the snapshot the caller reads from.
    """
    rendered = db.backend.tuple_chunks(
        db, table.name, table.fragments(), table.params(), table.canonical_types(), batch
    )
    if rendered is not None:
        with contextlib.closing(rendered) as chunks:
            yield from chunks
        return
    chunk: list[bytes] = []
    with contextlib.closing(table.rows(db, batch)) as rows:
        for row in rows:
            chunk.append(encode_row(row, table))
            if len(chunk) >= batch:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
