"""What a backup's content must be before anything reads it into a database: the one set of checks
that `passwords:backup:import`, `passwords:backup:restore` (and the automatic restore) apply, so that
a file the import accepts restores, and a file it refuses never reaches the database.

The rules (docs/compatibility.md):

* entity values are cast as PHP casts them (string <-> number <-> boolean); a list or object where
  a scalar belongs, NULL where the entity cannot hold it, a NUL byte, a missing `uuid`/`userId`, a
  user id or uuid with whitespace around it (Nextcloud refuses such user ids, and MariaDB would
  compare `'a '` equal to `'a'`), and values the schema cannot hold (strings longer than their
  VARCHAR, integers beyond their column) are refused on every engine;
* two entities of one user with the same uuid are refused (the tables' unique indexes would);
* `keys`: an object; secrets and keys are strings or null; `keys.users` maps user ids to objects;
* `settings`: an object or null; application and user settings are single values or null;
  client settings are strings (scalars cast as PHP casts them) or null;
* a row or value longer than the database server takes in one statement (MariaDB's
  `max_allowed_packet`) is refused, naming the entity and the limit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec

from ..db.connection import RowLimit
from ..php.casts import settype
from ..repositories.entities import MODEL_REVISION_TABLES, TABLES, Column, Table
from ..repositories.entity_repository import NO_DEFAULT, insert_default
from .errors import BackupFormatError
from .format import MODEL_SECTIONS, ROW_SECTIONS
from .settings import APP_SETTINGS, USER_SETTINGS

INVALID_BACKUP = "The file does not contain a valid server backup"
# Nextcloud's user ids: at most 64 characters (the preferences table), no whitespace around them.
_USER_ID_LENGTH = 64
_PHP_TRIM = " \t\n\r\x0b"
# What an INSERT needs besides the values of its row (statement head, other columns, quoting).
_ROW_OVERHEAD = 16 << 10


def php_map(value: Any) -> Any:
    """A JSON object of the backup as PHP decodes it: `[]` and `{}` are the same empty array
    (PHP's json_encode writes an empty map as `[]`, and so does this tool)."""
    return {} if value == [] else value


def _size(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):.1f} MiB" if nbytes >= 1 << 20 else f"{nbytes} bytes"


def _too_long(what: str, nbytes: int, limit: RowLimit, detail: str = "") -> BackupFormatError:
    return BackupFormatError(
        f"{what} is {_size(nbytes)}{detail}, more than the database server takes in one statement "
        f"({limit.setting} = {_size(limit.bytes)})"
    )


# -- entities ----------------------------------------------------------------------------------
# Nullable in PHP but NOT NULL with a default in the table: NULL means "use the default".
_NOT_NULL_WITH_DEFAULT = frozenset({"cse_key", "client"})

# What the app's schema can hold: integers are BIGINT except one SMALLINT; strings with a length
# fit their VARCHAR (in characters, as MySQL and PostgreSQL count). SQLite would store more, the
# servers refuse it, so a backup that only one engine could take is refused everywhere.
INT64_RANGE = (-(2**63), 2**63 - 1)
_SMALLINT_RANGE = (-(2**15), 2**15 - 1)
_SMALLINT_COLUMNS = frozenset({("passwords_password_rv", "status")})


def int_range(table: Table, column: Column) -> tuple[int, int]:
    return _SMALLINT_RANGE if (table.name, column.name) in _SMALLINT_COLUMNS else INT64_RANGE


def _label(obj: dict[str, Any]) -> str:
    uuid = obj.get("uuid")
    return repr(uuid[:40]) if isinstance(uuid, str) else "(no uuid)"


_NO_LIMIT = 1 << 62
_MISSING: Any = object()


