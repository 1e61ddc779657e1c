"""`maintenance:install`: write config.php, create what the app needs in the database, migrate."""

from __future__ import annotations

import os
import secrets
import shutil
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..db import backends, migrator
from ..db.connection import connect
from ..db.dialects import check_prefix
from ..errors import UserError
from ..php.casts import php_boolval
from ..repositories.config_values import AppConfig
from . import phpconfig
from .instance import Instance

# The reference app version this twin's schema and backups correspond to.
APP_VERSION = "2026.2.0"
_BASE64_CHARS = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"


def random_string(length: int, alphabet: str = _BASE64_CHARS) -> str:
    """Nextcloud ISecureRandom::generate with its default alphabet."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_instance_id() -> str:
    """`oc` + 10 lowercase letters and digits, as Nextcloud generates it."""
    return "oc" + random_string(10, string.ascii_lowercase + string.digits)


@dataclass
class InstallOptions:
    """The options of `occ maintenance:install` (Nextcloud's names)."""

    database: str = "sqlite"
    database_name: str | None = None
    database_host: str = "localhost"
    database_port: str | None = None
    database_user: str | None = None
    database_pass: str | None = None
    database_table_prefix: str = "oc_"
    data_dir: str | None = None


def build_config(opts: InstallOptions, config_file: Path) -> dict[Any, Any]:
    """config.php content for a new instance, keys in the order Nextcloud's installer writes them."""
    backend = backends.for_dbtype(opts.database)
    if backend is None:
        raise UserError(f"Database type '{opts.database}' is not supported (use sqlite, mysql or pgsql)")
    try:
        check_prefix(opts.database_table_prefix)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not backend.embedded and not opts.database_name:
        raise UserError("Database name is required (--database-name)")
    if not backend.embedded and not opts.database_user:
        raise UserError("Database user is required (--database-user)")
    port = opts.database_port or ""
    if port and not (port.isascii() and port.isdigit()):
        raise UserError(f"Invalid database port: {port}")
    data_dir = Path(opts.data_dir) if opts.data_dir else config_file.parent.parent / "data"
    config: dict[Any, Any] = {
        "instanceid": new_instance_id(),
        "passwordsalt": random_string(30),
        "secret": random_string(48),
        "trusted_domains": {0: "localhost"},
        "datadirectory": str(data_dir.resolve()),
        "dbtype": backend.dbtype,
        "overwrite.cli.url": "http://localhost",
        "dbname": opts.database_name or "owncloud",
        "dbhost": "" if backend.embedded else opts.database_host,
        "dbport": opts.database_port or "",
        "dbtableprefix": opts.database_table_prefix,
    }
    config.update(backend.config_values)
    if not backend.embedded:
        config["dbuser"] = opts.database_user or ""
        config["dbpassword"] = opts.database_pass or ""
    config["installed"] = True
    try:
        phpconfig.dump(config)
    except phpconfig.PhpConfigError as exc:  # e.g. a path or name that is not valid UTF-8
        raise UserError(str(exc).replace("Cannot write config", "Cannot install", 1)) from None
    return config


def data_folder_warning(data_dir: Path) -> str | None:
    """A warning when other users may enter the data folder (Nextcloud asks for 0770 there too)."""
    mode = data_dir.stat().st_mode & 0o777
    if not mode & 0o007:
        return None
    return (
        f"The data folder {data_dir} is open to other users (mode {mode:04o}); "
        f"run chmod o-rwx {data_dir} so that only the web server can read it"
    )


def _unless_installed(
    current: Mapping[Any, Any], config: dict[Any, Any], config_file: Path
) -> tuple[dict[Any, Any], list[str]]:
    """The keys an install writes, unless another install finished meanwhile."""
    if php_boolval(current.get("installed", False)):
        raise UserError(f"Nextcloud is already installed ({config_file})")
    return config, []


def install(opts: InstallOptions, config_file: Path, warn: Callable[[str], None] | None = None) -> Instance:
    """Install an instance: database objects first, config.php last, so a failure writes no config.

    On a database that already holds Nextcloud's tables nothing existing is created or changed.
    `warn` is told when the data folder is open to other users.
    """
    if config_file.is_file():
        existing = Instance.load(config_file)
        if existing.installed:
            raise UserError(f"Nextcloud is already installed ({config_file})")
    instance = Instance(config_file, build_config(opts, config_file))
    data_dir = instance.data_dir
    if os.path.lexists(data_dir) and not data_dir.is_dir():
        raise UserError(f"The data directory {data_dir} exists and is not a folder")
    settings = instance.connection_settings()
    created_data_dir = not data_dir.exists()
    sqlite_path = settings.sqlite_path
    sqlite_existed = sqlite_path is not None and sqlite_path.exists()
    try:
        try:
            data_dir.mkdir(mode=0o770, parents=True, exist_ok=True)
            if warn is not None and (warning := data_folder_warning(data_dir)):
                warn(warning)
            (data_dir / ".ocdata").touch(exist_ok=True)
            for folder in (instance.appdata_dir.parent, instance.appdata_dir):  # not mkdir -p's 0777 - umask
                folder.mkdir(mode=0o750, exist_ok=True)
        except OSError as exc:
            raise UserError(f"Cannot create the data directory {data_dir}: {exc.strerror}") from None
        with connect(settings, create=True) as db:
            migrator.migrate(db)
            app = AppConfig(db)
            with db.transaction():
                for key, value in (("installed_version", APP_VERSION), ("enabled", "yes"), ("types", "")):
                    if app.get(key) is None:
                        app.set(key, value)
        config_file.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        instance.update_config(decide=lambda current: _unless_installed(current, instance.config, config_file))
    except BaseException:
        if created_data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif sqlite_path is not None and not sqlite_existed:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
        raise
    return instance
