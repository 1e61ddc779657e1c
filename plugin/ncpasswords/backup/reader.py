"""Reading backup files: gzip or plain JSON, streamed, upgraded to v106, validated per entity.

A v106 document is parsed as a stream (ijson's C backend): entities come out one at a time, so a
restore holds one model with its revisions in memory, never the whole file. Older versions
(100–105) are small by nature and need whole-document context for their upgrade (the user keys
that re-encrypt revisions come after the entities), so they are loaded whole, up to a size limit.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

from ..php import php_intval
from ..repositories.entities import MODEL_REVISION_TABLES, TABLES, Table
from .document import MODEL_SECTIONS, ROW_SECTIONS
from .errors import BackupError, BackupFormatError
from .upgrade import upgrade_document, validate_version

GZIP_MAGIC = b"\x1f\x8b"
# Refuse to inflate past this many bytes per compressed byte once a floor is passed: real backups
# compress a few times, a gzip bomb thousands of times.
MAX_RATIO = 100
RATIO_FLOOR = 256 << 20
# Older versions are upgraded in memory; bigger documents of those versions are refused.
MAX_LEGACY_BYTES = 512 << 20

SECTIONS = (*MODEL_SECTIONS, *ROW_SECTIONS, "keys", "settings")


class _LimitedReader(io.RawIOBase):
    """Inflates a gzip file and refuses output beyond the ratio limit (gzip bombs)."""

    def __init__(self, path: Path) -> None:
        self._raw = path.open("rb")
        self._gzip = gzip.GzipFile(fileobj=self._raw, mode="rb")
        self._limit = max(RATIO_FLOOR, MAX_RATIO * path.stat().st_size)
        self._total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._gzip.read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:
            raise BackupFormatError(f"The backup file is not a valid gzip file: {exc}") from None
        self._total += len(data)
        if self._total > self._limit:
            raise BackupFormatError("The backup file inflates far beyond its size; refusing to read it")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._gzip.close()
        self._raw.close()
        super().close()


def open_backup(path: Path) -> IO[bytes]:
    """The JSON bytes of a backup file, inflating gzip (recognised by its magic bytes)."""
    try:
        with path.open("rb") as probe:
            magic = probe.read(2)
    except OSError as exc:
        raise BackupError(f"Cannot read backup file {path.name}: {exc.strerror}") from None
    if magic == GZIP_MAGIC:
        return io.BufferedReader(_LimitedReader(path), buffer_size=1 << 16)
    return path.open("rb")


@dataclass
class Document:
    """A parsed backup: version, then the sections in document order as (name, value) items."""

    version: int
    items: Iterator[tuple[str, Any]]
    original_version: int = 106
    counts: dict[str, int] = field(default_factory=dict)


def _events(stream: IO[bytes]) -> Iterator[tuple[str, str, Any]]:
    try:
        yield from ijson.parse(stream, use_float=True)
    except ijson.JSONError as exc:
        detail = " ".join(str(exc).split("\n")[0].split()).removeprefix("parse error: ")
        detail = detail.split(" (right here)")[0][:200]
        raise BackupFormatError(f"The backup file is not valid JSON ({detail})") from None
    except UnicodeDecodeError:
        raise BackupFormatError("The backup file is not valid UTF-8") from None


def _stream_sections(events: Iterator[tuple[str, str, Any]]) -> Iterator[tuple[str, Any]]:
    """Top-level members: array sections yield one item at a time, others whole."""
    builder: ijson.ObjectBuilder | None = None
    depth = 0
    section = ""
    in_array = False
    for prefix, event, value in events:
        if builder is not None:
            builder.event(event, value)
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            if depth == 0:
                yield section, builder.value
                builder = None
            continue
        if event == "map_key" and prefix == "":
            section = value
            continue
        if prefix == "" and event in ("start_map", "end_map"):
            continue
        if in_array and event == "end_array" and prefix == section:
            in_array = False
            continue
        if event == "start_array" and prefix == section and section in MODEL_SECTIONS | ROW_SECTIONS:
            in_array = True
            yield section, _ARRAY_START
            continue
        if event in ("start_map", "start_array"):
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
            depth = 1
            continue
        yield section, value


_ARRAY_START = object()


def read_document(path: Path, server_secret: str) -> Document:
    """Open a backup for reading; the returned items must be consumed before the file is closed.

    Raises BackupVersionError for versions outside 100–106 and BackupFormatError for anything that
    is not a backup.
    """
    stream = open_backup(path)
    try:
        events = _events(stream)
        items = _stream_sections(events)
        first = next(items, None)
        if first is None or first[0] != "version":
            stream.close()
            return _read_whole(path, server_secret)
        version = first[1]
        validate_version(version)
        if version != 106:
            stream.close()
            return _read_whole(path, server_secret)
    except BaseException:
        stream.close()
        raise
    return Document(106, _checked(items, stream), 106)


def _checked(items: Iterator[tuple[str, Any]], stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """Drop the array markers; refuse list sections that are not lists and repeated sections."""
    lists = set(MODEL_SECTIONS) | set(ROW_SECTIONS)
    opened: set[str] = set()
    seen: set[str] = set()
    last = ""
    try:
        for name, value in items:
            if value is _ARRAY_START:
                if name in opened:
                    raise BackupFormatError(f"The backup has the section '{name}' twice")
                opened.add(name)
                continue
            if name in lists and name not in opened:
                raise BackupFormatError(f"The backup's '{name}' is not a list")
            if name not in lists and name != last and name in seen:
                raise BackupFormatError(f"The backup has the section '{name}' twice")
            seen.add(name)
            last = name
            yield name, value
    finally:
        stream.close()


def _read_whole(path: Path, server_secret: str) -> Document:
    """Load, validate and upgrade a document that cannot be streamed (old versions, key order)."""
    with open_backup(path) as stream:
        data = stream.read(MAX_LEGACY_BYTES + 1)
    if len(data) > MAX_LEGACY_BYTES:
        raise BackupFormatError("The backup file is too large to be upgraded from its version")
    import json

    try:
        doc = json.loads(data)
    except UnicodeDecodeError:
        raise BackupFormatError("The backup file is not valid UTF-8") from None
    except ValueError as exc:
        raise BackupFormatError(f"The backup file is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or "version" not in doc:
        raise BackupFormatError("The file does not contain a valid server backup")
    original = doc["version"]
    validate_version(original)
    doc = upgrade_document(doc, server_secret)

    def items() -> Iterator[tuple[str, Any]]:
        for section in SECTIONS:
            value = doc.get(section)
            if section in MODEL_SECTIONS or section in ROW_SECTIONS:
                if value is None:
                    continue
                if not isinstance(value, list):
                    raise BackupFormatError(f"The backup's '{section}' is not a list")
                for item in value:
                    yield section, item
            elif section in doc:
                yield section, value

    return Document(106, items(), int(original))


# -- entity validation -------------------------------------------------------------------------
def php_cast(column_type: str, value: Any) -> Any:
    """PHP's settype for an entity property: strings, integers and booleans as PHP casts them."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ValueError("is not a scalar")
    if column_type == "bool":
        if isinstance(value, str):
            return value not in ("", "0")
        return bool(value)
    if column_type == "int":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError("is not a number")
            return int(value)
        return php_intval(value)
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return repr(value).removesuffix(".0")
    return str(value)


