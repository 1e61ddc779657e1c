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
from .tables import TransferTable

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
"""Binary COPY signature, flags (none) and header extension length (0)."""
TRAILER = b"\xff\xff"
_NULL = b"\xff\xff\xff\xff"
_TRUE = b"\x00\x00\x00\x01\x01"
_FALSE = b"\x00\x00\x00\x01\x00"


class TupleFormatError(ValueError):
    """PostgreSQL's binary COPY output was not framed as one row per message."""


def encode_row(row: Sequence[Any], widths: Sequence[int]) -> bytes:
    """The canonical tuple of a row in the canonical Python form of `tables.py`; `widths` gives
    the byte width of each integer column (see `TransferTable.widths`)."""
    out = [len(row).to_bytes(2, "big")]
    append = out.append
    for value, width in zip(row, widths, strict=True):
        kind = type(value)
        if kind is str:
            data = value.encode("utf-8", "surrogatepass")
            append(len(data).to_bytes(4, "big"))
            append(data)
        elif value is None:
            append(_NULL)
        elif kind is bool:
            append(_TRUE if value else _FALSE)
        elif isinstance(value, int):
            try:
                append(width.to_bytes(4, "big") + int(value).to_bytes(width, "big", signed=True))
            except OverflowError:
                raise ValueError(f"the integer {value} does not fit into {width * 8} bits") from None
        else:  # not produced by the drivers for this schema; decoded bytes or the value's text
            data = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()
            append(len(data).to_bytes(4, "big"))
            append(data)
    return b"".join(out)


def read_tuples(db: Database, table: TransferTable, batch: int = 1000) -> Generator[list[bytes], None, None]:
    """The table's rows as canonical tuples, in lists of up to `batch`, rendered by the engine.

    Rows come in no particular order. Call it inside the snapshot the caller reads from.
    """
    fragments = (*table.fragments(), ("CAST_COLUMNS", table.cast_columns()))
    params = table.params()
    if db.dialect == "pgsql":
        with contextlib.closing(_pgsql_tuples(db, table, params, fragments, batch)) as chunks:
            yield from chunks
    elif db.dialect == "mysql" and _stores_utf8(db, table):
        values = ", ".join(db.sql(f"transfer.tuple_{kind}", (("COLUMN", f'"{column}"'),))
                           for column, kind in table.canonical_types())
        fields = ("FIELDS", f"{len(table.columns):04x}")
        with contextlib.closing(db.stream_chunks("transfer.tuples", params, batch,
                                                 (*fragments, ("VALUES", values), fields))) as chunks:
            for rendered in chunks:
                yield [row[0] for row in rendered]
    else:  # SQLite, or a MySQL table with text in another character set (the driver converts)
        widths = table.widths
        chunk: list[bytes] = []
        with contextlib.closing(table.rows(db, batch)) as rows:
            for row in rows:
                chunk.append(encode_row(row, widths))
                if len(chunk) >= batch:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk


def _stores_utf8(db: Database, table: TransferTable) -> bool:
    """Whether every text column of a MySQL table holds UTF-8 (utf8mb4, or utf8mb3 before it)."""
    charsets = {str(r[0]).lower() for r in db.rows("transfer.text_charsets", {"table": db.table(table.name)})}
    return charsets <= {"utf8mb4", "utf8mb3", "utf8"}


def _pgsql_tuples(db: Database, table: TransferTable, params: Any, fragments: tuple[tuple[str, str], ...],
                  batch: int) -> Generator[list[bytes], None, None]:
    """PostgreSQL sends one row per COPY message, the header in front of the first one and the
    trailer on its own; each tuple's field count is checked."""
    fields = len(table.columns).to_bytes(2, "big")
    chunk: list[bytes] = []
    first = True
    with contextlib.closing(db.copy_out("transfer.tuples", params, fragments)) as messages:
        for message in messages:
            if first:
                if not message.startswith(HEADER):
                    raise TupleFormatError("binary COPY output without its header")
                message = message[len(HEADER):]
                first = False
                if not message:
                    continue
            if message == TRAILER:
                break
            if message[:2] != fields:
                raise TupleFormatError("binary COPY output not framed as one row per message")
            chunk.append(message)
            if len(chunk) >= batch:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
