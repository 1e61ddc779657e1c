"""`passwords:backup:verify`: read a whole backup and say whether a restore here would succeed
(docs/backups.md#checking-a-backup).

A backup passes through the same reader and checks as a restore (`reader`, `validation`): gzip
and JSON integrity, the version, every entity against its table's definition, no uuid twice.
On top of that the references between entities are followed (a model's current revision, a
revision's model and user, the current folder of passwords and folders, the passwords, tags and
revisions of tag relations, the shared password of shares), and the keys are tried: for every user
with SSEv1 encrypted revisions one of them is decrypted with the keys a restore would leave on
this instance. Memory stays bounded: uuids are remembered as 64-bit hashes, and only one revision
per user is kept for the key check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from ..crypto import icrypto
from ..crypto.errors import CryptoError
from ..crypto.ssev1 import ENCRYPTED_FIELDS, SSE_V1_TYPES, RevisionKind, SseKeys, encryption_password
from ..db.connection import RowLimit
from ..repositories.entities import TABLES
from .errors import BackupError
from .format import MODEL_SECTIONS
from .reader import read_document
from .source import BackupSource
from .validation import Entity, Keys, Validator

OK: Final = "ok"
DAMAGED: Final = "damaged"
UNOPENABLE: Final = "cannot be opened here"
#: Exit status of `passwords:backup:verify` per result (the worst result of several wins).
EXIT_CODES: Final = {OK: 0, DAMAGED: 1, UNOPENABLE: 2}
#: The folder every password and folder may sit in without a row of its own.
ROOT_FOLDER: Final = "00000000-0000-0000-0000-000000000000"

_KINDS: Final[dict[str, RevisionKind]] = {"passwords": "password", "folders": "folder", "tags": "tag"}


class BrokenReferenceError(BackupError):
    """An entity names another that the backup does not hold."""


@dataclass
class VerifyResult:
    """What `verify` found in one backup."""

    name: str
    status: str = OK
    message: str = ""
    version: Any = None
    entities: dict[str, int] = field(default_factory=dict)
    users: list[str] = field(default_factory=list)
    unopenable_users: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def line(self) -> str:
        """The one summary line of the backup."""
        if self.status == DAMAGED:
            return f"{self.name}: damaged: {self.message}"
        counts = ", ".join(f"{count} {section}" for section, count in self.entities.items())
        head = f"{self.name}: {self.status}, version {self.version}, {len(self.users)} users"
        tail = f", {counts}" if counts else ""
        if self.status == UNOPENABLE:
            return f"{head}{tail}: {self.message}"
        return head + tail

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "version": self.version,
            "users": self.users,
            "entities": self.entities,
            "unopenable_users": self.unopenable_users,
        }


def worst_exit_code(results: list[VerifyResult]) -> int:
    """0 when every backup is fine, 1 when one is damaged, else 2 when one cannot be opened here."""
    codes = {result.exit_code for result in results}
    return 1 if 1 in codes else 2 if 2 in codes else 0


class _References:
    """The references between the entities of a document, checked as the items pass.

    Every entity is known by the hash the validator keeps for uniqueness, `(table, user, uuid)`;
    references to entities that come later in the document (folders) wait in a small map until
    the end.
    """

    def __init__(self, validator: Validator) -> None:
        seen = validator.seen
        assert seen is not None
        self._seen = seen
        self._waiting: dict[int, str] = {}
        self._index = {
            name: {c.name: i for i, c in enumerate(c for c in table.columns if c.name != "id")}
            for name, table in TABLES.items()
        }

    def _value(self, table: str, row: tuple[Any, ...], column: str) -> Any:
        return row[self._index[table][column]]

    def _need(self, table: str, user: str, uuid: Any, what: str, *, later: bool = False) -> None:
        if not isinstance(uuid, str):
            return
        key = hash((table, user, uuid))
        if key in self._seen:
            return
        if not later:
            raise BrokenReferenceError(f"{what} names {TABLES[table].entity} {uuid[:40]!r}, which the backup lacks")
        self._waiting.setdefault(key, f"{what} names {TABLES[table].entity} {uuid[:40]!r}, which the backup lacks")

    def entity(self, section: str, entity: Entity) -> None:
        table, row, user = entity.table, entity.row, entity.user
        uuid = self._value(table, row, "uuid")
        what = f"{TABLES[table].entity} {uuid[:40]!r} of user {user[:70]!r}"
        if entity.revision_table is not None:
            self._model(section, entity, what)
        elif table == "passwords_pw_tag_rel":
            self._need("passwords_password", user, self._value(table, row, "password"), what)
            self._need("passwords_password_rv", user, self._value(table, row, "password_revision"), what)
            self._need("passwords_tag", user, self._value(table, row, "tag"), what)
            self._need("passwords_tag_rv", user, self._value(table, row, "tag_revision"), what)
        elif table == "passwords_share":
            # The receiver's copy (targetPassword) is made later by the app's own job and may be
            # gone while the share waits for removal; only the shared password must be there.
            self._need("passwords_password", user, self._value(table, row, "source_password"), what)

    def _model(self, section: str, entity: Entity, what: str) -> None:
        table, row, user = entity.table, entity.row, entity.user
        revision_table = entity.revision_table
        assert revision_table is not None
        uuid = self._value(table, row, "uuid")
        current_uuid = self._value(table, row, "revision")
        current = None
        for revision in entity.revisions:
            revision_uuid = self._value(revision_table, revision, "uuid")
            if self._value(revision_table, revision, "model") != uuid:
                raise BrokenReferenceError(f"{what}: its revision {revision_uuid[:40]!r} belongs to another model")
            if self._value(revision_table, revision, "user_id") != user:
                raise BrokenReferenceError(f"{what}: its revision {revision_uuid[:40]!r} belongs to another user")
            if revision_uuid == current_uuid:
                current = revision
        if current is None:
            raise BrokenReferenceError(f"{what}: its current revision {current_uuid[:40]!r} is not in the backup")
        column = {"passwords": "folder", "folders": "parent"}.get(section)
        if column is not None:
            folder = self._value(revision_table, current, column)
            if folder != ROOT_FOLDER:
                self._need("passwords_folder", user, folder, what, later=True)

    def finish(self) -> None:
        for key, message in self._waiting.items():
            if key not in self._seen:
                raise BrokenReferenceError(message)


class _KeySample:
    """One SSEv1 encrypted field per user, to be decrypted with the backup's keys at the end."""

    def __init__(self) -> None:
        self.samples: dict[str, tuple[Any, str, Any]] = {}

    def add(self, section: str, value: Any) -> None:
        kind = _KINDS.get(section)
        if kind is None or not isinstance(value, dict):
            return
        revisions = value.get("revisions")
        if not isinstance(revisions, list):
            return
        for revision in revisions:
            user = revision.get("userId")
            if not isinstance(user, str) or user in self.samples or revision.get("sseType") not in SSE_V1_TYPES:
                continue
            text = next((revision[f] for f in ENCRYPTED_FIELDS[kind] if isinstance(revision.get(f), str)), None)
            if text:
                self.samples[user] = (revision.get("sseType"), text, revision.get("sseKey"))

    def unopenable(self, keys: Keys, server_secret: str) -> list[str]:
        """Users whose sample does not decrypt with the keys a restore would leave here: the backup's
        server secret (a restore writes it to config.php) or else this instance's."""
        sse = SseKeys(
            server_secret=keys.secret or server_secret,
            server_key=keys.server_key or "",
            user_keys={u.uid: u.user_key for u in keys.users if u.user_key is not None},
        )
        failed = []
        for user, (sse_type, text, sse_key) in self.samples.items():
            try:
                icrypto.decrypt(text, encryption_password(sse_type, sse_key, user, sse))
            except CryptoError:
                failed.append(user)
        return failed


