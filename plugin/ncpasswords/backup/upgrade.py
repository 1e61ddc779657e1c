"""Upgrade of server backups from format version 100…105 to 106.

Format: docs/internals/backup-format.md#upgrading-to-106 (app: ``BackupMigrationHelper``). The steps run in the fixed
order ``to101`` … ``to106``, each guarded by "version < N" with PHP's loose comparison of the raw
``version`` value; then ``version`` becomes the integer 106.

:func:`upgrade_document` converts a whole document: older files are small, and ``to103``/``to104``
need the document's ``keys``, which come after the entity lists. The steps, in their order:

* ``to101``: the section ``password_tag_relations`` is renamed ``passwordTagRelations`` (and moves
  to the end of the object);
* ``to102`` (per revision): :func:`to102_revision`;
* ``to103`` and ``to104`` (per password revision, with the document's keys and this instance's
  server secret, see :func:`sse_keys_for_upgrade`): :func:`to103_password_revision`,
  :func:`to104_password_revision`;
* ``to105``: per revision :func:`to105_revision`, per relation :func:`to105_relation`; the
  sections :func:`to105_keys` and :func:`to105_application_settings`; ``keychains`` and
  ``challenges`` become empty lists;
* ``to106``: per revision :func:`to106_revision`, per model :func:`to106_model`.

The server secret used by ``to103``/``to104`` is the **current instance's** (config
``passwords.secret`` or ``secret``), never the file's, exactly as in the reference: re-encrypted
revisions use it with the r2 key layout, and r2 revisions of a 103 file only decrypt on the
instance (secret) that wrote them.

Deliberate differences from the reference, where it would crash with a PHP error: malformed
input raises :class:`BackupFormatError` with a clear message, a null ``SSEv1ServerKey`` counts as
``""``, and a missing user key raises :class:`~ncpasswords.crypto.errors.CryptoError`.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Final

from ..crypto.ssev1 import (
    RevisionKind,
    SseKeys,
    decrypt_revision,
    encrypt_revision,
    generate_key,
)
from ..php.casts import SetType, php_string, settype
from ..php.compare import compare
from ..php.json import PhpJsonError, json_decode
from ..php.json import dumps as php_json_dumps
from .errors import BackupFormatError, BackupVersionError, ClientBackupError
from .format import MINIMUM_VERSION, VERSION

__all__ = [
    "APPLICATION_SETTINGS_RENAME",
    "CLIENT_UNKNOWN",
    "PASSWORD_REVISION_KEYS",
    "needs_step",
    "new_uuid",
    "sse_keys_for_upgrade",
    "to102_revision",
    "to103_password_revision",
    "to104_password_revision",
    "to105_application_settings",
    "to105_keys",
    "to105_relation",
    "to105_revision",
    "to106_model",
    "to106_revision",
    "upgrade_document",
    "validate_version",
]

CLIENT_UNKNOWN: Final = "CLIENT::UNKNOWN"

KeyFactory = Callable[[], str]
UuidFactory = Callable[[], str]

#: to105: new application setting name → old (slash) name, in the reference's order.
APPLICATION_SETTINGS_RENAME: Final[tuple[tuple[str, str], ...]] = (
    ("backup.interval", "backup/interval"),
    ("backup.files.max", "backup/files/maximum"),
    ("service.words", "service/words"),
    ("service.images", "service/images"),
    ("service.favicon", "service/favicon"),
    ("service.preview", "service/preview"),
    ("service.security", "service/security"),
    ("entity.purge.timeout", "entity/purge/timeout"),
    ("settings.mail.shares", "settings/mail/shares"),
    ("settings.mail.security", "settings/mail/security"),
)

# PasswordRevision entity: field → (registered type, nullable), in toArray() order
# (docs/internals/backup-format.md#entities).
_PASSWORD_REVISION_FIELDS: Final[tuple[tuple[str, SetType, bool], ...]] = (
    ("id", "int", True),
    ("url", "str", False),
    ("hash", "str", False),
    ("notes", "str", False),
    ("label", "str", False),
    ("folder", "str", False),
    ("username", "str", False),
    ("password", "str", False),
    ("statusCode", "str", False),
    ("customFields", "str", True),
    ("status", "int", False),
    ("sseType", "str", False),
    ("sseKey", "str", True),
    ("cseType", "str", False),
    ("cseKey", "str", True),
    ("model", "str", False),
    ("client", "str", True),
    ("edited", "int", False),
    ("hidden", "bool", False),
    ("trashed", "bool", False),
    ("favorite", "bool", False),
    ("uuid", "str", False),
    ("userId", "str", False),
    ("deleted", "bool", False),
    ("created", "int", False),
    ("updated", "int", False),
)
_PASSWORD_REVISION_SPEC: Final = {name: (kind, nullable) for name, kind, nullable in _PASSWORD_REVISION_FIELDS}
#: Key order of a password revision after ``to103``/``to104`` (the entity's ``toArray()``).
PASSWORD_REVISION_KEYS: Final = tuple(name for name, _, _ in _PASSWORD_REVISION_FIELDS)

_MODEL_KINDS: Final[tuple[RevisionKind, ...]] = ("password", "folder", "tag")
_SECTIONS: Final[Mapping[RevisionKind, str]] = {"password": "passwords", "folder": "folders", "tag": "tags"}


def new_uuid() -> str:
    """A random UUIDv4 in the reference's format (lowercase ``8-4-4-4-12``)."""
    return str(uuid.uuid4())


