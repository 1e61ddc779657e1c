"""Upgrade of server backups from format version 100…105 to 106.

Format: docs/internals/backup-format.md#upgrading-to-106 (app: ``BackupMigrationHelper``). The steps run in the fixed
order ``to101`` … ``to106``, each guarded by "version < N" with PHP's loose comparison of the raw
``version`` value; then ``version`` becomes the integer 106.

Whole document: :func:`upgrade_document`. For a streaming reader the same work is split per
object; which steps need context from elsewhere in the document:

* ``to101`` (document): the section ``password_tag_relations`` is renamed ``passwordTagRelations``
  (and moves to the end of the object). A streaming reader simply reads the old section name.
* ``to102`` (per revision): :func:`to102_revision`.
* ``to103`` and ``to104`` (per password revision, **needs the document's ``keys`` object** plus the
  caller's server secret, see :func:`sse_keys_for_upgrade`): :func:`to103_password_revision`,
  :func:`to104_password_revision`. ``keys`` comes after the entity lists in a file, so a streaming
  reader has to read it first (second pass) or buffer the password models.
* ``to105``: per revision :func:`to105_revision`, per relation :func:`to105_relation`; document
  sections :func:`to105_keys` (needs the server secret) and :func:`to105_application_settings`;
  ``keychains`` and ``challenges`` become empty lists.
* ``to106``: per revision :func:`to106_revision`, per model :func:`to106_model`.

:func:`upgrade_model`, :func:`upgrade_revision`, :func:`upgrade_relation`, :func:`upgrade_keys` and
:func:`upgrade_settings` apply every step an object needs for a given source version.

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
import decimal
import json
import math
import re
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
from ..php import php_float_string
from .errors import BackupFormatError, BackupVersionError, ClientBackupError
from .phpjson import PhpJsonError
from .phpjson import dumps as php_json_dumps

__all__ = [
    "APPLICATION_SETTINGS_RENAME",
    "CLIENT_UNKNOWN",
    "CURRENT_VERSION",
    "MINIMUM_VERSION",
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
    "upgrade_keys",
    "upgrade_model",
    "upgrade_relation",
    "upgrade_revision",
    "upgrade_settings",
    "validate_version",
]

CURRENT_VERSION: Final = 106
MINIMUM_VERSION: Final = 100
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

# PasswordRevision: field → (registered type, nullable), in toArray() order (docs/internals/backup-format.md#entities).
_PASSWORD_REVISION_FIELDS: Final[tuple[tuple[str, str, bool], ...]] = (
    ("id", "integer", True),
    ("url", "string", False),
    ("hash", "string", False),
    ("notes", "string", False),
    ("label", "string", False),
    ("folder", "string", False),
    ("username", "string", False),
    ("password", "string", False),
    ("statusCode", "string", False),
    ("customFields", "string", True),
    ("status", "integer", False),
    ("sseType", "string", False),
    ("sseKey", "string", True),
    ("cseType", "string", False),
    ("cseKey", "string", True),
    ("model", "string", False),
    ("client", "string", True),
    ("edited", "integer", False),
    ("hidden", "boolean", False),
    ("trashed", "boolean", False),
    ("favorite", "boolean", False),
    ("uuid", "string", False),
    ("userId", "string", False),
    ("deleted", "boolean", False),
    ("created", "integer", False),
    ("updated", "integer", False),
)
_PASSWORD_REVISION_SPEC: Final = {name: (kind, nullable) for name, kind, nullable in _PASSWORD_REVISION_FIELDS}
#: Key order of a password revision after ``to103``/``to104`` (the entity's ``toArray()``).
PASSWORD_REVISION_KEYS: Final = tuple(name for name, _, _ in _PASSWORD_REVISION_FIELDS)

_MODEL_KINDS: Final[tuple[RevisionKind, ...]] = ("password", "folder", "tag")
_SECTIONS: Final[Mapping[RevisionKind, str]] = {"password": "passwords", "folder": "folders", "tag": "tags"}

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_PHP_WS: Final = " \t\n\r\v\f"
_PHP_NUMERIC_RE: Final = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*")
_PHP_LEADING_NUMERIC_RE: Final = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PHP_INT_KEY_RE: Final = re.compile(r"0|-?[1-9][0-9]*")


def new_uuid() -> str:
    """A random UUIDv4 in the reference's format (lowercase ``8-4-4-4-12``)."""
    return str(uuid.uuid4())


