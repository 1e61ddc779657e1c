"""A backup file opened once, and the one path by which every reader gets its JSON bytes.

`BackupSource` holds an open file descriptor: whatever happens to the name afterwards (renamed,
replaced by a symlink while a prompt waits), every read comes from the file that was opened. Reads
are positional, so several passes over the same open file do not disturb each other.

`open_backup` is the only gunzip in the package. It refuses output beyond the ratio limit (a file
that inflates to more than `MAX_RATIO` times its size once past `RATIO_FLOOR`), so no reader - list
--details, restore, import, the automatic restore - can be made to hold or chew through a gzip bomb.
"""

from __future__ import annotations

import io
import os
import queue
import stat
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from . import fastzlib
from .errors import BackupError, BackupFormatError

GZIP_MAGIC = b"\x1f\x8b"
# Refuse to inflate past this many bytes per compressed byte once a floor is passed: real backups
# compress a few times, a gzip bomb thousands of times (docs/compatibility.md).
MAX_RATIO = 100
RATIO_FLOOR = 256 << 20
BOMB_MESSAGE = "The backup file inflates far beyond its size; refusing to read it"
CHUNK = 1 << 20


class GzipBombError(BackupFormatError):
    """The file inflates beyond the ratio limit."""

    def __init__(self) -> None:
        super().__init__(BOMB_MESSAGE)


class BackupSource:
    """One open backup file (a regular file; FIFOs, devices and folders are refused).

    Use it as a context manager or call `close`; `open_backup` gives a fresh stream from its start.
    """

    def __init__(self, fd: int, name: str) -> None:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise BackupError(f"Not a regular file: {name}")
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.name = name
        self.size = info.st_size

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        follow_symlinks: bool = True,
        dir_fd: int | None = None,
    ) -> BackupSource:
        """Open `path` for reading (relative to `dir_fd` when given).

        Without `follow_symlinks` a symlink is refused (O_NOFOLLOW). Opening never blocks (a FIFO
        put in a backup's place is refused, not waited on). Raises OSError as `os.open` does.
        """
        flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow_symlinks else os.O_NOFOLLOW)
        fd = os.open(path, flags, dir_fd=dir_fd)
        return cls(fd, os.path.basename(os.fspath(path)))

    def read_head(self, size: int) -> bytes:
        """The first `size` bytes of the file (fewer if it is shorter)."""
        return os.pread(self.fd, size, 0)

    def raw(self) -> io.RawIOBase:
        """An unbuffered reader of the file from its first byte."""
        return _PositionalReader(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> BackupSource:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class _PositionalReader(io.RawIOBase):
    """Reads an open file with pread from offset 0, leaving the descriptor's own offset alone."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = os.preadv(self._fd, [buffer], self._offset)
        self._offset += size
        return size


class _Inflater(io.RawIOBase):
    """Inflates gzip data in a background thread (zlib works without the GIL, so inflating runs
    beside the parsing) and refuses output beyond the ratio limit.

    Concatenated members and trailing zero padding are read like `gzip.GzipFile` reads them.
    """

    def __init__(self, raw: io.RawIOBase, compressed_size: int) -> None:
        self._raw = raw
        self._limit = max(RATIO_FLOOR, MAX_RATIO * compressed_size)
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
                output = decompressor.decompress(data, CHUNK)
                while output:
                    total += len(output)
                    if total > self._limit:
                        raise GzipBombError()
                    if not self._put(output):
                        return
                    if decompressor.eof or not decompressor.unconsumed_tail:
                        break
                    output = decompressor.decompress(decompressor.unconsumed_tail, CHUNK)
                data = b"" if decompressor.eof else self._read()
        except fastzlib.ERRORS as exc:
            self._put(BackupFormatError(f"The backup file is not a valid gzip file: {exc}"))
        except OSError as exc:
            self._put(BackupError(f"Cannot read the backup file: {exc.strerror}"))
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
        super().close()


def open_backup(source: BackupSource, gzip: bool | None = None) -> IO[bytes]:
    """The JSON bytes of a backup from its start: gunzipped when `gzip` (by default when the file
    starts with the gzip magic bytes), within the ratio limit."""
    if gzip is None:
        gzip = source.read_head(len(GZIP_MAGIC)) == GZIP_MAGIC
    if gzip:
        return io.BufferedReader(_Inflater(source.raw(), source.size), buffer_size=CHUNK)
    return io.BufferedReader(source.raw(), buffer_size=CHUNK)


def open_path(path: str | os.PathLike[str]) -> BackupSource:
    """Open a backup named by a path the admin gave (symlinks followed); BackupError if that fails."""
    try:
        return BackupSource.open(Path(path))
    except OSError as exc:
        raise BackupError(f"Cannot read backup file {os.path.basename(os.fspath(path))}: {exc.strerror}") from None
