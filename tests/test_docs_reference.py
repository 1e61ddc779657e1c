"""The reference pages of docs/internals/ checked against the code, so that they cannot go stale:
the command reference against `occ list --format=json`, the schema page against a freshly
installed database on every engine, and every link to a page of docs/ (from the pages, the code,
the SQL and the tests) against the pages and their headings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import command_reference
from conftest import InstalledInstance
from ncpasswords.db import introspect

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCHEMA_PAGE = DOCS / "internals" / "schema.md"
# Where code and tests name pages of docs/ (`docs/internals/schema.md#migrations`).
CODE_FOLDERS = ("plugin", "tests", "sql", "migrations", "bench", "examples", "compose", "scripts")
CODE_LINK = re.compile(r"docs/((?:[\w.-]+/)*[\w.-]+\.md)(?:#([\w-]+))?")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


# -- the command reference -------------------------------------------------------------------------


def test_the_command_reference_has_every_command_as_the_code_defines_it() -> None:
    wanted = command_reference.blocks(command_reference.described())
    found = command_reference.page_blocks(command_reference.PAGE.read_text(encoding="utf-8"))
    hint = "run: .venv/bin/python tests/command_reference.py"
    assert sorted(set(wanted) - set(found)) == [], f"commands without a block in {command_reference.PAGE}"
    assert sorted(set(found) - set(wanted)) == [], f"blocks of commands that do not exist; {hint}"
    stale = [name for name, body in wanted.items() if found[name] != body]
    assert stale == [], f"blocks that differ from the commands' definitions; {hint}"


def test_the_renderer_escapes_what_would_break_a_table() -> None:
    command = {
        "description": "One <b>|</b> two",
        "usage": ["x [--mode MODE]"],
        "help": "One <b>|</b> two",
        "definition": {
            "arguments": [],
            "options": {
                "mode": {
                    "name": "--mode",
                    "shortcut": "-m|-M",
                    "accept_value": True,
                    "is_value_required": True,
                    "is_multiple": False,
                    "description": "a|b <info>c</info>",
                    "default": "",
                }
            },
        },
    }
    text = command_reference.render(command, set())
    assert "One &lt;b&gt;\\|&lt;/b&gt; two" in text
    assert '| `-m\\|-M, --mode MODE` | `""` | a\\|b c |' in text


# -- the schema page -------------------------------------------------------------------------------


def documented_tables() -> dict[str, tuple[list[tuple[str, ...]], list[tuple[str, ...]]]]:
    """Per `### table` section of the schema page: its column rows and its index rows."""
    tables: dict[str, tuple[list[tuple[str, ...]], list[tuple[str, ...]]]] = {}
    for section in re.split(r"^### ", SCHEMA_PAGE.read_text(encoding="utf-8"), flags=re.M)[1:]:
        name = section.split("\n", 1)[0].strip()
        columns: list[tuple[str, ...]] = []
        indexes: list[tuple[str, ...]] = []
        target: list[tuple[str, ...]] | None = None
        for line in section.splitlines():
            if not line.startswith("|"):
                target = None
                continue
            cells = tuple(cell.strip() for cell in line.strip("|").split("|"))
            if cells[:2] == ("column", "type"):
                target = columns
            elif cells[:2] == ("index", "unique"):
                target = indexes
            elif target is not None and not set(cells[0]) <= {"-"}:
                target.append(tuple(cell.replace("`", "") for cell in cells))
        if columns:
            tables[name] = (columns, indexes)
    return tables


def declared_type(engine: str, column: introspect.ColumnInfo) -> str:
    """An introspected column type in the page's (Doctrine's) words."""
    if column.autoincrement:
        return "bigint unsigned, auto-increment"
    kind = column.type.lower().replace("character varying", "varchar")
    kind = re.sub(r"^(bigint|smallint|int|tinyint)\(\d+\)", r"\1", kind)  # MySQL display widths
    if match := re.fullmatch(r"varchar\((\d+)\)", kind):
        return f"string({match[1]})"
    words = {"clob": "text", "longtext": "text", "tinyint": "boolean", "int": "integer"}
    return " ".join(words.get(word, word) for word in kind.split())


def page_type(engine: str, declared: str) -> str:
    """The page's type as the engine can show it (PostgreSQL has no unsigned integers)."""
    return declared.replace(" unsigned", "") if engine == "pgsql" and "auto-increment" not in declared else declared


def page_default(value: str) -> str | None:
    if value == "":
        return None
    return {"false": "0", "true": "1"}.get(value, value.strip("'"))


def engine_default(value: str | None) -> str | None:
    if value is None or value.upper() == "NULL":  # PostgreSQL shows `DEFAULT NULL` as NULL::type
        return None
    return {"false": "0", "true": "1"}.get(value, value)


def test_the_schema_page_describes_the_installed_tables(installed: InstalledInstance) -> None:
    with installed.connect() as db:
        engine = db.dialect
        described = introspect.describe(db)
    documented = documented_tables()
    assert sorted(documented) == sorted(described)
    for name, (columns, indexes) in documented.items():
        info = described[name]
        got = [
            (c.name, declared_type(engine, c), "yes" if c.nullable else "no", engine_default(c.default))
            for c in info.columns
        ]
        want = [(c[0], page_type(engine, c[1]), c[2], page_default(c[3])) for c in columns]
        assert got == want, name
        got_indexes = sorted(
            (i.name, "yes" if i.unique else "no", ", ".join(i.columns))
            for i in info.indexes
            if not (i.primary and i.columns == ("id",))
        )
        assert got_indexes == sorted(indexes), name


# -- links to the pages ----------------------------------------------------------------------------


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := re.match(r"#{1,6} (.+)", line)):
            base = slug(match[1])
            name, number = base, 0
            while name in found:
                number += 1
                name = f"{base}-{number}"
            found.add(name)
    return found


def check_link(page: Path, anchor: str | None, where: str) -> None:
    assert page.is_file(), f"{where}: {page.relative_to(ROOT)} does not exist"
    if anchor:
        assert anchor in anchors(page), f"{where}: {page.relative_to(ROOT)} has no heading #{anchor}"


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_between_the_pages_lead_somewhere(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    for target in MD_LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        check_link((page.parent / path).resolve() if path else page, anchor, str(page.relative_to(ROOT)))


def test_links_from_the_code_lead_somewhere() -> None:
    checked = 0
    for folder in CODE_FOLDERS:
        for source in sorted((ROOT / folder).rglob("*")):
            if not source.is_file() or source.suffix not in (".py", ".sql", ".md", ".sh", ".yaml", ".toml", ""):
                continue
            text = source.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), 1):
                for path, anchor in CODE_LINK.findall(line):
                    check_link(DOCS / path, anchor or None, f"{source.relative_to(ROOT)}:{number}")
                    checked += 1
    assert checked > 20
