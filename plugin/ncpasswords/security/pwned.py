"""Turning the HIBP "Pwned Passwords" list into the app's local breached-password database
(docs/internals/breached-passwords.md; the app's ProcessPwnedPasswordsList).

The reference's two passes, with bounded memory:

1. **Prevalence.** Read every `<SHA-1>:<count>` line and build a histogram count -> hashes.
   Every line is validated here, before anything is written.
2. **Cut-off.** Walk the counts from the highest down until the quota (size × 1,000,000) is
   reached: hashes above the cut-off count are all taken, hashes at it only while its "slots"
   last (in file order); when the list runs out, everything is taken.
3. **Hashes.** Read the file again; taken hashes are lower-cased and spilled to one file per
   3-character prefix on disk (buffered, never all in memory). Each prefix is then loaded on
   its own, written as a compact JSON list (zlib-compressed for `.json.gz`), and installed into
   `passwordsCache/` (swapped in whole) or added to a ZIP.

Memory is the histogram (one entry per distinct count), a bounded write buffer and one prefix's
hashes at a time (a 4096th of the selection).
"""

from __future__ import annotations

import itertools
import operator
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from ..errors import UserError
from ..files.disk import AppDataFiles, DirectAppDataFiles

PASSWORD_VERSION = 16
HASH_FILE_KEY_LENGTH = 3
CACHE_FOLDER = "passwordsCache"
CACHEDIR_TAG_NAME = "CACHEDIR.TAG"
CACHEDIR_TAG = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by Passwords for Nextcloud."
)
MIN_CACHE_FILES = 64
CONFIG_DB_TYPE = "passwords/localdb/type"
CONFIG_DB_VERSION = "passwords/localdb/version"
MODES = ("file", "json", "gzip", "import")
LOCAL_DB_TYPES = ("bigdb+hibp", "bigdb", "smalldb")

INVALID_LINES = "File contains invalid lines"
INVALID_HASH = "Invalid SHA-1 hash encountered."
ZIP_ACCESS_EXIT = 108  # BreachedPasswordsZipAccessException
_ZIP_ER_OPEN = 11  # libzip's "Can't open file"

_LINE = re.compile(rb"([0-9A-Fa-f]{40}):([0-9]+)\r?\n?")
_LINES = re.compile(rb"(?:[0-9A-Fa-f]{40}:[0-9]+\r?\n)*")
_COUNT = re.compile(rb":([0-9]+)")
_PAIR = re.compile(rb"([0-9A-Fa-f]{40}):([0-9]+)")
_HEAD = re.compile(rb"^[0-9A-Fa-f]{3}", re.M)
_PREFIX = operator.itemgetter(slice(0, HASH_FILE_KEY_LENGTH))
_COUNT_OF = operator.itemgetter(1)
_BLOCK_SIZE = 1 << 20
_MAX_LINE = 4096
_FLUSH_BYTES = 16 << 20  # spill buffer size before the prefix files are appended to


class Progress(Protocol):
    """What the passes report to (a Symfony-style progress bar in the CLI)."""

    @property
    def enabled(self) -> bool: ...

    def start(self, maximum: int = 0) -> None: ...

    def advance(self, steps: int = 1) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    enabled = False

    def start(self, maximum: int = 0) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


class PwnedListError(UserError):
    """The list cannot be processed; `line` is the 1-based line number at fault, if any."""

    def __init__(self, message: str, line: int | None = None, exit_code: int | None = None) -> None:
        super().__init__(message, exit_code)
        self.line = line


def _bad_line(line: bytes, number: int) -> PwnedListError:
    """The reference's message for a line that is not `<40 hex>:<count>`."""
    text = line.rstrip(b"\r\n")
    head, colon, count = text.partition(b":")
    if colon and count.isdigit() and not re.fullmatch(rb"[0-9A-Fa-f]{40}", head):
        return PwnedListError(INVALID_HASH, number)
    return PwnedListError(INVALID_LINES, number)


