"""Restoring a backup: all-or-nothing, streamed, bulk loaded (backup-format.md §6).

Differences from the reference, on purpose (docs/compatibility.md): everything happens in ONE
transaction, so any failure leaves the database exactly as it was (a changed server secret reaches
config.php through a journal, so even kill -9 cannot separate the two); a single-user restore whose
server key or secret differs is refused before anything is touched; a null `SSEv1ServerKey` in the
backup removes the instance's key instead of crashing; numeric user ids match `--user`.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..db import bulk
from ..db.connection import Database, EncodedRows
from ..instance.instance import Instance
from ..instance.journal import ConfigChange
from ..repositories.config_values import AppConfig, Preferences
from ..repositories.entities import TABLES
from ..repositories.entity_repository import EntityRepository
from ..users.accounts import check_user_id
from .document import MODEL_SECTIONS, ROW_SECTIONS
from .errors import BackupError, BackupFormatError
from .reader import RowBuilder, model_tables, php_map, read_document
from .settings import CLIENT_SETTINGS_KEY, restore_application, restore_user

# Tables a restore clears (the reference's deleteData; sessions and registrations are kept).
DATA_TABLES = (
    "passwords_tag", "passwords_share", "passwords_folder", "passwords_password", "passwords_keychain",
    "passwords_challenge", "passwords_tag_rv", "passwords_folder_rv", "passwords_password_rv",
    "passwords_pw_tag_rel",
)
BATCH = 2000
# While the writer thread runs: how soon the parsing thread hands it the GIL (Python's default is
# 5 ms). The writer wakes up for every few hundred kilobytes sent and every row SQLite steps
# through; making it wait 5 ms each time left the database idle (PostgreSQL restores ~15% slower).
SWITCH_INTERVAL = 0.0002


@dataclass
class RestoreOptions:
    """What to restore (the options of `passwords:backup:restore`)."""

    user: str | None = None
    data: bool = True
    app_settings: bool = True
    user_settings: bool = True
    client_settings: bool = True

    @property
    def nothing(self) -> bool:
        return not (self.data or self.app_settings or self.user_settings or self.client_settings)


@dataclass
class RestoreResult:
    counts: dict[str, int] = field(default_factory=dict)
    secret_changed: bool = False


class _Loader:
    """Collects insert tuples per table and writes them in bulk batches.

    Batches are written by a background thread (when `background`), so that parsing the next
    entities overlaps with the database's work on the previous batch; the thread is the only user
    of the connection until `close()` has returned.
    """

    def __init__(self, db: Database, progress: Callable[[int], None] | None, background: bool = True) -> None:
        self.repos = {name: EntityRepository(db, name) for name in TABLES}
        self.builders = {name: RowBuilder(table) for name, table in TABLES.items()}
        self.pending: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.progress = progress
        self.done = 0
        self._jobs: queue.Queue[tuple[str, EncodedRows] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(SWITCH_INTERVAL, self._switch_interval))
            self._thread = threading.Thread(target=self._work, name="restore-writer", daemon=True)
            self._thread.start()

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        batch = self.pending[table]
        batch.append(row)
        if len(batch) >= BATCH:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.pending):
            batch = self.pending[name]
            if batch:
                self.pending[name] = []
                self.counts[name] += len(batch)
                self.done += len(batch)
                try:
                    encoded = self.repos[name].encode_rows(batch)
                except ValueError as exc:
                    raise BackupFormatError(str(exc)) from None
                if self._thread is None:
                    self._write(name, encoded)
                else:
                    self._check()
                    self._jobs.put((name, encoded))
        if self.progress:
            self.progress(self.done)

    def _write(self, name: str, batch: EncodedRows) -> None:
        try:
            self.repos[name].insert_many(batch)
        except ValueError as exc:
            raise BackupFormatError(str(exc)) from None

    def _work(self) -> None:
        # Takes every job until told to stop, so that `put` never blocks on a dead writer.
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    self._write(*job)
                except BaseException as exc:
                    self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        """Write everything still pending and wait until it is written."""
        self.flush()
        self.close()
        self._check()

    def close(self) -> None:
        """Stop the writer thread once the batches handed to it are done (or dropped after an error)."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None
            sys.setswitchinterval(self._switch_interval)


