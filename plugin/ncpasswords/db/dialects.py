"""Canonical SQL and what is the same for every engine: table prefixes, the DDL placeholders and
statement splitting (translating canonical SQL for an engine is `translation.py`)."""

from __future__ import annotations

import re

# Empty, or up to 32 identifier characters that do not start with a digit: the prefix begins
# every table name, and an unquoted SQL identifier cannot start with a digit.
_PREFIX_RE = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]{0,31})?")


def check_prefix(prefix: str) -> str:
    """Table prefixes are spliced into SQL, so they are restricted to identifier characters."""
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(
            f"Invalid table prefix {prefix!r}: up to 32 letters, digits and '_', not starting with a digit"
        )
    return prefix


def quote_canonical(name: str) -> str:
    """An identifier quoted as canonical SQL (and query fragments) quote it: "name"."""
    return '"' + name.replace('"', '""') + '"'


def substitute(sql: str, prefix: str, mysql_utf8mb4: bool = True) -> str:
    """Replace `*PREFIX*` (as Nextcloud does) and the MySQL charset placeholders of the DDL files."""
    sql = sql.replace("*PREFIX*", check_prefix(prefix))
    charset, collation = ("utf8mb4", "utf8mb4_bin") if mysql_utf8mb4 else ("utf8", "utf8_bin")
    return sql.replace("*CHARSET*", charset).replace("*COLLATION*", collation)


def split_statements(script: str) -> list[str]:
    """Split a SQL file into statements on `;` at line ends, dropping `--` comment lines."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip()]