# --------------------------------------------------------------------------------------------------
# PHP semantics helpers
# --------------------------------------------------------------------------------------------------


def _php_settype(value: Any, php_type: SetType, name: str) -> Any:
    """PHP ``settype()`` as the entity setter applies it; arrays are refused."""
    try:
        return settype(php_type, value)
    except ValueError:
        raise BackupFormatError(f"Password revision field {name!r} must not be an array or object") from None


def _password_revision_entity(revision: Mapping[str, Any]) -> dict[str, Any]:
    """Set every key on a ``PasswordRevision`` entity and return its ``toArray()``.

    Unknown keys fail like the reference (``<name> is not a valid attribute``); values are converted
    to the registered types; fields that were not set come back as ``None`` in entity order.
    """
    values: dict[str, Any] = {}
    for name, value in revision.items():
        spec = _PASSWORD_REVISION_SPEC.get(name)
        if spec is None:
            raise BackupFormatError(f"{name} is not a valid attribute")
        php_type, nullable = spec
        if value is None:
            if not nullable:
                raise BackupFormatError(f"Password revision field {name!r} must not be null")
            values[name] = None
        else:
            values[name] = _php_settype(value, php_type, name)
    return {name: values.get(name) for name in PASSWORD_REVISION_KEYS}


def _json_decode(text: Any) -> Any:
    """PHP ``json_decode($text, true)``; ``None`` where PHP fails."""
    if not isinstance(text, str):
        return None
    try:
        return json_decode(text)
    except ValueError:
        return None


def _php_json_encode(value: Any) -> str:
    """PHP ``json_encode`` (no flags) of a decoded PHP value, as the string setter stores it.

    A failing ``json_encode`` returns ``false``, which the entity's string setter turns into ``""``.
    """
    try:
        return php_json_dumps(value)
    except PhpJsonError:
        return ""


