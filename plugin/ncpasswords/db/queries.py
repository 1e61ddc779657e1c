"""Named queries from `sql/*.sql` (aiosql style `-- name: ...` blocks), translated per engine once.

A file `sql/<family>.sql` holds canonical queries; `sql/<family>.<dialect>.sql` may redefine any of
them for one engine where translation is wrong or slow.
"""

from __future__ import annotations

import re
from functools import cache

from ..resources import resource_dir
from .dialects import DIALECTS, Dialect, substitute, translate

_NAME_RE = re.compile(r"^--\s*name:\s*([\w.-]+)\s*$", re.M)


def _parse(text: str) -> dict[str, str]:
    parts = _NAME_RE.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [ln for ln in body.splitlines() if not ln.lstrip().startswith("--")]
        queries[name] = "\n".join(lines).strip().rstrip(";")
    return queries


@cache
def _load() -> dict[tuple[str, Dialect | None], str]:
    """All queries keyed by (name, dialect); dialect None marks canonical ones."""
    found: dict[tuple[str, Dialect | None], str] = {}
    for path in sorted(resource_dir("sql").glob("*.sql")):
        stem, _, suffix = path.stem.partition(".")
        dialect: Dialect | None = None
        if suffix:
            if suffix not in DIALECTS:
                raise ValueError(f"{path.name}: unknown dialect suffix {suffix!r}")
            dialect = suffix
        for name, sql in _parse(path.read_text(encoding="utf-8")).items():
            key = (f"{stem}.{name}", dialect)
            if key in found:
                raise ValueError(f"{path.name}: query {name!r} is defined twice")
            found[key] = sql
    return found


def names() -> list[str]:
    """Every query name (`family.name`)."""
    return sorted({name for name, _ in _load()})


@cache
def get(name: str, dialect: Dialect, prefix: str, fragments: tuple[tuple[str, str], ...] = ()) -> str:
    """The SQL of query `family.name` for an engine and table prefix, ready for the driver.

    `fragments` fill `*NAME*` placeholders of template queries (table names, column lists taken
    from the entity definitions, never from user input).
    """
    queries = _load()
    native = queries.get((name, dialect))
    if native is not None:
        sql = substitute(_fill(native, fragments, dialect), prefix)
        if dialect != "sqlite":
            sql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)
        return sql
    canonical = queries.get((name, None))
    if canonical is None:
        raise KeyError(f"no SQL query named {name!r}")
    return translate(substitute(_fill(canonical, fragments), prefix), dialect)


# A string literal ('it''s') or a canonically quoted identifier ("x").
_LITERAL_OR_IDENT = re.compile(r"('(?:[^']|'')*')|\"(\w+)\"")


def _fill(sql: str, fragments: tuple[tuple[str, str], ...], dialect: Dialect | None = None) -> str:
    """Put fragments into a query; identifiers in fragments are quoted canonically ("x"), so a
    native MySQL query gets them in backticks (string literals in fragments are left alone)."""
    for key, value in fragments:
        if dialect == "mysql":
            value = _LITERAL_OR_IDENT.sub(lambda m: m[1] or f"`{m[2]}`", value)
        sql = sql.replace(f"*{key}*", value)
    return sql
