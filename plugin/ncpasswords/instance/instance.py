"""The Nextcloud instance: where config.php is, what it says, and the paths derived from it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..db.connection import ConnectionSettings, Database, connect
from ..db.dialects import DBTYPE_TO_DIALECT, check_prefix
from ..errors import NotInstalledError, UserError
from . import journal, phpconfig

APP_ID = "passwords"


def config_path() -> Path:
    """config.php as Nextcloud finds it: in `$NEXTCLOUD_CONFIG_DIR`, else `./config/`."""
    folder = os.environ.get("NEXTCLOUD_CONFIG_DIR")
    return (Path(folder) if folder else Path.cwd() / "config") / "config.php"


def split_dbhost(dbhost: str) -> tuple[str, int | None, str | None]:
    """`host`, `host:port`, `host:/socket` or `/socket` -> (host, port, socket) as Nextcloud reads it."""
    if dbhost.startswith("/"):
        return "localhost", None, dbhost
    match = re.fullmatch(r"(.*):([^\]:]+)", dbhost)
    if not match:
        return dbhost.strip("[]") or "localhost", None, None
    host, tail = match[1].strip("[]") or "localhost", match[2]
    if tail.isdigit():
        return host, int(tail), None
    return host, None, tail


@dataclass
class Instance:
    """An installed instance: its config.php path and parsed values."""

    path: Path
    config: dict[Any, Any]

    @classmethod
    def load(cls, path: Path | None = None) -> Instance:
        """Read config.php; raise NotInstalledError when there is none."""
        path = path or config_path()
        if not path.is_file():
            raise NotInstalledError()
        try:
            config = phpconfig.read(path)
        except phpconfig.PhpConfigError as exc:
            raise UserError(str(exc)) from exc
        except OSError as exc:
            raise UserError(f"Cannot read {path}: {exc.strerror}") from exc
        return cls(path, config)

    def save(self) -> None:
        """Write config.php back atomically, in Nextcloud's layout."""
        try:
            phpconfig.write(self.path, self.config)
        except OSError as exc:
            raise UserError(f"Cannot write {self.path}: {exc.strerror}") from exc

    # -- values -----------------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    @property
    def installed(self) -> bool:
        return bool(self.config.get("installed", False))

    @property
    def data_dir(self) -> Path:
        value = self.config.get("datadirectory")
        if not value:
            raise UserError(f"'datadirectory' is not set in {self.path}")
        return Path(str(value))

    @property
    def instance_id(self) -> str:
        value = self.config.get("instanceid")
        if not value or not re.fullmatch(r"[A-Za-z0-9]+", str(value)):
            raise UserError(f"'instanceid' is missing or invalid in {self.path}")
        return str(value)

    @property
    def appdata_dir(self) -> Path:
        """`<datadirectory>/appdata_<instanceid>/passwords`."""
        return self.data_dir / f"appdata_{self.instance_id}" / APP_ID

    @property
    def server_secret(self) -> str:
        """The app's server secret: `passwords.secret` wins over Nextcloud's `secret`."""
        return str(self.config.get("passwords.secret") or self.config.get("secret") or "")

    @property
    def prefix(self) -> str:
        """`dbtableprefix`, checked: it is spliced into SQL."""
        prefix = str(self.config.get("dbtableprefix", "oc_"))
        try:
            return check_prefix(prefix)
        except ValueError as exc:
            raise UserError(f"{exc} (dbtableprefix in {self.path})") from None

    def connection_settings(self) -> ConnectionSettings:
        """How to reach the database, from dbtype, dbhost, dbport, dbname, dbuser, dbpassword."""
        dbtype = str(self.config.get("dbtype", "sqlite3"))
        dialect = DBTYPE_TO_DIALECT.get(dbtype)
        if dialect is None:
            raise UserError(f"Unsupported dbtype '{dbtype}' in {self.path} (use sqlite3, mysql or pgsql)")
        dbname = str(self.config.get("dbname") or "owncloud")
        host, port, socket = split_dbhost(str(self.config.get("dbhost") or "localhost"))
        if self.config.get("dbport") and port is None and socket is None:  # a port in dbhost wins
            try:
                port = int(self.config["dbport"])
            except (TypeError, ValueError):
                raise UserError(f"Invalid dbport in {self.path}") from None
        sqlite_path = self.data_dir / f"{dbname}.db" if dialect == "sqlite" else None
        return ConnectionSettings(
            dialect=dialect,
            dbname=dbname,
            prefix=self.prefix,
            host=host,
            port=port,
            socket=socket,
            user=str(self.config.get("dbuser") or ""),
            password=str(self.config.get("dbpassword") or ""),
            sqlite_path=sqlite_path,
            sqlite_journal_mode=str(self.config.get("sqlite.journal_mode") or "WAL"),
            mysql_utf8mb4=bool(self.config.get("mysql.utf8mb4", False)),
        )

    def connect(self) -> Database:
        """Open the instance's database, first finishing a config.php change that an interrupted
        process left behind (see `journal.py`)."""
        db = connect(self.connection_settings())
        if journal.journal_path(self).exists():
            try:
                journal.recover(self, db)
            except BaseException:
                db.close()
                raise
        return db
