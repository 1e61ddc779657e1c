"""`passwords:pwned-list:process` and `passwords:security:check-hash` (docs/internals/commands.md)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from ..errors import UserError
from ..files.appdata import app_data_files
from ..php import php_intval
from ..repositories.config_values import AppConfig
from ..security import localdb, pwned
from .common import installed_instance
from .console import Console, console, output_option, render
from .symfony_progress import ProgressBar


def _bar(con: Console, maximum: int) -> ProgressBar:
    bar = ProgressBar(con)
    bar.start(maximum)
    return bar


def _end_bar(con: Console, bar: ProgressBar) -> None:
    """Symfony's finish() on stderr, then the reference's writeln('') on stdout."""
    bar.finish()
    con.line()


def _select(con: Console, path: Path, quota: int, spill: pwned.SpillStore) -> int:
    """Both passes of the reference; returns how many hashes were taken."""
    try:
        con.line("Reading prevalence…")
        bar = _bar(con, 4096)
        prevalence = pwned.read_prevalence(path, bar)
        _end_bar(con, bar)
        minimum, slots = pwned.cutoff(pwned.histogram(prevalence), quota)
        con.line("Reading hashes…")
        bar = _bar(con, quota)
        taken = pwned.collect(path, prevalence, minimum, slots, spill, bar)
        _end_bar(con, bar)
    except pwned.PwnedListError as exc:
        if con.verbosity and exc.line:
            con.error(f"Line {exc.line} of {path}")
        raise
    if con.verbosity:
        con.error(
            f"Took {taken} hashes: every hash seen more than {minimum} times, "
            f"and the first {slots} seen exactly {minimum} times"
        )
    return taken


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
    path = Path(os.path.realpath(file))
    if not path.is_file() or not os.access(path, os.R_OK):
        raise UserError(f"File not found or not readable: {path}")
    millions = php_intval(size)
    if millions < 1:
        raise UserError(f"Invalid size specified: {millions}")
    if mode not in pwned.MODES:
        raise UserError(f"Invalid mode specified: {mode}")
    if mode == "file":  # zlib is always there
        mode = "gzip"
    importing = mode == "import"
    instance = installed_instance() if importing else None
    scratch_parent = instance.appdata_dir if instance is not None else Path.cwd()
    verb = "Importing" if importing else "Processing"
    con.line(f"{verb} {millions} million entries from {path} in {mode} mode.")
    scratch_parent.mkdir(parents=True, exist_ok=True)
    scratch = pwned.spill_folder(scratch_parent)
    try:
        spill = pwned.SpillStore(scratch)
        _select(con, path, millions * 1_000_000, spill)
        groups = len(spill.prefixes())
        if instance is None:
            con.line("Creating export file…")
            name = pwned.zip_name(millions, mode)
            bar = _bar(con, groups)
            pwned.write_zip(Path.cwd() / name, spill, mode == "gzip", bar)
            _end_bar(con, bar)
            con.line(f"Created {name}")
            return
        con.line("Importing hashes…")
        with (
            instance.connect() as db,
            db.advisory_lock(
                "passwords-cache", wait=60, busy_message="Another process is updating the local password database"
            ),
        ):
            app_data = app_data_files(instance, db)
            bar = _bar(con, groups)
            files = pwned.install_cache(instance.appdata_dir, spill, bar, app_data)
            _end_bar(con, bar)
            app = AppConfig(db)
            with db.transaction():
                db_type = pwned.local_db_type(app.get("service/security"))
                if db_type is not None:
                    app.set(pwned.CONFIG_DB_TYPE, db_type)
                app.set(pwned.CONFIG_DB_VERSION, str(pwned.PASSWORD_VERSION))
            shutil.rmtree(scratch, ignore_errors=True)  # it lives in the app's folder
            app_data.settle(instance.appdata_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
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