def _php_foreach(value: Any) -> list[tuple[Any, Any]]:
    """``foreach ($value as $key => $item)``; a non-array iterates nothing (PHP warns)."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return []


def _php_offset(data: Any, key: str) -> Any:
    """``$data[$key]`` on a decoded value: missing offsets and offsets on scalars are null."""
    if isinstance(data, dict):
        return data.get(key)
    if isinstance(data, str):
        raise BackupFormatError(f"Custom field data must be an object, got the string {data!r}")
    return None


# --------------------------------------------------------------------------------------------------
# Version checks
# --------------------------------------------------------------------------------------------------


def validate_version(version: Any) -> None:
    """Raise :class:`BackupVersionError` (reference messages) unless 100 <= version <= 106 (PHP rules)."""
    if compare(version, MINIMUM_VERSION) < 0:
        raise ClientBackupError("This seems to be a client backup. It can only be restored using the web interface")
    if compare(version, VERSION) > 0:
        raise BackupVersionError(f"Unsupported backup version: {php_string(version)}")


def needs_step(version: Any, step: int) -> bool:
    """Whether step ``to<step>`` runs for a file of ``version`` (PHP ``$version < $step``)."""
    return compare(version, step) < 0


# --------------------------------------------------------------------------------------------------
# Per-object steps
# --------------------------------------------------------------------------------------------------


def _require_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BackupFormatError(f"{what} is not a JSON object")
    return value


def to102_revision(revision: Mapping[str, Any]) -> dict[str, Any]:
    """to102: drop the legacy ``client`` and ``favourite`` keys when they are set (not null)."""
    result = dict(revision)
    for name in ("client", "favourite"):
        if result.get(name) is not None:
            del result[name]
    return result


def _decrypt_for_upgrade(revision: Mapping[str, Any], keys: SseKeys) -> dict[str, Any]:
    entity = _password_revision_entity(revision)
    return decrypt_revision("password", entity, keys, check_type=False, errors="surrogateescape")


def _encrypt_for_upgrade(revision: Mapping[str, Any], keys: SseKeys, key_factory: KeyFactory) -> dict[str, Any]:
    entity = _password_revision_entity(revision)
    return encrypt_revision("password", entity, keys, key_factory=key_factory)


def _convert_old_custom_fields(plain: str | None) -> str:
    if plain is None or plain in ("{}", "", "0"):
        return "[]"
    fields: list[dict[str, Any]] = []
    for label, data in _php_foreach(_json_decode(plain)):
        if isinstance(label, str) and label.startswith("_"):
            if isinstance(data, dict):
                data = {**data, "type": "data"}
            elif data is None or data is False:
                data = {"type": "data"}
            else:
                raise BackupFormatError(f"Custom field {label!r} has invalid data")
        fields.append({"label": label, "type": _php_offset(data, "type"), "value": _php_offset(data, "value")})
    return _php_json_encode(fields)


def _clean_custom_fields(plain: str | None) -> str:
    fields = [
        {
            "label": _php_offset(data, "label"),
            "type": _php_offset(data, "type"),
            "value": _php_offset(data, "value"),
        }
        for _, data in _php_foreach(_json_decode(plain))
    ]
    return _php_json_encode(fields)


def to103_password_revision(
    revision: Mapping[str, Any], keys: SseKeys, *, key_factory: KeyFactory = generate_key
) -> dict[str, Any]:
    """to103: convert custom fields from the label → ``{type, value}`` map to the list format.

    Decrypts (r1 layout for ``SSEv1r1``, else r2), converts, re-encrypts with a new ``sseKey``
    (r2 layout, ``sseType`` r1 → r2) and returns the entity's full key set in current order.
    """
    decrypted = _decrypt_for_upgrade(revision, keys)
    decrypted["customFields"] = _convert_old_custom_fields(decrypted["customFields"])
    return _encrypt_for_upgrade(decrypted, keys, key_factory)


def to104_password_revision(
    revision: Mapping[str, Any], keys: SseKeys, *, key_factory: KeyFactory = generate_key
) -> dict[str, Any]:
    """to104: reduce custom field entries to ``label``, ``type``, ``value``.

    A revision whose decrypted custom fields are exactly ``[]`` is returned unchanged.
    """
    decrypted = _decrypt_for_upgrade(revision, keys)
    if decrypted["customFields"] == "[]":
        return dict(revision)
    decrypted["customFields"] = _clean_custom_fields(decrypted["customFields"])
    return _encrypt_for_upgrade(decrypted, keys, key_factory)


def to105_revision(revision: Mapping[str, Any]) -> dict[str, Any]:
    """to105: ``cseKey = ""`` (overwritten even when present)."""
    result = dict(revision)
    result["cseKey"] = ""
    return result


def to105_relation(relation: Mapping[str, Any], *, uuid_factory: UuidFactory = new_uuid) -> dict[str, Any]:
    """to105: a password-tag relation gets a new random ``uuid``."""
    result = dict(relation)
    result["uuid"] = uuid_factory()
    return result


def _php_map(value: Any) -> dict[Any, Any]:
    """A PHP array used as a map: null / ``[]`` are empty, a list is keyed by index."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    if value is None:
        return {}
    raise BackupFormatError(f"Expected a JSON object, got {type(value).__name__}")


def to105_keys(keys: Any, server_secret: str) -> dict[str, Any]:
    """to105 on the ``keys`` section: ``server.secret`` = this instance's secret, ``ChallengeId`` null.

    A ``users`` map that PHP wrote as a JSON list (uids ``"0"``…) stays a list.
    """
    result: dict[str, Any] = _php_map(keys)
    server = _php_map(result.get("server"))
    server["secret"] = server_secret
    result["server"] = server
    users = result.get("users")
    if isinstance(users, dict | list):
        entries = users.items() if isinstance(users, dict) else enumerate(users)
        new_users: dict[Any, Any] = {}
        for uid, entry in entries:
            user = _php_map(entry)
            user["ChallengeId"] = None
            new_users[uid] = user
        result["users"] = new_users if isinstance(users, dict) else list(new_users.values())
    return result


def to105_application_settings(application: Any) -> dict[str, Any]:
    """to105: the ten application settings under their dot names; missing ones are null."""
    old = application if isinstance(application, dict) else {}
    return {new: old.get(name) for new, name in APPLICATION_SETTINGS_RENAME}


def to106_revision(revision: Mapping[str, Any]) -> dict[str, Any]:
    """to106: a missing or null ``client`` becomes ``CLIENT::UNKNOWN``."""
    result = dict(revision)
    if result.get("client") is None:
        result["client"] = CLIENT_UNKNOWN
    return result


def to106_model(kind: RevisionKind, model: Mapping[str, Any]) -> dict[str, Any]:
    """to106 on a model itself (not its revisions): ``suspended`` defaults to false on passwords
    and folders and is removed from tags."""
    result = dict(model)
    if kind == "tag":
        result.pop("suspended", None)
    elif result.get("suspended") is None:
        result["suspended"] = False
    return result


