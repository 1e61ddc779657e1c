"""Gzip, the one compression of backup files: written as PHP's ``gzencode()`` writes it (or at a
fast level), read back within a decompression-ratio limit.

Reading: :class:`Inflater` is the only gunzip of the package (`source.open_backup` uses it for
every reader - restore, import, list --details, the automatic restore). It refuses output beyond
the ratio limit (a file that inflates to more than `MAX_RATIO` times its size once past
`RATIO_FLOOR`), so no reader can be made to hold or chew through a gzip bomb.

Writing: :class:`GzipWriter` deflates in a background thread; a label cut to 20 bytes keeps the
full name in the header's FNAME field (:func:`recorded_name` reads it back).
"""

from __future__ import annotations

import io
import queue
import struct
import threading
import zlib
from collections.abc import Callable
from typing import Any, Final

from . import fastzlib
from .errors import BackupError, BackupFormatError
from .pipe import ThreadedReader

GZIP_MAGIC: Final = b"\x1f\x8b"
# Refuse to inflate past this many bytes per compressed byte once a floor is passed: real backups
# compress a few times, a gzip bomb thousands of times (docs/compatibility.md).
MAX_RATIO: Final = 100
RATIO_FLOOR: Final = 256 << 20
BOMB_MESSAGE: Final = "The backup file inflates far beyond its size; refusing to read it"
CHUNK: Final = 1 << 20


class GzipBombError(BackupFormatError):
    """The file inflates beyond the ratio limit."""

    def __init__(self) -> None:
        super().__init__(BOMB_MESSAGE)

    def __reduce__(self) -> tuple[type[GzipBombError], tuple[()]]:
        return (GzipBombError, ())


class Inflater(ThreadedReader):
    """Inflates gzip data in a background thread (zlib works without the GIL, so inflating runs
    beside the parsing) and refuses output beyond the ratio limit.

    Concatenated members and trailing zero padding are read like `gzip.GzipFile` reads them.
    """

    def __init__(self, raw: io.RawIOBase, compressed_size: int) -> None:
        super().__init__("backup-inflate")
        self._raw = raw
        self._limit = max(RATIO_FLOOR, MAX_RATIO * compressed_size)
        self.start()

    def _read(self) -> bytes:
        return self._raw.read(CHUNK) or b""

    def _work(self) -> None:
        try:
            total = 0
            decompressor = fastzlib.decompressobj()
            data = self._read()
            while True:
                if decompressor.eof:
                    # Another member may follow; zero bytes after a member are padding.
                    rest = (decompressor.unused_data + data).lstrip(b"\x00")
                    while not rest:
                        data = self._read()
                        if not data:
                            self.put(None)
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
                output = decompressor.decompress(data, CHUNK)
                while output:
                    total += len(output)
                    if total > self._limit:
                        raise GzipBombError()
                    if not self.put(output):
                        return
                    if decompressor.eof or not decompressor.unconsumed_tail:
                        break
                    output = decompressor.decompress(decompressor.unconsumed_tail, CHUNK)
                data = b"" if decompressor.eof else self._read()
        except fastzlib.ERRORS as exc:
            self.put(BackupFormatError(f"The backup file is not a valid gzip file: {exc}"))
        except OSError as exc:
            self.put(BackupError(f"Cannot read the backup file: {exc.strerror}"))
        except BaseException as exc:
            self.put(exc)


# gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unix (what gzencode() writes).
_GZIP_HEADER: Final = bytes.fromhex("1f8b0800000000000003")
# Header flags: extra field, original file name.
_FEXTRA: Final = 0x04
_FNAME: Final = 0x08
#: Bytes to read to find a recorded name (the header plus a name of any length a file system allows).
HEADER_READ: Final = 4096
_GZIP_BLOCK: Final = 1 << 20


class GzipWriter(io.BufferedIOBase):
    """Binary writer that gzips into ``raw`` in a background thread.

    By default the bytes are those of PHP's ``gzencode()`` (zlib level -1, memLevel 9); ``fast``
    uses :mod:`.fastzlib`'s fast level instead (valid gzip, different bytes). The deflate work runs
    in a thread beside the caller (zlib and ISA-L release the GIL); writes are collected into
    blocks of about 1 MiB and at most a few blocks wait, so memory stays flat. Errors of the thread
    (a full disk) are raised by the next ``write`` or by ``finish``.
    """

    def __init__(self, raw: io.BufferedWriter, *, fast: bool = False, name: str | None = None) -> None:
        super().__init__()
        self._raw = raw
        self._crc32: Callable[[bytes, int], int]
        if fast:
            self._compressor = fastzlib.fast_compressobj(fastzlib.WBITS_RAW)
            self._crc32 = fastzlib.crc32
        else:
            self._compressor = zlib.compressobj(-1, zlib.DEFLATED, -zlib.MAX_WBITS, 9)
            self._crc32 = zlib.crc32
        self._crc = 0
        self._size = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._error: BaseException | None = None
        self._blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        if name is None:
            raw.write(_GZIP_HEADER)
        else:  # the header's FNAME field: the full name of a backup whose label was cut
            raw.write(_GZIP_HEADER[:3] + bytes([_FNAME]) + _GZIP_HEADER[4:] + name.encode("utf-8") + b"\x00")
        self._thread: threading.Thread | None = threading.Thread(target=self._work, name="gzip-writer", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    def write(self, data: Any, /) -> int:
        if self._error is not None:
            raise self._error
        block = bytes(data)
        self._pending.append(block)
        self._pending_size += len(block)
        if self._pending_size >= _GZIP_BLOCK:
            self._hand_over()
        return len(block)

    def _hand_over(self) -> None:
        if self._pending:
            self._blocks.put(b"".join(self._pending))
            self._pending.clear()
            self._pending_size = 0

    def _work(self) -> None:
        # Takes every block until told to stop, so that `put` never blocks on a failed writer.
        while (block := self._blocks.get()) is not None:
            if self._error is None:
                try:
                    self._crc = self._crc32(block, self._crc)
                    self._size += len(block)
                    output = self._compressor.compress(block)
                    if output:
                        self._raw.write(output)
                except BaseException as exc:
                    self._error = exc

    def stop(self) -> None:
        """Wait for the thread to finish the blocks handed to it (idempotent)."""
        if self._thread is not None:
            self._blocks.put(None)
            self._thread.join()
            self._thread = None

    def finish(self) -> None:
        """Compress what is left and write the gzip trailer."""
        self._hand_over()
        self.stop()
        if self._error is not None:
            raise self._error
        self._raw.write(self._compressor.flush())
        self._raw.write(struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF))


def recorded_name(header: bytes) -> str | None:
    """The original file name (FNAME) of a gzip header, or None when it has none."""
    if len(header) < 10 or header[:2] != GZIP_MAGIC or not header[3] & _FNAME:
        return None
    pos = 10
    if header[3] & _FEXTRA:
        pos += 2 + int.from_bytes(header[10:12], "little")
    end = header.find(b"\x00", pos)
    if end < 0:
        return None
    return header[pos:end].decode("utf-8", "replace")