def coerce_entity(table: Table, obj: Any, section: str) -> dict[str, Any]:
    """A backup object -> entity dict for the table (PHP casts; `id` and unknown keys dropped).

    Raises BackupFormatError for non-objects, non-scalar values, NULL where the entity cannot hold
    it, strings with NUL bytes, and missing required fields.
    """
    if not isinstance(obj, dict):
        raise BackupFormatError(f"The backup's '{section}' holds a value that is not an object")
    out: dict[str, Any] = {}
    for prop, column in table.by_prop.items():
        if prop == "id" or prop not in obj:
            continue
        value = obj[prop]
        try:
            cast = php_cast(column.type, value)
        except ValueError as exc:
            raise BackupFormatError(f"{table.entity} {_label(obj)}: '{prop}' {exc}") from None
        if cast is None and not column.nullable and column.name not in _NOT_NULL_WITH_DEFAULT:
            raise BackupFormatError(f"{table.entity} {_label(obj)}: '{prop}' must not be null")
        if isinstance(cast, str) and "\x00" in cast:
            raise BackupFormatError(f"{table.entity} {_label(obj)}: '{prop}' contains a NUL byte")
        out[prop] = cast
    for required in ("uuid", "userId"):
        if not out.get(required):
            raise BackupFormatError(f"{table.entity} {_label(obj)}: '{required}' is missing")
    return out


# Nullable in PHP but NOT NULL with a default in the table: NULL means "use the default".
_NOT_NULL_WITH_DEFAULT = frozenset({"cse_key", "client"})


def _label(obj: dict[str, Any]) -> str:
    uuid = obj.get("uuid")
    return repr(uuid[:40]) if isinstance(uuid, str) else "(no uuid)"


def model_tables(section: str) -> tuple[Table, Table]:
    """The model table and revision table of a model section."""
    model = MODEL_SECTIONS[section]
    return TABLES[model], TABLES[MODEL_REVISION_TABLES[model]]
