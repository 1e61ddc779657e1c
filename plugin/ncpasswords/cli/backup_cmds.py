"""`passwords:backup:*`: create, list, restore, export, import, delete (docs/internals/commands.md)."""

from __future__ import annotations

import contextlib
import os
import time

import click

from ..backup import records, service
from ..backup.agecrypt import (
    AGE_MAGIC,
    AGE_SUFFIX,
    PASSPHRASE_VARIABLE,
    EncryptedSource,
    decrypting,
    encrypt_file,
    encrypt_with_passphrase,
    is_encrypted,
    read_recipients,
)
from ..backup.dryrun import DryRunReport
from ..backup.errors import BackupError, BackupNotFoundError, ReadOnlyExportFileError
from ..backup.export import Transform, resolve_export_path
from ..backup.names import check_import_name, human_file_size, sanitize_backup_name
from ..backup.restore import RestoreOptions
from ..backup.source import BackupSource
from ..backup.storage import BACKUPS
from ..backup.verify import VerifyResult, verify_source, worst_exit_code
from ..errors import UserError
from ..php.json import dumps
from ..users.accounts import check_user_id
from .common import confirm, installed_instance, start_interactive
from .completers import backup_names, manual_backup_names, user_ids
from .console import Console, console, output_option, render
from .progress import Progress
from .repair_cmds import run_repair


def escapeshellarg(value: str) -> str:
    """PHP's escapeshellarg: always single-quoted, inner quotes as '\\''."""
    return "'" + value.replace("'", "'\\''") + "'"


@click.command("passwords:backup:create")
@click.argument("name", required=False, help="The name of the backup")
@click.option("--force", is_flag=True, help="Replace a backup whose name is cut to the same 20 characters")
def create_command(name: str | None, force: bool) -> None:
    """Create a new backup of the password database"""
    con = console()
    instance = installed_instance()
    progress = Progress(con, "Backing up")
    with instance.connect() as db:
        backup, stats = service.create(instance, db, sanitize_backup_name(name), progress=progress, force=force)
    progress.finish()
    if con.verbosity:
        con.line(f"Read from the {stats.read_from}")
    info = service.storage_for(instance).info(backup)
    con.line(f"Created new backup: {info['label']}, {info['size']} {info['format']}")


@click.command("passwords:backup:list")
@click.option("-d", "--details", is_flag=True, help="Inspect backup files and list contents")
def list_command(details: bool) -> None:
    """Print a list of the available backups"""
    con = console()
    instance = installed_instance()
    storage = service.storage_for(instance)
    backups = storage.list_backups()
    if not backups:
        con.line("No backups found")
        return
    con.line("The following backups are available:")
    with contextlib.ExitStack() as stack:
        db = None
        if details:  # the checks and copies are remembered in the database; the files are read anyway
            try:
                db = stack.enter_context(instance.connect())
            except UserError as exc:
                con.error(f"Checks and off-site copies are not shown: {exc}")
        for backup in backups.values():
            info = storage.info(backup, details)
            con.line(f"  {info.get('label') or ''!s:<20}  {info['size']} {info['format']}")
            if not details:
                continue
            if "error" in info:
                con.line(f"    Error {info['error']}")
            if "version" in info:
                con.line(f"    Version {info['version']}")
            if "users" in info:
                con.line(f"    {info['users']:<5} users")
            for entity, count in (info.get("entities") or {}).items():
                con.line(f"    {count:<5} {entity}")
            for kind, what in ((records.CHECK, "Checked"), (records.OFFSITE, "Off-site copy")):
                record = records.recall(db, kind, backup) if db is not None else None
                if record is not None:
                    con.line(f"    {record.line(what)}")


