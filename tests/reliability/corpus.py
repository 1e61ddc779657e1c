"""Hostile and corrupt backup files generated from a valid one, each with the outcome we decided.

Every case is a file (JSON or gzip bytes) plus whether `passwords:backup:import` and
`passwords:backup:restore` must accept it. The rules behind the decisions (docs/compatibility.md):

* anything PHP's `gzdecode`/`json_decode` refuses is refused: truncated or corrupt gzip, invalid
  JSON or UTF-8, unpaired UTF-16 surrogates, gzip bombs (refused by size);
* entity values are cast as PHP casts them (string <-> number <-> boolean), so a wrong scalar type
  is accepted; objects and lists where a scalar belongs, NULL where the entity cannot hold it, NUL
  bytes, missing `uuid`/`userId`, and values the app's schema cannot hold (strings longer than
  their VARCHAR, integers beyond their column) are refused on every engine;
* unknown keys are ignored and references between entities are not checked (the reference has no
  foreign keys); two entities of one user with the same uuid would break the unique index, so
  import and restore refuse them alike;
* import and restore apply one validation (backup/validation.py): what one accepts the other
  accepts, in keys, settings, numbers beyond PHP's float range and nesting beyond PHP's 512 levels.
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ncpasswords.repositories.entities import TABLES, Column, Table
from ncpasswords.repositories.entity_repository import NO_DEFAULT, insert_default

EXAMPLE = Path(__file__).parent.parent / "fixtures" / "worked-example-v106.json"
MISSING: Any = object()
INT64 = (-(2**63), 2**63 - 1)
SMALLINT = (-(2**15), 2**15 - 1)
SMALLINT_COLUMNS = {("passwords_password_rv", "status")}
NOT_NULL_WITH_DEFAULT = {"cse_key", "client"}


@dataclass
class Case:
    name: str
    data: bytes
    gz: bool = False
    import_ok: bool = False
    restore_ok: bool = False
    message: str | None = None  # expected in the error line when refused

    @property
    def suffix(self) -> str:
        return ".json.gz" if self.gz else ".json"


def example() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return doc


def encode(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# -- where each entity kind lives in the example ------------------------------------------------
ENTITY_PATHS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "passwords_password": ("passwords", lambda d: d["passwords"][0]),
    "passwords_password_rv": ("passwords", lambda d: d["passwords"][0]["revisions"][0]),
    "passwords_folder": ("folders", lambda d: d["folders"][0]),
    "passwords_folder_rv": ("folders", lambda d: d["folders"][0]["revisions"][0]),
    "passwords_tag": ("tags", lambda d: d["tags"][0]),
    "passwords_tag_rv": ("tags", lambda d: d["tags"][0]["revisions"][0]),
    "passwords_share": ("shares", lambda d: d["shares"][0]),
    "passwords_keychain": ("keychains", lambda d: d["keychains"][0]),
    "passwords_challenge": ("challenges", lambda d: d["challenges"][0]),
    "passwords_pw_tag_rel": ("passwordTagRelations", lambda d: d["passwordTagRelations"][0]),
}


# -- the decision for one entity value ----------------------------------------------------------
def _php_int(value: Any) -> int | None:
    """PHP's (int) of a scalar; None when it cannot be represented (NaN/inf)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if not math.isfinite(value) else int(value)
    text = str(value).lstrip(" \t\n\r\v\f")
    digits = ""
    for i, char in enumerate(text):
        if (char.isdigit() and char.isascii()) or (i == 0 and char in "+-"):
            digits += char
        else:
            break
    try:
        return max(INT64[0], min(INT64[1], int(digits)))
    except ValueError:
        return 0


