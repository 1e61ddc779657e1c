"""Reading backup files: gzip or plain JSON, streamed, upgraded to v106, validated per entity.

A v106 document is read as a stream: a background thread inflates the gzip data, the top level is
walked by hand and every entity of a list section is decoded on its own by the C scanner of the
`json` module, so a restore holds one model with its revisions in memory, never the whole file.
Older versions (100–105) are small by nature and need whole-document context for their upgrade
(the user keys that re-encrypt revisions come after the entities), so they are loaded whole, up to
a size limit.
"""

from __future__ import annotations

import codecs
import io
import json
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..php import php_intval
from ..repositories.entities import MODEL_REVISION_TABLES, TABLES, Column, Table
from ..repositories.entity_repository import NO_DEFAULT, insert_default
from . import fastzlib
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
_LIST_SECTIONS = frozenset((*MODEL_SECTIONS, *ROW_SECTIONS))
_CHUNK = 1 << 20


class _Inflater(io.RawIOBase):
    """Inflates a gzip file in a background thread (zlib works without the GIL, so inflating runs
    beside the parsing) and refuses output beyond the ratio limit (gzip bombs).

    Concatenated members and trailing zero padding are read like `gzip.GzipFile` reads them.
    """

    def __init__(self, path: Path) -> None:
        self._raw = path.open("rb")
        self._limit = max(RATIO_FLOOR, MAX_RATIO * path.stat().st_size)
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=4)
        self._stop = threading.Event()
        self._current = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._work, name="backup-inflate", daemon=True)
        self._thread.start()

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            total = 0
            decompressor = fastzlib.decompressobj()
            data = self._raw.read(_CHUNK)
            while True:
                if decompressor.eof:
                    # Another member may follow; zero bytes after a member are padding.
                    rest = (decompressor.unused_data + data).lstrip(b"\x00")
                    while not rest:
                        data = self._raw.read(_CHUNK)
                        if not data:
                            self._put(None)
                            return
                        rest = data.lstrip(b"\x00")
                    if not rest.startswith(GZIP_MAGIC[: len(rest)]):
                        raise BackupFormatError("The backup file is not a valid gzip file: Not a gzipped file")
                    decompressor = fastzlib.decompressobj()
                    data = rest
                if not data:
                    raise BackupFormatError(
                        "The backup file is not a valid gzip file: "
                        "Compressed file ended before the end-of-stream marker was reached"
                    )
                output = decompressor.decompress(data, _CHUNK)
                while output:
                    total += len(output)
                    if total > self._limit:
                        raise BackupFormatError("The backup file inflates far beyond its size; refusing to read it")
                    if not self._put(output):
                        return
                    if decompressor.eof or not decompressor.unconsumed_tail:
                        break
                    output = decompressor.decompress(decompressor.unconsumed_tail, _CHUNK)
                data = b"" if decompressor.eof else self._raw.read(_CHUNK)
        except fastzlib.ERRORS as exc:
            self._put(BackupFormatError(f"The backup file is not a valid gzip file: {exc}"))
        except BaseException as exc:
            self._put(exc)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            if self._done:
                return 0
            item = self._queue.get()
            if item is None:
                self._done = True
                return 0
            if isinstance(item, BaseException):
                self._done = True
                raise item
            self._current = memoryview(item)
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            self._thread.join()
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
        return io.BufferedReader(_Inflater(path), buffer_size=_CHUNK)
    return path.open("rb")


@dataclass
class Document:
    """A parsed backup: version, then the sections in document order as (name, value) items."""

    version: int
    items: Iterator[tuple[str, Any]]
    original_version: int = 106
    counts: dict[str, int] = field(default_factory=dict)