@click.command("passwords:backup:restore")
@click.argument("name", help="The name of the backup", shell_complete=backup_names)
@click.option(
    "-u",
    "--user",
    "user",
    is_flag=False,
    flag_value="",
    default=None,
    help="Restore data only for this user",
    shell_complete=user_ids,
)
@click.option("--no-data", is_flag=True, help="Do not restore user data and encryption keys")
@click.option("--no-user-settings", is_flag=True, help="Do not restore user settings")
@click.option("--no-app-settings", is_flag=True, help="Do not restore application settings")
@click.option(
    "--repair", is_flag=True, help="Run the app's database repair after the restore (as occ maintenance:repair does)"
)
@click.option("--dry-run", is_flag=True, help="Report what the restore would change, and change nothing")
@output_option()
def restore_command(
    name: str,
    user: str | None,
    no_data: bool,
    no_user_settings: bool,
    no_app_settings: bool,
    repair: bool,
    dry_run: bool,
    output: str,
) -> None:
    """Restores a backup"""
    if user is not None:  # `--user`, `--user=` or `-u ''` (an empty shell variable) is a mistake, never all users
        check_user_id(user, "--user")
    con = console()
    if dry_run and repair:
        raise UserError("--repair is not used with --dry-run (a dry run changes nothing to repair)")
    if not dry_run:
        if output != "plain":
            raise UserError("--output is only used with --dry-run")
        start_interactive(con)
    options = RestoreOptions(
        user=user,
        data=not no_data,
        user_settings=not no_user_settings,
        client_settings=not no_user_settings,
        app_settings=not no_app_settings and user is None,
    )
    instance = installed_instance()
    storage = service.storage_for(instance)
    # Opened once, before the question: what is restored is the file that was confirmed.
    source = storage.open(storage.get(name))
    click.get_current_context().call_on_close(source.close)
    if dry_run:
        if options.nothing:
            raise UserError("Nothing to restore: every part is switched off")
        with instance.connect() as db:
            report = service.dry_run(instance, db, source, options)
        if output != "plain":
            con.line(render(report.as_json(), output))
        else:
            print_dry_run(con, name, report)
        return
    con.line(f"This backup file will be used: {name}")
    con.line()
    con.line("The following will be restored:")
    if user is not None:
        con.line(f" - Only data for {escapeshellarg(user)}")
    if options.data:
        con.line(" - The Passwords App server secret")
        con.line(" - Server and user encryption keys")
        con.line(" - User passwords, folder, tags and shares")
    if options.app_settings:
        con.line(" - Application settings")
    if options.user_settings:
        con.line(" - User settings")
    if options.client_settings:
        con.line(" - Third party client settings")
    if options.nothing:
        con.line(" - nothing")
        raise click.exceptions.Exit(1)
    if repair:
        con.line()
        con.line("Afterwards the database repair of maintenance:repair will run.")
    if options.data:
        con.line()
        con.line("Restoring user data means that the current user data will be wiped.")
    if not confirm(con, f'The backup "{name}" will now be restored'):
        raise click.exceptions.Exit(2)
    if not con.quiet:
        click.echo("Restoring backup ...", nl=False)
    progress = Progress(con, "Restoring backup ...")
    with instance.connect() as db:
        service.restore(instance, db, source, options, progress)
    progress.finish(keep="\rRestoring backup ...")  # the line reads "Restoring backup ... done" again
    con.line(" done")
    if repair:
        run_repair(con)


#: uuids listed per table, user and kind of change in the plain report (--output=json lists all).
DRY_RUN_UUIDS = 10


def print_dry_run(con: Console, name: str, report: DryRunReport) -> None:
    """The plain report of `restore --dry-run`."""
    con.line(f'Dry run: nothing was changed. A restore of "{name}" would change:')
    if not report.tables and not report.settings and not report.secret_changes:
        con.line("  nothing")
    for table, users in sorted(report.tables.items()):
        for user, changes in sorted(users.items()):
            counts = ", ".join(f"{len(getattr(changes, kind))} {kind}" for kind in ("removed", "added", "changed"))
            con.line(f"  {table} of {user!r}: {counts}")
            for kind in ("removed", "added", "changed"):
                uuids = getattr(changes, kind)
                if uuids:
                    more = f" and {len(uuids) - DRY_RUN_UUIDS} more" if len(uuids) > DRY_RUN_UUIDS else ""
                    con.line(f"    {kind}: {', '.join(uuids[:DRY_RUN_UUIDS])}{more}")
    for change in report.settings:
        con.line(f"  {change.line()}")
    if report.secret_changes:
        con.line("  the server secret in config.php")


