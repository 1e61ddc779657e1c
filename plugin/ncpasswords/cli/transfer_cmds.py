"""`db:convert-type`, `passwords:db:dump` and `passwords:db:checksum`: moving the app's data
between database engines (docs/internals/commands.md#dbconvert-type; the library is `ncpasswords.transfer`)."""

from __future__ import annotations

import contextlib
import select
import sys
from pathlib import Path
from typing import TextIO

import click

from ..db import backends
from ..errors import UserError
from ..fsutil import atomic_write
from ..transfer.checksum import table_checksums
from ..transfer.compare import checksum_summary, differing_tables, read_summary
from ..transfer.convert import DEFAULT_CHUNK_SIZE, ConfirmExtraTables, ConvertOptions, Target, convert
from ..transfer.dump import dump
from ..transfer.instance_convert import convert_instance
from ..transfer.report import TransferReport
from .common import installed_instance
from .console import Console, console, output_option, render, table
from .progress import Progress

_PHASES = {"copy": "Copying", "verify": "Verifying", "dump": "Dumping"}
_STDIN_WAIT_SECONDS = 1.0


class _TableProgress:
    """A transient status line on stderr per table and phase (only on a terminal): each one is
    erased by the next, by a line of output and at the end."""

    def __init__(self, con: Console, prefix: str) -> None:
        self.con = con
        self.prefix = prefix
        self.current: tuple[str, str] | None = None
        self.bar: Progress | None = None

    def __call__(self, phase: str, table_name: str, rows: int) -> None:
        if (phase, table_name) != self.current:
            self.finish()
            self.current = (phase, table_name)
            self.bar = Progress(self.con, f"{_PHASES.get(phase, phase)} {self.prefix}{table_name}")
        assert self.bar is not None
        self.bar(rows)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.clear()
            self.bar = None
            self.current = None

    def log(self, text: str) -> None:
        """A line on stdout in place of the status line (`Copied …: N rows`)."""
        self.finish()
        self.con.line(text)


def _read_password(con: Console) -> str:
    """Nextcloud's rule: from stdin when it is not a terminal, else asked hidden (empty with -n)."""
    stream: TextIO | None = sys.stdin
    if stream is None:
        return ""
    try:
        if stream.isatty():
            if not con.interactive:
                return ""
            return str(
                click.prompt(
                    "What is the database password?", hide_input=True, default="", show_default=False, prompt_suffix=" "
                )
            )
        with contextlib.suppress(OSError, ValueError):  # not a real file (tests, StringIO): just read
            ready, _, _ = select.select([stream], [], [], _STDIN_WAIT_SECONDS)
            if not ready:
                return ""
        return stream.readline().rstrip("\r\n")
    except (OSError, ValueError):
        return ""


def _confirm_extra_tables(con: Console, explanation: str) -> ConfirmExtraTables:
    def ask(tables: list[str]) -> bool:
        con.line("The following tables will not be converted:")
        for name in tables:
            con.line(f" - {name}")
        con.line(explanation)
        if not con.interactive:
            return False
        answer = click.prompt(
            "Continue with the conversion (y/n)? [n]", default="n", show_default=False, prompt_suffix=" "
        )
        return str(answer).strip().lower().startswith("y")

    return ask


_APP_ONLY_LEFT_OUT = (
    "They belong to Nextcloud or to other apps and stay in the old database, while config.php will "
    "point at the new one; convert without --only-app to move them too."
)
_LEFT_OUT = (
    "They belong to apps that are not installed and stay in the old database; use --all-apps to convert them too."
)