def _entities(items: Iterator[tuple[str, Any]], validator: Validator, counts: dict[str, int]) -> Iterator[Any]:
    for section, value in items:
        entity = validator.item(section, value)
        if entity is not None:
            counts[section] = counts.get(section, 0) + 1
            yield section, value, entity


def verify_source(
    source: BackupSource, name: str, server_secret: str, row_limit: RowLimit | None = None
) -> VerifyResult:
    """Read the whole backup `source` and check it; the result names the first damage found, or
    the users whose keys do not open their data here."""
    result = VerifyResult(name)
    validator = Validator(row_limit)
    references = _References(validator)
    sample = _KeySample()
    counts = {section: 0 for section in (*MODEL_SECTIONS, "shares", "keychains", "challenges")}
    try:
        document = read_document(source, server_secret)
        result.version = document.version
        for section, value, entity in _entities(document.items, validator, counts):
            references.entity(section, entity)
            sample.add(section, value)
        keys, _ = validator.finish()
        references.finish()
    except BackupError as exc:
        result.status, result.message = DAMAGED, str(exc)
        return result
    result.entities = {section: count for section, count in counts.items() if count or section in MODEL_SECTIONS}
    result.users = sorted({u.uid for u in keys.users} | set(sample.samples))
    result.unopenable_users = sample.unopenable(keys, server_secret)
    if result.unopenable_users:
        result.status = UNOPENABLE
        names = ", ".join(repr(user) for user in result.unopenable_users)
        result.message = f"the keys of {names} do not open their encrypted data"
    return result
