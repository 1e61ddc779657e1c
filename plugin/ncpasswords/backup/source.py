"""A backup file opened once, and the one path by which every reader gets its JSON bytes.

`BackupSource` holds an open file descriptor: whatever happens to the name afterwards (renamed,
replaced by a symlink while a prompt waits), every read comes from the file that was opened. Reads
are positional, so several passes over the same open file do not disturb each other.

`open_backup` gives every reader (list --details, restore, import, the automatic restore) its bytes,
gunzipped through the one inflater with the decompression-ratio limit (`compression.Inflater`).
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .compression import CHUNK, GZIP_MAGIC, Inflater
from .errors import BackupError


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


def open_backup(source: BackupSource, gzip: bool | None = None) -> IO[bytes]:
    """The JSON bytes of a backup from its start: gunzipped when `gzip` (by default when the file
    starts with the gzip magic bytes), within the ratio limit."""
    if gzip is None:
        gzip = source.read_head(len(GZIP_MAGIC)) == GZIP_MAGIC
    if gzip:
        return io.BufferedReader(Inflater(source.raw(), source.size), buffer_size=CHUNK)
    return io.BufferedReader(source.raw(), buffer_size=CHUNK)


def open_path(path: str | os.PathLike[str]) -> BackupSource:
    """Open a backup named by a path the admin gave (symlinks followed); BackupError if that fails."""
    try:
        return BackupSource.open(Path(path))
    except OSError as exc:
        raise BackupError(f"Cannot read backup file {os.path.basename(os.fspath(path))}: {exc.strerror}") from None
