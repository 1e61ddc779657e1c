"""Restoring a backup: all-or-nothing, streamed, bulk loaded (docs/internals/backup-format.md#restore).

Differences from the reference, on purpose (docs/compatibility.md): everything happens in ONE
transaction, so any failure leaves the database exactly as it was (a changed server secret reaches
config.php through a journal, so even kill -9 cannot separate the two); a single-user restore whose
server key or secret differs is refused before anything is touched; a null `SSEv1ServerKey` in the
backup removes the instance's key instead of crashing; numeric user ids match `--user`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..db import bulk
from ..db.connection import Database, EncodedRows, RowEncoder, RowLimit
from ..db.writer import Writer
from ..instance.instance import Instance
from ..instance.journal import ConfigChange
from ..repositories.config_values import AppConfig, Preferences
from ..repositories.entities import DATA_TABLES, TABLES  # sessions and registrations are kept
from ..repositories.entity_repository import EntityRepository
from ..users.accounts import check_user_id
from .errors import BackupError, BackupFormatError
from .reader import read_document
from .reading_process import CheckedRows
from .settings import CLIENT_SETTINGS_KEY, restore_application, restore_user
from .source import BackupSource, open_path
from .validation import Keys, Settings, Validator

BATCH = 2000


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

    `start` runs as the first write (the deletion of the rows the backup replaces), before the
    first batch or at `finish`: a file refused within its first batch touches nothing at all.
    Where the engine's backend allows (`background_writes`), batches are written by a background
    thread, so that parsing the next entities overlaps with the database's work on the previous
    batch; the thread is the only user of the connection until `close()` has returned.
    """

    def __init__(
        self,
        db: Database,
        progress: Callable[[int], None] | None,
        start: Callable[[], None],
        background: bool = True,
        encoders: Mapping[str, RowEncoder] | None = None,
    ) -> None:
        self.repos = {name: EntityRepository(db, name) for name in TABLES}
        self.pending: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
        # The tables whose rows may come encoded (`extend_encoded`), and those not written yet.
        self.encoders = dict(encoders or {})
        self.encoded: dict[str, tuple[list[bytes], int]] = {}
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.progress = progress
        self.done = 0
        self._start: Callable[[], None] | None = start
        self._writer = Writer(background, "restore-writer")

    def extend(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Add rows of `table`; whole batches of BATCH rows are written (always that many, so that
        the statements of a load have a few shapes only: SQLite keeps each shape prepared)."""
        pending = self.pending[table]
        pending.extend(rows)
        if len(pending) >= BATCH:
            full = len(pending) - len(pending) % BATCH
            self.pending[table] = pending[full:]
            for start in range(0, full, BATCH):
                self._encode(table, pending[start : start + BATCH])
            if self.progress:
                self.progress(self.done)

    def extend_encoded(self, table: str, count: int, data: bytes) -> None:
        """Add `count` rows of `table` that its `RowEncoder` made into `data`; written once a
        batch of at least BATCH rows has come together."""
        chunks, pending = self.encoded.get(table, ([], 0))
        chunks.append(data)
        self.encoded[table] = (chunks, pending + count)
        if pending + count >= BATCH:
            self._write_encoded(table)
            if self.progress:
                self.progress(self.done)

    def flush(self) -> None:
        """Write every row still pending."""
        for name, pending in self.pending.items():
            if pending:
                self.pending[name] = []
                self._encode(name, pending)
        for name in list(self.encoded):
            self._write_encoded(name)
        if self.progress:
            self.progress(self.done)

    def _write_encoded(self, name: str) -> None:
        chunks, count = self.encoded.pop(name)
        encoder = self.encoders[name]
        self.counts[name] += count
        self.done += count
        self._submit(functools.partial(self._write, name, encoder.batch(count, chunks)))

    def _encode(self, name: str, batch: list[tuple[Any, ...]]) -> None:
        self.counts[name] += len(batch)
        self.done += len(batch)
        try:
            encoded = self.repos[name].encode_rows(batch)
        except ValueError as exc:
            raise BackupFormatError(str(exc)) from None
        self._submit(functools.partial(self._write, name, encoded))

    def _submit(self, job: Callable[[], None]) -> None:
        if self._start is not None:
            start, self._start = self._start, None
            self._writer.submit(start)
        self._writer.submit(job)

    def _write(self, name: str, batch: EncodedRows) -> None:
        try:
            self.repos[name].insert_many(batch)
        except ValueError as exc:
            raise BackupFormatError(str(exc)) from None

    def finish(self) -> None:
        """Write everything still pending (the start too) and wait until it is written."""
        self.flush()
        if self._start is not None:
            start, self._start = self._start, None
            self._writer.submit(start)
        self._writer.finish()

    def close(self) -> None:
        """Stop the writer thread once the batches handed to it are done (or dropped after an error)."""
        self._writer.close()


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused: the rows of a bulk load hold no reference cycles, and with
    hundreds of thousands of them alive it would only walk them again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_keys(keys: Keys, app: AppConfig, instance: Instance, user: str | None) -> str | None:
    """Check the backup's keys against this instance; return the secret to store, if it must change.

    A single-user restore is refused when the instance already has a different server key or
    secret: its other users' data depends on them.
    """
    backup_key = keys.server_key or None
    current_key = app.get("SSEv1ServerKey") or None
    if user is not None and current_key is not None and current_key != backup_key:
        raise BackupError("Can not restore single user data because server key has changed")
    backup_secret = keys.secret or None
    current_secret = instance.server_secret or None
    if backup_secret is None or backup_secret == current_secret:
        return None
    if user is not None and current_secret is not None:
        raise BackupError("Can not restore single user data because server secret has changed")
    return backup_secret


def _restore_keys(keys: Keys, app: AppConfig, prefs: Preferences, user: str | None) -> None:
    backup_key = keys.server_key or None
    if (app.get("SSEv1ServerKey") or None) != backup_key:
        if backup_key is None:
            app.delete("SSEv1ServerKey")
        else:
            app.set("SSEv1ServerKey", backup_key)
    for entry in keys.users:
        if user is not None and entry.uid != user:
            continue
        if entry.user_key is not None and prefs.get(entry.uid, "SSEv1UserKey") != entry.user_key:
            prefs.set(entry.uid, "SSEv1UserKey", entry.user_key)
        if entry.challenge is not None:
            prefs.set(entry.uid, "user/challenge/id", entry.challenge)
        else:
            prefs.delete(entry.uid, "user/challenge/id")


def restore_keys_and_settings(
    keys: Keys, settings: Settings, app: AppConfig, prefs: Preferences, instance: Instance, options: RestoreOptions
) -> str | None:
    """The last step of a restore, after the rows: keys, then application, user and client
    settings, as `options` select them. Returns the server secret to store, if it must change."""
    new_secret = None
    if options.data:
        new_secret = check_keys(keys, app, instance, options.user)
        _restore_keys(keys, app, prefs, options.user)
    if options.app_settings and options.user is None:
        restore_application(app, settings.application)
    if options.user_settings:
        for uid, values in settings.users:
            if options.user is None or uid == options.user:
                restore_user(prefs, app, uid, values)
    if options.client_settings:
        for uid, client in settings.clients:
            if options.user is None or uid == options.user:
                prefs.set(uid, CLIENT_SETTINGS_KEY, "" if client is None else client)
    return new_secret


def _delete_data(db: Database, user: str | None) -> None:
    for table in DATA_TABLES:
        repo = EntityRepository(db, table)
        if user is None:
            repo.delete_all()
        else:
            repo.delete_by_user(user)


def check_file(source: BackupSource | Path, server_secret: str, row_limit: RowLimit | None = None) -> Validator:
    """Read a whole backup and apply every check to it (nothing is written); the validator holds
    the keys, the settings and the number of entities."""
    validator = Validator(row_limit)
    for section, value in read_document(source, server_secret).items:
        validator.item(section, value)
    validator.finish()
    return validator


def restore_backup(
    instance: Instance,
    db: Database,
    source: BackupSource | Path,
    options: RestoreOptions,
    progress: Callable[[int], None] | None = None,
) -> RestoreResult:
    """Restore a backup file into the instance in one transaction; nothing changes on failure.

    The file is checked as a whole before the transaction when not every row will reach the
    tables (a single user, no data: their unique indexes cannot see the rest); otherwise the
    checks run while the rows are loaded (a row longer than the server takes in one statement is
    refused before it is sent), and any failure rolls everything back.
    """
    if options.user is not None:
        check_user_id(options.user, "user")
    if not isinstance(source, BackupSource):
        with open_path(source) as opened:
            return restore_backup(instance, db, opened, options, progress)
    app = AppConfig(db)
    prefs = Preferences(db)
    row_limit = db.row_limit()
    all_rows = options.data and options.user is None
    if not all_rows:
        checked = check_file(source, instance.server_secret, row_limit)
        if options.user is not None and options.data:
            assert checked.keys is not None
            check_keys(checked.keys, app, instance, options.user)  # refuse before any work
    # The reading process encodes the rows where the engine's bulk path takes them made ahead.
    repos = [EntityRepository(db, name) for name in TABLES] if options.data else []
    encoders = {repo.table.name: e for repo in repos if (e := repo.row_encoder()) is not None}
    # Before the loader: its writer thread must not exist when the reading process is forked.
    reading = CheckedRows(
        source,
        instance.server_secret,
        row_limit,
        duplicates=False,
        user=options.user,
        rows=options.data,
        encoders=encoders,
    )
    result = RestoreResult()
    change: ConfigChange | None = None
    try:
        loader = _Loader(db, progress, lambda: _delete_data(db, options.user), db.backend.background_writes, encoders)
        with db.large_writes(), db.transaction(write_lock=True):
            indexes = bulk.prepare(db, DATA_TABLES, replace_all=all_rows)
            try:
                with _no_cycle_collection():
                    for table, batch in reading:
                        if isinstance(batch, list):
                            loader.extend(table, batch)
                        else:
                            loader.extend_encoded(table, *batch)
                keys, settings = reading.finish()
                if options.data:
                    loader.finish()  # the deletion too, with a backup that has no entities
            finally:
                loader.close()  # the connection is the writer thread's until it has stopped
            bulk.create_indexes(db, indexes)
            if options.data:
                bulk.analyze(db, DATA_TABLES)
            result.counts = {k: v for k, v in loader.counts.items() if v}
            new_secret = restore_keys_and_settings(keys, settings, app, prefs, instance, options)
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
    finally:
        reading.close()
    if change is not None:
        change.apply(db)
        result.secret_changed = True
    return result