class RowBuilder:
    """Backup objects -> insert tuples of one table (`EntityRepository.insert_columns` order).

    PHP's casts and the schema's limits, with a fast path for values that already have their
    column's type (nearly all of them). With a `row_limit`, a row whose long text values add up to
    more than the server takes in one statement is refused.

    `row` is a function written for the table's columns (see `_row_source`): one test per column
    in a straight line costs a third of a loop over the columns, and a restore runs it for every
    row of the backup.
    """

    def __init__(self, table: Table, row_limit: RowLimit | None = None) -> None:
        self.table = table
        self.row_limit = row_limit
        # Text without a column length longer than this is measured against the row limit.
        self._text_cap = row_limit.bytes // 64 if row_limit else _NO_LIMIT
        self._columns = [c for c in table.columns if c.name != "id"]
        names = [c.name for c in self._columns]
        self.user_index = names.index("user_id")
        self.uuid_index = names.index("uuid")
        self._long: list[str] = []
        scope: dict[str, Any] = {
            "MISSING": _MISSING,
            "TRIM": _PHP_TRIM,
            "columns": self._columns,
            "long": self._long,
            "slow": self._slow,
            "not_an_object": self._not_an_object,
            "refuse_key": self._refuse_key,
            "check_row_size": self._check_row_size,
        }
        exec(self._row_source(), scope)  # the source is built from the table's own columns
        self.row: Callable[[Any, str], tuple[Any, ...]] = scope["row"]

    def struct(self, name: str, extra: Iterable[tuple[str, Any]] = ()) -> type[msgspec.Struct]:
        """A msgspec type that decodes an object only where `row` would take each value as it is:
        every property present (and no other), each of its column's exact type within its length
        or range, or null where the column holds NULL; then the insert columns come first in
        `astuple`, followed by `id` and `extra`. NUL characters and the uuid and user id checks
        are not part of it (see `Validator.item_types`)."""
        fields: list[tuple[str, Any]] = []
        for column in self._columns:
            kind: Any
            if column.type == "str":
                cap = column.max_length or self._text_cap
                kind = str if cap == _NO_LIMIT else Annotated[str, msgspec.Meta(max_length=cap)]
            elif column.type == "int":
                low, high = int_range(self.table, column)
                kind = Annotated[int, msgspec.Meta(ge=low, le=high)]
            else:
                kind = bool
            if column.nullable and column.type != "bool":
                kind = kind | None
            fields.append((column.name, kind))
        fields.append(("id", int))
        fields.extend(extra)
        rename = {c.name: c.prop for c in self.table.columns}
        return msgspec.defstruct(name, fields, rename=rename, forbid_unknown_fields=True)

    def keys_ok(self, row: tuple[Any, ...]) -> bool:
        """The uuid and user id of a row taken from a `struct`: not empty, no whitespace around."""
        uuid, user = row[self.uuid_index], row[self.user_index]
        return bool(uuid) and bool(user) and uuid.strip(_PHP_TRIM) == uuid and user.strip(_PHP_TRIM) == user

    def refuse_keys(self, row: tuple[Any, ...]) -> None:
        obj = {"uuid": row[self.uuid_index]}
        for index, prop in ((self.uuid_index, "uuid"), (self.user_index, "userId")):
            value = row[index]
            if not value or value.strip(_PHP_TRIM) != value:
                self._refuse_key(obj, prop, value)

    def _row_source(self) -> str:
        """`def row(obj, section)`: each column's value taken as it is when it has the column's type
        and fits (a string within its length and without NUL, an integer within its range) or is
        NULL where the column holds NULL, and handed to `_slow` otherwise; then the checks of uuid,
        user id and the row size."""
        lines = [
            "def row(obj, section):",
            "    if type(obj) is not dict:",
            "        return not_an_object(obj, section)",
            "    get = obj.get",
        ]
        for i, column in enumerate(self._columns):
            if column.type == "str":
                cap = column.max_length or self._text_cap
                test = f"type(v{i}) is not str or len(v{i}) > {cap} or '\\x00' in v{i}"
            elif column.type == "int":
                low, high = int_range(self.table, column)
                test = f"type(v{i}) is not int or not {low} <= v{i} <= {high}"
            else:
                test = f"type(v{i}) is not bool"
            if column.nullable and column.type != "bool":
                test = f"v{i} is not None and ({test})"
            lines += [
                f"    v{i} = get({column.prop!r}, MISSING)",
                f"    if {test}:",
                f"        v{i} = slow(obj, columns[{i}], v{i})",
            ]
        for index, prop in ((self.uuid_index, "uuid"), (self.user_index, "userId")):
            lines += [
                f"    if not v{index} or v{index}.strip(TRIM) != v{index}:",
                f"        refuse_key(obj, {prop!r}, v{index})",
            ]
        lines += [
            f"    row = ({', '.join(f'v{i}' for i in range(len(self._columns)))},)",
            "    if long:",
            "        check_row_size(obj, row)",
            "    return row",
        ]
        return "\n".join(lines) + "\n"

    @staticmethod
    def _not_an_object(obj: Any, section: str) -> tuple[Any, ...]:
        # JSON decodes objects to plain dicts only: anything else is another JSON value.
        raise BackupFormatError(f"The backup's '{section}' holds a value that is not an object")

    def _refuse_key(self, obj: dict[str, Any], prop: str, value: str) -> None:
        if not value:
            raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' is missing")
        raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' has whitespace around it")

    def _check_row_size(self, obj: dict[str, Any], row: tuple[Any, ...]) -> None:
        assert self.row_limit is not None
        self._long.clear()
        sizes = {c.prop: len(v.encode("utf-8")) for c, v in zip(self._columns, row, strict=True) if type(v) is str}
        total = sum(sizes.values()) + _ROW_OVERHEAD
        if total > self.row_limit.bytes:
            largest = max(sizes, key=sizes.__getitem__)
            what = f"{self.table.entity} {_label(obj)}"
            if sizes[largest] + _ROW_OVERHEAD > self.row_limit.bytes:
                raise _too_long(f"{what}: '{largest}'", sizes[largest], self.row_limit)
            detail = f" in all (largest field '{largest}', {_size(sizes[largest])})"
            raise _too_long(what, total, self.row_limit, detail)

    def _slow(self, obj: dict[str, Any], column: Column, value: Any) -> Any:
        prop = column.prop
        if value is not _MISSING:
            try:
                value = settype(column.type, value)
            except ValueError as exc:
                raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' {exc}") from None
            if value is None and not column.nullable and column.name not in _NOT_NULL_WITH_DEFAULT:
                raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' must not be null")
            self._check_limits(column, value, obj)
            if value is not None:
                return value
        if prop in ("uuid", "userId"):
            raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' is missing")
        default = insert_default(self.table, column)
        if default is NO_DEFAULT:
            raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' is missing")
        return default

    def _check_limits(self, column: Column, value: Any, obj: dict[str, Any]) -> None:
        table = self.table
        if isinstance(value, str):
            if "\x00" in value:
                raise BackupFormatError(f"{table.entity} {_label(obj)}: '{column.prop}' contains a NUL byte")
            if column.max_length is not None and len(value) > column.max_length:
                raise BackupFormatError(
                    f"{table.entity} {_label(obj)}: '{column.prop}' is longer than {column.max_length} characters"
                )
            if column.max_length is None and len(value) > self._text_cap:
                self._long.append(column.prop)
        elif isinstance(value, int) and not isinstance(value, bool):
            low, high = int_range(table, column)
            if not low <= value <= high:
                raise BackupFormatError(f"{table.entity} {_label(obj)}: '{column.prop}' is out of range")