class _NotStreamable(Exception):
    """The document does not start with `{"version":`; it is read whole instead."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid literal {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# A \uD800-\uDFFF escape: only where one occurs are the decoded strings checked for unpaired
# surrogates, which PHP's json_decode refuses (JSON_ERROR_UTF16) and no database can store.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_surrogates(value: Any) -> None:
    """Refuse a decoded value holding an unpaired UTF-16 surrogate (in a string or a key)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BackupFormatError(
                    "The backup file is not valid JSON (a single unpaired UTF-16 surrogate)"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
# A decoding error this close to the end of the window may come from a token cut in two.
_TOKEN_MARGIN = 64
# Text kept ahead of the value being decoded.
_READ_AHEAD = 256 << 10


class _JsonText:
    """A JSON text read incrementally: the top level walked by hand, values decoded whole.

    Values come from the C scanner of `json` on a window of the decoded text; one that does not end
    inside the window is decoded again once more text has been read (the window at least doubles
    each time, so a big value costs a few passes, not one per chunk).
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text = ""
        self.pos = 0
        self.eof = False
        self._offset = 0  # characters dropped from the front of `text`

    def _fill(self, at_least: int = 1) -> bool:
        """Read until `at_least` more characters are available (or EOF); False if none came."""
        if self.eof:
            return False
        if self.pos:
            self._offset += self.pos
            self.text = self.text[self.pos :]
            self.pos = 0
        wanted = len(self.text) + at_least
        parts = [self.text]
        size = len(self.text)
        try:
            while size < wanted:
                data = self._stream.read(_CHUNK)
                chunk = self._decoder.decode(data, final=not data)
                parts.append(chunk)
                size += len(chunk)
                if not data:
                    self.eof = True
                    break
        except UnicodeDecodeError:
            raise BackupFormatError("The backup file is not valid UTF-8") from None
        grew = size > len(self.text)
        self.text = "".join(parts)
        return grew

    def error(self, message: str) -> BackupFormatError:
        return BackupFormatError(f"The backup file is not valid JSON ({message})")

    def peek(self) -> str:
        """The next character after whitespace ('' at the end)."""
        while True:
            match = _WHITESPACE.match(self.text, self.pos)
            assert match is not None
            self.pos = match.end()
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            found = repr(char) if char else "the end of the file"
            raise self.error(f"expected {' or '.join(repr(c) for c in chars)}, found {found}")
        self.pos += 1
        return char

    def value(self) -> Any:
        """Decode the value at the current position (after whitespace)."""
        if not self.peek():
            raise self.error("unexpected end of the file")
        if not self.eof and len(self.text) - self.pos < _READ_AHEAD:
            self._fill(_CHUNK)  # entities are far smaller: decoding one rarely has to start over
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # The window may end inside the value: a string runs on, or a token near the end
                # was cut. Anything else is an error that more text cannot mend.
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self.text) - _TOKEN_MARGIN
                if cut and self._fill(max(_CHUNK, len(self.text) - self.pos)):
                    continue
                raise self.error(f"{exc.msg} at character {self._offset + exc.pos}") from None
            except ValueError as exc:
                raise self.error(str(exc)) from None
            except RecursionError:
                raise self.error("nested too deeply") from None
            if end >= len(self.text) and not self.eof:  # a number or literal may go on
                self._fill(max(_CHUNK, len(self.text) - self.pos))
                continue
            if _SURROGATE_ESCAPE.search(self.text, self.pos, end):
                _check_surrogates(value)
            self.pos = end
            return value


def _stream_document(stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """(name, value) of a top-level object: list sections item by item, other members whole.

    Raises _NotStreamable before yielding anything when the first member is not `version`.
    """
    reader = _JsonText(stream)
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
            yield name, reader.value()
            continue
        if name in _LIST_SECTIONS:
            if reader.peek() != "[":
                raise BackupFormatError(f"The backup's '{name}' is not a list")
            if name in opened:
                raise BackupFormatError(f"The backup has the section '{name}' twice")
            opened.add(name)
            reader.pos += 1
            if reader.peek() == "]":
                reader.pos += 1
                continue
            while True:
                yield name, reader.value()
                if reader.expect(",]") == "]":
                    break
            continue
        if name in seen:
            raise BackupFormatError(f"The backup has the section '{name}' twice")
        seen.add(name)
        yield name, reader.value()
    if reader.peek():
        raise reader.error("trailing data after the document")


def read_document(path: Path, server_secret: str) -> Document:
    """Open a backup for reading; the returned items must be consumed before the file is closed.

    Raises BackupVersionError for versions outside 100–106 and BackupFormatError for anything that
    is not a backup.
    """
    stream = open_backup(path)
    try:
        items = _stream_document(stream)
        try:
            first = next(items)
        except (_NotStreamable, StopIteration):
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
    return Document(106, _closing(items, stream), 106)


def _closing(items: Iterator[tuple[str, Any]], stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    try:
        yield from items
    finally:
        stream.close()


def _read_whole(path: Path, server_secret: str) -> Document:
    """Load, validate and upgrade a document that cannot be streamed (old versions, key order)."""
    with open_backup(path) as stream:
        data = stream.read(MAX_LEGACY_BYTES + 1)
    if len(data) > MAX_LEGACY_BYTES:
        raise BackupFormatError("The backup file is too large to be upgraded from its version")
    try:  # strictly UTF-8 as PHP reads it: no byte order mark skipped, no UTF-16 guessed
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BackupFormatError("The backup file is not valid UTF-8") from None
    del data
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise BackupFormatError(f"The backup file is not valid JSON: {exc}") from None
    except RecursionError:
        raise BackupFormatError("The backup file is not valid JSON (nested too deeply)") from None
    if _SURROGATE_ESCAPE.search(text):
        _check_surrogates(doc)
    del text
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


def php_map(value: Any) -> Any:
    """A JSON object of the backup as PHP decodes it: `[]` and `{}` are the same empty array
    (PHP's json_encode writes an empty map as `[]`, and so does this tool)."""
    return {} if value == [] else value


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
        _check_limits(table, column, cast, obj)
        out[prop] = cast
    for required in ("uuid", "userId"):
        if not out.get(required):
            raise BackupFormatError(f"{table.entity} {_label(obj)}: '{required}' is missing")
    return out


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


def _check_limits(table: Table, column: Column, value: Any, obj: dict[str, Any]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise BackupFormatError(f"{table.entity} {_label(obj)}: '{column.prop}' contains a NUL byte")
        if column.max_length is not None and len(value) > column.max_length:
            raise BackupFormatError(
                f"{table.entity} {_label(obj)}: '{column.prop}' is longer than {column.max_length} characters"
            )
    elif isinstance(value, int) and not isinstance(value, bool):
        low, high = int_range(table, column)
        if not low <= value <= high:
            raise BackupFormatError(f"{table.entity} {_label(obj)}: '{column.prop}' is out of range")


def _label(obj: dict[str, Any]) -> str:
    uuid = obj.get("uuid")
    return repr(uuid[:40]) if isinstance(uuid, str) else "(no uuid)"


_PYTHON_TYPES: dict[str, Any] = {"int": int, "str": str, "bool": bool}
_NO_LIMIT = 1 << 62
_MISSING: Any = object()


class RowBuilder:
    """Backup objects -> insert tuples of one table (`EntityRepository.insert_columns` order).

    The same casts and checks as `coerce_entity` followed by `EntityRepository.row_for_insert`, with
    a fast path for values that already have their column's type (nearly all of them).
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        columns = [c for c in table.columns if c.name != "id"]
        # (property, type, column, longest string or lowest integer, highest integer)
        self._spec = [
            (c.prop, _PYTHON_TYPES[c.type], c, *((c.max_length or _NO_LIMIT, 0) if c.type == "str"
                                                  else int_range(table, c) if c.type == "int" else (0, 0)))
            for c in columns
        ]
        names = [c.name for c in columns]
        self.user_index = names.index("user_id")
        self.uuid_index = names.index("uuid")

    def row(self, obj: Any, section: str) -> tuple[Any, ...]:
        if not isinstance(obj, dict):
            raise BackupFormatError(f"The backup's '{section}' holds a value that is not an object")
        get: Any = obj.get
        out: list[Any] = []
        append = out.append
        for prop, kind, column, low, high in self._spec:
            value = get(prop, _MISSING)
            kind_of = type(value)
            if kind_of is kind and (
                kind is bool
                or (kind is str and len(value) <= low and "\x00" not in value)
                or (kind is int and low <= value <= high)
            ):
                append(value)
            else:
                append(self._slow(obj, column, value))
        row = tuple(out)
        if not row[self.uuid_index]:
            raise BackupFormatError(f"{self.table.entity} {_label(obj)}: 'uuid' is missing")
        if not row[self.user_index]:
            raise BackupFormatError(f"{self.table.entity} {_label(obj)}: 'userId' is missing")
        return row

    def _slow(self, obj: dict[str, Any], column: Column, value: Any) -> Any:
        prop = column.prop
        if value is not _MISSING:
            try:
                value = php_cast(column.type, value)
            except ValueError as exc:
                raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' {exc}") from None
            if value is None and not column.nullable and column.name not in _NOT_NULL_WITH_DEFAULT:
                raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' must not be null")
            _check_limits(self.table, column, value, obj)
            if value is not None:
                return value
        if prop in ("uuid", "userId"):
            raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' is missing")
        default = insert_default(self.table, column)
        if default is NO_DEFAULT:
            raise BackupFormatError(f"{self.table.entity} {_label(obj)}: '{prop}' is missing")
        return default


def model_tables(section: str) -> tuple[Table, Table]:
    """The model table and revision table of a model section."""
    model = MODEL_SECTIONS[section]
    return TABLES[model], TABLES[MODEL_REVISION_TABLES[model]]
