"""Reading backup files: gzip or plain JSON, streamed, upgraded to v106.

The bytes come from `source.open_backup` (the one gunzip path, with the bomb limit). What PHP's
`json_decode` refuses is refused here too: invalid UTF-8 or JSON, unpaired surrogate escapes, a
document nested deeper than 512 levels; and a number beyond PHP's float range (`1e400`), which PHP
reads as INF but can never write back, is refused as well. Entities, keys and settings are checked
by `validation`.

A v106 document is read as a stream: a background thread inflates the gzip data, the top level is
walked by hand and the entities of a list section are decoded a window of text at a time
(`JsonText.items`), so a reader holds a few hundred kilobytes of entities, never the whole file.
Older versions (100–105) are small by nature and need whole-document context for their upgrade
(the user keys that re-encrypt revisions come after the entities), so they are loaded whole, up to
a size limit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from .errors import BackupFormatError
from .format import LIST_SECTIONS, SECTIONS, VERSION
from .jsontext import (
    PHP_MAX_DEPTH,
    TOO_DEEP,
    JsonText,
    check_depth,
    check_surrogates,
    php_float,
    reject_constant,
)
from .source import BackupSource, open_backup, open_path
from .upgrade import upgrade_document, validate_version
from .validation import INVALID_BACKUP

# Older versions are upgraded in memory; bigger documents of those versions are refused.
MAX_LEGACY_BYTES = 512 << 20


@dataclass
class Document:
    """A backup as read, upgraded to the current version: its sections in document order as
    (name, value) items (a list section item by item)."""

    items: Iterator[tuple[str, Any]]
    version: Any = None
    """The version the file was written in (before any upgrade)."""


class _NotStreamable(Exception):
    """The document does not start with `{"version":`; it is read whole instead."""


# Nesting left for a value at its place: the document is level 1, a list section level 2.
_MEMBER_DEPTH = PHP_MAX_DEPTH - 1
_ITEM_DEPTH = PHP_MAX_DEPTH - 2


def _stream_document(stream: IO[bytes], item_types: Mapping[str, type]) -> Iterator[tuple[str, Any]]:
    """(name, value) of a top-level object: list sections item by item (decoded into
    `item_types[name]` where they fit it), other members whole.

    Raises _NotStreamable before yielding anything when the first member is not `version`.
    """
    reader = JsonText(stream)
    if reader.peek() != "{":
        raise _NotStreamable
    reader.pos += 1
    opened: set[str] = set()
    seen: set[str] = set()
    first = True
    while True:
        if not first and reader.expect(",}") == "}":
            break
        if reader.peek() != '"':
            if first:
                raise _NotStreamable
            raise reader.error("expected a member name")
        name = reader.value()
        reader.expect(":")
        if first:
            if name != "version":
                raise _NotStreamable
            first = False
            seen.add(name)
            yield name, reader.value(_MEMBER_DEPTH)
            continue
        if name in LIST_SECTIONS:
            if reader.peek() != "[":
                raise BackupFormatError(f"The backup's '{name}' is not a list")
            if name in opened:
                raise BackupFormatError(f"The backup has the section '{name}' twice")
            opened.add(name)
            reader.pos += 1
            for item in reader.items(_ITEM_DEPTH, item_types.get(name)):
                yield name, item
            continue
        if name in seen:
            raise BackupFormatError(f"The backup has the section '{name}' twice")
        seen.add(name)
        yield name, reader.value(_MEMBER_DEPTH)
    if reader.peek():
        raise reader.error("trailing data after the document")


def read_document(
    source: BackupSource | str | os.PathLike[str],
    server_secret: str,
    item_types: Mapping[str, type] | None = None,
) -> Document:
    """Read a backup: an open `BackupSource` (which stays open), or a path opened here.

    `item_types`: msgspec types by list section; a v106 document's items that fit come as those
    types (`Validator.item_types`), the others as plain values.

    The returned items must be consumed (or closed) before the source is closed. Raises
    BackupVersionError for versions outside 100–106 and BackupFormatError for anything that is not
    a backup.
    """
    types = item_types or {}
    if isinstance(source, BackupSource):
        return _read(source, server_secret, lambda: None, types)
    opened = open_path(source)
    try:
        return _read(opened, server_secret, opened.close, types)
    except BaseException:
        opened.close()
        raise


def _read(
    source: BackupSource, server_secret: str, done: Callable[[], None], item_types: Mapping[str, type]
) -> Document:
    stream = open_backup(source)
    try:
        items = _stream_document(stream, item_types)
        try:
            first = next(items)
        except (_NotStreamable, StopIteration):
            stream.close()
            return _read_whole(source, server_secret, done)
        version = first[1]
        validate_version(version)
        if version != VERSION:
            stream.close()
            return _read_whole(source, server_secret, done)
    except BaseException:
        stream.close()
        raise
    return Document(_closing(items, stream, done), version)


def _closing(
    items: Iterator[tuple[str, Any]],
    stream: IO[bytes],
    done: Callable[[], None],
) -> Iterator[tuple[str, Any]]:
    try:
        yield from items
    finally:
        stream.close()
        done()


class _TopLevelDuplicates:
    """`object_pairs_hook` that remembers the names given twice in the object decoded last (the
    top level, which closes after everything inside it)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        self.names = []
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for name, _ in pairs:
                if name in seen:
                    self.names.append(name)
                seen.add(name)
        return obj


def _read_whole(source: BackupSource, server_secret: str, done: Callable[[], None]) -> Document:
    """Load, validate and upgrade a document that cannot be streamed (old versions, key order)."""
    with open_backup(source) as stream:
        data = stream.read(MAX_LEGACY_BYTES + 1)
    done()
    if len(data) > MAX_LEGACY_BYTES:
        raise BackupFormatError("The backup file is too large to be upgraded from its version")
    try:  # strictly UTF-8 as PHP reads it: no byte order mark skipped, no UTF-16 guessed
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BackupFormatError("The backup file is not valid UTF-8") from None
    del data
    duplicates = _TopLevelDuplicates()
    try:
        doc = json.loads(text, parse_constant=reject_constant, parse_float=php_float, object_pairs_hook=duplicates)
    except ValueError as exc:
        raise BackupFormatError(f"The backup file is not valid JSON: {exc}") from None
    except RecursionError:
        raise BackupFormatError(TOO_DEEP) from None
    check_surrogates(text, 0, len(text))
    check_depth(text, 0, len(text), doc, PHP_MAX_DEPTH)
    del text
    if not isinstance(doc, dict) or "version" not in doc:
        raise BackupFormatError(INVALID_BACKUP)
    if duplicates.names:
        raise BackupFormatError(f"The backup has the section '{duplicates.names[0]}' twice")
    version = doc["version"]
    doc = upgrade_document(doc, server_secret)

    def items() -> Iterator[tuple[str, Any]]:
        for section in SECTIONS:
            value = doc.get(section)
            if section in LIST_SECTIONS:
                if value is None:
                    continue
                if not isinstance(value, list):
                    raise BackupFormatError(f"The backup's '{section}' is not a list")
                for item in value:
                    yield section, item
            elif section in doc:
                yield section, value

    return Document(items(), version)
