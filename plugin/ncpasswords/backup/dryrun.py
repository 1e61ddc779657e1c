"""`passwords:backup:restore --dry-run`: what a restore would change, found without changing anything
(docs/backups.md#trying-a-restore-first).

The steps and checks of `restore.restore_backup` run in the same order. The rows are compared,
not written: inside one read snapshot, every row the restore would delete is remembered as two
64-bit hashes in compact arrays (of its user and uuid, and of its values as the restore would
insert them), the backup is streamed and each of its rows looked up, and a second pass over the
tables names the rows that the backup does not hold. The keys and settings are written by the
restore's own code inside a transaction that is rolled back, and the values before and after are
compared. Memory grows with the number of rows only by those 17 bytes per row, the validator's
uniqueness check and the uuids reported.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from ..db.connection import Database
from ..instance.instance import Instance
from ..repositories.config_values import AppConfig, Preferences
from ..repositories.entities import DATA_TABLES, TABLES
from ..repositories.entity_repository import EntityRepository
from ..users.accounts import check_user_id
from .errors import BackupError
from .reader import read_document
from .restore import RestoreOptions, check_file, check_keys, restore_keys_and_settings
from .source import BackupSource
from .validation import RowBuilder, Validator

#: Preferences and app values whose values are never printed, only said to change.
SECRET_VALUES: Final = frozenset({"SSEv1ServerKey", "SSEv1UserKey"})


@dataclass
class RowChanges:
    """The uuids of one user's rows of one table that a restore would remove, add or change."""

    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, list[str]]:
        return {"removed": self.removed, "added": self.added, "changed": self.changed}


@dataclass(frozen=True)
class SettingChange:
    """One value of `appconfig` (user None) or `preferences` of the app that would change."""

    user: str | None
    key: str
    before: str | None
    after: str | None

    @property
    def secret(self) -> bool:
        return self.key in SECRET_VALUES

    def line(self) -> str:
        where = f"user {self.user!r}" if self.user is not None else "app"
        if self.after is None:
            what = "removed"
        elif self.before is None:
            what = "set" if self.secret else f"set to {self.after!r}"
        else:
            what = "changed" if self.secret else f"changed from {self.before!r} to {self.after!r}"
        return f"{where} {self.key}: {what}"

    def as_json(self) -> dict[str, Any]:
        hide = self.secret
        return {
            "user": self.user,
            "key": self.key,
            "before": None if hide or self.before is None else self.before,
            "after": None if hide or self.after is None else self.after,
            "change": "removed" if self.after is None else "set" if self.before is None else "changed",
        }


@dataclass
class DryRunReport:
    """What a restore would do: row changes per table and user, settings, the server secret."""

    tables: dict[str, dict[str, RowChanges]] = field(default_factory=dict)
    settings: list[SettingChange] = field(default_factory=list)
    secret_changes: bool = False

    def changes(self, table: str, user: str) -> RowChanges:
        return self.tables.setdefault(table, {}).setdefault(user, RowChanges())

    def as_json(self) -> dict[str, Any]:
        return {
            "tables": {
                table: {user: changes.as_json() for user, changes in sorted(users.items())}
                for table, users in sorted(self.tables.items())
            },
            "settings": [change.as_json() for change in self.settings],
            "secret_changes": self.secret_changes,
        }


class _Rollback(Exception):
    """Leaves the transaction of the settings step without committing it."""


