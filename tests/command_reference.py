"""The generated parts of docs/internals/commands.md: each command's synopsis, arguments and options,
written from `occ list --format=json` (the definitions of the click commands themselves).

A page block starts with `<!-- occ: <command> -->` (or `<!-- occ: global options -->`) and ends
with `<!-- /occ -->`; what is between is exactly what `render` returns for that command, so the
page cannot drift from the code (tests/test_docs_reference.py checks it). After changing a
command's definition, rewrite the blocks with

    .venv/bin/python tests/command_reference.py

and write the prose around a new command's block by hand.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "internals" / "commands.md"
GLOBAL = "global options"
BLOCK = re.compile(r"<!-- occ: (?P<name>[^>]+?) -->\n(?P<body>.*?)<!-- /occ -->", re.S)


def described() -> dict[str, Any]:
    """`occ list --format=json` of this checkout."""
    result = subprocess.run(
        [sys.executable, "-m", "ncpasswords", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def commands(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The documented commands by name (the hidden `_complete` is internal)."""
    return {c["name"]: c for c in data["commands"] if not c.get("hidden")}


def global_options(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The options every command has (the application's own, in their order)."""
    listed = commands(data)
    shared = set.intersection(*(set(c["definition"]["options"]) for c in listed.values()))
    first = next(iter(listed.values()))["definition"]["options"]
    return [option for key, option in first.items() if key in shared]


STYLE_TAG = re.compile(r"</?(?:info|comment|question|error)>")


def _cell(text: str) -> str:
    """Text in a Markdown table cell, literally (Symfony's style tags dropped, as `occ help` does)."""
    text = STYLE_TAG.sub("", text)
    return " ".join(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").split())


def _default(value: Any) -> str:
    if value is None or value is False or value == []:
        return ""
    if value is True:
        return "`true`"
    return f"`{json.dumps(value) if isinstance(value, str) and not value else value}`"


def _option_name(option: dict[str, Any]) -> str:
    name = option["name"]
    value = re.sub(r"[^A-Z0-9]", "-", name.lstrip("-").upper())
    if option["accept_value"]:
        name += f" {value}" if option["is_value_required"] else f"[={value}]"
    shortcut = option["shortcut"].replace("|", "\\|")  # `-v|-vv|-vvv`: a pipe would end the cell
    return f"`{shortcut}, {name}`" if shortcut else f"`{name}`"


def _options_table(options: list[dict[str, Any]], defaults: bool = True) -> list[str]:
    lines = ["| option | default | |", "|---|---|---|"] if defaults else ["| option | |", "|---|---|"]
    for option in options:
        note = " (may be repeated)" if option["is_multiple"] else ""
        default = f" {_default(option['default'])} |" if defaults else ""
        lines.append(f"| {_option_name(option)} |{default} {_cell(option['description'])}{note} |")
    return lines


def render(command: dict[str, Any], shared: set[str]) -> str:
    """The generated block of one command."""
    lines = [_cell(command["description"]), "", "```text", *command["usage"], "```"]
    help_text = command["help"].strip()
    if help_text and help_text != command["description"]:
        lines += ["", "```text", *help_text.splitlines(), "```"]
    arguments = list((command["definition"]["arguments"] or {}).values())
    if arguments:
        lines += ["", "| argument | | default | |", "|---|---|---|---|"]
        for argument in arguments:
            kind = "required" if argument["is_required"] else "optional"
            if argument["is_array"]:
                kind += ", any number"
            default, description = _default(argument["default"]), _cell(argument["description"])
            lines.append(f"| `{argument['name']}` | {kind} | {default} | {description} |")
    options = [o for key, o in command["definition"]["options"].items() if key not in shared]
    if options:
        lines += ["", *_options_table(options)]
    return "\n".join(lines) + "\n"


def blocks(data: dict[str, Any]) -> dict[str, str]:
    """Every block the page must hold: the global options and one per command."""
    options = global_options(data)
    shared = {o["name"].lstrip("-") for o in options}
    out = {GLOBAL: "\n".join(_options_table(options, defaults=False)) + "\n"}
    for name, command in commands(data).items():
        out[name] = render(command, shared)
    return out


def page_blocks(text: str) -> dict[str, str]:
    """The blocks a page holds, by name."""
    return {m["name"]: m["body"] for m in BLOCK.finditer(text)}


def rewrite(text: str, wanted: dict[str, str]) -> str:
    """The page with every block replaced by its current form (blocks of unknown names kept)."""

    def one(match: re.Match[str]) -> str:
        name = match["name"]
        body = wanted.get(name, match["body"])
        return f"<!-- occ: {name} -->\n{body}<!-- /occ -->"

    return BLOCK.sub(one, text)


def main() -> int:
    wanted = blocks(described())
    text = PAGE.read_text(encoding="utf-8")
    PAGE.write_text(rewrite(text, wanted), encoding="utf-8")
    missing = sorted(set(wanted) - set(page_blocks(text)))
    for name in missing:
        print(f"{PAGE.relative_to(ROOT)}: no block for {name}: add '<!-- occ: {name} -->' and '<!-- /occ -->'")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
