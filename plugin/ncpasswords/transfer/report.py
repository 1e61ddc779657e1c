"""What a convert or a dump moved: rows, checksums and time per table, and the summary it prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .checksum import FORMAT

Progress = Callable[[str, str, int], None]
"""Called as `progress(phase, table, rows_done)`; phase is `copy`, `verify` or `dump`."""

Log = Callable[[str], None]
"""Receives the plain-text lines a command shows (schema steps, one line per table)."""


@dataclass
class TableReport:
    rows: int
    checksum: str
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class TransferReport:
    """Per table (unprefixed name) what was moved; core tables count only the app's rows."""

    source: str
    target: str
    tables: dict[str, TableReport] = field(default_factory=dict)
    seconds: float = 0.0
    verified: bool | None = None
    """True once every table was read back and compared (convert); None where nothing is read back (dump)."""

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    def summary(self) -> dict[str, Any]:
        """The `--output=json` document."""
        summary: dict[str, Any] = {
            "source": self.source,
            "target": self.target,
            "tables": {
                name: {"rows": t.rows, "checksum": t.checksum, "seconds": round(t.seconds, 3)}
                for name, t in self.tables.items()
            },
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "checksum_format": FORMAT,
        }
        if self.verified is not None:
            summary["verified"] = self.verified
        return summary
