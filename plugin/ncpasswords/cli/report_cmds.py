"""`passwords:system:report` (docs/internals/commands.md#passwordssystemreport)."""

from __future__ import annotations

import click

from ..php.json import dumps
from ..report import build_report, select_sections
from .common import installed_instance
from .console import console, output_option, render


@click.command("passwords:system:report")
@click.argument("sections", nargs=-1, help="Only print the given section(s)")
@click.option("-b", "--basic", is_flag=True, help="Only print basic report")
@output_option(default="json_pretty")
def report_command(sections: tuple[str, ...], basic: bool, output: str) -> None:
    """Print system information as detected by the app

    The section `debug` prints version, environment, services, status, settings and encryption.
    """
    instance = installed_instance()
    with instance.connect() as db:
        report = build_report(instance, db, enhanced=not basic or bool(sections))
    if sections:
        report = select_sections(report, list(sections))
    plain = output == "plain"
    console().line(render(report, "plain") if plain else dumps(report, pretty=output == "json_pretty"))


COMMANDS = [report_command]