def model_tables(section: str) -> tuple[Table, Table]:
    """The model table and revision table of a model section."""
    model = MODEL_SECTIONS[section]
    return TABLES[model], TABLES[MODEL_REVISION_TABLES[model]]


@dataclass
class Entity:
    """One item of a list section as rows: the row of `table`, and for a model its revisions."""

    table: str
    row: tuple[Any, ...]
    user: str
    revision_table: str | None = None
    revisions: list[tuple[Any, ...]] = field(default_factory=list)


# -- keys and settings -------------------------------------------------------------------------
@dataclass
class UserKeys:
    uid: str
    user_key: str | None
    challenge: str | None


@dataclass
class Keys:
    """`keys` of a backup: the server secret and key, and each user's key and challenge id."""

    secret: str | None
    server_key: str | None
    users: list[UserKeys]


@dataclass
class Settings:
    """`settings` of a backup: the known application and user settings (single values or null)
    and the client settings strings, per user in document order."""

    application: dict[str, Any] = field(default_factory=dict)
    users: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    clients: list[tuple[str, str | None]] = field(default_factory=list)


def _check_user_id(uid: str, what: str) -> str:
    if not uid or len(uid) > _USER_ID_LENGTH or "\x00" in uid or uid.strip(_PHP_TRIM) != uid:
        raise BackupFormatError(f"The backup's {what} names an invalid user id {uid[:70]!r}")
    return uid


def per_user(mapping: Any, what: str) -> Iterable[tuple[str, Any]]:
    """A per-user map as PHP decoded it: an object, or a list when the user ids were 0..n-1."""
    if isinstance(mapping, dict):
        return [(_check_user_id(str(k), what), v) for k, v in mapping.items()]
    if isinstance(mapping, list):
        return [(_check_user_id(str(i), what), v) for i, v in enumerate(mapping)]
    if mapping is None:
        return []
    raise BackupFormatError(f"The backup's {what} is not an object")


