"""Canonical SQL and what is the same for every engine: table prefixes, the DDL placeholders,
statement splitting, and translating canonical SQL to an engine's dialect (with its backend)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres

if TYPE_CHECKING:
    from .backends.base import Backend

# Empty, or up to 32 identifier characters that do not start with a digit: the prefix begins
# every table name, and an unquoted SQL identifier cannot start with a digit.
_PREFIX_RE = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]{0,31})?")


class Canonical(Postgres):
    """Our canonical SQL: PostgreSQL syntax, but ORDER BY columns are never NULL, so sqlglot must not
    rewrite null ordering for engines that sort NULLs first."""

    NULL_ORDERING = "nulls_are_small"


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


@lru_cache(maxsize=1024)
def translate(canonical_sql: str, backend: Backend) -> str:
    """Translate one canonical statement (PostgreSQL syntax, `:name` parameters) for an engine.

    The result uses the driver's parameter style: `:name` for sqlite3, `%(name)s` for psycopg and
    PyMySQL. Literal `%` is not allowed in canonical SQL (pass such values as parameters). Each
    node of the tree is first given to `backend.rewrite` (e.g. the `exact(x)` marker).
    """
    if "%" in canonical_sql:
        raise ValueError("canonical SQL must not contain a literal '%'; bind it as a parameter")
    tree = sqlglot.parse_one(canonical_sql, read=backend.sqlglot_read)
    tree = tree.transform(backend.rewrite)
    return tree.sql(dialect=backend.sqlglot_name)


def is_exact_marker(node: exp.Expression) -> bool:
    """Whether a node is canonical SQL's `exact(x)` (see `Backend.rewrite`)."""
    return isinstance(node, exp.Anonymous) and node.name.lower() == "exact"


def split_statements(script: str) -> list[str]:
    """Split a SQL file into statements on `;` at line ends, dropping `--` comment lines."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip()]