# --------------------------------------------------------------------------------------------------
# PHP semantics helpers
# --------------------------------------------------------------------------------------------------


def _cmp(left: Any, right: Any) -> int:
    return int(left > right) - int(left < right)


def _php_compare_int(value: Any, number: int) -> int:
    """PHP 8 ``value <=> number`` for a JSON value and an integer."""
    if value is None or isinstance(value, bool):
        return _cmp(bool(value), bool(number))
    if isinstance(value, int | float):
        return _cmp(value, number)
    if isinstance(value, str):
        if _PHP_NUMERIC_RE.fullmatch(value):
            return _cmp(decimal.Decimal(value.strip(_PHP_WS)), number)
        return _cmp(value.encode("utf-8", "surrogateescape"), str(number).encode("ascii"))
    return 1  # an array is greater than any scalar


def _php_string(value: Any) -> str:
    """PHP string conversion of a JSON value (for messages)."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return php_float_string(value)
    if isinstance(value, str):
        return value
    return "Array"


def _php_array_key(key: str) -> int | str:
    """PHP array key of a JSON object key: canonical decimal integers become ints."""
    if _PHP_INT_KEY_RE.fullmatch(key):
        number = int(key)
        if _INT64_MIN <= number <= _INT64_MAX:
            return number
    return key


def _php_int(value: str) -> int:
    """PHP ``(int)"string"``: the leading numeric part, else 0; saturating."""
    match = _PHP_LEADING_NUMERIC_RE.match(value)
    if not match:
        return 0
    text = match.group(0).strip(_PHP_WS)
    if any(ch in text for ch in ".eE"):
        number = float(text)
        if not math.isfinite(number):
            return 0
        result = int(number)
    else:
        result = int(text)
    return max(_INT64_MIN, min(_INT64_MAX, result))


def _php_settype(value: Any, php_type: str, name: str) -> Any:
    """PHP ``settype()`` as the entity setter applies it; arrays are refused."""
    if isinstance(value, list | dict):
        raise BackupFormatError(f"Password revision field {name!r} must not be an array or object")
    if php_type == "string":
        if isinstance(value, bool):
            return "1" if value else ""
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return php_float_string(value)
        return str(value)
    if php_type == "integer":
        if isinstance(value, bool | int):
            return int(value)
        if isinstance(value, float):
            return int(value) if math.isfinite(value) else 0
        return _php_int(str(value))
    # boolean
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)


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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def _json_int(text: str) -> int | float:
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else float(text)


def _php_object(pairs: list[tuple[str, Any]]) -> dict[int | str, Any]:
    result: dict[int | str, Any] = {}
    for key, value in pairs:
        result[_php_array_key(key)] = value
    return result


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, list):
        return any(_has_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(_has_surrogate(key) or _has_surrogate(item) for key, item in value.items())
    return False


def _php_json_decode(text: Any) -> Any:
    """PHP ``json_decode($text, true)``: objects become dicts with PHP array keys; ``None`` on error."""
    if not isinstance(text, str) or _has_surrogate(text):
        return None  # invalid UTF-8 (kept as surrogate escapes) is a decode error in PHP
    try:
        value = json.loads(text, object_pairs_hook=_php_object, parse_int=_json_int, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    if _has_surrogate(value):
        return None  # a lone \uD800-style escape is a decode error in PHP
    return value


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
    if _php_compare_int(version, MINIMUM_VERSION) < 0:
        raise ClientBackupError("This seems to be a client backup. It can only be restored using the web interface")
    if _php_compare_int(version, CURRENT_VERSION) > 0:
        raise BackupVersionError(f"Unsupported backup version: {_php_string(version)}")


def needs_step(version: Any, step: int) -> bool:
    """Whether step ``to<step>`` runs for a file of ``version`` (PHP ``$version < $step``)."""
    return _php_compare_int(version, step) < 0


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
    for label, data in _php_foreach(_php_json_decode(plain)):
        if isinstance(label, str) and label.startswith("_"):
            if isinstance(data, dict):
                data = {**data, "type": "data"}
            elif data is None or data is False or isinstance(data, list):
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
        for _, data in _php_foreach(_php_json_decode(plain))
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


# --------------------------------------------------------------------------------------------------
# Per-object composition (streaming)
# --------------------------------------------------------------------------------------------------


def sse_keys_for_upgrade(keys: Any, server_secret: str) -> SseKeys:
    """The SSEv1 keys ``to103``/``to104`` use: the file's ``SSEv1ServerKey`` and ``SSEv1UserKey``s
    with **this instance's** server secret."""
    if not isinstance(keys, dict | list):
        raise BackupFormatError("The backup has no keys")
    return SseKeys.from_backup_keys(keys, server_secret=server_secret)


