"""Atomic file writing, the one way every file that matters is written (config.php, the config
journal, backups and exports, SQL dumps): a temporary file in the target's folder, fsync, mode,
rename, fsync of the folder."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from .errors import UserError

#: Prefix of the hidden temporary names of the atomic writers (and of entries set aside while a
#: replacement is registered); names ending in ``.part`` are also skipped by Nextcloud's scanner.
TEMP_PREFIX: Final = ".ncpasswords-tmp-"

Place = Callable[[Path, Path], None]
"""Moves a finished temporary file over its target (``os.replace`` by default)."""


class WriteError(UserError):
    """The target's folder does not exist or takes no new file."""


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a rename or unlink inside `directory` durable (best effort where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _replace(temp: Path, target: Path) -> None:
    os.replace(temp, target)


@contextlib.contextmanager
def atomic_write(
    target: str | os.PathLike[str],
    *,
    mode: int = 0o600,
    prefix: str = TEMP_PREFIX,
    suffix: str = ".part",
    keep_owner: bool = False,
    place: Place = _replace,
) -> Iterator[io.BufferedWriter]:
    """Write ``target`` atomically: yields a binary file on a hidden temporary file
    (``prefix…suffix``) in the target's folder.

    When the ``with`` block ends without an exception the data is fsynced, the file gets ``mode``
    (and with ``keep_owner`` the owner and group of the file it replaces, as far as this user may
    give them), ``place`` moves it over ``target`` and the folder is fsynced. On an exception the
    temporary file is removed and the exception propagates. Do not close the file yourself.
    Raises :class:`WriteError` when the folder is missing or takes no new file, OSError as the
    file system raises it otherwise.
    """
    path = Path(target)
    directory = path.parent
    if not directory.is_dir():
        raise WriteError(f"Folder does not exist: {directory}")
    try:
        fd, temp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    except OSError as error:
        raise WriteError(f"Cannot write in {directory}: {error.strerror}") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            yield raw
            raw.flush()
            os.fsync(raw.fileno())
            if keep_owner:
                _take_owner(raw.fileno(), path)
            os.fchmod(raw.fileno(), mode)
        place(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(directory)


def _take_owner(fd: int, path: Path) -> None:
    """Give the open file the owner and group of `path` (root), or at least its group."""
    try:
        old = os.stat(path)
    except FileNotFoundError:
        return
    if os.geteuid() == 0:
        os.fchown(fd, old.st_uid, old.st_gid)
    elif old.st_gid != os.fstat(fd).st_gid:  # keep the group (e.g. the web server's) if allowed
        with contextlib.suppress(PermissionError):
            os.fchown(fd, -1, old.st_gid)