def read_passphrase(con: Console, twice: bool) -> str:
    """The passphrase of an encrypted copy: asked on a terminal (twice for a new file), else read
    from NCP_BACKUP_PASSPHRASE."""
    if con.no_interaction or not con.interactive:
        passphrase = os.environ.get(PASSPHRASE_VARIABLE, "")
        if not passphrase:
            raise UserError(f"Set {PASSPHRASE_VARIABLE} to the passphrase: no question can be asked here")
        return passphrase
    passphrase = click.prompt("Passphrase", hide_input=True, err=True)
    if twice and click.prompt("Passphrase again", hide_input=True, err=True) != passphrase:
        raise UserError("The passphrases differ")
    if not passphrase:
        raise UserError("The passphrase is empty")
    return passphrase


def encryption(
    con: Console, encrypt_to: tuple[str, ...], recipients_files: tuple[str, ...], passphrase: bool
) -> Transform | None:
    """How `export` encrypts its copy: for recipients, with a passphrase, or not at all."""
    recipients = read_recipients(encrypt_to, recipients_files)
    if passphrase and recipients:
        raise UserError("Encrypt either to recipients or with a passphrase, not both")
    if passphrase:
        secret = read_passphrase(con, twice=True)
        return lambda source, size, target: encrypt_with_passphrase(source, target, secret)
    if recipients:
        return lambda source, size, target: encrypt_file(source, target, recipients)
    if encrypt_to or recipients_files:
        raise UserError("The recipients file names no recipient")
    return None


@click.command("passwords:backup:export")
@click.argument("name", help="The name of the backup", shell_complete=backup_names)
@click.argument("file", required=False, default="", help="The path of the export file")
@click.option("--encrypt-to", multiple=True, help="Encrypt the copy to this age1… or SSH public key")
@click.option("--recipients-file", multiple=True, help="Encrypt the copy to the recipients listed in this file")
@click.option("--passphrase", is_flag=True, help="Encrypt the copy with a passphrase (NCP_BACKUP_PASSPHRASE)")
def export_command(
    name: str, file: str, encrypt_to: tuple[str, ...], recipients_file: tuple[str, ...], passphrase: bool
) -> None:
    """Export a backup to a file"""
    con = console()
    storage = service.storage_for(installed_instance())
    backup = storage.get(name)
    transform = encryption(con, encrypt_to, recipients_file, passphrase)
    export_name = backup.name + AGE_SUFFIX if transform is not None else backup.name
    target = resolve_export_path(export_name, file, cwd=os.getcwd())
    try:
        written = storage.export(backup, target, transform=transform)
    except ReadOnlyExportFileError:
        # Unlike the reference, a read-only target is replaced only when the admin says so.
        if not con.interactive or not click.prompt(
            f"The file {target} is read-only. Replace it (y/n)? [n]",
            default="n",
            show_default=False,
            prompt_suffix=" ",
        ).strip().lower().startswith("y"):
            raise
        written = storage.export(backup, target, replace_read_only=True, transform=transform)
    con.line(f"Exported backup to {written}")


def open_for_reading(con: Console, file: str, identities: tuple[str, ...], passphrase: bool) -> BackupSource:
    """A backup file named on the command line, decrypted when it is an age file."""
    try:
        source = BackupSource.open(file)  # a symlink is read through; the name is the link's
    except (OSError, ValueError, BackupError):  # missing, unreadable, a NUL byte, not a regular file
        raise UserError(f"Could not find a readable file at {file}") from None
    try:
        encrypted = is_encrypted(source.read_head(len(AGE_MAGIC)))
        secret = read_passphrase(con, twice=False) if encrypted and passphrase else None
    except BaseException:
        source.close()
        raise
    return decrypting(source, identities, secret)


