"""`passwords:db:checksum`: the app's tables' row counts and checksums as a summary, and the
comparison with a summary written earlier by db:convert-type, passwords:db:dump or this command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UserError
from .checksum import FORMAT, Checksum

Tables = dict[str, dict[str, Any]]


def checksum_summary(sums: dict[str, Checksum]) -> dict[str, Any]:
    """The JSON summary of the tables' checksums (the `tables` part of the other summaries)."""
    return {
        "tables": {name: s.as_dict() for name, s in sums.items()},
        "rows": sum(s.rows for s in sums.values()),
        "checksum_format": FORMAT,
    }


def read_summary(path: Path) -> Tables:
    """The `tables` of a JSON summary; a file that is not one, or one with checksums of another
    definition, is refused with one line."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        tables = summary["tables"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"Cannot read a summary with tables from {path}: {exc}") from None
    if summary.get("checksum_format") != FORMAT:
        raise UserError(
            f"{path} holds checksums of another definition (written by another version of "
            "ncpasswords); write the summary again with this version to compare"
        )
    if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
        raise UserError(f"Cannot read a summary with tables from {path}")
    return tables


def differing_tables(expected: Tables, sums: dict[str, Checksum]) -> list[str]:
    """The tables of `expected` whose row count or checksum differs from `sums` (or that are missing)."""
    return [
        name
        for name, want in expected.items()
        if name not in sums or sums[name].as_dict() != {k: want.get(k) for k in ("rows", "checksum")}
    ]
