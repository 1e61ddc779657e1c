"""What differs between the three engines, in one place: names, quoting, booleans, SQL translation."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres

Dialect = Literal["sqlite", "pgsql", "mysql"]
DIALECTS: tuple[Dialect, ...] = ("sqlite", "pgsql", "mysql")

# config.php `dbtype` values (Nextcloud accepts `sqlite` as an alias of `sqlite3`).
DBTYPE_TO_DIALECT: dict[str, Dialect] = {"sqlite3": "sqlite", "sqlite": "sqlite", "pgsql": "pgsql", "mysql": "mysql"}
DIALECT_TO_DBTYPE: dict[Dialect, str] = {"sqlite": "sqlite3", "pgsql": "pgsql", "mysql": "mysql"}
_SQLGLOT_NAME: dict[Dialect, str] = {"sqlite": "sqlite", "pgsql": "postgres", "mysql": "mysql"}

# Empty, or up to 32 identifier characters that do not start with a digit: the prefix begins
# every table name, and an unquoted SQL identifier cannot start with a digit.
_PREFIX_RE = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]{0,31})?")


class _Canonical(Postgres):
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


def quote_ident(dialect: Dialect, name: str) -> str:
    """Quote an identifier for the engine (needed for the reserved column `limit`)."""
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def to_db_bool(dialect: Dialect, value: bool) -> bool | int:
    """Booleans as the engine stores them: PostgreSQL true/false, MySQL and SQLite 1/0."""
    return value if dialect == "pgsql" else int(value)


def substitute(sql: str, prefix: str, mysql_utf8mb4: bool = True) -> str:
    """Replace `*PREFIX*` (as Nextcloud does) and the MySQL charset placeholders of the DDL files."""
    sql = sql.replace("*PREFIX*", check_prefix(prefix))
    charset, collation = ("utf8mb4", "utf8mb4_bin") if mysql_utf8mb4 else ("utf8", "utf8_bin")
    return sql.replace("*CHARSET*", charset).replace("*COLLATION*", collation)


@lru_cache(maxsize=1024)
def translate(canonical_sql: str, dialect: Dialect) -> str:
    """Translate one canonical statement (PostgreSQL syntax, `:name` parameters) for the driver.

    The result uses the driver's parameter style: `:name` for sqlite3, `%(name)s` for psycopg and
    PyMySQL. Literal `%` is not allowed in canonical SQL (pass such values as parameters).

    `exact(x)` marks a value that a text column must equal byte for byte: MySQL/MariaDB's
    `utf8mb4_bin` ignores trailing spaces (`'alice ' = 'alice'`), so there it becomes
    `CAST(x AS BINARY)`, which compares exactly and still lets the column's index find the rows;
    PostgreSQL and SQLite compare text exactly already and get `x` as it is.
    """
    if "%" in canonical_sql:
        raise ValueError("canonical SQL must not contain a literal '%'; bind it as a parameter")
    read = Postgres if dialect == "pgsql" else _Canonical
    tree = sqlglot.parse_one(canonical_sql, read=read)
    tree = tree.transform(lambda node: _exact(node, dialect))
    if dialect == "mysql":
        tree = tree.transform(lambda node: exp.var(f"%({node.name})s") if isinstance(node, exp.Placeholder) else node)
    return tree.sql(dialect=_SQLGLOT_NAME[dialect])


def _exact(node: exp.Expression, dialect: Dialect) -> exp.Expression:
    """The canonical `exact(x)` marker for one engine (see `translate`)."""
    if not (isinstance(node, exp.Anonymous) and node.name.lower() == "exact"):
        return node
    value: exp.Expression = node.expressions[0]
    if dialect == "mysql":
        return exp.Cast(this=value, to=exp.DataType.build("BINARY", dialect="mysql"))
    return value


def split_statements(script: str) -> list[str]:
    """Split a SQL file into statements on `;` at line ends, dropping `--` comment lines."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip()]