def upgrade_revision(
    kind: RevisionKind,
    revision: Mapping[str, Any],
    version: Any,
    *,
    keys: SseKeys | None = None,
    key_factory: KeyFactory = generate_key,
) -> dict[str, Any]:
    """Every step a revision of a ``version`` file needs. ``keys`` is required for password
    revisions of files older than 104 (see :func:`sse_keys_for_upgrade`)."""
    result = dict(revision)
    if needs_step(version, 102):
        result = to102_revision(result)
    if kind == "password" and needs_step(version, 104):
        if keys is None:
            raise BackupFormatError("Upgrading password revisions from this version needs the backup's keys")
        if needs_step(version, 103):
            result = to103_password_revision(result, keys, key_factory=key_factory)
        result = to104_password_revision(result, keys, key_factory=key_factory)
    if needs_step(version, 105):
        result = to105_revision(result)
    if needs_step(version, 106):
        result = to106_revision(result)
    return result


def upgrade_model(
    kind: RevisionKind,
    model: Mapping[str, Any],
    version: Any,
    *,
    keys: SseKeys | None = None,
    key_factory: KeyFactory = generate_key,
) -> dict[str, Any]:
    """A password, folder or tag model with its ``revisions``, upgraded from ``version``."""
    result = dict(_require_object(model, f"A {kind} model"))
    revisions = result.get("revisions")
    if isinstance(revisions, list):
        result["revisions"] = [
            upgrade_revision(
                kind, _require_object(item, f"A {kind} revision"), version, keys=keys, key_factory=key_factory
            )
            for item in revisions
        ]
    if needs_step(version, 106):
        result = to106_model(kind, result)
    return result


def upgrade_relation(
    relation: Mapping[str, Any], version: Any, *, uuid_factory: UuidFactory = new_uuid
) -> dict[str, Any]:
    """A password-tag relation upgraded from ``version``."""
    result = dict(_require_object(relation, "A password-tag relation"))
    if needs_step(version, 105):
        result = to105_relation(result, uuid_factory=uuid_factory)
    return result


def upgrade_keys(keys: Any, version: Any, server_secret: str) -> Any:
    """The ``keys`` section upgraded from ``version``."""
    return to105_keys(keys, server_secret) if needs_step(version, 105) else keys


def upgrade_settings(settings: Any, version: Any) -> Any:
    """The ``settings`` section upgraded from ``version``."""
    if not needs_step(version, 105):
        return settings
    result = _php_map(settings)
    result["application"] = to105_application_settings(result.get("application"))
    return result


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
    data["version"] = CURRENT_VERSION
    return data
