"""Helpers shared by commands: the installed instance and the app's interactive conventions."""

from __future__ import annotations

import click

from ..errors import NotInstalledError, UserError
from ..instance.instance import Instance
from .console import Console


def installed_instance() -> Instance:
    """The instance from config.php; raises NotInstalledError when there is none."""
    instance = Instance.load()
    if not instance.installed:
        raise NotInstalledError()
    return instance


NON_INTERACTIVE_EXIT = 107


def start_interactive(con: Console) -> None:
    """The start-up check of the app's interactive commands (docs/internals/commands.md#interactive-commands)."""
    if not con.interactive and not con.no_interaction:
        raise UserError(
            'Interactive command requires "--no-interaction" to be set to run in non-interactive shell',
            NON_INTERACTIVE_EXIT,
        )
    if con.no_interaction:
        con.line('"--no-interaction" is set, will assume yes for all questions.')
        con.line()


def confirm(con: Console, description: str) -> bool:
    """Print the ❗❗❗ banner and ask for `yes` (assumed with -n); False means aborted."""
    con.line(f"❗❗❗ {description} ❗❗❗")
    if not con.interactive:
        con.line()
        return True
    answer = click.prompt('Type "yes" to confirm this', default="", show_default=False, prompt_suffix=": ")
    con.line()
    if answer.strip() != "yes":
        con.line("aborting")
        return False
    return True
