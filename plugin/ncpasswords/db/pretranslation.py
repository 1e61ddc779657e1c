"""The canonical queries of `sql/` translated ahead of time, one file per engine
(`sql/translated/<engine>.json`), so that running a command does not import sqlglot
(docs/internals/index.md#pre-translated-queries).

Each entry keeps the table prefix and the identifier fragments as placeholders and records a hash
of the canonical text it was made from: an entry whose canonical query has changed since is not
used (the query is translated when it runs, as one that has no entry), nor one given table names
with an empty prefix (a bare name may be a reserved word that the translation would quote). Regenerate with
`python -m ncpasswords.db.pretranslation` after changing a query.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from functools import cache
from pathlib import Path

from ..resources import resource_dir

#: Placeholders that stand for identifiers, and how a translation may carry them: as a bare
#: identifier (a table name, glued to the prefix) or as quoted column names.
_BARE = {"PREFIX": "zqprefixqz", "TABLE": "zqtableqz", "REVISIONS": "zqrevisionsqz", "NEWNAME": "zqnewnameqz"}
_QUOTED = {"COLUMN": "zqcolumnqz", "COLUMNS": "zqcolumnsqz"}
#: Values each placeholder is tried with before an entry is written (its translation filled in
#: must equal the translation of the filled-in query for every one of them).
_SAMPLES: dict[str, tuple[str, ...]] = {
    "PREFIX": ("oc_", "", "Nc2_"),
    "TABLE": ("passwords_password", "passwords_tag_rv"),
    "REVISIONS": ("passwords_password_rv",),
    "NEWNAME": ("passwords_password_new",),
    "COLUMN": ('"label"', '"limit"'),
    "COLUMNS": ('"id", "label", "limit"', '"user_id"'),
}
_PLACEHOLDER = re.compile(r"\*([A-Z_]+)\*")
_GENERATED_BY = (
    "python -m ncpasswords.db.pretranslation, from the canonical queries of sql/ "
    "(docs/internals/index.md#pre-translated-queries): do not edit"
)


def bare_fragments(fragments: tuple[tuple[str, str], ...]) -> bool:
    """Whether fragments name tables: without a prefix such a name may be a reserved word (MySQL's
    `groups`), which a translation quotes; the entries are used only with a prefix then."""
    return any(kind in _BARE for kind, _ in fragments)


def source_hash(canonical: str) -> str:
    """The hash an entry records of the canonical text it was translated from."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def path(engine: str) -> Path:
    """The file of an engine's pre-translated queries."""
    return resource_dir("sql") / "translated" / f"{engine}.json"


@cache
def _entries(engine: str) -> dict[str, tuple[str, str]]:
    file = path(engine)
    if not file.is_file():
        return {}
    queries = json.loads(file.read_text(encoding="utf-8"))["queries"]
    return {name: (entry["source"], entry["sql"]) for name, entry in queries.items()}


def lookup(name: str, engine: str, canonical: str) -> str | None:
    """The pre-translated query `name` for an engine (prefix and fragments still placeholders),
    or None when there is none or it was made from another version of the canonical text."""
    entry = _entries(engine).get(name)
    if entry is None or entry[0] != source_hash(canonical):
        return None
    return entry[1]


def pretranslate(canonical: str, engine: str) -> str | None:
    """A canonical query translated with its placeholders kept, or None when it has placeholders
    that are not identifiers or the result does not equal the direct translation for every sample."""
    from . import backends
    from .dialects import substitute
    from .queries import fill
    from .translation import translate

    backend = backends.get(engine)
    kinds = set(_PLACEHOLDER.findall(canonical))
    if not kinds <= _BARE.keys() | _QUOTED.keys():
        return None
    text = canonical
    for kind, sentinel in _BARE.items():
        text = text.replace(f"*{kind}*", sentinel)
    for kind, sentinel in _QUOTED.items():
        text = text.replace(f"*{kind}*", f'"{sentinel}"')
    translated = translate(text, backend)
    for kind, sentinel in _QUOTED.items():
        translated = re.sub(rf"[`\"]?{sentinel}[`\"]?", f"*{kind}*", translated)
    for kind, sentinel in _BARE.items():
        translated = translated.replace(sentinel, f"*{kind}*")
    if re.search(r"zq\w*qz", translated):
        return None
    for trial in _trials(kinds - {"PREFIX"}):
        for prefix in _SAMPLES["PREFIX"]:
            direct = translate(substitute(fill(canonical, trial), prefix), backend)
            if substitute(fill(translated, trial, backend), prefix) != direct:
                return None
    return translated


def _trials(kinds: set[str]) -> list[tuple[tuple[str, str], ...]]:
    """Fragment sets to try: each placeholder with each of its samples (the others at their first)."""
    ordered = sorted(kinds)
    trials = [tuple((k, _SAMPLES[k][0]) for k in ordered)]
    for kind in ordered:
        for value in _SAMPLES[kind][1:]:
            trials.append(tuple((k, value if k == kind else _SAMPLES[k][0]) for k in ordered))
    return trials


def render(engine: str) -> str:
    """The text of an engine's file: every canonical query without an engine version of its own
    that can be translated ahead of time."""
    from .queries import canonical_queries

    queries = {}
    for name, canonical in canonical_queries(engine).items():
        translated = pretranslate(canonical, engine)
        if translated is not None:
            queries[name] = {"source": source_hash(canonical), "sql": translated}
    return json.dumps({"generated_by": _GENERATED_BY, "queries": queries}, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    """Write every engine's file."""
    from . import backends

    for engine in backends.names():
        target = path(engine)
        target.parent.mkdir(exist_ok=True)
        target.write_text(render(engine), encoding="utf-8")
        print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