def _users_of(mapping: Any, what: str) -> list[tuple[str, Any]]:
    """A per-user map as PHP decoded it: an object, or a list when uids were 0..n-1 (or none)."""
    if isinstance(mapping, dict):
        return [(str(k), v) for k, v in mapping.items()]
    if isinstance(mapping, list):
        return [(str(i), v) for i, v in enumerate(mapping)]
    if mapping is None:
        return []
    raise BackupFormatError(f"The backup's {what} is not an object")


def check_keys(keys: Any, app: AppConfig, instance: Instance, user: str | None) -> str | None:
    """Validate `keys` against this instance; return the secret to store, if it must change.

    A single-user restore is refused when the instance already has a different server key or
    secret: its other users' data depends on them.
    """
    keys = php_map(keys)
    if not isinstance(keys, dict) or not isinstance(php_map(keys.get("server", {})), dict):
        raise BackupFormatError("The file does not contain a valid server backup")
    server = keys.get("server") or {}
    backup_key = server.get("SSEv1ServerKey") or None
    current_key = app.get("SSEv1ServerKey") or None
    if user is not None and current_key is not None and current_key != backup_key:
        raise BackupError("Can not restore single user data because server key has changed")
    backup_secret = server.get("secret") or None
    current_secret = instance.server_secret or None
    if backup_secret is not None and not isinstance(backup_secret, str):
        raise BackupFormatError("The backup's server secret is not a string")
    if backup_secret is None or backup_secret == current_secret:
        return None
    if user is not None and current_secret is not None:
        raise BackupError("Can not restore single user data because server secret has changed")
    return backup_secret


def _restore_keys(keys: dict[str, Any], app: AppConfig, prefs: Preferences, user: str | None) -> None:
    backup_key = (keys.get("server") or {}).get("SSEv1ServerKey") or None
    if (app.get("SSEv1ServerKey") or None) != backup_key:
        if backup_key is None:
            app.delete("SSEv1ServerKey")
        else:
            app.set("SSEv1ServerKey", str(backup_key))
    for uid, values in _users_of(keys.get("users"), "keys.users"):
        if user is not None and uid != user:
            continue
        if not isinstance(values, dict):
            raise BackupFormatError(f"The backup's keys for user '{uid}' are not an object")
        user_key = values.get("SSEv1UserKey")
        if user_key is not None and prefs.get(uid, "SSEv1UserKey") != str(user_key):
            prefs.set(uid, "SSEv1UserKey", str(user_key))
        challenge = values.get("ChallengeId")
        if challenge is not None:
            prefs.set(uid, "user/challenge/id", str(challenge))
        else:
            prefs.delete(uid, "user/challenge/id")


def _delete_data(db: Database, user: str | None) -> None:
    for table in DATA_TABLES:
        repo = EntityRepository(db, table)
        if user is None:
            repo.delete_all()
        else:
            repo.delete_by_user(user)


