"""The Nextcloud instance: where config.php is, what Nextcloud's configuration says, and the
paths derived from it. config.php is changed only through `update_config` (configfiles.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..db import backends
from ..db.connection import FRAGMENT_BYTES, ConnectionSettings, Database, connect
from ..db.dialects import check_prefix
from ..errors import NotInstalledError, UserError
from ..php.casts import php_boolval
from . import configfiles, journal, phpconfig

APP_ID = "passwords"
FRAGMENT_SIZE_KEY = "ncpasswords.galera.fragment_size"
"""config.php: bytes per replicated fragment of a large transaction on Galera (docs/clusters.md)."""
REPLICA_LAG_KEY = "ncpasswords.replica.max_lag"
"""config.php: seconds a backup waits for a `dbreplica` to catch up before it reads the primary."""
REPLICA_LAG_SECONDS = 30


def config_path() -> Path:
    """config.php as Nextcloud finds it: in `$NEXTCLOUD_CONFIG_DIR`, else in `./config/`."""
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
    """An installed instance: its config.php path and the configuration Nextcloud reads from the
    config folder (config.php, the other `*.config.php` files, `NC_*` variables).

    `config` holds the merged values; `computed` the keys that a config file sets with PHP code
    this tool cannot run (`get` refuses them).
    """

    path: Path
    config: dict[Any, Any]
    computed: dict[Any, configfiles.Source] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Instance:
        """Read the configuration; raise NotInstalledError when there is no config.php."""
        instance = cls(path or config_path(), {})
        instance.reload()
        return instance

    def reload(self) -> None:
        """Read the configuration again, as it is now."""
        try:
            self._take(configfiles.read(self.path))
        except FileNotFoundError:
            raise NotInstalledError() from None
        except phpconfig.PhpConfigError as exc:
            raise UserError(str(exc)) from exc
        except OSError as exc:
            raise UserError(f"Cannot read {exc.filename or self.path}: {exc.strerror}") from exc

    def update_config(
        self,
        set_values: Mapping[Any, Any] | None = None,
        unset: Iterable[Any] = (),
        *,
        decide: configfiles.Decide | None = None,
    ) -> None:
        """Change config.php: set and delete these top-level keys (or the ones `decide` names,
        given the values found under the lock), leaving every other key as it is in the file now.

        Refused with a UserError, nothing written, when the configuration is read-only or another
        config file or `NC_*` variable would override the change.
        """
        planned = (dict(set_values or {}), list(unset))
        try:
            self._take(configfiles.update(self.path, decide or (lambda _: planned)))
        except phpconfig.PhpConfigError as exc:
            raise UserError(str(exc)) from exc
        except OSError as exc:
            raise UserError(f"Cannot write {exc.filename or self.path}: {exc.strerror}") from exc

    def check_config_update(self, set_values: Mapping[Any, Any], unset: Iterable[Any] = ()) -> None:
        """Raise the UserError `update_config` would raise for this change now; writes nothing."""
        try:
            configfiles.check_update(self.path, set_values, unset)
        except phpconfig.PhpConfigError as exc:
            raise UserError(str(exc)) from exc
        except OSError as exc:
            raise UserError(f"Cannot write {self.path}: {exc.strerror}") from exc

    def reload_for(self, db: Database) -> None:
        """After waiting for a lock on `db`: read the configuration again (another command may
        have changed it meanwhile), finish a change a killed command left in the journal, and
        refuse when config.php no longer points at `db`."""
        self.reload()
        if journal.journal_path(self).exists():
            journal.recover(self, db)
        now = self.connection_settings()
        if now != db.settings:
            raise UserError(
                f"config.php was changed while this command waited for another one: the instance "
                f"now uses the {now.describe()}. Nothing was changed; run the command again"
            )

    def _take(self, system: configfiles.SystemConfig) -> None:
        self.config = system.values
        self.computed = system.computed

    # -- values -----------------------------------------------------------------------------------
    def get(self, key: Any, default: Any = None) -> Any:
        """A value as Nextcloud's getSystemValue gives it (null counts as not set)."""
        if key in self.computed:
            raise configfiles.computed_error(key, self.computed[key])
        value = self.config.get(key)
        return default if value is None else value

    def get_if_known(self, key: Any, default: Any = None) -> Any:
        """Like `get`, but a value only PHP can compute counts as not set (for what is only shown)."""
        return default if key in self.computed else self.get(key, default)

    @property
    def installed(self) -> bool:
        return php_boolval(self.get("installed", False))

    @property
    def data_dir(self) -> Path:
        value = self.get("datadirectory")
        if not value:
            raise UserError(f"'datadirectory' is not set in {self.path}")
        return Path(str(value))

    @property
    def instance_id(self) -> str:
        value = self.get("instanceid")
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
        return str(self.get("passwords.secret") or self.get("secret") or "")

    @property
    def prefix(self) -> str:
        """`dbtableprefix`, checked: it is spliced into SQL."""
        prefix = str(self.get("dbtableprefix", "oc_"))
        try:
            return check_prefix(prefix)
        except ValueError as exc:
            raise UserError(f"{exc} (dbtableprefix in {self.path})") from None

    def settings_with(self, config: dict[Any, Any]) -> ConnectionSettings:
        """The connection settings config.php would give with these values (nothing is written)."""
        return Instance(self.path, config).connection_settings()

    def connection_settings(self) -> ConnectionSettings:
        """How to reach the database, from dbtype, dbhost, dbport, dbname, dbuser, dbpassword."""
        dbtype = str(self.get("dbtype", "sqlite3"))
        backend = backends.for_dbtype(dbtype)
        if backend is None:
            raise UserError(f"Unsupported dbtype '{dbtype}' in {self.path} (use sqlite3, mysql or pgsql)")
        dbname = str(self.get("dbname") or "owncloud")
        host, port, socket = split_dbhost(str(self.get("dbhost") or "localhost"))
        if self.get("dbport") and port is None and socket is None:  # a port in dbhost wins
            try:
                port = int(self.get("dbport"))
            except (TypeError, ValueError):
                raise UserError(f"Invalid dbport in {self.path}") from None
        return ConnectionSettings(
            dialect=backend.name,
            dbname=dbname,
            prefix=self.prefix,
            host=host,
            port=port,
            socket=socket,
            user=str(self.get("dbuser") or ""),
            password=str(self.get("dbpassword") or ""),
            sqlite_path=backend.database_file(self.data_dir, dbname),
            sqlite_journal_mode=str(self.get("sqlite.journal_mode") or "WAL"),
            mysql_utf8mb4=php_boolval(self.get("mysql.utf8mb4", False)),
            fragment_bytes=self._whole_number(FRAGMENT_SIZE_KEY, FRAGMENT_BYTES),
        )

    def replica_settings(self) -> list[ConnectionSettings]:
        """The read-only replicas config.php lists in `dbreplica` (Nextcloud's format: a list of
        arrays with `host`, `port`, `user`, `password`, `dbname`; what an entry leaves out is the
        primary's), in their order."""
        entries = self.get("dbreplica")
        if not entries:
            return []
        invalid = f"Invalid dbreplica in {self.path}: expected a list of arrays with host, user, password, dbname"
        if not isinstance(entries, dict):
            raise UserError(invalid)
        primary = self.connection_settings()
        found = []
        for entry in entries.values():
            if not isinstance(entry, dict):
                raise UserError(invalid)
            config = {
                **self.config,
                "dbhost": entry.get("host") or primary.host,
                "dbport": entry.get("port") or (primary.port if "host" not in entry else ""),
                "dbuser": entry.get("user", primary.user),
                "dbpassword": entry.get("password", primary.password),
                "dbname": entry.get("dbname") or primary.dbname,
            }
            found.append(Instance(self.path, config).connection_settings())
        return found

    @property
    def replica_max_lag(self) -> int:
        """Seconds a backup waits for a replica to catch up with the primary (REPLICA_LAG_KEY)."""
        return self._whole_number(REPLICA_LAG_KEY, REPLICA_LAG_SECONDS)

    def _whole_number(self, key: str, default: int) -> int:
        """A setting of this tool in config.php that must be a whole number of 0 or more."""
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not str(value).strip().isdigit():
            raise UserError(f"Invalid {key} in {self.path}: expected a whole number of 0 or more")
        return int(str(value).strip())

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
            if self.connection_settings() != db.settings:  # the change pointed the instance elsewhere
                db.close()
                db = connect(self.connection_settings())
        return db