def _text(value: Any, what: str, limit: RowLimit | None, *, cast: bool = False) -> str | None:
    """A string value of keys or settings (None stays None); scalars are cast as PHP when `cast`."""
    if value is None:
        return None
    if cast and not isinstance(value, (dict, list)):
        value = settype("str", value)
    if not isinstance(value, str):
        raise BackupFormatError(f"{what} is not a string")
    if "\x00" in value:
        raise BackupFormatError(f"{what} contains a NUL byte")
    if limit is not None and len(value) > limit.bytes // 8:
        size = len(value.encode("utf-8"))
        if size + _ROW_OVERHEAD > limit.bytes:
            raise _too_long(what, size, limit)
    return value


def validate_keys(value: Any, limit: RowLimit | None = None) -> Keys:
    """The backup's `keys`, checked."""
    keys = php_map(value)
    if not isinstance(keys, dict):
        raise BackupFormatError(INVALID_BACKUP)
    server = php_map(keys.get("server"))
    if server is None:
        server = {}
    if not isinstance(server, dict):
        raise BackupFormatError(INVALID_BACKUP)
    users = []
    for uid, entry in per_user(keys.get("users"), "keys.users"):
        entry = php_map(entry)
        if not isinstance(entry, dict):
            raise BackupFormatError(f"The backup's keys of user '{uid}' are not an object")
        users.append(
            UserKeys(
                uid,
                _text(entry.get("SSEv1UserKey"), f"The backup's key of user '{uid}' (SSEv1UserKey)", limit),
                _text(entry.get("ChallengeId"), f"The backup's challenge id of user '{uid}'", limit),
            )
        )
    return Keys(
        _text(server.get("secret"), "The backup's server secret", limit),
        _text(server.get("SSEv1ServerKey"), "The backup's server key (SSEv1ServerKey)", limit),
        users,
    )


def _single_values(values: dict[str, Any], names: Iterable[str], what: str) -> dict[str, Any]:
    known = {}
    for name in names:
        item = values.get(name)
        if isinstance(item, (dict, list)):
            raise BackupFormatError(f"The backup's {what} '{name}' is not a single value")
        known[name] = item
    return known


def validate_settings(value: Any, limit: RowLimit | None = None) -> Settings:
    """The backup's `settings` (None when the backup has none or null), checked."""
    settings = php_map(value)
    if settings is None:
        return Settings()
    if not isinstance(settings, dict):
        raise BackupFormatError("The backup's settings are not an object")
    application = php_map(settings.get("application"))
    if application is None:
        application = {}
    if not isinstance(application, dict):
        raise BackupFormatError("The backup's application settings are not an object")
    result = Settings(_single_values(application, (s.name for s in APP_SETTINGS), "application setting"))
    for uid, entry in per_user(settings.get("users"), "settings.users"):
        entry = php_map(entry)
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            raise BackupFormatError(f"The backup's settings of user '{uid}' are not an object")
        result.users.append((uid, _single_values(entry, USER_SETTINGS, f"setting of user '{uid}'")))
    for uid, client in per_user(settings.get("clients"), "settings.clients"):
        result.clients.append((uid, _text(client, f"The backup's client settings of user '{uid}'", limit, cast=True)))
    return result


