"""The one streaming JSON walker of backup files: a JSON text read incrementally from a byte
stream, its top level walked by hand and values decoded by the C scanner of `json` within a window
of the text, with PHP's `json_decode` limits (no unpaired surrogates, at most 512 levels, no
number beyond PHP's float range). The reader (`reader`) decodes the entities of a list with it,
many at a time (`items`); `list --details` (`summary`) steps over what it does not count.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import json
import math
import re
from collections.abc import Iterator
from typing import IO, Any

import msgspec

from .compression import CHUNK
from .errors import BackupFormatError

# PHP's json_decode refuses a document nested deeper than this (its default depth).
PHP_MAX_DEPTH = 512

TOO_DEEP = f"The backup file is not valid JSON (nested deeper than {PHP_MAX_DEPTH} levels)"


def reject_constant(name: str) -> Any:
    """`parse_constant` of json: NaN and Infinity are not JSON."""
    raise ValueError(f"invalid literal {name}")


def php_float(text: str) -> float:
    """A JSON number with a fraction or exponent; one beyond the float range is refused."""
    value = float(text)
    if math.isinf(value):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise BackupFormatError(f"The backup holds a number beyond PHP's range: {shown}")
    return value


_DECODER = json.JSONDecoder(parse_constant=reject_constant, parse_float=php_float)
WHITESPACE = re.compile(r"[ \t\n\r]*")
# Any \uD800-\uDFFF escape: a quick test before the exact one below.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# A \uD800-\uDFFF escape: a high surrogate with the low one that pairs with it (when it follows
# right away, as JSON decoders pair them), or a surrogate on its own, which PHP's json_decode
# refuses (JSON_ERROR_UTF16), `json` decodes to an unpaired surrogate and no database can store.
_SURROGATE_PAIR = re.compile(
    r"\\u(?:[dD][89abAB][0-9a-fA-F]{2}(?P<low>\\u[dD][c-fC-F][0-9a-fA-F]{2})?|[dD][c-fC-F][0-9a-fA-F]{2})"
)
_UNPAIRED = "The backup file is not valid JSON (a single unpaired UTF-16 surrogate)"


def check_surrogates(text: str, start: int, end: int) -> None:
    """Refuse JSON text (decoded without error) whose strings would hold an unpaired UTF-16
    surrogate: read from the escapes, without walking the decoded value."""
    pos = start
    while (match := _SURROGATE_PAIR.search(text, pos, end)) is not None:
        at = match.start()
        before = at
        while before > start and text[before - 1] == "\\":
            before -= 1
        if (at - before) % 2:  # an escaped backslash, then the letter u: not an escape
            pos = at + 1
            continue
        if match["low"] is None:
            raise BackupFormatError(_UNPAIRED)
        pos = match.end()


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply lists and objects nest in `value` (0 for a scalar), counted up to `limit + 1`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list)))
    return deepest


def check_depth(text: str, start: int, end: int, value: Any, limit: int) -> None:
    """Refuse `value` (decoded from `text[start:end]`) when it nests deeper than `limit`.

    Only a text with more brackets than the limit can nest that deep, so the decoded value is
    walked only then.
    """
    if text.count("[", start, end) + text.count("{", start, end) > limit and nesting_depth(value, limit) > limit:
        raise BackupFormatError(TOO_DEEP)


# Decodes many items of a list in one call (`JsonText.items`) where they are not of the caller's
# type: objects of any JSON values. It accepts a subset of what `json` accepts (no NaN or Infinity,
# no unpaired surrogate escapes) and decodes that to the same values (numbers with a fraction or
# exponent through `php_float`).
_BATCH_DECODER = msgspec.json.Decoder(list[dict[str, Any]], float_hook=php_float)

# Where a text holds a NUL character (the regular expression scans hex-heavy text about three
# times as fast as `in`).
_NUL_ESCAPE = re.compile(r"\\u0000")

# A decoding error this close to the end of the window may come from a token cut in two.
_TOKEN_MARGIN = 64
# Batches of one list that may fail to decode before its items are all decoded one by one.
_BATCH_FAILURES = 8
#: Text kept ahead of the value being decoded (values longer than that are decoded in a few passes).
WINDOW = 256 << 10


class JsonText:
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

    def fill(self, at_least: int = 1) -> bool:
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
                data = self._stream.read(CHUNK)
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

    def ensure(self, size: int) -> None:
        """Read until `size` characters after the position are there (or the input has ended)."""
        missing = size - (len(self.text) - self.pos)
        if missing > 0:
            self.fill(missing)

    def error(self, message: str) -> BackupFormatError:
        return BackupFormatError(f"The backup file is not valid JSON ({message})")

    def peek(self) -> str:
        """The next character after whitespace ('' at the end)."""
        while True:
            match = WHITESPACE.match(self.text, self.pos)
            assert match is not None
            self.pos = match.end()
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            found = repr(char) if char else "the end of the file"
            raise self.error(f"expected {' or '.join(repr(c) for c in chars)}, found {found}")
        self.pos += 1
        return char

    def value(self, max_depth: int = PHP_MAX_DEPTH) -> Any:
        """Decode the value at the current position (after whitespace); it may nest `max_depth`
        levels (what PHP's depth limit leaves at its place in the document)."""
        if not self.peek():
            raise self.error("unexpected end of the file")
        if not self.eof and len(self.text) - self.pos < WINDOW:
            self.fill(CHUNK)  # entities are far smaller: decoding one rarely has to start over
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # The window may end inside the value: a string runs on, or a token near the end
                # was cut. Anything else is an error that more text cannot mend.
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self.text) - _TOKEN_MARGIN
                if cut and self.fill(max(CHUNK, len(self.text) - self.pos)):
                    continue
                raise self.error(f"{exc.msg} at character {self._offset + exc.pos}") from None
            except ValueError as exc:
                raise self.error(str(exc)) from None
            except RecursionError:
                raise BackupFormatError(TOO_DEEP) from None
            if end >= len(self.text) and not self.eof:  # a number or literal may go on
                self.fill(max(CHUNK, len(self.text) - self.pos))
                continue
            check_surrogates(self.text, self.pos, end)
            check_depth(self.text, self.pos, end, value, max_depth)
            self.pos = end
            return value

    def items(self, max_depth: int = PHP_MAX_DEPTH, item_type: type | None = None) -> Iterator[Any]:
        """The items of the list whose `[` was just read, up to its `]`; each may nest `max_depth`
        levels. With `item_type` (a msgspec type), items that fit it come as that type.

        After the first item, items are decoded in batches: the window is cut after the last place
        where an item ends and the next begins as the first two do (`]},{` after an entity ending in
        its revisions, else `},{`, with the same whitespace), and everything before it is decoded
        as one list. That succeeds only where the cut falls between two items of this list (inside
        a string or a nested value the text before it is not a complete list), so a batch holds
        exactly the items the text has. A batch is decoded into `item_type` where its text holds no
        NUL character (no `\\u0000` escape) and every item fits, else into objects. The items of a
        batch that does not decode (an item that is not an object, invalid JSON, a value PHP would
        refuse, or a cut inside a string) are decoded one by one, so that the first error is the
        one `value` gives; after a few such batches the rest of the list is decoded one by one too.
        """
        if self.peek() == "]":
            self.pos += 1
            return
        item = self.value(max_depth)
        closing = self.text[self.pos - 2 : self.pos]
        first_end = self._offset + self.pos
        boundary: tuple[str, str] | None = None
        typed = _typed_decoder(item_type) if item_type is not None else None
        failures = 0
        resume = 0  # where batching starts again after a batch that did not decode
        while True:
            yield item
            if self.expect(",]") == "]":
                return
            if first_end >= 0:  # the second item: learn what lies between two items
                boundary = self._boundary(closing, first_end)
                first_end = -1
            if boundary is not None and self._offset + self.pos >= resume:
                batch = self._batch(boundary, typed, max_depth)
                if isinstance(batch, int):
                    failures += 1
                    resume = batch
                    if failures >= _BATCH_FAILURES:
                        boundary = None
                elif batch:
                    yield from batch[:-1]
                    item = batch[-1]
                    continue
            item = self.value(max_depth)

    def _boundary(self, closing: str, first_end: int) -> tuple[str, str] | None:
        """What lies between the first item (which ended with `closing` at `first_end` of the whole
        text) and the second, when both are objects: the first one's end (`]}` or `}`) and the
        separator up to the `{` of the second (None if not like that, or no longer in the window)."""
        self.peek()
        start = first_end - self._offset
        if closing[-1:] != "}" or start < 0 or not self.text.startswith("{", self.pos):
            return None
        return ("]}" if closing == "]}" else "}", self.text[start : self.pos] + "{")

    def _batch(
        self, boundary: tuple[str, str], typed: msgspec.json.Decoder[Any] | None, max_depth: int
    ) -> list[Any] | int:
        """The items from here to the last cut at `boundary` in the window ([] if there is none
        after the first item); where the text up to it does not decode, the cut's place in the
        whole text (the items before it are then decoded one by one)."""
        self.peek()
        if not self.eof and len(self.text) - self.pos < WINDOW:
            self.fill(CHUNK)
        before, after = boundary
        # Cut only where a window of text follows (or the file has ended): an item is decoded with
        # at least that much read ahead of it, as `value` reads, so a damaged stream further on is
        # met at the same item as when items are decoded one by one.
        last = len(self.text) if self.eof else len(self.text) - WINDOW
        cut = self.text.rfind(before + after, self.pos + 1, max(last, 0))
        if cut < 0:
            return []
        end = cut + len(before)
        text = "[" + self.text[self.pos : end] + "]"
        batch: list[Any] | None = None
        if typed is not None and _NUL_ESCAPE.search(text) is None:
            with contextlib.suppress(msgspec.DecodeError):  # ValidationError too: not every item fits
                batch = typed.decode(text)
        if batch is None:
            try:
                batch = _BATCH_DECODER.decode(text)
            except (msgspec.DecodeError, BackupFormatError, RecursionError):
                return self._offset + end
            if any(nesting_depth(item, max_depth) > max_depth for item in batch):
                return self._offset + end
        self.pos = end
        return batch


@functools.cache
def _typed_decoder(item_type: type) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(list[item_type])  # type: ignore[valid-type]
