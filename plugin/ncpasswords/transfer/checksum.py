"""Order-independent table checksums over every copied column, the same on every engine.

Each row is hashed as its canonical binary tuple (`tuples.py`: PostgreSQL's binary COPY form with
fixed column types, so `true` on PostgreSQL and `1` on MySQL give the same bytes) with SHA-256; a
table's checksum is the sum of its row digests modulo 2**256, written as 64 hex digits, together
with the row count. A sum (unlike XOR) does not cancel out duplicated rows, and neither the row
order nor the engine matters. The engines render the tuples themselves, so a checksum costs one
hash per row in Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..db.connection import Database
from .tables import Row, TransferTable, transfer_tables
from .tuples import encode_row, read_tuples

_MOD = 1 << 256

FORMAT = 2
"""The version of this definition, written into every JSON summary with checksums (the first,
hashing text lines, had none), so that summaries of another definition are not compared."""


@dataclass
class Checksum:
    """Row count and combined digest of a set of rows; add them in any order."""

    rows: int = 0
    total: int = 0

    def add(self, row: Row, table: TransferTable) -> None:
        """Add a row of `table` in canonical Python form."""
        self.add_tuples([encode_row(row, table)])

    def add_tuples(self, tuples: Iterable[bytes]) -> None:
        """Add rows given as canonical tuples (see `tuples.py`)."""
        total = self.total
        count = 0
        sha256, from_bytes = hashlib.sha256, int.from_bytes
        for data in tuples:
            total += from_bytes(sha256(data).digest(), "big")
            count += 1
        self.rows += count
        self.total = total % _MOD

    @property
    def hex(self) -> str:
        return f"{self.total:064x}"

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "checksum": self.hex}


def table_checksum(db: Database, table: TransferTable, batch: int = 1000) -> Checksum:
    """The checksum of one table's rows as the engine holds them (inside the caller's snapshot)."""
    checksum = Checksum()
    for tuples in read_tuples(db, table, batch):
        checksum.add_tuples(tuples)
    return checksum


def table_checksums(db: Database, tables: Sequence[TransferTable] | None = None) -> dict[str, Checksum]:
    """The checksum of each table the transfer moves (unprefixed names), read from one snapshot."""
    chosen = list(tables) if tables is not None else transfer_tables(db)
    with db.transaction(snapshot=True):
        return {t.name: table_checksum(db, t) for t in chosen}
