"""Values the target would refuse or change, found before anything is written: one pass of SQL
aggregates per table over the source (docs/moving-between-engines.md#values-that-are-refused).

- negative values in columns Nextcloud declares unsigned, where the target has unsigned columns;
- values of unsigned columns beyond the signed range, where the target has no unsigned columns;
- dates with a zero year, month or day (MySQL's `0000-00-00`), which no other engine takes;
- text longer than its `VARCHAR(n)`, where the target enforces lengths;
- unique keys that collide under the target's collation (MySQL ignores trailing spaces).

Nothing is altered: every finding is reported per table and the conversion stops. A check the
source engine makes itself (its own unsigned columns, lengths, valid dates or collation) is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..db import portable
from ..db.backends.base import Backend
from ..db.connection import Database
from ..db.dialects import quote_canonical

_SIGNED_MAX = {"bigint": 2**63 - 1, "integer": 2**31 - 1, "smallint": 2**15 - 1}
_ZERO_DATES = {"zero_year": "0000%", "zero_month": "____-00%", "zero_day": "____-__-00%"}


@dataclass(frozen=True)
class Finding:
    """`count` rows of `table` whose `column` the target refuses, and why."""

    table: str
    column: str
    count: int
    what: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.count} {self.what}"


def scan(source: Database, tables: list[portable.Table], target: Backend) -> list[Finding]:
    """Every finding in the tables (unprefixed names) for the `target` engine."""
    findings: list[Finding] = []
    for table in tables:
        findings.extend(_scan_table(source, table, target))
        if target.pads_spaces and not source.backend.pads_spaces:
            findings.extend(_padded_duplicates(source, table))
    return findings


def _scan_table(source: Database, table: portable.Table, target: Backend) -> list[Finding]:
    checks: list[tuple[str, str, str]] = []  # (column, SQL condition, what it finds)
    for column in table.columns:
        name = _quote(source, column.name)
        if column.type in portable.INTEGER_TYPES and column.unsigned:
            if target.has_unsigned:
                if source.backend.has_unsigned:
                    continue  # the source refuses them too
                checks.append((column.name, f"{name} < 0", "negative values in an unsigned column"))
            else:
                limit = _SIGNED_MAX[column.type]
                checks.append((column.name, f"{name} > {limit}", f"values above {limit}, the target's largest"))
        elif column.type in ("datetime", "datetimetz", "date") and not source.backend.valid_dates_only:
            text = f"CAST({name} AS TEXT)"
            condition = " OR ".join(f"{text} LIKE :{key}" for key in _ZERO_DATES)
            checks.append((column.name, condition, "dates with a zero year, month or day"))
        elif (
            column.type == "string"
            and column.length
            and target.enforces_lengths
            and not source.backend.enforces_lengths
        ):
            checks.append(
                (
                    column.name,
                    f"CHAR_LENGTH({name}) > {column.length}",
                    f"values longer than {column.length} characters",
                )
            )
    if not checks:
        return []
    sums = ", ".join(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)" for _, condition, _ in checks)
    sql = source.sql("transfer.scan", (("TABLE", table.name), ("CHECKS", sums)))
    params = _ZERO_DATES if any(":zero_year" in c for _, c, _ in checks) else None
    cur = source.execute_sql(sql, params)
    try:
        row = cur.fetchone()
    finally:
        cur.close()
    return [
        Finding(source.table(table.name), column, int(count), what)
        for (column, _, what), count in zip(checks, row[1:], strict=True)
        if count
    ]


def _checks_lengths(source: Database, target: Backend) -> bool:
    return target.enforces_lengths and not source.backend.enforces_lengths


def _padded_duplicates(source: Database, table: portable.Table) -> list[Finding]:
    findings = []
    for index in table.indexes:
        if not index.unique:
            continue
        texts = {c.name for c in table.columns if c.type in ("string", "text") and c.name in index.columns}
        if not texts:
            continue
        keys = ", ".join(f"RTRIM({_quote(source, c)})" if c in texts else _quote(source, c) for c in index.columns)
        not_null = " AND ".join(f"{_quote(source, c)} IS NOT NULL" for c in index.columns)
        sql = source.sql("transfer.padded_duplicates", (("TABLE", table.name), ("KEYS", keys), ("NOT_NULL", not_null)))
        count = int(source.scalar_sql(sql) or 0)
        if count:
            what = f"keys of the unique index {index.name} that collide when trailing spaces are ignored"
            findings.append(Finding(source.table(table.name), ",".join(index.columns), count, what))
    return findings


def _quote(source: Database, column: str) -> str:
    """A column as the source names it (in lower case where the engine folds names)."""
    return quote_canonical(column.lower() if source.backend.folds_names else column)


def report(findings: list[Finding]) -> str:
    """The findings on one line, per table."""
    return "; ".join(str(f) for f in findings)