def restore_backup(
    instance: Instance,
    db: Database,
    path: Path,
    options: RestoreOptions,
    progress: Callable[[int], None] | None = None,
) -> RestoreResult:
    """Restore a backup file into the instance in one transaction; nothing changes on failure."""
    if options.user is not None:
        check_user_id(options.user, "user")
    app = AppConfig(db)
    prefs = Preferences(db)
    if options.user is not None and options.data:
        # Refuse before any work when the keys do not fit this instance.
        check_keys(_keys_only(path, instance.server_secret), app, instance, options.user)
    document = read_document(path, instance.server_secret)
    result = RestoreResult()
    loader = _Loader(db, progress)
    keys: Any = None
    settings: Any = None
    change: ConfigChange | None = None
    try:
        with db.transaction(write_lock=True):
            if db.dialect == "pgsql":
                bulk.prefer_lz4(db)
            indexes: list[str] = []
            if options.data and options.user is None and db.dialect == "sqlite":
                # Readers keep the old tables until COMMIT, indexes included: build them once at the end.
                indexes = bulk.drop_secondary_indexes(db, DATA_TABLES)
            if options.data:
                _delete_data(db, options.user)
            try:
                for section, value in document.items:
                    if section in MODEL_SECTIONS:
                        if options.data:
                            _add_model(loader, section, value, options.user)
                    elif section in ROW_SECTIONS:
                        if options.data:
                            name = ROW_SECTIONS[section]
                            builder = loader.builders[name]
                            row = builder.row(value, section)
                            if options.user is None or row[builder.user_index] == options.user:
                                loader.add(name, row)
                    elif section == "keys":
                        keys = php_map(value)
                    elif section == "settings":
                        settings = php_map(value)
                if keys is None:
                    raise BackupFormatError("The file does not contain a valid server backup")
                loader.finish()
            finally:
                loader.close()  # the connection is the writer thread's until it has stopped
            bulk.create_indexes(db, indexes)
            if options.data:
                bulk.analyze(db, DATA_TABLES)
            result.counts = {k: v for k, v in loader.counts.items() if v}
            new_secret = None
            if options.data:
                new_secret = check_keys(keys, app, instance, options.user)
                _restore_keys(keys, app, prefs, options.user)
            if settings is not None and not isinstance(settings, dict):
                raise BackupFormatError("The backup's settings are not an object")
            settings = settings or {}
            if options.app_settings and options.user is None:
                restore_application(app, settings.get("application"))
            if options.user_settings:
                for uid, values in _users_of(settings.get("users"), "settings.users"):
                    if options.user is None or uid == options.user:
                        restore_user(prefs, app, uid, values)
            if options.client_settings:
                for uid, value in _users_of(settings.get("clients"), "settings.clients"):
                    if options.user is None or uid == options.user:
                        if isinstance(value, (dict, list)):
                            raise BackupFormatError(f"The backup's client settings for '{uid}' are not a string")
                        prefs.set(uid, CLIENT_SETTINGS_KEY, "" if value is None else str(value))
            if new_secret is not None:
                # config.php changes with the database: journalled now, written after COMMIT.
                change = ConfigChange(instance, {"passwords.secret": new_secret})
                change.begin()
                change.prepare()
                change.mark(db)
    except BaseException:
        if change is not None:  # rolled back, or the COMMIT failed: decide as a recovery would
            change.settle(db)
        raise
    if change is not None:
        change.apply(db)
        result.secret_changed = True
    return result


def _add_model(loader: _Loader, section: str, value: Any, user: str | None) -> None:
    model_table, revision_table = model_tables(section)
    if not isinstance(value, dict):
        raise BackupFormatError(f"The backup's '{section}' holds a value that is not an object")
    builder = loader.builders[model_table.name]
    model = builder.row(value, section)
    if user is not None and model[builder.user_index] != user:
        return
    revisions = value.get("revisions", [])
    if not isinstance(revisions, list):
        raise BackupFormatError(f"{model_table.entity} {model[builder.uuid_index]!r}: 'revisions' is not a list")
    revision_builder = loader.builders[revision_table.name]
    for revision in revisions:
        loader.add(revision_table.name, revision_builder.row(revision, section))
    loader.add(model_table.name, model)


def _keys_only(path: Path, server_secret: str) -> Any:
    """The `keys` member of a backup, read by a streaming pass."""
    document = read_document(path, server_secret)
    for section, value in document.items:
        if section == "keys":
            return value
    raise BackupFormatError("The file does not contain a valid server backup")
