"""Order-independent table checksums over every copied column, the same on every engine.

Each row, in the canonical form of `tables.py`, is encoded value by value:

    NULL -> `n`     true -> `t`     false -> `f`     integer -> `i<decimal>;`
    text -> `s<length in code points>:<text>`

The concatenation is UTF-8 encoded and hashed with SHA-256; a table's checksum is the sum of its
row digests modulo 2**256, written as 64 hex digits, together with the row count. A sum (unlike
XOR) does not cancel out duplicated rows, and neither the row order nor the engine matters.
`convert` and `dump` compute it over the rows they move; `table_checksums` over a database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..db.connection import Database
from .tables import Row, TransferTable, transfer_tables

_MOD = 1 << 256


def encode_row(row: Sequence[Any]) -> bytes:
    """The canonical byte encoding of one row (see the module docstring)."""
    parts: list[str] = []
    append = parts.append
    for value in row:
        kind = type(value)
        if kind is str:
            append(f"s{len(value)}:")
            append(value)
        elif value is None:
            append("n")
        elif kind is bool:
            append("t" if value else "f")
        elif isinstance(value, int):
            append(f"i{int(value)};")
        else:  # not produced by the drivers for this schema; decoded bytes or the value's text
            text = bytes(value).decode("utf-8") if isinstance(value, (bytes, bytearray, memoryview)) else str(value)
            append(f"s{len(text)}:")
            append(text)
    return "".join(parts).encode("utf-8", "surrogatepass")


def row_digest(row: Sequence[Any]) -> int:
    return int.from_bytes(hashlib.sha256(encode_row(row)).digest(), "big")


@dataclass
class Checksum:
    """Row count and combined digest of a set of rows; `add` them in any order."""

    rows: int = 0
    total: int = 0

    def add(self, row: Row) -> None:
        self.rows += 1
        self.total = (self.total + row_digest(row)) % _MOD

    def add_all(self, rows: Iterable[Row]) -> Checksum:
        for row in rows:
            self.add(row)
        return self

    @property
    def hex(self) -> str:
        return f"{self.total:064x}"

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "checksum": self.hex}


def table_checksums(db: Database, tables: Sequence[TransferTable] | None = None) -> dict[str, Checksum]:
    """The checksum of each table the transfer moves (unprefixed names), read from one snapshot."""
    chosen = list(tables) if tables is not None else transfer_tables(db)
    with db.transaction(snapshot=True):
        return {t.name: Checksum().add_all(t.rows(db)) for t in chosen}