def _php_string(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return repr(value).removesuffix(".0")
    return str(value)


def value_accepted(table: Table, column: Column, value: Any) -> bool:
    """Whether a restore accepts `value` (MISSING: the key is absent) for this column."""
    prop = column.prop
    required = prop in ("uuid", "userId")
    if value is MISSING or value is None:
        if required:
            return False
        if value is None and not column.nullable and column.name not in NOT_NULL_WITH_DEFAULT:
            return False
        return value is None or insert_default(table, column) is not NO_DEFAULT
    if isinstance(value, (dict, list)):
        return False
    if column.type == "bool":
        return True
    if column.type == "int":
        number = _php_int(value)
        low, high = SMALLINT if (table.name, column.name) in SMALLINT_COLUMNS else INT64
        return number is not None and low <= number <= high
    text = _php_string(value)
    if "\x00" in text or (required and text == ""):
        return False
    return column.max_length is None or len(text) <= column.max_length


# -- the corpus ---------------------------------------------------------------------------------
def structural_cut_points(text: str) -> list[tuple[int, int]]:
    """(position, depth) right after every structural character and inside every string."""
    points = []
    depth = 0
    in_string = False
    escaped = False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
            points.append((i + 2, depth))  # one character into the string
        elif char in "{[":
            depth += 1
            points.append((i + 1, depth))
        elif char in "}]":
            depth -= 1
            points.append((i + 1, depth))
        elif char in ",:":
            points.append((i + 1, depth))
    return points


def truncations(rng: random.Random) -> Iterator[Case]:
    data = encode(example())
    text = data.decode()
    points = structural_cut_points(text)
    by_depth: dict[int, list[int]] = {}
    for position, depth in points:
        by_depth.setdefault(depth, []).append(position)
    chosen = {0, 1, len(text) - 1}
    for positions in by_depth.values():  # a few cuts at every depth, spread over the file
        chosen.update(rng.sample(positions, min(5, len(positions))))
    for cut in sorted(c for c in chosen if c < len(text)):  # every strict prefix is invalid JSON
        prefix = text[:cut].encode()
        yield Case(f"truncated-json-at-{cut}", prefix, message="not valid JSON" if cut > 1 else None)
    packed = gzipped(data)
    for cut in sorted(
        {
            2,
            10,
            11,
            30,
            len(packed) // 3,
            len(packed) // 2,
            len(packed) - 9,
            len(packed) - 8,
            len(packed) - 4,
            len(packed) - 1,
        }
    ):
        yield Case(f"truncated-gzip-at-{cut}", packed[:cut], gz=True)


def bit_flips(rng: random.Random, count: int = 24) -> Iterator[Case]:
    data = encode(example())
    packed = gzipped(data)
    positions = [3, 4, 8, 9, *rng.sample(range(10, len(packed)), count - 4)]
    for position in positions:
        bit = rng.randrange(8)
        flipped = bytearray(packed)
        flipped[position] ^= 1 << bit
        try:  # what PHP's gzdecode (zlib with the gzip wrapper, CRC and length checked) makes of it
            ok = zlib.decompress(bytes(flipped), 31) == data
        except zlib.error:
            ok = False
        yield Case(f"gzip-bit-{position}-{bit}", bytes(flipped), gz=True, import_ok=ok, restore_ok=ok)


WRONG_VALUES: list[Any] = [{}, [], None, True, 1.5, "text", 2**64, "-42", False, "", 0, ["x"], 1e300]


def wrong_types() -> Iterator[Case]:
    """Every field of every entity kind with a value of another type (rotating through the list)."""
    turn = 0
    for table_name, (_, locate) in ENTITY_PATHS.items():
        table = TABLES[table_name]
        for column in table.columns:
            if column.name == "id":
                continue
            value = WRONG_VALUES[turn % len(WRONG_VALUES)]
            turn += 1
            doc = example()
            locate(doc)[column.prop] = value
            ok = value_accepted(table, column, value)
            yield Case(
                f"type-{table.entity}-{column.prop}-{json.dumps(value)[:12]}",
                encode(doc),
                import_ok=ok,
                restore_ok=ok,
                message=None if ok else f"'{column.prop}'",
            )


def missing_keys() -> Iterator[Case]:
    for table_name in (
        "passwords_password",
        "passwords_password_rv",
        "passwords_share",
        "passwords_pw_tag_rel",
        "passwords_keychain",
    ):
        table = TABLES[table_name]
        _, locate = ENTITY_PATHS[table_name]
        for column in table.columns:
            if column.name == "id":
                continue
            doc = example()
            del locate(doc)[column.prop]
            ok = value_accepted(table, column, MISSING)
            yield Case(
                f"missing-{table.entity}-{column.prop}",
                encode(doc),
                import_ok=ok,
                restore_ok=ok,
                message=None if ok else f"'{column.prop}'",
            )


def extra_keys() -> Iterator[Case]:
    for table_name, (_, locate) in ENTITY_PATHS.items():
        doc = example()
        locate(doc)["unknownKey"] = {"nested": [1, 2, {"x": None}]}
        locate(doc)["id"] = "not even a number"
        yield Case(f"extra-key-{TABLES[table_name].entity}", encode(doc), import_ok=True, restore_ok=True)
    doc = example()
    doc["futureSection"] = [{"a": 1}]
    doc["anotherOne"] = "text"
    yield Case("extra-top-level-members", encode(doc), import_ok=True, restore_ok=True)


def sizes() -> Iterator[Case]:
    big = "🔐" + "x" * (1 << 20)
    doc = example()
    doc["passwords"][0]["revisions"][0]["notes"] = big
    doc["tags"][0]["revisions"][0]["label"] = big
    yield Case("huge-text-values", encode(doc), import_ok=True, restore_ok=True)
    for table_name, prop, length in (
        ("passwords_share", "client", 257),
        ("passwords_password", "uuid", 37),
        ("passwords_keychain", "userId", 65),
        ("passwords_password_rv", "cseType", 11),
        ("passwords_password_rv", "statusCode", 13),
    ):
        doc = example()
        _, locate = ENTITY_PATHS[table_name]
        locate(doc)[prop] = "é" * length
        yield Case(f"too-long-{prop}-{length}", encode(doc), message=f"'{prop}'")
    for table_name, prop, length in (
        ("passwords_share", "client", 256),
        ("passwords_password", "uuid", 36),
        ("passwords_keychain", "userId", 64),
    ):
        doc = example()
        _, locate = ENTITY_PATHS[table_name]
        locate(doc)[prop] = "é" * length  # as long as the column allows, in characters
        yield Case(f"longest-{prop}-{length}", encode(doc), import_ok=True, restore_ok=True)
    doc = example()
    doc["passwords"][0]["revisions"][0]["status"] = 40000  # SMALLINT
    yield Case("smallint-out-of-range", encode(doc), message="'status'")
    doc = example()
    doc["passwords"][0]["created"] = 2**63
    yield Case("bigint-out-of-range", encode(doc), message="'created'")


def encodings() -> Iterator[Case]:
    data = encode(example())
    marker = b'"label":"'
    at = data.index(marker) + len(marker)
    yield Case("invalid-utf8-byte", data[:at] + b"\xff\xfe" + data[at:], message="not valid UTF-8")
    yield Case("overlong-utf8", data[:at] + b"\xc0\xaf" + data[at:], message="not valid UTF-8")
    yield Case("truncated-utf8-sequence", data[:at] + b"\xe2\x82" + data[at:], message="not valid UTF-8")
    yield Case("lone-high-surrogate", data[:at] + b"\\ud800" + data[at:], message="surrogate")
    yield Case(
        "lone-low-surrogate-in-settings",
        data.replace(b'"backup.interval":"21600"', b'"backup.interval":"\\udc00"'),
        message="surrogate",
    )
    yield Case("surrogate-pair-is-fine", data[:at] + b"\\ud83d\\udd10" + data[at:], import_ok=True, restore_ok=True)
    yield Case("utf8-bom", b"\xef\xbb\xbf" + data)
    yield Case("utf16", json.dumps(example()).encode("utf-16"))
    yield Case("nul-in-string", data[:at] + b"\\u0000" + data[at:], message="NUL")


def nesting() -> Iterator[Case]:
    depth = 100_000
    deep = "[" * depth + "]" * depth
    data = encode(example())
    yield Case("deep-array-as-entity", data.replace(b'"folders":[', b'"folders":[' + deep.encode() + b",", 1))
    yield Case(
        "deep-object-as-label",
        data.replace(b'"label":', b'"label":' + ('{"a":' * depth + "1" + "}" * depth).encode() + b',"x":', 1),
    )
    yield Case("deep-settings", data.replace(b'"application":', b'"application":' + deep.encode() + b',"y":', 1))
    yield Case("deep-top-level", deep.encode())


def structure() -> Iterator[Case]:
    base = example()

    def variant(
        name: str, change: Callable[[dict[str, Any]], Any], ok: bool = False, message: str | None = None
    ) -> Case:
        doc = copy.deepcopy(base)
        result = change(doc)
        return Case(
            name, result if isinstance(result, bytes) else encode(doc), import_ok=ok, restore_ok=ok, message=message
        )

    yield variant("version-99", lambda d: d.update(version=99))  # import and restore word it differently
    yield variant("version-107", lambda d: d.update(version=107), message="Unsupported backup version")
    yield variant("version-missing", lambda d: d.pop("version"))
    yield variant("version-null", lambda d: d.update(version=None))
    yield variant("version-object", lambda d: d.update(version={"v": 106}))
    yield variant("keys-missing", lambda d: d.pop("keys"), message="valid server backup")
    yield variant("keys-a-list", lambda d: d.update(keys=[1, 2]))
    yield variant("settings-a-string", lambda d: d.update(settings="yes"))
    yield variant("passwords-an-object", lambda d: d.update(passwords={"a": 1}), message="is not a list")
    yield variant("revisions-an-object", lambda d: d["passwords"][0].update(revisions={"a": 1}))
    yield variant("revision-a-number", lambda d: d["passwords"][0]["revisions"].append(7))
    yield variant("entity-a-string", lambda d: d["shares"].append("share"))
    yield variant("section-twice", lambda d: encode(d)[:-1] + b',"tags":[]}', message="twice")
    yield variant("top-level-list", lambda d: b"[" + encode(d) + b"]")
    yield variant("empty-object", lambda d: b"{}")
    yield variant("empty-file", lambda d: b"")
    yield variant("trailing-garbage", lambda d: encode(d) + b"garbage")
    yield variant("two-documents", lambda d: encode(d) + encode(d))
    yield variant("nan-literal", lambda d: encode(d).replace(b'"created":1717243200', b'"created":NaN', 1))
    yield variant("whitespace-only-sections", lambda d: encode({"version": 106, "keys": d["keys"]}), ok=True)


def references() -> Iterator[Case]:
    base = example()
    ghost = "00000000-dead-beef-0000-000000000000"

    def variant(
        name: str,
        change: Callable[[dict[str, Any]], Any],
        import_ok: bool = True,
        restore_ok: bool = True,
        message: str | None = None,
    ) -> Case:
        doc = copy.deepcopy(base)
        change(doc)
        return Case(name, encode(doc), import_ok=import_ok, restore_ok=restore_ok, message=message)

    yield variant("revision-of-missing-model", lambda d: d["passwords"][0]["revisions"][0].update(model=ghost))
    yield variant("password-in-missing-folder", lambda d: d["passwords"][0]["revisions"][0].update(folder=ghost))
    yield variant("relation-to-missing-tag", lambda d: d["passwordTagRelations"][0].update(tag=ghost))
    yield variant("share-of-missing-password", lambda d: d["shares"][0].update(sourcePassword=ghost))
    yield variant("current-revision-missing", lambda d: d["passwords"][0].update(revision=ghost))
    yield variant("keys-for-unknown-user", lambda d: d["keys"]["users"].update(nobody={"SSEv1UserKey": "k"}))
    yield variant(
        "duplicate-password-uuid",
        lambda d: d["passwords"].append(copy.deepcopy(d["passwords"][0])),
        import_ok=False,
        restore_ok=False,
        message="same uuid",
    )
    yield variant(
        "duplicate-challenge",
        lambda d: d["challenges"].append(copy.deepcopy(d["challenges"][0])),
        import_ok=False,
        restore_ok=False,
        message="same uuid",
    )
    yield variant(
        "same-uuid-other-user",
        lambda d: d["passwords"].append({**copy.deepcopy(d["passwords"][0]), "userId": "carol", "revisions": []}),
    )


def gzip_bomb() -> Case:
    """A small gzip file that inflates far beyond the limit (valid JSON start, then whitespace)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b'{"version":106,"passwords":[')]
    block = b" " * (1 << 20)
    for _ in range(300):  # 300 MiB of whitespace
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(b"]}"))
    parts.append(compressor.flush())
    return Case("gzip-bomb", b"".join(parts), gz=True, message="inflates far beyond its size")


def nested(depth: int) -> Any:
    """A value whose lists nest `depth` levels deep."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def one_validation() -> Iterator[Case]:
    """Files the import and the restore once judged differently: now both accept or both refuse."""
    base = example()

    def variant(
        name: str, change: Callable[[dict[str, Any]], Any], ok: bool = False, message: str | None = None
    ) -> Case:
        doc = copy.deepcopy(base)
        result = change(doc)
        return Case(
            name, result if isinstance(result, bytes) else encode(doc), import_ok=ok, restore_ok=ok, message=message
        )

    yield variant("keys-users-a-string", lambda d: d["keys"].update(users="x"), message="keys.users")
    yield variant("keys-user-an-array", lambda d: d["keys"]["users"].update(alice=["k"]), message="alice")
    yield variant("server-secret-a-number", lambda d: d["keys"]["server"].update(secret=5), message="server secret")
    yield variant(
        "server-key-an-object", lambda d: d["keys"]["server"].update(SSEv1ServerKey={"a": 1}), message="server key"
    )
    yield variant(
        "user-key-a-number", lambda d: d["keys"]["users"]["bob"].update(SSEv1UserKey=7), message="key of user 'bob'"
    )
    yield variant("settings-users-a-string", lambda d: d["settings"].update(users="x"), message="settings.users")
    yield variant("settings-clients-a-number", lambda d: d["settings"].update(clients=5), message="settings.clients")
    yield variant("settings-user-a-list", lambda d: d["settings"]["users"].update(bob=[1]), message="bob")
    yield variant(
        "session-lifetime-a-list",
        lambda d: d["settings"]["users"]["alice"].update({"session.lifetime": []}),
        message="session.lifetime",
    )
    yield variant(
        "app-setting-an-object",
        lambda d: d["settings"]["application"].update({"backup.interval": {"x": 1}}),
        message="backup.interval",
    )
    yield variant(
        "client-settings-an-object",
        lambda d: d["settings"]["clients"].update(bob={"a": 1}),
        message="client settings of user 'bob'",
    )
    yield variant("client-settings-a-number", lambda d: d["settings"]["clients"].update(bob=12), ok=True)
    yield variant("settings-null", lambda d: d.update(settings=None), ok=True)
    yield variant("settings-users-null", lambda d: d["settings"].update(users=None, clients=None), ok=True)
    yield variant(
        "user-id-with-space-in-settings",
        lambda d: d["settings"]["clients"].update({"bob ": "{}"}),
        message="invalid user id",
    )
    yield variant(
        "user-id-with-space-in-entity", lambda d: d["shares"][0].update(userId="alice "), message="whitespace"
    )
    yield variant("uuid-with-space", lambda d: d["tags"][0].update(uuid=" 6e1b9c4d"), message="whitespace")
    yield variant(
        "inf-in-keys",
        lambda d: encode(d).replace(b'"SSEv1UserKey":"aF3', b'"x":1e400,"SSEv1UserKey":"aF3'),
        message="beyond PHP's range",
    )
    yield variant(
        "inf-in-settings",
        lambda d: encode(d).replace(b'"backup.interval":"21600"', b'"backup.interval":-1e400'),
        message="beyond PHP's range",
    )
    yield variant(
        "inf-in-unknown-entity-key",
        lambda d: encode(d).replace(b'"revision":"e92a4c7b', b'"extra":1e999,"revision":"e92a4c7b'),
        message="beyond PHP's range",
    )
    yield variant("large-finite-float", lambda d: d["tags"][0].update(extra=1e308), ok=True)
    # The document is level 1, `passwords` 2, a password 3: its members may nest 509 more levels.
    yield variant("nesting-at-php-limit", lambda d: d["passwords"][0].update(extra=nested(509)), ok=True)
    yield variant(
        "nesting-past-php-limit",
        lambda d: d["passwords"][0].update(extra=nested(510)),
        message="nested deeper than 512",
    )
    yield variant(
        "nesting-900-in-settings", lambda d: d["settings"].update(extra=nested(900)), message="nested deeper than 512"
    )
    yield variant("version-twice", lambda d: encode(d)[:-1] + b',"version":106}', message="'version' twice")
    yield variant(
        "version-twice-old-layout",
        lambda d: b'{"extra":1,' + encode(d)[1:-1] + b',"version":106}',
        message="'version' twice",
    )


def corpus(seed: int = 8) -> list[Case]:
    rng = random.Random(seed)
    cases = [
        *truncations(rng),
        *bit_flips(rng),
        *wrong_types(),
        *missing_keys(),
        *extra_keys(),
        *sizes(),
        *encodings(),
        *nesting(),
        *structure(),
        *references(),
        *one_validation(),
    ]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
    return cases
