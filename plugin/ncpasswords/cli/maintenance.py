"""`maintenance:install`, `status`, `migrations:migrate`, `migrations:status`."""

from __future__ import annotations

from typing import Any

import click

from .. import __version__
from ..backup.scheduler import auto_restore
from ..db import migrator
from ..errors import UserError
from ..instance.install import InstallOptions, install
from ..instance.instance import Instance, config_path
from .common import installed_instance
from .console import console, output_option, render

_ENGINES = {"sqlite3": "SQLite", "sqlite": "SQLite", "pgsql": "PostgreSQL", "mysql": "MySQL/MariaDB"}


@click.command("maintenance:install")
@click.option("--database", default="sqlite", show_default=True, help="Database type: sqlite, mysql or pgsql.")
@click.option("--database-name", help="Name of the database.")
@click.option("--database-host", default="localhost", show_default=True, help="Hostname of the database.")
@click.option("--database-port", help="Port the database is listening on.")
@click.option("--database-user", help="Login to connect to the database.")
@click.option("--database-pass", help="Password of the database user.")
@click.option("--database-table-prefix", default="oc_", show_default=True, help="Prefix for all tables.")
@click.option("--data-dir", help="Path to the data directory (default: <config dir>/../data).")
@click.option("--admin-user", hidden=True, help="Accepted for compatibility; there are no accounts here.")
@click.option("--admin-pass", hidden=True, help="Accepted for compatibility; there are no accounts here.")
@click.option("--admin-email", hidden=True, help="Accepted for compatibility; there are no accounts here.")
def install_command(**options: Any) -> None:
    """Install the instance: config.php plus the app's tables (existing tables are kept)."""
    for ignored in ("admin_user", "admin_pass", "admin_email"):
        options.pop(ignored)
    opts = InstallOptions(**{k: v for k, v in options.items() if v is not None})
    con = console()
    install(opts, config_path(), warn=None if con.no_warnings else lambda text: con.error(f"Warning: {text}"))
    con.line("Nextcloud was successfully installed")


@click.command("status")
@output_option()
def status_command(output: str) -> None:
    """Show whether the instance is installed, its id and database engine."""
    path = config_path()
    info: dict[str, Any]
    if not path.is_file():
        info = {"installed": False, "ncpasswords": __version__}
    else:
        instance = Instance.load(path)
        dbtype = str(instance.get("dbtype", "sqlite3"))
        info = {"installed": instance.installed}
        if instance.get("version"):  # a real Nextcloud's version, when pointed at one
            info["version"] = str(instance.get("version"))
        info |= {
            "instanceid": str(instance.get("instanceid", "")),
            "maintenance": bool(instance.get("maintenance", False)),
            "dbtype": dbtype,
            "database": _ENGINES.get(dbtype, dbtype),
            "ncpasswords": __version__,
        }
    console().line(render(info, output))


def _check_app(app: str) -> None:
    if app != migrator.APP_ID:
        raise UserError(f"App {app} is not handled by this tool (only '{migrator.APP_ID}')")


@click.command("migrations:migrate")
@click.argument("app")
@click.argument("version", required=False, default="latest")
def migrate_command(app: str, version: str) -> None:
    """Apply the app's pending schema migrations."""
    _check_app(app)
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
@click.argument("app")
def migration_status_command(app: str) -> None:
    """Show which of the app's migrations have run."""
    _check_app(app)
    instance = installed_instance()
    with instance.connect() as db:
        states = migrator.status(db)
    available = migrator.available_versions()
    executed = [s.version for s in states if s.executed]
    new = [v for v in available if v not in executed]
    rows = {
        "App": app,
        "Version Table Name": f"{instance.prefix}migrations",
        "Previous Version": executed[-2] if len(executed) > 1 else "0",
        "Current Version": executed[-1] if executed else "0",
        "Next Version": new[0] if new else "Already at latest migration step",
        "Latest Version": available[-1],
        "Executed Migrations": len(executed),
        "Executed Unavailable Migrations": len([v for v in executed if v not in available]),
        "Available Migrations": len(available),
        "New Migrations": len(new),
    }
    width = max(len(k) for k in rows) + 2
    for key, value in rows.items():
        console().line(f"    - {(key + ':').ljust(width)}{value}")


COMMANDS = [install_command, status_command, migrate_command, migration_status_command]
