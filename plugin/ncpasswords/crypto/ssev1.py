"""SSEv1 server-side encryption of password, folder and tag revisions.

Format: docs/internals/encryption.md#which-fields-are-encrypted and docs/internals/encryption.md#ssev1.

Every encrypted field is an ``ICrypto`` ciphertext (:mod:`ncpasswords.crypto.icrypto`) whose
password is the concatenation

* ``SSEv1r2``: server secret ‖ ``SSEv1ServerKey`` ‖ ``SSEv1UserKey(revision.userId)`` ‖ ``sseKey``
* ``SSEv1r1`` (legacy, decrypt only): ``SSEv1ServerKey`` ‖ ``SSEv1UserKey`` ‖ ``sseKey``

Encryption always uses the r2 layout with a fresh 1024-character ``sseKey`` and turns ``SSEv1r1``
into ``SSEv1r2``. ``null`` fields are left alone in both directions (the reference skips them on
decrypt; on encrypt it would fail with a PHP type error).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from . import icrypto
from .errors import CryptoError

__all__ = [
    "ENCRYPTED_FIELDS",
    "KEY_ALPHABET",
    "KEY_LENGTH",
    "SSE_V1R1",
    "SSE_V1R2",
    "SSE_V1_TYPES",
    "RevisionKind",
    "SseKeys",
    "decrypt_revision",
    "encrypt_revision",
    "encryption_password",
    "generate_key",
]

RevisionKind = Literal["password", "folder", "tag"]

SSE_V1R1: Final = "SSEv1r1"
SSE_V1R2: Final = "SSEv1r2"
SSE_V1_TYPES: Final = frozenset({SSE_V1R1, SSE_V1R2})

#: Encrypted fields per revision kind, in processing order (docs/internals/encryption.md#which-fields-are-encrypted).
ENCRYPTED_FIELDS: Final[Mapping[RevisionKind, tuple[str, ...]]] = {
    "password": ("url", "label", "notes", "password", "username", "customFields"),
    "folder": ("label",),
    "tag": ("label", "color"),
}

#: ``ISecureRandom`` default alphabet and the minimum SSEv1 key length (docs/internals/encryption.md#ssev1).
KEY_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
KEY_LENGTH: Final = 1024


def generate_key(length: int = KEY_LENGTH) -> str:
    """A new random key like ``ISecureRandom::generate``; never shorter than 1024 characters."""
    length = max(length, KEY_LENGTH)
    # 64 characters: the low six bits of a random byte pick one without bias.
    return "".join(KEY_ALPHABET[byte & 63] for byte in secrets.token_bytes(length))


@dataclass(frozen=True)
class SseKeys:
    """The keys SSEv1 needs besides the per-object ``sseKey``.

    ``server_secret`` is ``passwords.secret`` / Nextcloud's ``secret``; ``server_key`` is the app's
    ``SSEv1ServerKey`` (``""`` when absent); ``user_keys`` maps uid → ``SSEv1UserKey``.
    """

    server_secret: str
    server_key: str = ""
    user_keys: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_backup_keys(cls, keys: Any, server_secret: str | None = None) -> SseKeys:
        """Keys from a backup's ``keys`` object (docs/internals/backup-format.md#keys).

        ``server_secret`` overrides ``keys.server.secret`` (the reference's backup upgrade uses the
        running instance's secret). Null or missing values count as ``""`` / absent; a ``users``
        map written by PHP as a JSON list (uids ``"0"``…) is accepted.
        """
        keys_map = keys if isinstance(keys, Mapping) else {}
        server = keys_map.get("server")
        server_map: Mapping[str, Any] = server if isinstance(server, Mapping) else {}
        if server_secret is None:
            server_secret = _str_or_empty(server_map.get("secret"))
        users = keys_map.get("users")
        entries: list[tuple[str, Any]]
        if isinstance(users, Mapping):
            entries = [(str(uid), value) for uid, value in users.items()]
        elif isinstance(users, list):
            entries = [(str(index), value) for index, value in enumerate(users)]
        else:
            entries = []
        user_keys: dict[str, str] = {}
        for uid, value in entries:
            if isinstance(value, Mapping) and isinstance(value.get("SSEv1UserKey"), str):
                user_keys[uid] = value["SSEv1UserKey"]
        return cls(
            server_secret=server_secret,
            server_key=_str_or_empty(server_map.get("SSEv1ServerKey")),
            user_keys=user_keys,
        )

    def user_key(self, user_id: str) -> str:
        try:
            return self.user_keys[user_id]
        except KeyError:
            raise CryptoError(f"No SSEv1UserKey for user {user_id!r}") from None


def _str_or_empty(value: Any) -> str:
    return value if isinstance(value, str) else ""


def encryption_password(sse_type: Any, sse_key: Any, user_id: Any, keys: SseKeys) -> bytes:
    """The ``ICrypto`` password of one revision: r1 layout for ``SSEv1r1``, r2 for anything else."""
    if not isinstance(sse_key, str):
        raise CryptoError("The revision has no sseKey")
    if not isinstance(user_id, str):
        raise CryptoError("The revision has no userId")
    parts = [keys.server_key, keys.user_key(user_id), sse_key]
    if sse_type != SSE_V1R1:
        parts.insert(0, keys.server_secret)
    return "".join(parts).encode("utf-8", "surrogateescape")


def _fields(kind: RevisionKind) -> tuple[str, ...]:
    try:
        return ENCRYPTED_FIELDS[kind]
    except KeyError:
        raise CryptoError(f"Unknown object type {kind!r}") from None


def _each_field(
    revision: Mapping[str, Any], fields: tuple[str, ...], what: str, convert: Callable[[str], str]
) -> dict[str, Any]:
    """A copy of ``revision`` with ``convert`` applied to each of ``fields`` that is set (a field
    that is not a string is refused, naming it as ``what``)."""
    result = dict(revision)
    for name in fields:
        value = result.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise CryptoError(f"{what} {name!r} is not a string")
        result[name] = convert(value)
    return result


def decrypt_revision(
    kind: RevisionKind,
    revision: Mapping[str, Any],
    keys: SseKeys,
    *,
    check_type: bool = True,
    errors: icrypto.TextErrors = "strict",
) -> dict[str, Any]:
    """A copy of ``revision`` with its SSEv1 fields decrypted to text.

    With ``check_type`` (default) a revision whose ``sseType`` is not SSEv1 is refused. The backup
    upgrade passes ``False``: like the reference it decrypts without looking at the type (r1
    layout for ``SSEv1r1``, r2 otherwise). ``errors`` is passed to :func:`icrypto.decrypt_text`.
    """
    fields = _fields(kind)
    sse_type = revision.get("sseType")
    if check_type and sse_type not in SSE_V1_TYPES:
        raise CryptoError(f"The revision is not SSEv1 encrypted (sseType {sse_type!r})")
    password = encryption_password(sse_type, revision.get("sseKey"), revision.get("userId"), keys)
    return _each_field(
        revision, fields, "Encrypted field", lambda value: icrypto.decrypt_text(value, password, errors=errors)
    )


def encrypt_revision(
    kind: RevisionKind,
    revision: Mapping[str, Any],
    keys: SseKeys,
    *,
    sse_key: str | None = None,
    key_factory: Callable[[], str] = generate_key,
    iv_factory: Callable[[], bytes] | None = None,
) -> dict[str, Any]:
    """A copy of ``revision`` with its plaintext fields SSEv1r2-encrypted under a new ``sseKey``.

    The new key is ``sse_key`` if given, else ``key_factory()`` (1024 random characters). ``sseKey``
    is replaced (appended when missing) and an ``sseType`` of ``SSEv1r1`` becomes ``SSEv1r2``; any
    other ``sseType`` is left as it is, as in the reference. ``iv_factory`` gives the IVs for
    reproducible output (sample data); by default they are random.
    """
    fields = _fields(kind)
    new_key = sse_key if sse_key is not None else key_factory()
    password = encryption_password(SSE_V1R2, new_key, revision.get("userId"), keys)

    def encrypt(value: str) -> str:
        encrypted = icrypto.encrypt(value, password, iv=None if iv_factory is None else iv_factory())
        if encrypted == value:
            raise CryptoError("Invalid encryption result")
        return encrypted

    result = _each_field(revision, fields, "Field", encrypt)
    result["sseKey"] = new_key
    if result.get("sseType") == SSE_V1R1:
        result["sseType"] = SSE_V1R2
    return result
