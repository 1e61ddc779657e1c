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
import json
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..db.connection import ConnectionSettings, Database, connect
from ..errors import UserError
from ..fsutil import atomic_write, fsync_dir
from ..repositories.config_values import AppConfig

JOURNAL_NAME = ".ncpasswords-config-journal.json"
TOKEN_APP = "ncpasswords"
TOKEN_KEY = "config/journal"


class ConfigOwner(Protocol):
    """What the journal needs of the instance whose config.php it changes (`instance.Instance`)."""

    @property
    def path(self) -> Path: ...

    @property
    def config(self) -> dict[Any, Any]: ...

    def reload(self) -> None: ...

    def update_config(self, set_values: Mapping[Any, Any] | None = None, unset: Iterable[Any] = ()) -> None: ...

    def check_config_update(self, set_values: Mapping[Any, Any], unset: Iterable[Any] = ()) -> None: ...

    def settings_with(self, config: dict[Any, Any]) -> ConnectionSettings: ...


Undo = Callable[[Database | None, dict[str, Any], bool], Iterable[str] | None]
"""Tidies up after an interrupted operation: called with the database the changed config.php
points at (None when it was never created), the journal's data and whether the change committed;
returns the files to remove once that database is closed."""

_UNDO: dict[str, Undo] = {}


def register_undo(kind: str, undo: Undo) -> None:
    """Let `recover` finish an interrupted operation of `kind` (the `kind` of its ConfigChange)."""
    _UNDO[kind] = undo


def journal_path(instance: ConfigOwner) -> Path:
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

    instance: ConfigOwner
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
        locked: int | None = None
        try:
            with atomic_write(path, prefix=".ncpasswords-journal-", suffix="") as out:
                fcntl.flock(out.fileno(), fcntl.LOCK_EX)  # locked before it appears: nobody recovers a live change
                out.write(json.dumps(payload).encode())
                locked = os.dup(out.fileno())  # keeps the lock once the writer is closed
        except BaseException:
            if locked is not None:
                os.close(locked)
            raise
        self._close()
        self._fd = locked

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


def recover(instance: ConfigOwner, db: Database) -> None:
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
        settings = instance.settings_with(changed_config(instance.config, set_values, unset))
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
                leftovers = list(_undo(kind)(target, data, committed) or ())
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


def _undo(kind: str) -> Undo:
    if kind not in _UNDO:
        raise UserError(f"Unknown operation '{kind}' in the config.php journal")
    return _UNDO[kind]


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


def _finish(instance: ConfigOwner, db: Database, fd: int | None) -> None:
    # config.php holds the change by now, so a journal left without its token (killed between the
    # two steps) still reads as committed: the token goes first.
    AppConfig(db, TOKEN_APP).delete(TOKEN_KEY)
    _remove_journal(instance, fd)


def _remove_journal(instance: ConfigOwner, fd: int | None) -> None:
    path = journal_path(instance)
    with contextlib.suppress(FileNotFoundError):
        if fd is None or os.fstat(fd).st_ino == os.stat(path).st_ino:
            os.unlink(path)
    fsync_dir(path.parent)