def _blocks(path: Path, validate: bool = True) -> Iterator[tuple[int, bytes]]:
    """(number of lines before, block) for blocks of whole lines, validated unless told not to.

    Every block but possibly the last ends with a newline. A malformed line raises with its
    line number and the reference's message.
    """
    lines = 0
    rest = b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_BLOCK_SIZE)
            data = rest + chunk
            if not chunk:
                if data:
                    if _LINE.fullmatch(data) is None:
                        raise _bad_line(data, lines + 1)
                    yield lines, data
                return
            cut = data.rfind(b"\n") + 1
            block, rest = data[:cut], data[cut:]
            if len(rest) > _MAX_LINE:  # no line of the list is that long
                raise _bad_line(rest[:_MAX_LINE], lines + block.count(b"\n") + 1)
            if not block:
                continue
            if validate and _LINES.fullmatch(block) is None:
                for offset, line in enumerate(block.splitlines(keepends=True), 1):
                    if _LINE.fullmatch(line) is None:
                        raise _bad_line(line, lines + offset)
            yield lines, block
            lines += block.count(b"\n")


def read_prevalence(path: Path, progress: Progress | None = None) -> dict[bytes, int]:
    """Pass 1: how many hashes have each count (keyed by the count's text), validating every line.

    The progress advances whenever the first three characters of the hash change (the file is
    expected sorted, so about 4096 times). An empty file or a malformed line raises.
    """
    progress = progress or NoProgress()
    counts: Counter[bytes] = Counter()
    last = b""
    for _, block in _blocks(path):
        counts.update(_COUNT.findall(block))
        if progress.enabled:
            heads = [key.upper() for key, _ in itertools.groupby(_HEAD.findall(block))]
            changes = len(heads) - (heads[0] == last)
            last = heads[-1]
            if changes:
                progress.advance(changes)
    if not counts:
        raise PwnedListError(INVALID_LINES)
    return dict(counts)


def histogram(prevalence: dict[bytes, int]) -> dict[int, int]:
    """count -> number of hashes (count texts like `07` and `7` are the same count)."""
    out: dict[int, int] = {}
    for text, number in prevalence.items():
        out[int(text)] = out.get(int(text), 0) + number
    return out


def cutoff(histogram: dict[int, int], quota: int) -> tuple[int, int]:
    """The minimum count to take and how many hashes at exactly that count are taken."""
    left = quota
    minimum = 0
    for count in sorted(histogram, reverse=True):
        if histogram[count] >= left:
            return count, left
        minimum = count
        left -= histogram[count]
    return minimum, histogram[minimum]


