"""`maintenance:repair`: the Passwords app's database repair step (docs/repair.md)."""

from __future__ import annotations

import time

import click

from ..repair.objects import STEP_NAME, repair_objects
from .common import installed_instance
from .console import Console, console


def run_repair(con: Console) -> None:
    """Run the app's repair step on the installed instance, printing its lines as Nextcloud's
    `maintenance:repair` prints a repair step's."""
    instance = installed_instance()
    con.line(f" - {STEP_NAME}")
    with instance.connect() as db:
        repair_objects(db, lambda text: con.line(f"     - {text}"), int(time.time()))


@click.command("maintenance:repair")
@click.option(
    "--include-expensive",
    is_flag=True,
    help="Use this option when you want to include resource and load expensive tasks",
)
def repair_command(include_expensive: bool) -> None:
    """repair this installation"""
    run_repair(console())


COMMANDS = [repair_command]
