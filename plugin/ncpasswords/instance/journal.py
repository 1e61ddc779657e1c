"""config.php changes that must take effect exactly when a database transaction commits.

A restore that brings another server secret, and `db:convert-type` that points the instance at
another database, change config.php and a database together. A file and a database cannot be
committed atomically, so the change is journalled:

1. `begin()` writes the journal beside config.php (the keys to set and unset, a random token and
   what the operation needs to undo) and keeps it locked while the process works;
2. `mark(db)` writes the token into the database's open transaction (appconfig, app id
   `ncpasswords`) - `db` is the database the changed config.php points at;
3. after COMMIT, `apply(db)` writes config.php, removes the token and then the journal.

If the process dies (kill -9, power loss) anywhere in between, the next process that opens the
database finds an unlocked journal (`recover`, called by `Instance.connect`): when the token was
committed, or config.php already holds the change, it completes the change; otherwise it drops
it, after letting the operation undo what it left behind (the tables a MySQL conversion created,
whose DDL is not transactional).

The journal holds only the keys the operation changes, and config.php is written through
`Instance.update_config` (under config.php's lock, on the file as it is then), so whatever else
changed in config.php while the operation ran stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..db.connection import ConnectionSettings, Database, connect
from ..errors import UserError
from ..fsutil import fsync_dir
from ..repositories.config_values import AppConfig

if TYPE_CHECKING:
    from .instance import Instance

JOURNAL_NAME = ".ncpasswords-config-journal.json"
TOKEN_APP = "ncpasswords"
TOKEN_KEY = "config/journal"


def journal_path(instance: Instance) -> Path:
    return instance.path.with_name(JOURNAL_NAME)


def changed_config(config: dict[Any, Any], set_values: dict[str, Any], unset: list[str]) -> dict[Any, Any]:
    new = {**config, **set_values}
    for key in unset:
        new.pop(key, None)
    return new


def _applied(config: dict[Any, Any], set_values: dict[str, Any], unset: list[str]) -> bool:
    return all(config.get(k) == v for k, v in set_values.items()) and not any(k in config for k in unset)


@dataclass
class ConfigChange:
    """One journalled config.php change (see the module docstring)."""

    instance: Instance
    set_values: dict[str, Any]
    unset: list[str] = field(default_factory=list)
    kind: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    _fd: int | None = None

    def begin(self) -> None:
        """Write the journal (before anything changes); it stays locked until apply/discard."""
        path = journal_path(self.instance)
        if path.exists():
            raise UserError(f"Another operation that changes config.php is running or was interrupted ({path})")
        self._write()

    def update(self, **data: Any) -> None:
        """Record more of what to undo (written before the step that needs it is taken)."""
        self.data.update(data)
        self._write()

    def _write(self) -> None:
        path = journal_path(self.instance)
        payload = {
            "token": self.token,
            "set": self.set_values,
            "unset": self.unset,
            "kind": self.kind,
            "data": self.data,
        }
        try:
            fd, temp = tempfile.mkstemp(prefix=".ncpasswords-journal-", dir=path.parent)
        except OSError as exc:
            raise UserError(f"Cannot write in {path.parent}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # locked before it appears: nobody recovers a live change
            os.write(fd, json.dumps(payload).encode())
            os.fsync(fd)
            os.replace(temp, path)
            fsync_dir(path.parent)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        self._close()
        self._fd = fd

    def prepare(self) -> None:
        """Check that config.php takes the change (not read-only, not overridden by another config
        file, its folder writable), so that such a failure comes before the COMMIT, not after."""
        self.instance.check_config_update(self.set_values, self.unset)

    def mark(self, db: Database) -> None:
        """Write the token inside `db`'s open transaction: the change commits with it."""
        if not db.in_transaction:
            raise RuntimeError("ConfigChange.mark needs an open transaction")
        AppConfig(db, TOKEN_APP).set(TOKEN_KEY, self.token)

    def apply(self, db: Database) -> None:
        """After COMMIT: write config.php, remove the token from `db`, then the journal."""
        try:
            self.instance.update_config(self.set_values, self.unset)
            _finish(self.instance, db, self._fd)
        finally:
            self._close()

    def discard(self) -> None:
        """The transaction did not commit and nothing is left to undo: remove the journal."""
        try:
            _remove_journal(self.instance, self._fd)
        finally:
            self._close()

    def settle(self, db: Database | None) -> None:
        """After a failure whose outcome is unsure (the COMMIT itself failed): decide now as a
        recovering process would, or leave the journal to the next one when that fails."""
        self._close()
        if db is not None:
            with contextlib.suppress(Exception):
                recover(self.instance, db)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def recover(instance: Instance, db: Database) -> None:
    """Finish or drop a journalled change whose process is gone (see the module docstring).

    `db` is the database config.php points at now; the token is looked up in the database the
    changed config.php would point at. A journal still locked by a running process is left alone.
    """
    path = journal_path(instance)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a running process owns it
        try:
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                return  # replaced meanwhile
        except FileNotFoundError:
            return
        try:
            journal = json.loads(os.read(fd, 1 << 20))
            token, set_values, unset = str(journal["token"]), dict(journal["set"]), list(journal["unset"])
            kind, data = str(journal.get("kind") or ""), dict(journal.get("data") or {})
        except (ValueError, KeyError, TypeError):
            raise UserError(f"Unreadable journal {path}: check config.php, then remove the journal") from None
        instance.reload()
        new_config = changed_config(instance.config, set_values, unset)
        from .instance import Instance

        settings = Instance(instance.path, new_config).connection_settings()
        same = settings == db.settings
        target: Database | None = db
        if not same:
            target = _connect_target(settings, path)
        leftovers: list[str] = []
        try:
            has_token = target is not None and target.table_exists("appconfig")
            committed = _applied(instance.config, set_values, unset)
            if target is not None and has_token:
                committed = committed or AppConfig(target, TOKEN_APP).get(TOKEN_KEY) == token
            if kind:
                leftovers = list(_hook(kind)(target, data, committed) or ())
            if committed:
                instance.update_config(set_values, unset)
            if committed and target is not None and target.table_exists("appconfig"):
                AppConfig(target, TOKEN_APP).delete(TOKEN_KEY)  # (a token that was not committed is not there)
        finally:
            if target is not None and not same:
                target.close()
        for leftover in leftovers:
            Path(leftover).unlink(missing_ok=True)
        _remove_journal(instance, fd)
    finally:
        os.close(fd)


