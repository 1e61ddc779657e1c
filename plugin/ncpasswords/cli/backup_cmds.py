"""`passwords:backup:*`: create, list, restore, export, import, delete (docs/internals/commands.md)."""

from __future__ import annotations

import os

import click

from ..backup import service
from ..backup.errors import BackupError, BackupNotFoundError, ReadOnlyExportFileError
from ..backup.export import resolve_export_path
from ..backup.names import check_import_name, human_file_size, sanitize_backup_name
from ..backup.restore import RestoreOptions
from ..backup.source import BackupSource
from ..backup.storage import BACKUPS
from ..errors import UserError
from ..users.accounts import check_user_id
from .common import confirm, installed_instance, start_interactive
from .completers import backup_names, manual_backup_names, user_ids
from .console import console
from .progress import Progress


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
    storage = service.storage_for(installed_instance())
    backups = storage.list_backups()
    if not backups:
        con.line("No backups found")
        return
    con.line("The following backups are available:")
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
def restore_command(name: str, user: str | None, no_data: bool, no_user_settings: bool, no_app_settings: bool) -> None:
    """Restores a backup"""
    if user is not None:  # `--user`, `--user=` or `-u ''` (an empty shell variable) is a mistake, never all users
        check_user_id(user, "--user")
    con = console()
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


@click.command("passwords:backup:export")
@click.argument("name", help="The name of the backup", shell_complete=backup_names)
@click.argument("file", required=False, default="", help="The path of the export file")
def export_command(name: str, file: str) -> None:
    """Export a backup to a file"""
    con = console()
    storage = service.storage_for(installed_instance())
    backup = storage.get(name)
    target = resolve_export_path(backup.name, file, cwd=os.getcwd())
    try:
        written = storage.export(backup, target)
    except ReadOnlyExportFileError:
        # Unlike the reference, a read-only target is replaced only when the admin says so.
        if not con.interactive or not click.prompt(
            f"The file {target} is read-only. Replace it (y/n)? [n]",
            default="n",
            show_default=False,
            prompt_suffix=" ",
        ).strip().lower().startswith("y"):
            raise
        written = storage.export(backup, target, replace_read_only=True)
    con.line(f"Exported backup to {written}")


@click.command("passwords:backup:import")
@click.argument("file", help="The location of the backup file")
@click.option("--force", is_flag=True, help="Replace a backup whose name is cut to the same 20 characters")
def import_command(file: str, force: bool) -> None:
    """Import a backup from a file"""
    con = console()
    instance = installed_instance()
    try:
        source = BackupSource.open(file)  # a symlink is read through; the name is the link's
    except (OSError, ValueError, BackupError):  # missing, unreadable, a NUL byte, not a regular file
        raise UserError(f"Could not find a readable file at {file}") from None
    with source:
        name = os.path.basename(file)
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


COMMANDS = [create_command, list_command, restore_command, export_command, import_command, delete_command]