class _StoredRows:
    """The rows of one table a restore would delete, in 17 bytes each: the 64-bit hashes of their
    `(user, uuid)` sorted, the hashes of their values beside them, and a byte per row that marks
    the rows the backup holds too."""

    def __init__(self, db: Database, table: str, user: str | None) -> None:
        self.table = table
        self.user = user
        builder = RowBuilder(TABLES[table])
        keys, values = array("q"), array("q")
        for entity in self._stream(db):
            try:
                row = builder.row(entity, table)
            except BackupError:  # a value no backup could hold: it differs from whatever comes
                row = (object(),)
            keys.append(hash((entity["userId"], entity["uuid"])))
            values.append(hash(row))
        order = sorted(range(len(keys)), key=keys.__getitem__)
        self.keys = array("q", (keys[i] for i in order))
        self.values = array("q", (values[i] for i in order))
        del order, keys, values
        self.found = bytearray(len(self.keys))

    def _stream(self, db: Database) -> Iterator[dict[str, Any]]:
        for entity in EntityRepository(db, self.table).stream(include_deleted=True):
            if self.user is None or entity["userId"] == self.user:
                yield entity

    def _index(self, key: int) -> int:
        index = bisect_left(self.keys, key)
        return index if index < len(self.keys) and self.keys[index] == key else -1

    def compare(self, user: str, uuid: str, row: tuple[Any, ...]) -> str | None:
        """`added`, `changed` or None (the same values) for a row of the backup."""
        index = self._index(hash((user, uuid)))
        if index < 0:
            return "added"
        self.found[index] = 1
        return None if self.values[index] == hash(row) else "changed"

    def removed(self, db: Database) -> Iterator[tuple[str, str]]:
        """(user, uuid) of the stored rows the backup does not hold (a second pass over the table)."""
        if all(self.found):
            return
        for entity in self._stream(db):
            if not self.found[self._index(hash((entity["userId"], entity["uuid"])))]:
                yield entity["userId"], entity["uuid"]


def _compare_rows(
    db: Database, source: BackupSource, instance: Instance, options: RestoreOptions, report: DryRunReport
) -> Validator:
    stored = {table: _StoredRows(db, table, options.user) for table in DATA_TABLES} if options.data else {}
    validator = Validator(db.row_limit())
    builders = validator.builders
    for section, value in read_document(source, instance.server_secret).items:
        entity = validator.item(section, value)
        if entity is None or not options.data or (options.user is not None and entity.user != options.user):
            continue
        rows = [(entity.table, entity.row)]
        if entity.revision_table is not None:
            rows += [(entity.revision_table, revision) for revision in entity.revisions]
        for table, row in rows:
            builder = builders[table]
            user, uuid = row[builder.user_index], row[builder.uuid_index]
            change = stored[table].compare(user, uuid, row)
            if change is not None:
                getattr(report.changes(table, user), change).append(uuid)
    validator.finish()
    for table, rows_of_table in stored.items():
        for user, uuid in rows_of_table.removed(db):
            report.changes(table, user).removed.append(uuid)
    return validator


def _settings_state(app: AppConfig, prefs: Preferences) -> dict[tuple[str | None, str], str]:
    state: dict[tuple[str | None, str], str] = {(None, k): v for k, v in app.all().items()}
    for user, values in prefs.all().items():
        state.update({(user, k): v for k, v in values.items()})
    return state


def dry_run(instance: Instance, db: Database, source: BackupSource, options: RestoreOptions) -> DryRunReport:
    """What `restore.restore_backup` would change, with the same checks; nothing is written.

    Raises what the restore would raise for a file or options it refuses.
    """
    if options.user is not None:
        check_user_id(options.user, "user")
    app = AppConfig(db)
    prefs = Preferences(db)
    report = DryRunReport()
    if not (options.data and options.user is None):
        checked = check_file(source, instance.server_secret, db.row_limit())
        if options.user is not None and options.data:
            assert checked.keys is not None
            check_keys(checked.keys, app, instance, options.user)
    with db.transaction(snapshot=True):
        validator = _compare_rows(db, source, instance, options, report)
    keys, settings = validator.finish()
    try:
        with db.transaction(write_lock=True):
            before = _settings_state(app, prefs)
            new_secret = restore_keys_and_settings(keys, settings, app, prefs, instance, options)
            after = _settings_state(app, prefs)
            raise _Rollback
    except _Rollback:
        pass
    report.secret_changes = new_secret is not None
    for key in sorted(before.keys() | after.keys(), key=lambda k: (k[0] is not None, k[0] or "", k[1])):
        if before.get(key) != after.get(key):
            report.settings.append(SettingChange(key[0], key[1], before.get(key), after.get(key)))
    for users in report.tables.values():
        for changes in users.values():
            changes.removed.sort()
            changes.added.sort()
            changes.changed.sort()
    return report
