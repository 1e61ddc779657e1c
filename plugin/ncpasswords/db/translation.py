"""Translating canonical SQL (PostgreSQL syntax, `:name` parameters) to an engine's dialect with
sqlglot. Imported only when a query is not in the pre-translated files (docs/internals/index.md#pre-translated-queries):
sqlglot takes a tenth of a second and ~16 MB to import."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.postgres import Postgres

if TYPE_CHECKING:
    from .backends.base import Backend


class Canonical(Postgres):
    """Our canonical SQL: PostgreSQL syntax, but ORDER BY columns are never NULL, so sqlglot must not
    rewrite null ordering for engines that sort NULLs first."""

    NULL_ORDERING = "nulls_are_small"


def _reader(backend: Backend) -> type[Dialect] | str:
    return Canonical if backend.sqlglot_read == "canonical" else backend.sqlglot_read


@lru_cache(maxsize=1024)
def translate(canonical_sql: str, backend: Backend) -> str:
    """Translate one canonical statement (PostgreSQL syntax, `:name` parameters) for an engine.

    The result uses the driver's parameter style: `:name` for sqlite3, `%(name)s` for psycopg and
    PyMySQL. Literal `%` is not allowed in canonical SQL (pass such values as parameters). Each
    node of the tree is first given to `backend.rewrite` (e.g. the `exact(x)` marker).
    """
    if "%" in canonical_sql:
        raise ValueError("canonical SQL must not contain a literal '%'; bind it as a parameter")
    tree = sqlglot.parse_one(canonical_sql, read=_reader(backend))
    tree = tree.transform(backend.rewrite)
    return tree.sql(dialect=backend.sqlglot_name)


def is_exact_marker(node: exp.Expression) -> bool:
    """Whether a node is canonical SQL's `exact(x)` (see `Backend.rewrite`)."""
    return isinstance(node, exp.Anonymous) and node.name.lower() == "exact"