def sse_keys_for_upgrade(keys: Any, server_secret: str) -> SseKeys:
    """The SSEv1 keys ``to103``/``to104`` use: the file's ``SSEv1ServerKey`` and ``SSEv1UserKey``s
    with **this instance's** server secret."""
    if not isinstance(keys, dict | list):
        raise BackupFormatError("The backup has no keys")
    return SseKeys.from_backup_keys(keys, server_secret=server_secret)


# --------------------------------------------------------------------------------------------------
# Whole document
# --------------------------------------------------------------------------------------------------


def _ref_items(container: MutableMapping[str, Any], key: str) -> list[Any]:
    """The items of ``foreach ($container[$key] as &$item)``; PHP creates a missing key as null."""
    if key not in container:
        container[key] = None
    value = container[key]
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return []


def _map_items(value: Any, function: Callable[[Any], Any]) -> None:
    """Replace every item of a list or dict by ``function(item)``."""
    if isinstance(value, list):
        value[:] = [function(item) for item in value]
    elif isinstance(value, dict):
        for key in list(value):
            value[key] = function(value[key])


def _map_revisions(
    data: MutableMapping[str, Any], kinds: tuple[RevisionKind, ...], function: Callable[[Any], Any]
) -> None:
    """Apply ``function`` to every revision of every model of ``kinds`` (by-reference loops)."""
    for kind in kinds:
        for model in _ref_items(data, _SECTIONS[kind]):
            model = _require_object(model, f"A {kind} model")
            _ref_items(model, "revisions")
            what = f"A {kind} revision"

            def apply(revision: Any, what: str = what) -> Any:
                return function(_require_object(revision, what))

            _map_items(model["revisions"], apply)


def _to101(data: dict[str, Any]) -> None:
    data["passwordTagRelations"] = data.pop("password_tag_relations", None)


def _to102(data: dict[str, Any]) -> None:
    _map_revisions(data, _MODEL_KINDS, to102_revision)


def _to103_104(data: dict[str, Any], server_secret: str, key_factory: KeyFactory, *, to103: bool) -> None:
    keys = sse_keys_for_upgrade(data.get("keys"), server_secret)
    step = to103_password_revision if to103 else to104_password_revision

    def apply(revision: Any) -> Any:
        return step(_require_object(revision, "A password revision"), keys, key_factory=key_factory)

    for model in _ref_items(data, "passwords"):
        _map_items(_require_object(model, "A password model").get("revisions"), apply)


def _to105(data: dict[str, Any], server_secret: str, uuid_factory: UuidFactory) -> None:
    _map_revisions(data, _MODEL_KINDS, to105_revision)

    def relation_uuid(relation: Any) -> Any:
        return to105_relation(_require_object(relation, "A password-tag relation"), uuid_factory=uuid_factory)

    _ref_items(data, "passwordTagRelations")
    _map_items(data["passwordTagRelations"], relation_uuid)
    data["keychains"] = []
    data["challenges"] = []
    data["keys"] = to105_keys(data.get("keys"), server_secret)
    settings = _php_map(data.get("settings"))
    settings["application"] = to105_application_settings(settings.get("application"))
    data["settings"] = settings


def _to106(data: dict[str, Any]) -> None:
    _map_revisions(data, _MODEL_KINDS, to106_revision)
    for kind in _MODEL_KINDS:
        section = _SECTIONS[kind]

        def apply(model: Any, kind: RevisionKind = kind) -> Any:
            return to106_model(kind, _require_object(model, f"A {kind} model"))

        _ref_items(data, section)
        _map_items(data[section], apply)


def upgrade_document(
    document: Mapping[str, Any],
    server_secret: str,
    *,
    key_factory: KeyFactory = generate_key,
    uuid_factory: UuidFactory = new_uuid,
) -> dict[str, Any]:
    """Convert a parsed backup of version 100…106 to version 106 (the input is not modified).

    ``server_secret`` is this instance's secret (``passwords.secret``, else Nextcloud's ``secret``).
    ``key_factory`` / ``uuid_factory`` make new ``sseKey``s and relation uuids (tests inject
    deterministic ones). Raises :class:`BackupVersionError` for versions < 100 or > 106.
    """
    if not isinstance(document, Mapping):
        raise BackupFormatError("The backup is not a JSON object")
    version = document.get("version")
    validate_version(version)
    data: dict[str, Any] = copy.deepcopy(dict(document))
    if needs_step(version, 101):
        _to101(data)
    if needs_step(version, 102):
        _to102(data)
    if needs_step(version, 103):
        _to103_104(data, server_secret, key_factory, to103=True)
    if needs_step(version, 104):
        _to103_104(data, server_secret, key_factory, to103=False)
    if needs_step(version, 105):
        _to105(data, server_secret, uuid_factory)
    if needs_step(version, 106):
        _to106(data)
    data["version"] = VERSION
    return data