@click.command("passwords:backup:import")
@click.argument("file", help="The location of the backup file")
@click.option("--force", is_flag=True, help="Replace a backup whose name is cut to the same 20 characters")
@click.option("-i", "--identity", multiple=True, help="Decrypt an age file with this identity file or SSH key")
@click.option("--passphrase", is_flag=True, help="Decrypt an age file with a passphrase (NCP_BACKUP_PASSPHRASE)")
def import_command(file: str, force: bool, identity: tuple[str, ...], passphrase: bool) -> None:
    """Import a backup from a file"""
    con = console()
    instance = installed_instance()
    with open_for_reading(con, file, identity, passphrase) as source:
        name = os.path.basename(file)
        if isinstance(source, EncryptedSource):
            name = name.removesuffix(AGE_SUFFIX)
        check_import_name(name)
        progress = Progress(con, "Importing")
        with instance.connect() as db:
            backup = service.import_file(instance, db, source, name, progress, force=force)
    progress.finish()
    con.line(
        f"Imported backup: {backup.label}, {human_file_size(backup.size)} "
        f"{'compressed' if backup.compressed else 'json'}"
    )


@click.command("passwords:backup:delete")
@click.argument("name", help="The backup to delete", shell_complete=manual_backup_names)
def delete_command(name: str) -> None:
    """Delete a manually created backup file"""
    instance = installed_instance()
    with instance.connect() as db:
        try:
            service.storage_for(instance, db).delete(name)
        except BackupNotFoundError:
            raise UserError(f"Could not find backup '{name}' in {BACKUPS}/") from None
        except OSError as error:
            raise UserError(f"Could not delete backup '{name}': {error.strerror}") from None
    console().line(f"Deleted: {name}")


@click.command("passwords:backup:verify")
@click.argument("names", nargs=-1, help="The names of the backups to check", shell_complete=backup_names)
@click.option("--all", "all_backups", is_flag=True, help="Check every stored backup")
@click.option("--file", "files", multiple=True, help="Check a backup file outside the backup folders")
@click.option("-i", "--identity", multiple=True, help="Decrypt age files with this identity file or SSH key")
@click.option("--passphrase", is_flag=True, help="Decrypt age files with a passphrase (NCP_BACKUP_PASSPHRASE)")
@output_option()
def verify_command(
    names: tuple[str, ...],
    all_backups: bool,
    files: tuple[str, ...],
    identity: tuple[str, ...],
    passphrase: bool,
    output: str,
) -> None:
    """Check that backups are whole and can be restored here"""
    con = console()
    instance = installed_instance()
    storage = service.storage_for(instance)
    listed = storage.list_backups()
    if all_backups:
        names = tuple(dict.fromkeys((*names, *listed)))
        if not names and not files:
            con.line("No backups found" if output == "plain" else dumps([]))
            return
    if not names and not files:
        raise UserError("Name the backups to check, or use --all or --file=PATH")
    stored = [storage.get(name) for name in names]  # every name is checked before any file is read
    results: list[VerifyResult] = []
    with instance.connect() as db:
        for backup in stored:
            results.append(service.verify_stored(instance, db, backup, time.time()))
            if output == "plain":
                con.line(results[-1].line())
        for file in files:
            with open_for_reading(con, file, identity, passphrase) as source:
                results.append(verify_source(source, file, instance.server_secret, db.row_limit()))
            if output == "plain":
                con.line(results[-1].line())
    if output != "plain":
        con.line(render([result.as_json() for result in results], output) if results else dumps([]))
    raise click.exceptions.Exit(worst_exit_code(results))


COMMANDS = [
    create_command,
    list_command,
    restore_command,
    export_command,
    import_command,
    delete_command,
    verify_command,
]
