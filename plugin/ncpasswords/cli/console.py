"""Console conventions of Nextcloud's occ: global flags, output formats, questions, tables."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from ..errors import UserError
from ..php.json import dumps

OUTPUT_FORMATS = ("plain", "json", "json_pretty")
_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass
class Console:
    """What the global options asked for (`-n`, `-q`, `-v`, `--ansi`), shared by every command;
    cli/symfony.py sets them from the command line."""

    no_interaction: bool = False
    quiet: bool = False
    verbosity: int = 0
    no_warnings: bool = False
    decorated: bool = False

    @property
    def interactive(self) -> bool:
        """Symfony makes the input non-interactive with -n or -q."""
        return not (self.no_interaction or self.quiet)

    def line(self, text: str = "") -> None:
        """One line on stdout, unless `-q`."""
        if not self.quiet:
            click.echo(text, color=self.decorated or None)

    def write(self, text: str) -> None:
        """Text on stdout as it is (no newline added), unless `-q`."""
        if not self.quiet:
            click.echo(text, nl=False, color=self.decorated or None)

    def error(self, text: str) -> None:
        """One line on stderr (shown even with `-q`)."""
        click.echo(text, err=True)

    def progress_enabled(self) -> bool:
        return not self.quiet and sys.stderr.isatty()


def php_arrays(value: Any) -> Any:
    """PHP arrays (dicts) with keys 0..n-1 become lists, as json_encode and occ's output treat them."""
    if isinstance(value, dict):
        if list(value) == list(range(len(value))):
            return [php_arrays(v) for v in value.values()]
        return {str(k): php_arrays(v) for k, v in value.items()}
    if isinstance(value, list):
        return [php_arrays(v) for v in value]
    return value


def format_scalar(value: Any) -> str:
    """A scalar the way Nextcloud's plain output prints it."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


def _plain_lines(value: Any, prefix: str) -> list[str]:
    lines: list[str] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    is_list = not isinstance(value, dict)
    for key, item in items:
        if isinstance(item, (dict, list)):
            lines.append(f"{prefix}{key}:")
            lines.extend(_plain_lines(item, "  " + prefix))
        elif is_list:
            lines.append(f"{prefix}{format_scalar(item)}")
        elif item is None:
            lines.append(f"{prefix}{key}")
        else:
            lines.append(f"{prefix}{key}: {format_scalar(item)}")
    return lines


def render(value: Any, output: str, prefix: str = "  - ") -> str:
    """Render a value in `plain`, `json` or `json_pretty` (core/Command/Base.php rules)."""
    if output == "json":
        return dumps(value)
    if output == "json_pretty":
        return dumps(value, pretty=True)
    if isinstance(value, (dict, list)):
        return "\n".join(_plain_lines(php_arrays(value), prefix))
    return format_scalar(value)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Symfony-style ASCII table."""
    cells = [[str(h) for h in headers]] + [[format_scalar(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(row: list[str]) -> str:
        return "|" + "|".join(f" {c.ljust(w)} " for c, w in zip(row, widths, strict=True)) + "|"

    return "\n".join([rule, fmt(cells[0]), rule, *[fmt(r) for r in cells[1:]], rule])


def output_option(default: str = "plain") -> Callable[[_F], _F]:
    """The `--output[=OUTPUT]` option of Nextcloud's Base commands (alone, it means plain)."""
    return click.option(
        "--output",
        type=click.Choice(OUTPUT_FORMATS),
        default=default,
        is_flag=False,
        flag_value="plain",
        help="Output format (plain, json or json_pretty, default is plain)",
    )


def console() -> Console:
    """The Console of the running command."""
    ctx = click.get_current_context()
    obj = ctx.find_root().obj
    if not isinstance(obj, Console):
        raise UserError("internal error: console not initialised")
    return obj
