"""`maintenance:install`, `status`, `migrations:migrate`, `migrations:status`."""

from __future__ import annotations

from typing import Any

import click

from ..backup.scheduler import auto_restore
from ..db import migrator
from ..errors import UserError
from ..instance.install import InstallOptions, install
from ..instance.instance import config_path
from ..instance.status import check_app, migration_status
from ..instance.status import status as instance_status
from .common import installed_instance
from .console import console, output_option, render


@click.command("maintenance:install")
@click.option("--database", default="sqlite", show_default=True, help="Database type: sqlite, mysql or pgsql.")
@click.option("--database-name", help="Name of the database.")
@click.option("--database-host", default="localhost", show_default=True, help="Hostname of the database.")
@click.option("--database-port", help="Port the database is listening on.")
@click.option("--database-user", help="Login to connect to the database.")
@click.option("--database-pass", help="Password of the database user.")
@click.option("--database-table-prefix", default="oc_", show_default=True, help="Prefix for all tables.")
@click.option(
    "--database-table-space",
    is_flag=False,
    flag_value="",
    help="Table space of the database (oci only; accepted and ignored).",
)
@click.option("--data-dir", help="Path to the data directory (default: <config dir>/../data).")
@click.option(
    "--disable-admin-user",
    is_flag=True,
    help="Disable the creation of an admin user (accepted; no accounts are created here).",
)
@click.option("--admin-user", hidden=True, help="Accepted for compatibility; there are no accounts here.")
@click.option("--admin-pass", hidden=True, help="Accepted for compatibility; there are no accounts here.")
@click.option("--admin-email", hidden=True, help="Accepted for compatibility; there are no accounts here.")
def install_command(**options: Any) -> None:
    """install Nextcloud

    Writes config.php and creates the app's tables (existing tables are kept).
    """
    # Without effect here (docs/compatibility.md): no accounts are created, and table spaces only
    # exist for Oracle, which this tool does not support.
    for ignored in ("admin_user", "admin_pass", "admin_email", "disable_admin_user", "database_table_space"):
        options.pop(ignored)
    opts = InstallOptions(**{k: v for k, v in options.items() if v is not None})
    con = console()
    install(opts, config_path(), warn=None if con.no_warnings else lambda text: con.error(f"Warning: {text}"))
    con.line("Nextcloud was successfully installed")


@click.command("status")
@output_option()
@click.option(
    "-e",
    "--exit-code",
    "exit_code",
    is_flag=True,
    help="exit with 0 if running in normal mode, 1 when in maintenance mode, 2 when "
    "`./occ upgrade` is needed. Does not write any output to STDOUT.",
)
def status_command(output: str, exit_code: bool) -> None:
    """show some status information"""
    con = console()
    values = instance_status(config_path())
    if con.verbosity or not exit_code:
        con.line(render(values, output))
    if exit_code and values["maintenance"]:
        raise click.exceptions.Exit(1)
    if exit_code and values["needsDbUpgrade"]:
        raise click.exceptions.Exit(2)


@click.command("migrations:migrate")
@click.argument("app", help="Name of the app this migration command shall work on")
@click.argument(
    "version",
    required=False,
    default="latest",
    help="The version number (YYYYMMDDHHMMSS) or alias (first, prev, next, latest)",
)
def migrate_command(app: str, version: str) -> None:
    """Execute a migration to a specified version or the latest available version."""
    check_app(app)
    if version != "latest" and version not in migrator.available_versions():
        raise UserError(f"Version {version} is unknown.")
    con = console()
    instance = installed_instance()
    with instance.connect() as db:
        applied = migrator.migrate(db)
        for v in applied:
            con.line(f"Migrated {app} to version {v}")
        if not applied:
            con.line("No migrations to execute.")
        # The app's live-migration repair step: restore the newest backup into a wiped database.
        auto_restore(instance, db, con.line)


@click.command("migrations:status")
@click.argument("app", help="Name of the app this migration command shall work on")
def migration_status_command(app: str) -> None:
    """View the status of a set of migrations."""
    check_app(app)
    rows = migration_status(installed_instance(), app)
    width = max(len(k) for k in rows) + 2
    for key, value in rows.items():
        console().line(f"    - {(key + ':').ljust(width)}{value}")


COMMANDS = [install_command, status_command, migrate_command, migration_status_command]
