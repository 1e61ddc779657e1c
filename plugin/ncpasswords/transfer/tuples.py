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
import functools
import struct
from collections.abc import Callable, Generator, Sequence
from typing import Any

from ..db.backends.base import TUPLE_HEADER as HEADER
from ..db.backends.base import TUPLE_TRAILER as TRAILER
from ..db.backends.base import TupleFormatError
from ..db.connection import Database
from ..errors import UserError
from .tables import TransferTable

__all__ = ["HEADER", "TRAILER", "RowTypeError", "TupleFormatError", "encode_row", "read_tuples", "rendered_tuples"]

_NULL = b"\xff\xff\xff\xff"
_TRUE = b"\x00\x00\x00\x01\x01"
_FALSE = b"\x00\x00\x00\x01\x00"
_LENGTH = struct.Struct(">i").pack


class RowTypeError(UserError):
    """A value of another type than its column's (SQLite stores what it is given)."""


class _Refused(Exception):
    """A value its column's packer does not take: `expected` (what belongs there) or `bits`
    (an integer too wide)."""

    def __init__(self, expected: str = "", bits: int = 0) -> None:
        super().__init__(expected)
        self.expected = expected
        self.bits = bits


Packer = Callable[[Any], bytes]


def encode_row(row: Sequence[Any], table: TransferTable) -> bytes:
    """The canonical tuple of a row of `table` in the canonical Python form of `tables.py`.

    Each value must be of its column's type (or None): packed as it is, text in an integer column
    could read back as a number.
    """
    fields, packers = _packers(table.kinds)
    try:
        return b"".join([fields, *[pack(value) for pack, value in zip(packers, row, strict=True)]])
    except _Refused:
        for pack, value, column in zip(packers, row, table.columns, strict=True):
            try:
                pack(value)
            except _Refused as refused:
                if refused.bits:
                    raise RowTypeError(
                        f"{table.name}.{column} holds an integer that does not fit into {refused.bits} bits"
                    ) from None
                raise _mistyped(table, column, value, refused.expected) from None
        raise


@functools.lru_cache(maxsize=256)
def _packers(kinds: tuple[str, ...]) -> tuple[bytes, tuple[Packer, ...]]:
    """A tuple's field count, and for each column a function that packs a value of its kind
    with its 32-bit length (or NULL)."""
    packers = tuple(_PACKERS[kind] if kind in _PACKERS else _fixed(_OTHER_KINDS[kind]) for kind in kinds)
    return len(kinds).to_bytes(2, "big"), packers


def _integer(width: int) -> Packer:
    pack = struct.Struct(">i" + {8: "q", 4: "i", 2: "h"}[width]).pack

    def packer(value: Any) -> bytes:
        if type(value) is int:
            try:
                return pack(width, value)
            except struct.error:
                raise _Refused(bits=width * 8) from None
        if value is None:
            return _NULL
        raise _Refused("an integer")

    return packer


def _text(value: Any) -> bytes:
    if type(value) is str:
        data = value.encode("utf-8", "surrogatepass")
        return _LENGTH(len(data)) + data
    if value is None:
        return _NULL
    raise _Refused("text")


def _bool(value: Any) -> bytes:
    if type(value) is bool:
        return _TRUE if value else _FALSE
    if value is None:
        return _NULL
    raise _Refused("a boolean")


def _fixed(encode: Callable[[Any], bytes]) -> Packer:
    def packer(value: Any) -> bytes:
        if value is None:
            return _NULL
        data = encode(value)
        return _LENGTH(len(data)) + data

    return packer


def _json(value: Any) -> bytes:
    if type(value) is not str:
        raise _Refused("text")
    return value.encode("utf-8", "surrogatepass")


def _bytea(value: Any) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise _Refused("bytes")
    return bytes(value)


def _float8(value: Any) -> bytes:
    if type(value) is not float:
        raise _Refused("a float")
    return struct.pack(">d", value)


def _float4(value: Any) -> bytes:
    if type(value) is not float:
        raise _Refused("a float")
    return struct.pack(">f", value)


# PostgreSQL's binary forms: microseconds since 2000-01-01 00:00, days since 2000-01-01,
# microseconds since midnight.
_EPOCH = datetime.datetime(2000, 1, 1)
_MICROSECOND = datetime.timedelta(microseconds=1)


def _timestamp(value: Any) -> bytes:
    if type(value) is not datetime.datetime:
        raise _Refused("a date and time")
    return ((value.replace(tzinfo=None) - _EPOCH) // _MICROSECOND).to_bytes(8, "big", signed=True)


def _date(value: Any) -> bytes:
    if type(value) is not datetime.date:
        raise _Refused("a date")
    return (value - _EPOCH.date()).days.to_bytes(4, "big", signed=True)


def _time(value: Any) -> bytes:
    if type(value) is not datetime.time:
        raise _Refused("a time")
    micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    return micros.to_bytes(8, "big", signed=True)


_PACKERS: dict[str, Packer] = {
    "int8": _integer(8),
    "int4": _integer(4),
    "int2": _integer(2),
    "text": _text,
    "bool": _bool,
}
_OTHER_KINDS: dict[str, Callable[[Any], bytes]] = {
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
    rendered = rendered_tuples(db, table, batch)
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


def rendered_tuples(db: Database, table: TransferTable, batch: int = 1000) -> Generator[list[bytes], None, None] | None:
    """The table's rows as canonical tuples rendered by the engine (`Backend.tuple_chunks`), in
    lists of up to `batch`; None where its backend cannot render them."""
    return db.backend.tuple_chunks(db, table.name, table.fragments(), table.params(), table.canonical_types(), batch)