@click.command("db:convert-type")
@click.argument("type", help="the type of the database to convert to")
@click.argument("username", help="the username of the database to convert to")
@click.argument("hostname", help="the hostname of the database to convert to")
@click.argument("database", help="the name of the database to convert to")
@click.option("--port", help="the port of the database server, or give it as hostname:port")
@click.option("--password", help="the password of the database user (default: read from stdin, else asked)")
@click.option(
    "--clear-schema",
    is_flag=True,
    help="replace the tables the target already has (undone with everything else on failure)",
)
@click.option("--all-apps", is_flag=True, help="also convert the tables of apps that are not installed")
@click.option(
    "--only-app",
    is_flag=True,
    help="convert only the Passwords app's tables and its rows of appconfig, preferences and migrations",
)
@click.option(
    "--chunk-size",
    type=int,
    default=DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="rows read from the source per round trip (and inserted per statement on MySQL)",
)
@output_option()
def convert_type(
    type: str,
    username: str,
    hostname: str,
    database: str,
    port: str | None,
    password: str | None,
    clear_schema: bool,
    all_apps: bool,
    only_app: bool,
    chunk_size: int,
    output: str,
) -> None:
    """Convert the Nextcloud database to the newly configured one

    Copies every table of the instance to another database (mysql, pgsql or sqlite3) with the
    schema Nextcloud makes on that engine: the tables of Nextcloud and of installed apps (with
    --all-apps those of apps that are not installed too). Values the target would refuse stop it
    before anything is written. Row counts and checksums of every table are verified, and only
    then config.php points at the new database. With --only-app only the Passwords app's data is
    moved. For sqlite3 DATABASE is the file name (without .db) below the datadirectory; USERNAME
    and HOSTNAME are ignored. Nothing is changed when anything fails.
    """
    if only_app and all_apps:
        raise UserError("--only-app and --all-apps exclude each other")
    con = console()
    instance = installed_instance()
    target = Target.parse(type, username, hostname, database, port)
    if not target.backend.embedded:  # a server: ask for the password
        target = Target.parse(
            type, username, hostname, database, port, password if password is not None else _read_password(con)
        )
    plain = output == "plain"
    progress = _TableProgress(con, instance.prefix)
    try:
        options = ConvertOptions(clear_schema=clear_schema, chunk_size=chunk_size)
        log = progress.log if plain else None
        if only_app:
            report = convert(
                instance,
                target,
                options,
                progress=progress,
                log=log,
                confirm_extra_tables=_confirm_extra_tables(con, _APP_ONLY_LEFT_OUT),
            )
        else:
            report = convert_instance(
                instance,
                target,
                options,
                progress=progress,
                log=log,
                confirm_left_out=_confirm_extra_tables(con, _LEFT_OUT),
                all_apps=all_apps,
            )
    finally:
        progress.finish()
    if not plain:
        con.line(render(report.summary(), output))
        return
    con.line(
        f"Converted {report.rows} rows of {len(report.tables)} tables in {report.seconds:.1f} s "
        f"({report.rows / max(report.seconds, 1e-9):,.0f} rows/s) to the {report.target}"
    )
    con.line("config.php now points at the new database")


class _TextOut:
    """A binary writer over a text stream (stdout replaced by a StringIO)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, data: bytes) -> int:
        self.stream.write(data.decode("utf-8", "surrogatepass"))
        return len(data)


@click.command("passwords:db:dump")
@click.argument(
    "file",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (without it, the script goes to stdout)",
)
@click.option(
    "--dialect",
    type=click.Choice(sorted(backends.names())),
    help="the engine the script is for (default: the instance's)",
)
@click.option("--schema-only", is_flag=True, help="only the tables (and the app's migration records)")
@click.option("--data-only", is_flag=True, help="only the rows (and the app's settings)")
@output_option()
def dump_command(file: Path | None, dialect: str | None, schema_only: bool, data_only: bool, output: str) -> None:
    """Write the Passwords app's data as a SQL script

    A script for psql, mariadb or sqlite3, to stdout without a file.
    """
    if schema_only and data_only:
        raise UserError("--schema-only and --data-only exclude each other")
    if file is None and output != "plain":
        raise UserError("--output needs FILE: without it the script itself goes to stdout")
    con = console()
    instance = installed_instance()
    progress = _TableProgress(con, instance.prefix)
    schema, data = not data_only, not schema_only
    try:
        with instance.connect() as db:
            if file is None:
                stdout = sys.stdout
                buffer = getattr(stdout, "buffer", None)
                dump(db, buffer or _TextOut(stdout), dialect, schema=schema, data=data, progress=progress)
                stdout.flush()
                return
            with atomic_write(file.resolve()) as writer:
                report = dump(db, writer, dialect, schema=schema, data=data, progress=progress)
    finally:
        progress.finish()
    _summary(con, report, output, f"Wrote {file}")


def _summary(con: Console, report: TransferReport, output: str, what: str) -> None:
    if output != "plain":
        con.line(render(report.summary(), output))
        return
    con.line(f"{what}: {report.rows} rows of {len(report.tables)} tables for the {report.target}")


@click.command("passwords:db:checksum")
@click.option(
    "--compare",
    "compare_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="a JSON summary of db:convert-type or passwords:db:dump: exit 1 unless its tables match",
)
@output_option()
def checksum_command(compare_file: Path | None, output: str) -> None:
    """Print row counts and checksums of the app's tables

    The same as db:convert-type and passwords:db:dump report them.
    """
    expected = read_summary(compare_file) if compare_file is not None else None
    with installed_instance().connect() as db:
        sums = table_checksums(db)
    con = console()
    if output != "plain":
        con.line(render(checksum_summary(sums), output))
    else:
        con.line(table(["Table", "Rows", "Checksum"], [[name, s.rows, s.hex] for name, s in sums.items()]))
    if expected is None:
        return
    differ = differing_tables(expected, sums)
    if differ:
        raise UserError(f"Different from {compare_file}: {', '.join(differ)}")
    if output == "plain":
        con.line(f"All {len(expected)} tables of {compare_file} match")


COMMANDS = [convert_type, dump_command, checksum_command]