# What an operation must tidy up after it was interrupted: kind -> "module:function", called with
# (the target database or None, the journal's data, whether the change committed); it returns
# the files to remove once the database is closed.
_HOOKS = {"convert": "ncpasswords.transfer.convert:recover_interrupted"}


def _hook(kind: str) -> Any:
    if kind not in _HOOKS:
        raise UserError(f"Unknown operation '{kind}' in the config.php journal")
    module, _, name = _HOOKS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def _connect_target(settings: ConnectionSettings, path: Path) -> Database | None:
    """The database the changed config.php points at; None for an SQLite file never created."""
    if settings.sqlite_path is not None and not settings.sqlite_path.exists():
        return None
    try:
        return connect(settings)
    except UserError as exc:
        raise UserError(
            f"An interrupted operation left {path}; it cannot be finished because {exc}. "
            f"If config.php is right as it is, remove that file"
        ) from None


def _finish(instance: Instance, db: Database, fd: int | None) -> None:
    # config.php holds the change by now, so a journal left without its token (killed between the
    # two steps) still reads as committed: the token goes first.
    AppConfig(db, TOKEN_APP).delete(TOKEN_KEY)
    _remove_journal(instance, fd)


def _remove_journal(instance: Instance, fd: int | None) -> None:
    path = journal_path(instance)
    with contextlib.suppress(FileNotFoundError):
        if fd is None or os.fstat(fd).st_ino == os.stat(path).st_ino:
            os.unlink(path)
    fsync_dir(path.parent)
