"""Copying a backup out of the app data (`passwords:backup:export`,
docs/internals/commands.md#passwordsbackupexport): the target path resolved as the app resolves it,
missing folders created private, a read-only file replaced only when the admin says so, the copy
written atomically."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..fsutil import atomic_write
from .compression import CHUNK
from .errors import BackupStorageError, InvalidExportPathError, ReadOnlyExportFileError
from .names import check_file_name

#: Writes what a source file holds into the target, changed on the way (encrypted).
Transform = Callable[[BinaryIO, int, BinaryIO], None]


def copy_out(
    source: Path, target: str | os.PathLike[str], *, replace_read_only: bool = False, transform: Transform | None = None
) -> Path:
    """Copy the bytes of the backup file ``source`` to ``target`` atomically (mode 0600); return it.

    With ``transform`` (source file, its size, target file) the bytes are written through it.

    The target's folder must exist (:class:`BackupStorageError`); an existing target that is
    not a regular file raises :class:`InvalidExportPathError`; an existing file is replaced,
    but a read-only one (see :func:`read_only`) only with ``replace_read_only``
    (:class:`ReadOnlyExportFileError` otherwise). File system errors give one line.
    """
    target_path = Path(target)
    check_file_name(target_path.name)
    if not target_path.parent.is_dir():
        raise BackupStorageError(f"Export folder does not exist: {target_path.parent}")
    if os.path.lexists(target_path) and not target_path.is_file():
        raise InvalidExportPathError()
    if read_only(target_path) and not replace_read_only:
        raise ReadOnlyExportFileError(f"Export file {target_path} is read-only; it was not replaced")
    try:
        handle = _open_nofollow(source)
    except OSError as error:
        raise BackupStorageError(f"Cannot read {source}: {error.strerror}") from None
    with handle:
        try:
            with atomic_write(target_path) as stream:
                if transform is not None:
                    transform(handle, os.fstat(handle.fileno()).st_size, stream)
                while chunk := handle.read(CHUNK):
                    stream.write(chunk)
        except OSError as error:
            raise BackupStorageError(f"Cannot write the export file {target_path}: {error.strerror}") from None
    return target_path


def _open_nofollow(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BackupStorageError(f"Not a regular file: {path}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_only(path: str | os.PathLike[str]) -> bool:
    """Whether an existing regular file is read-only: no write permission bit at all (0400),
    or not writable by this user (someone else's file)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    writable = os.access(path, os.W_OK, effective_ids=os.access in os.supports_effective_ids)
    return stat.S_ISREG(mode) and (not mode & 0o222 or not writable)


def _make_export_folders(folder: str) -> None:
    """Create the missing folders of an absolute path, each with mode 0700, resolving ``..`` and
    symlinks as the file system does (``a/link/..`` is the parent of the link's target)."""
    current = "/"
    for part in folder.split("/"):
        if not part:
            continue
        current = os.path.join(current, part)
        if part in (".", ".."):
            continue
        try:
            os.mkdir(current, 0o700)
        except FileExistsError:
            if not os.path.isdir(current):
                raise InvalidExportPathError() from None
            continue
        except NotADirectoryError:
            raise InvalidExportPathError() from None
        except OSError as error:
            raise BackupStorageError(f"Cannot create the export folder {current}: {error.strerror}") from None
        os.chmod(current, 0o700)  # whatever the umask


def resolve_export_path(backup_name: str, file: str | None, cwd: str | os.PathLike[str]) -> Path:
    """The export target of ``passwords:backup:export <name> [file]``
    (docs/internals/commands.md#passwordsbackupexport).

    ``backup_name`` is the stored file name (e.g. ``x.json.gz``).  A ``file`` ending in the backup's
    ending from its last ``.json`` is a file path, anything else a folder that gets the stored name.
    Missing folders are created (mode 0700, as the app creates them but private); a file in a
    folder's place, or a non-file at the final path, raises :class:`InvalidExportPathError`.
    ``..`` and symlinks are resolved as the file system does, and the result names the real folder.
    """
    folder = file or ""
    if not folder.startswith("/"):
        folder = os.fspath(cwd) + "/" + folder
    export_name = backup_name
    index = backup_name.rfind(".json")
    ending = backup_name[index:] if index >= 0 else backup_name
    if ending and folder.endswith(ending):
        export_name = os.path.basename(folder)
        folder = os.path.dirname(folder) or "/"
    _make_export_folders(folder)
    path = os.path.join(os.path.realpath(folder), export_name)
    if os.path.lexists(path) and not os.path.isfile(path):
        raise InvalidExportPathError()
    return Path(path)
