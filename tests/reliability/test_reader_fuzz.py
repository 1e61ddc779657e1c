"""Property-based fuzzing of the backup reader (backup/reader.py) and of the import's validation.

* Whatever the bytes - random, mutated from a real backup, gzip-wrapped or not - reading a backup
  either works or raises a BackupError (one clear line for the user); never anything else.
* Whatever JSON values stand where sections and entities belong, the import's validation
  (`validate_and_write`) raises only BackupErrors, and what it accepts it writes as a v106
  document that reads back to the same thing (the import is idempotent).
* The streaming reader and a plain `json.loads` agree on every valid document, however its
  whitespace, escapes and member order look.

Hypothesis runs derandomized (the same examples in every run), so CI stays deterministic.
"""

from __future__ import annotations

import gzip
import io
import json
import tempfile
import zlib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ncpasswords.backup.document import MODEL_SECTIONS, ROW_SECTIONS
from ncpasswords.backup.errors import BackupError
from ncpasswords.backup.reader import read_document
from ncpasswords.backup.service import validate_and_write

from .corpus import EXAMPLE, encode, example
from .helpers import COUNTERS

FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SECRET = "fuzz-secret"
_DIR = Path(tempfile.mkdtemp(prefix="ncp-fuzz-"))
_COUNT = {"n": 0}


def _file(data: bytes, gz: bool = False) -> Path:
    _COUNT["n"] += 1
    path = _DIR / f"f{_COUNT['n'] % 4}{'.json.gz' if gz else '.json'}"
    path.write_bytes(data)
    return path


def read_all(data: bytes) -> list[tuple[str, Any]] | None:
    """Read a backup from bytes: its items, or None when it is refused with a BackupError."""
    try:
        document = read_document(_file(data), SECRET)
        return list(document.items)
    except BackupError:
        return None


def import_all(data: bytes) -> bytes | None:
    """What the import would store (before gzip), or None when refused with a BackupError."""
    out = io.BytesIO()
    try:
        validate_and_write(_file(data), SECRET, out)
    except BackupError:
        return None
    return out.getvalue()


def count(kind: str) -> None:
    COUNTERS.add(f"reader fuzzing: {kind}", "any engine")


VALID = encode(example())
VALID_GZ = gzip.compress(VALID, mtime=0)


# -- bytes ----------------------------------------------------------------------------------------
@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_are_read_or_refused(data: bytes) -> None:
    count("random bytes")
    read_all(data)
    import_all(data)
    read_all(b"\x1f\x8b" + data)  # as gzip


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """`base` with a few random edits: bytes replaced, inserted, deleted, or cut short."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut", "dup"]))
        if action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            data[at:at] = draw(
                st.binary(min_size=1, max_size=8)
                | st.sampled_from(
                    [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u", b"\\ud800", b"null", b"1e999", b"\x00"]
                )
            )
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif action == "cut":
            del data[at:]
        else:
            size = draw(st.integers(1, 64))
            data[at:at] = data[at : at + size]
    return bytes(data)


@FUZZ
@given(mutated(VALID))
def test_mutated_backups_are_read_or_refused(data: bytes) -> None:
    count("mutated JSON backups")
    items = read_all(data)
    imported = import_all(data)
    if imported is not None:  # accepted: the stored document reads back the same
        assert items is not None
        assert import_all(imported) == imported


@FUZZ
@given(mutated(VALID_GZ))
def test_mutated_gzip_backups_are_read_or_refused(data: bytes) -> None:
    count("mutated gzip backups")
    items = read_all(data)
    try:
        inflated = zlib.decompress(data, 31)
    except zlib.error:
        inflated = None
    if inflated is None:  # what PHP's gzdecode cannot inflate is never read
        assert items is None or data[:2] != b"\x1f\x8b"
    elif items is not None:
        assert items == read_all(inflated)


# -- JSON values in every place -------------------------------------------------------------------
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """The worked example with random values put into random places."""
    doc = example()
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["section", "entity", "field", "revision-field", "keys", "settings"]))
        value = draw(json_values)
        if where == "section":
            doc[draw(st.sampled_from([*MODEL_SECTIONS, *ROW_SECTIONS, "keys", "settings", "version"]))] = value
        elif where == "entity":
            section = draw(st.sampled_from([*MODEL_SECTIONS, *ROW_SECTIONS]))
            if isinstance(doc.get(section), list):
                doc[section].append(value)
        elif where in ("field", "revision-field"):
            section = draw(st.sampled_from([*MODEL_SECTIONS, *ROW_SECTIONS]))
            items = doc.get(section)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                target = items[0]
                if where == "revision-field" and isinstance(target.get("revisions"), list) and target["revisions"]:
                    target = target["revisions"][0]
                if isinstance(target, dict) and target:
                    target[draw(st.sampled_from(sorted(target)))] = value
        elif where == "keys" and isinstance(doc.get("keys"), dict):
            doc["keys"][draw(st.sampled_from(["server", "users", "other"]))] = value
        elif isinstance(doc.get("settings"), dict):
            doc["settings"][draw(st.sampled_from(["application", "users", "clients"]))] = value
    return doc


@FUZZ
@given(documents())
def test_any_values_anywhere_are_validated_or_refused(doc: dict[str, Any]) -> None:
    count("documents with random values")
    data = json.dumps(doc).encode()
    read_all(data)
    imported = import_all(data)
    if imported is not None:
        assert json.loads(imported)["version"] == 106
        assert import_all(imported) == imported


# -- the streaming reader agrees with json.loads --------------------------------------------------
@st.composite
def reformatted(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """A valid document written with random whitespace, escaping and member order."""
    doc = example()
    sections = [k for k in doc if k != "version"]
    order = draw(st.permutations(sections))
    ordered = {"version": 106, **{k: doc[k] for k in order}}
    indent = draw(st.sampled_from([None, 0, 1, 4, "\t"]))
    text = json.dumps(
        ordered,
        ensure_ascii=draw(st.booleans()),
        indent=indent,
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\r\n")])),
    )
    return text.encode(), ordered


@FUZZ
@given(reformatted())
def test_streaming_reader_agrees_with_json_loads(case: tuple[bytes, dict[str, Any]]) -> None:
    count("reformatted valid backups")
    data, doc = case
    items = read_all(data)
    assert items is not None
    expected = []
    for name, value in doc.items():
        if name == "version":  # read_document takes it first
            continue
        if name in MODEL_SECTIONS or name in ROW_SECTIONS:
            expected.extend((name, item) for item in value)
        else:
            expected.append((name, value))
    assert items == expected


def test_the_fuzzer_starts_from_a_valid_backup() -> None:
    assert read_all(EXAMPLE.read_bytes()) is not None
    assert import_all(VALID) is not None


def test_empty_maps_survive_an_import() -> None:
    """PHP writes an empty map as `[]`; what the import writes must import (and restore) again."""
    doc = example()
    doc["keys"] = {"server": {}, "users": {}}
    doc["settings"] = {"application": {}, "users": {}, "clients": {}}
    first = import_all(json.dumps(doc).encode())
    assert first is not None
    assert b'"keys":{"server":[],"users":[]}' in first
    assert import_all(first) == first