# -- a whole document --------------------------------------------------------------------------
class Validator:
    """Checks the items of a backup document in order (`reader.Document.items`).

    `entity` turns a list item into rows; `keys` and `settings` come out checked at the end
    (`finish`). With `duplicates`, two entities of one user with the same uuid are refused here;
    without, the restore leaves that to the tables' unique indexes.
    """

    def __init__(self, row_limit: RowLimit | None = None, *, duplicates: bool = True) -> None:
        self.row_limit = row_limit
        self.builders = {name: RowBuilder(table, row_limit) for name, table in TABLES.items()}
        self._typed: dict[type[msgspec.Struct], Callable[[Any], Entity]] = {}
        self.item_types: dict[str, type[msgspec.Struct]] = {}
        """Types the reader may decode a list section's items into (`JsonText.items`) instead of
        objects: `item` takes them without looking at each value again. The reader uses them only
        where the text holds no NUL character."""
        for section in MODEL_SECTIONS:
            model_table, revision_table = model_tables(section)
            revision = self.builders[revision_table.name].struct(revision_table.name)
            self.item_types[section] = self.builders[model_table.name].struct(
                model_table.name,
                [("revisions", list[revision])],  # type: ignore[valid-type]
            )
        for section, name in ROW_SECTIONS.items():
            self.item_types[section] = self.builders[name].struct(name)
        for section, struct in self.item_types.items():
            self._typed[struct] = functools.partial(self._typed_item, section)
        self._seen: set[int] | None = set() if duplicates else None
        self.keys: Keys | None = None
        self.settings = Settings()
        self.count = 0

    @property
    def seen(self) -> set[int] | None:
        """The entities seen so far as hashes of `(table, user, uuid)` (None without `duplicates`)."""
        return self._seen

    def item(self, section: str, value: Any) -> Entity | None:
        """Check one document item; an Entity for list sections, None for the rest."""
        typed = self._typed.get(type(value))
        if typed is not None:
            return typed(value)
        if section in MODEL_SECTIONS:
            return self._model(section, value)
        if section in ROW_SECTIONS:
            builder = self.builders[ROW_SECTIONS[section]]
            return self._row_entity(builder, builder.row(value, section))
        if section == "keys":
            self.keys = validate_keys(value, self.row_limit)
        elif section == "settings":
            self.settings = validate_settings(value, self.row_limit)
        return None

    def _model(self, section: str, value: Any) -> Entity:
        model_table, revision_table = model_tables(section)
        builder = self.builders[model_table.name]
        row = builder.row(value, section)
        revisions = value.get("revisions", [])
        if not isinstance(revisions, list):
            raise BackupFormatError(f"{model_table.entity} {row[builder.uuid_index]!r}: 'revisions' is not a list")
        revision_builder = self.builders[revision_table.name]
        revision_rows = [revision_builder.row(revision, section) for revision in revisions]
        return self._model_entity(builder, row, revision_builder, revision_rows)

    def _row_entity(self, builder: RowBuilder, row: tuple[Any, ...]) -> Entity:
        self._unique(builder, row)
        self.count += 1
        return Entity(builder.table.name, row, row[builder.user_index])

    def _model_entity(
        self,
        builder: RowBuilder,
        row: tuple[Any, ...],
        revision_builder: RowBuilder,
        revision_rows: list[tuple[Any, ...]],
    ) -> Entity:
        self._unique(builder, row)
        for revision_row in revision_rows:
            self._unique(revision_builder, revision_row)
        self.count += 1 + len(revision_rows)
        return Entity(builder.table.name, row, row[builder.user_index], revision_builder.table.name, revision_rows)

    def _typed_item(self, section: str, value: msgspec.Struct) -> Entity:
        """An item decoded into its `item_types` type: only the uuid and user id are checked."""
        values = msgspec.structs.astuple(value)
        if section in ROW_SECTIONS:
            builder = self.builders[ROW_SECTIONS[section]]
            row = values[:-1]
            if not builder.keys_ok(row):
                builder.refuse_keys(row)
            return self._row_entity(builder, row)
        model_table, revision_table = model_tables(section)
        builder = self.builders[model_table.name]
        revision_builder = self.builders[revision_table.name]
        row = values[:-2]
        if not builder.keys_ok(row):
            builder.refuse_keys(row)
        revision_rows = [msgspec.structs.astuple(revision)[:-1] for revision in values[-1]]
        for revision_row in revision_rows:
            if not revision_builder.keys_ok(revision_row):
                revision_builder.refuse_keys(revision_row)
        return self._model_entity(builder, row, revision_builder, revision_rows)

    def _unique(self, builder: RowBuilder, row: tuple[Any, ...]) -> None:
        if self._seen is None:
            return
        user, uuid = row[builder.user_index], row[builder.uuid_index]
        # 64-bit hashes keep memory small (a few dozen bytes per entity); two different entities
        # share one with a chance of about n²/2⁶⁵ (1e-8 for a million).
        key = hash((builder.table.name, user, uuid))
        if key in self._seen:
            raise BackupFormatError(
                f"The backup has two entities of one user with the same uuid: {builder.table.entity} "
                f"{uuid[:40]!r} of user {user[:70]!r}"
            )
        self._seen.add(key)

    def finish(self) -> tuple[Keys, Settings]:
        """The checked keys and settings once every item was seen; a backup without keys is refused."""
        if self.keys is None:
            raise BackupFormatError(INVALID_BACKUP)
        return self.keys, self.settings
