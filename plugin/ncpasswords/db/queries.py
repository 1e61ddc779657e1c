"""Named queries from `sql/*.sql` (aiosql style `-- name: ...` blocks), translated per engine once.

A file `sql/<family>.sql` holds canonical queries; `sql/<family>.<engine>.sql` may redefine any of
them for one engine where translation is wrong or slow (the engine's name, see db/backends/).
Canonical queries come translated ahead of time from `sql/translated/` where they can
(`pretranslation.py`); the others are translated by sqlglot when first used.
"""

from __future__ import annotations

import re
from functools import cache

from ..resources import resource_dir
from . import backends, pretranslation
from .backends.base import Backend
from .dialects import substitute

_NAME_RE = re.compile(r"^--\s*name:\s*([\w.-]+)\s*$", re.M)


def _parse(text: str) -> dict[str, str]:
    parts = _NAME_RE.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [ln for ln in body.splitlines() if not ln.lstrip().startswith("--")]
        queries[name] = "\n".join(lines).strip().rstrip(";")
    return queries


@cache
def _load() -> dict[tuple[str, str | None], str]:
    """All queries keyed by (name, engine); engine None marks canonical ones."""
    found: dict[tuple[str, str | None], str] = {}
    for path in sorted(resource_dir("sql").glob("*.sql")):
        stem, _, suffix = path.stem.partition(".")
        engine: str | None = None
        if suffix:
            if suffix not in backends.names():
                raise ValueError(f"{path.name}: unknown engine suffix {suffix!r}")
            engine = suffix
        for name, sql in _parse(path.read_text(encoding="utf-8")).items():
            key = (f"{stem}.{name}", engine)
            if key in found:
                raise ValueError(f"{path.name}: query {name!r} is defined twice")
            found[key] = sql
    return found


def names() -> list[str]:
    """Every query name (`family.name`)."""
    return sorted({name for name, _ in _load()})


def canonical_queries(engine: str) -> dict[str, str]:
    """The canonical queries an engine runs translated (those it has no version of its own of)."""
    found = _load()
    return {name: sql for (name, eng), sql in found.items() if eng is None and (name, engine) not in found}


@cache
def get(name: str, engine: str, prefix: str, fragments: tuple[tuple[str, str], ...] = ()) -> str:
    """The SQL of query `family.name` for an engine and table prefix, ready for the driver.

    `fragments` fill `*NAME*` placeholders of template queries (table names, column lists taken
    from the entity definitions, never from user input).
    """
    queries = _load()
    backend = backends.get(engine)
    native = queries.get((name, engine))
    if native is not None:
        return backend.native_params(substitute(fill(native, fragments, backend), prefix))
    canonical = queries.get((name, None))
    if canonical is None:
        raise KeyError(f"no SQL query named {name!r}")
    translated = pretranslation.lookup(name, engine, canonical)
    if translated is not None and (prefix or not pretranslation.bare_fragments(fragments)):
        return substitute(fill(translated, fragments, backend), prefix)
    from .translation import translate

    return translate(substitute(fill(canonical, fragments), prefix), backend)


def fill(sql: str, fragments: tuple[tuple[str, str], ...], backend: Backend | None = None) -> str:
    """Put fragments into a query; identifiers in fragments are quoted canonically ("x"), and a
    hand-written query of an engine gets them as that engine quotes them (`fill_fragment`)."""
    for key, value in fragments:
        if backend is not None:
            value = backend.fill_fragment(value)
        sql = sql.replace(f"*{key}*", value)
    return sql