class SpillStore:
    """Taken hashes on disk, one append-only file per 3-character prefix, written in batches."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._buffers: dict[bytes, list[bytes]] = {}
        self._pending = 0
        self.total = 0

    def add(self, prefix: bytes, hashes: list[bytes]) -> None:
        """Add lower-case 40-character hashes that all start with `prefix`."""
        chunk = b"\n".join(hashes) + b"\n"
        self._buffers.setdefault(prefix, []).append(chunk)
        self._pending += len(chunk)
        self.total += len(hashes)
        if self._pending >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        for prefix, chunks in self._buffers.items():
            with open(self.folder / prefix.decode("ascii"), "ab") as handle:
                handle.write(b"".join(chunks))
        self._buffers.clear()
        self._pending = 0

    def prefixes(self) -> list[str]:
        self.flush()
        return sorted(os.listdir(self.folder))

    def groups(self) -> Iterator[tuple[str, list[bytes]]]:
        """(prefix, hashes) in prefix order; duplicates dropped, first occurrence kept."""
        for prefix in self.prefixes():
            hashes = (self.folder / prefix).read_bytes().split(b"\n")[:-1]
            yield prefix, list(dict.fromkeys(hashes))


def collect(
    path: Path,
    prevalence: dict[bytes, int],
    minimum: int,
    slots: int,
    spill: SpillStore,
    progress: Progress | None = None,
) -> int:
    """Pass 2: spill every taken hash (lower-cased, file order kept per prefix); returns how many.

    Hashes counted more than `minimum` times are taken; of those counted exactly `minimum`
    times, the first `slots` in file order.
    """
    progress = progress or NoProgress()
    above = {text for text in prevalence if int(text) > minimum}
    equal = {text for text in prevalence if int(text) == minimum}
    both = above | equal
    taken_total = 0
    for before, block in _blocks(path, validate=False):  # pass 1 validated every line
        pairs = _PAIR.findall(block)
        if len(pairs) != block.count(b"\n") + (not block.endswith(b"\n")):
            raise PwnedListError(INVALID_LINES, before + 1)  # the file changed since pass 1
        at_minimum = sum(map(equal.__contains__, map(_COUNT_OF, pairs))) if slots > 0 else 0
        if at_minimum == 0:
            taken = [sha1 for sha1, count in pairs if count in above]
        elif at_minimum <= slots:
            taken = [sha1 for sha1, count in pairs if count in both]
            slots -= at_minimum
        else:  # the slots run out inside this block: decide line by line
            taken = []
            for sha1, count in pairs:
                if count in above:
                    taken.append(sha1)
                elif count in equal and slots > 0:
                    taken.append(sha1)
                    slots -= 1
        if not taken:
            continue
        lowered = b"\n".join(taken).lower().split(b"\n")
        lowered.sort(key=_PREFIX)  # stable: file order within a prefix
        for prefix, group in itertools.groupby(lowered, _PREFIX):
            spill.add(prefix, list(group))
        taken_total += len(lowered)
        progress.advance(len(lowered))
    spill.flush()
    return taken_total


def encode_group(hashes: list[bytes], compress: bool) -> bytes:
    """The content of one prefix file: a compact JSON list, zlib-compressed (PHP gzcompress)."""
    data = b'["' + b'","'.join(hashes) + b'"]'
    return zlib.compress(data) if compress else data


def file_name(prefix: str, compress: bool = True) -> str:
    return f"{prefix}.json.gz" if compress else f"{prefix}.json"


def install_cache(
    appdata: Path, spill: SpillStore, progress: Progress | None = None, files: AppDataFiles | None = None
) -> int:
    """Write `passwordsCache/` (CACHEDIR.TAG plus one `<prefix>.json.gz` per prefix) beside the
    current one and swap it in through `files` (on a real Nextcloud: registered in its file cache
    in the same step); the old cache stays untouched until the new one is complete. The folder
    being written ends in `.part`, so Nextcloud's scanner leaves it alone. Returns the number of
    files in the new cache."""
    progress = progress or NoProgress()
    target = appdata / CACHE_FOLDER
    staging = Path(tempfile.mkdtemp(prefix=f".{CACHE_FOLDER}-new-", suffix=".part", dir=appdata))
    try:
        os.chmod(staging, 0o750)
        (staging / CACHEDIR_TAG_NAME).write_bytes(CACHEDIR_TAG)
        count = 1
        for prefix, hashes in spill.groups():
            (staging / file_name(prefix)).write_bytes(encode_group(hashes, True))
            count += 1
            progress.advance()
        (files or DirectAppDataFiles()).place_tree(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def zip_name(size: int, mode: str) -> str:
    """`<size>m-v16-<mode>.zip`, the name the updater's URL template expects."""
    return f"{size}m-v{PASSWORD_VERSION}-{mode}.zip"


def write_zip(target: Path, spill: SpillStore, compress: bool, progress: Progress | None = None) -> int:
    """The update ZIP: one entry per prefix at the root, replacing `target` when complete."""
    progress = progress or NoProgress()
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}-", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise PwnedListError(
            f"Unable to read breached passwords zip file. Error {_ZIP_ER_OPEN}", exit_code=ZIP_ACCESS_EXIT
        ) from exc
    temp = Path(temp_name)
    entries = 0
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for prefix, hashes in spill.groups():
                archive.writestr(file_name(prefix, compress), encode_group(hashes, compress))
                entries += 1
                progress.advance()
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return entries


def local_db_type(service_security: str | None) -> str | None:
    """The `passwords/localdb/type` an import sets for the configured `service/security`."""
    service = service_security or "hibp"
    return service if service in LOCAL_DB_TYPES else None


def spill_folder(parent: Path) -> Path:
    """A private scratch folder for the spill files, on the same disk as the result."""
    return Path(tempfile.mkdtemp(prefix=".pwned-list-", suffix=".part", dir=parent))
