"""`passwords:pwned-list:process` and `passwords:security:check-hash` (docs/internals/commands.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ..php.casts import php_intval
from ..repositories.config_values import AppConfig
from ..security import localdb, pwned
from ..security.pwned_list import PwnedListJob, export_zip, import_list
from .common import installed_instance
from .console import Console, console, output_option, render
from .symfony_progress import ProgressBar


class _Bar:
    """Symfony's progress bar on stderr; its finish() is followed by the reference's
    writeln('') on stdout."""

    def __init__(self, con: Console, maximum: int) -> None:
        self.con = con
        self.bar = ProgressBar(con)
        self.bar.start(maximum)

    @property
    def enabled(self) -> bool:
        return self.bar.enabled

    def start(self, maximum: int = 0) -> None:
        self.bar.start(maximum)

    def advance(self, steps: int = 1) -> None:
        self.bar.advance(steps)

    def finish(self) -> None:
        self.bar.finish()
        self.con.line()


class _Report:
    """The run's steps on stdout, its details on stderr with -v."""

    def __init__(self, con: Console) -> None:
        self.con = con

    def line(self, text: str) -> None:
        self.con.line(text)

    def detail(self, text: str) -> None:
        if self.con.verbosity:
            self.con.error(text)

    def progress(self, maximum: int) -> _Bar:
        return _Bar(self.con, maximum)


@click.command("passwords:pwned-list:process")
@click.argument("file", required=False, default="pwnedpasswords.txt", help="The path to pwned passwords hash file")
@click.option("-s", "--size", default="25", show_default=True, help="Amount of hashes to import in millions")
@click.option(
    "-m",
    "--mode",
    default="import",
    show_default=True,
    help="Mode for packing the hashes (file|json|gzip|import). Use import to import directly, "
    "otherwise a ZIP file will be created",
)
def process_command(file: str, size: str, mode: str) -> None:
    """Convert the haveibeenpwned pwned passwords list for the passwords app"""
    con = console()
    job = PwnedListJob.check(file, php_intval(size), mode)
    instance = installed_instance() if job.importing else None
    verb = "Importing" if job.importing else "Processing"
    con.line(f"{verb} {job.millions} million entries from {job.path} in {job.mode} mode.")
    if instance is None:
        created = export_zip(job, Path.cwd(), _Report(con))
        con.line(f"Created {created.name}")
        return
    files = import_list(job, instance, _Report(con))
    con.line(f"Password database updated to v{pwned.PASSWORD_VERSION}")
    if files < pwned.MIN_CACHE_FILES:
        con.error(
            f"Warning: {pwned.CACHE_FOLDER} holds {files} files; the app treats fewer than "
            f"{pwned.MIN_CACHE_FILES} as a missing database and replaces it on its next daily update."
        )


@click.command("passwords:security:check-hash")
@click.argument("sha1", help="A SHA-1 hash, or a hash prefix of 3 to 40 hex characters")
@output_option()
def check_hash_command(sha1: str, output: str) -> None:
    """Look a SHA-1 hash up in the local breached passwords database

    As the app's local security check does; a hash prefix matches every hash that starts with it.
    """
    con = console()
    value = localdb.normalize_hash(sha1)
    instance = installed_instance()
    cache = instance.appdata_dir / pwned.CACHE_FOLDER
    with instance.connect() as db:
        state = localdb.status(cache, AppConfig(db))
    breached = localdb.is_breached(cache, value)
    for problem in state.problems():
        con.error(f"Warning: the local password database is not usable by the app: {problem}")
    if output != "plain":
        con.line(render({"hash": value, "breached": breached, "file": pwned.file_name(value[:3])}, output))
    elif breached:
        con.line(f"{value} is breached: it is in the local password database")
    else:
        con.line(f"{value} is not in the local password database")


COMMANDS = [process_command, check_hash_command]
