"""Backup folders and files on disk (docs/internals/backup-format.md#storage).

Pure filesystem code, no database.  The app-data root is
``<datadirectory>/appdata_<instanceid>/passwords``; backups live in its ``backups/`` (manual, imports)
and ``autoBackups/`` (cron, safety backups) folders, which are created with mode 0700 on first use.

Safety rules kept here:

* every file name handled is a single path component: no ``/``, no NUL, not ``.``/``..``, at most
  255 bytes (:class:`UnsafeBackupPathError` otherwise);
* a backup folder that is a symlink must stay inside the app-data root;
* listing only reports regular files (symlinks and sub-folders are skipped) and ignores the hidden
  temporary files of :func:`atomic_write`; backups are opened once (:meth:`BackupStorage.open`), in
  the checked folder and with ``O_NOFOLLOW``, and read from that open file;
* a label cut to 20 bytes keeps the full name in the gzip header (FNAME), and a backup made under
  another full name is not replaced without ``force``;
* files are written through :func:`atomic_write`: temp file in the target folder, fsync, rename into
  place with mode 0600; nothing is left behind when the writer raises.

Deliberate differences from the reference, all for robustness: a backup with the same label is
deleted only after the new file has been written (the reference deletes it first), and a label cut
to 20 bytes never ends in a partial UTF-8 character.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import queue
import re
import stat
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Final, Required, TypedDict

from ..files.disk import AppDataFiles, DirectAppDataFiles
from ..fsutil import TEMP_PREFIX, fsync_dir
from ..php import php_intval, php_numeric
from . import fastzlib
from .errors import (
    BackupError,
    BackupNameCollisionError,
    BackupNotFoundError,
    BackupStorageError,
    InvalidBackupFileTypeError,
    InvalidExportPathError,
    ReadOnlyExportFileError,
    UnsafeBackupPathError,
)
from .phpjson import php_array_key
from .source import GZIP_MAGIC, BackupSource
from .summary import ENTITY_COUNT_KEYS, summarize

__all__ = [
    "AUTO_BACKUPS",
    "BACKUPS",
    "BACKUP_FOLDERS",
    "DEFAULT_MAX_BACKUPS",
    "ENTITY_COUNT_KEYS",
    "MAX_LABEL_BYTES",
    "TEMP_PREFIX",
    "BackupFile",
    "BackupInfo",
    "BackupStorage",
    "NewBackup",
    "appdata_root",
    "atomic_write",
    "auto_restore_label",
    "backup_label",
    "check_file_name",
    "check_import_name",
    "compare_labels",
    "date_label",
    "human_file_size",
    "import_label",
    "label_of",
    "resolve_export_path",
    "sanitize_backup_name",
    "sort_labels",
]

BACKUPS: Final = "backups"
AUTO_BACKUPS: Final = "autoBackups"
#: Folders in the order the reference reads them; on equal labels the later folder wins.
BACKUP_FOLDERS: Final = (BACKUPS, AUTO_BACKUPS)
MAX_LABEL_BYTES: Final = 20
DEFAULT_MAX_BACKUPS: Final = 28

_NAME_MAX_BYTES: Final = 255
_CHUNK: Final = 1 << 20
_FOLDER_MODE: Final = 0o700
_FILE_MODE: Final = 0o600

# getBackupInfo(): PCRE without /u, so \w is ASCII; PCRE and Python both let ``$`` match before a
# final newline.
_INFO_NAME_RE: Final = re.compile(r"^([\w\-.]+)(\.json(\.gz)?)$", re.ASCII)
# BackupImportCommand: only the character before ``.json`` is checked.
_IMPORT_NAME_RE: Final = re.compile(r"[\w+\-.](\.json(\.gz)?)$", re.ASCII)
# BackupCreateCommand: preg_replace('/[^\w\-.]/', '', $name).
_CREATE_STRIP_RE: Final = re.compile(r"[^A-Za-z0-9_\-.]")
# PHP 8 numeric strings (is_numeric_string): optional surrounding whitespace.


# --------------------------------------------------------------------------------------------
# names and labels


def appdata_root(datadirectory: str | os.PathLike[str], instanceid: str) -> Path:
    """``<datadirectory>/appdata_<instanceid>/passwords``."""
    check_file_name(f"appdata_{instanceid}")
    return Path(datadirectory) / f"appdata_{instanceid}" / "passwords"


def check_file_name(name: str) -> str:
    """Return ``name`` if it is one safe path component, else raise :class:`UnsafeBackupPathError`."""
    if not isinstance(name, str) or name in ("", ".", ".."):
        raise UnsafeBackupPathError(f"Invalid file name: {name!r}")
    if "/" in name or "\0" in name:
        raise UnsafeBackupPathError(f"Invalid file name: {name!r}")
    if len(os.fsencode(name)) > _NAME_MAX_BYTES:
        raise UnsafeBackupPathError(f"File name too long: {name[:40]!r}…")
    return name


def _cut_bytes(text: str, limit: int) -> str:
    """The first ``limit`` UTF-8 bytes of ``text``, without a trailing partial character."""
    raw = text.encode("utf-8", "surrogateescape")
    if len(raw) <= limit:
        return text
    raw = raw[:limit]
    # Drop a partial multi-byte sequence at the end (PHP's substr() would keep its bytes).
    for back in range(1, min(4, len(raw)) + 1):
        lead = raw[-back]
        if lead < 0x80:
            break
        if lead >= 0xC0:
            needed = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            if needed > back:
                raw = raw[:-back]
            break
    return raw.decode("utf-8", "surrogateescape")


def sanitize_backup_name(name: str | None) -> str | None:
    """``passwords:backup:create``: drop every character outside ``[A-Za-z0-9_.-]``; None if empty."""
    if name is None:
        return None
    cleaned = _CREATE_STRIP_RE.sub("", name)
    return cleaned or None


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def date_label(now: datetime | None = None) -> str:
    """Default label ``Y-m-d_H-i-s`` in UTC, e.g. ``2024-06-01_03-15-00``."""
    return _utc(now).strftime("%Y-%m-%d_%H-%M-%S")


def auto_restore_label(now: datetime | None = None) -> str:
    """Label of the safety backup made before an automatic restore: ``AUTO_y-m-d_H-i`` (UTC)."""
    return "AUTO_" + _utc(now).strftime("%y-%m-%d_%H-%M")


def backup_label(name: str | None, *, now: datetime | None = None) -> str:
    """``BackupService::createBackup()`` label: PHP-empty (None, ``""``, ``"0"``) → date label,
    otherwise the first 20 bytes."""
    if name is None or name in ("", "0"):
        return date_label(now)
    return _cut_bytes(name, MAX_LABEL_BYTES)


def label_of(file_name: str) -> str:
    """The listing key of a file: its name up to the last ``.json``; ``""`` without ``.json``."""
    index = file_name.rfind(".json")
    return file_name[:index] if index >= 0 else ""


def import_label(file_name: str) -> str:
    """``passwords:backup:import`` label: the base name up to the last ``.json``, cut to 20 bytes."""
    return _cut_bytes(label_of(file_name), MAX_LABEL_BYTES)


def check_import_name(file_name: str) -> bool:
    """Validate an import file's base name like the reference; return True if it is ``.json.gz``.

    Raises :class:`InvalidBackupFileTypeError` (``Invalid file type``) otherwise.
    """
    match = _IMPORT_NAME_RE.search(file_name)
    if match is None:
        raise InvalidBackupFileTypeError()
    return match.group(2) is not None


# --------------------------------------------------------------------------------------------
# PHP helpers: ksort order, intval, humanFileSize


def _three_way(left: float, right: float) -> int:
    return (left > right) - (left < right)


def _bytes_compare(left: str, right: str) -> int:
    lb = left.encode("utf-8", "surrogateescape")
    rb = right.encode("utf-8", "surrogateescape")
    return (lb > rb) - (lb < rb)


def compare_labels(left: str, right: str) -> int:
    """Compare two labels as PHP 8 ``ksort()`` (SORT_REGULAR) compares the array keys.

    Canonical integer strings are integer keys; two numeric values compare numerically, an integer
    key and a non-numeric string compare as strings, two strings use PHP's "smart" comparison.
    """
    lkey = php_array_key(left)
    rkey = php_array_key(right)
    if isinstance(lkey, int) and isinstance(rkey, int):
        return _three_way(lkey, rkey)
    lnum = lkey if isinstance(lkey, int) else php_numeric(lkey)
    rnum = rkey if isinstance(rkey, int) else php_numeric(rkey)
    if lnum is not None and rnum is not None:
        if isinstance(lnum, int) and isinstance(rnum, int):
            return _three_way(lnum, rnum)
        return _three_way(float(lnum), float(rnum))
    return _bytes_compare(str(lkey), str(rkey))


def sort_labels(labels: list[str]) -> list[str]:
    """``labels`` in PHP ``ksort`` order (stable for equal keys)."""
    return sorted(labels, key=functools.cmp_to_key(compare_labels))


def _php_round(value: float, places: int) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _php_number(value: Decimal) -> str:
    """A rounded size as PHP prints the float: ``2``, ``1.5``, ``117.7``."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(float(value), ".14G")


def human_file_size(size: int) -> str:
    """Nextcloud's ``humanFileSize()`` (docs/internals/backup-format.md#size-and-details)."""
    if size < 0:
        return "?"
    if size < 1024:
        return f"{size} B"
    value = _php_round(size / 1024, 0)
    if value < 1024:
        return f"{_php_number(value)} KB"
    for unit in ("MB", "GB", "TB"):
        value = _php_round(float(value) / 1024, 1)
        if value < 1024:
            return f"{_php_number(value)} {unit}"
    value = _php_round(float(value) / 1024, 1)
    return f"{_php_number(value)} PB"


# --------------------------------------------------------------------------------------------
# atomic writing


# gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unix (what gzencode() writes).
_GZIP_HEADER: Final = bytes.fromhex("1f8b0800000000000003")
# Header flags: extra field, original file name.
_FEXTRA: Final = 0x04
_FNAME: Final = 0x08
# Bytes read to find a recorded name (the header plus a name of any length a file system allows).
_HEADER_READ: Final = 4096
_GZIP_BLOCK: Final = 1 << 20


class _GzipWriter(io.BufferedIOBase):
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


@contextlib.contextmanager
def atomic_write(
    target: str | os.PathLike[str],
    *,
    compress: bool | None = None,
    mode: int = _FILE_MODE,
    fast: bool = False,
    gzip_name: str | None = None,
    files: AppDataFiles | None = None,
) -> Iterator[io.BufferedIOBase]:
    """Write ``target`` atomically.

    Yields a binary writer on a hidden temporary file (``TEMP_PREFIX…``) in the target's folder.
    With ``compress`` (default: the name ends in ``.gz``) the bytes are gzipped like PHP's
    ``gzencode()``, or with ``fast`` at :mod:`.fastzlib`'s fast level (valid gzip, other bytes);
    ``gzip_name`` goes into the gzip header's file name field.
    On success the data is fsynced, the file gets ``mode`` and is renamed over ``target``; on an
    exception the temporary file is removed and the exception propagates.  The folder must exist
    (:class:`BackupStorageError` otherwise).  Do not close the writer yourself.  ``files`` does the
    final rename (in app data: registering the file in Nextcloud's file cache in the same step).
    """
    path = Path(target)
    directory = path.parent
    check_file_name(path.name)
    if not directory.is_dir():
        raise BackupStorageError(f"Folder does not exist: {directory}")
    if compress is None:
        compress = path.name.endswith(".gz")
    try:
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=directory)
    except OSError as error:
        raise BackupStorageError(f"Cannot write in {directory}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as raw:
            if compress:
                writer = _GzipWriter(raw, fast=fast, name=gzip_name)
                try:
                    yield writer
                    writer.finish()
                finally:
                    writer.stop()
            else:
                yield raw
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temp_name, mode)
        if files is None:
            os.replace(temp_name, path)
        else:
            files.place(Path(temp_name), path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    fsync_dir(directory)


# --------------------------------------------------------------------------------------------
# reading backups


def _open_nofollow(path: Path) -> io.BufferedReader:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BackupStorageError(f"Not a regular file: {path}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _gzip_name(header: bytes) -> str | None:
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


# --------------------------------------------------------------------------------------------
# storage


@dataclass(frozen=True)
class BackupFile:
    """One file in a backup folder."""

    folder: str
    name: str
    path: Path = field(compare=False)

    @property
    def label(self) -> str:
        """The listing key: the name up to the last ``.json`` (``""`` without ``.json``)."""
        return label_of(self.name)

    @property
    def compressed(self) -> bool:
        """Unpacking gunzips when the name ends in ``gz`` (docs/internals/backup-format.md#what-a-reader-checks)."""
        return self.name.endswith("gz")

    @property
    def size(self) -> int:
        return os.lstat(self.path).st_size


class BackupInfo(TypedDict, total=False):
    """``BackupService::getBackupInfo()``; the last four keys only with details."""

    label: Required[str | None]
    name: Required[str]
    size: Required[str]
    format: Required[str]
    error: str
    version: Any
    users: int
    entities: dict[str, int]


@dataclass
class NewBackup:
    """A backup being written by :meth:`BackupStorage.create` / :meth:`BackupStorage.import_writer`.

    ``write`` takes bytes (gzipped transparently for ``.json.gz``); ``result`` is set once the
    ``with`` block has completed and the file is in place.
    """

    label: str
    folder: str
    name: str
    path: Path
    stream: io.BufferedIOBase
    result: BackupFile | None = None

    def write(self, data: bytes) -> int:
        return self.stream.write(data)


class BackupStorage:
    """The two backup folders below the app-data root ``<datadirectory>/appdata_<id>/passwords``."""

    def __init__(self, root: str | os.PathLike[str], files: AppDataFiles | None = None) -> None:
        self.root = Path(root)
        self.files = files or DirectAppDataFiles()

    @classmethod
    def for_instance(
        cls, datadirectory: str | os.PathLike[str], instanceid: str, files: AppDataFiles | None = None
    ) -> BackupStorage:
        return cls(appdata_root(datadirectory, instanceid), files)

    # -- folders ---------------------------------------------------------------------------

    def folder_path(self, folder: str = BACKUPS) -> Path:
        """The folder's path; created (0700, with the app-data root if needed) when missing.

        Raises :class:`UnsafeBackupPathError` for other folder names and for a folder (or symlink)
        that leads outside the app-data root.
        """
        if folder not in BACKUP_FOLDERS:
            raise UnsafeBackupPathError(f"Unknown backup folder: {folder!r}")
        path = self.root / folder
        if not os.path.lexists(path):
            self.root.mkdir(mode=_FOLDER_MODE, parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                self.files.make_folder(path, _FOLDER_MODE)
        root_real = os.path.realpath(self.root)
        real = os.path.realpath(path)
        if os.path.commonpath([root_real, real]) != root_real or real == root_real:
            raise UnsafeBackupPathError(f"Backup folder leads outside the app data folder: {path}")
        if not os.path.isdir(real):
            raise UnsafeBackupPathError(f"Backup folder is not a directory: {path}")
        return path

    def _file(self, folder: str, name: str) -> BackupFile:
        check_file_name(name)
        return BackupFile(folder, name, self.folder_path(folder) / name)

    def _folder_files(self, folder: str) -> list[BackupFile]:
        directory = self.folder_path(folder)
        files: list[BackupFile] = []
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith(TEMP_PREFIX):
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                files.append(BackupFile(folder, entry.name, directory / entry.name))
        # Nextcloud lists a folder ordered by name; it decides which of two files with the same
        # label (``x.json`` / ``x.json.gz``) wins inside one folder.
        files.sort(key=lambda item: os.fsencode(item.name))
        return files

    # -- listing -----------------------------------------------------------------------------

    def list_backups(self, location: str | None = None) -> dict[str, BackupFile]:
        """``getBackups()``: label → file, in PHP ``ksort`` order.

        Reads ``backups`` then ``autoBackups`` (only ``location`` when it is one of them); a later
        file with the same label replaces an earlier one, so ``autoBackups`` wins.
        """
        folders = (location,) if location in BACKUP_FOLDERS else BACKUP_FOLDERS
        merged: dict[str, BackupFile] = {}
        for folder in folders:
            assert folder is not None
            for backup in self._folder_files(folder):
                merged[backup.label] = backup
        return {label: merged[label] for label in sort_labels(list(merged))}

    def find(self, label: str, location: str | None = None) -> BackupFile | None:
        """The backup listed under ``label`` (both folders unless ``location``), or None."""
        return self.list_backups(location).get(label)

    def get(self, label: str, location: str | None = None) -> BackupFile:
        """Like :meth:`find`; raises ``BackupNotFoundError("Could not find backup '<label>'")``."""
        backup = self.find(label, location)
        if backup is None:
            raise BackupNotFoundError(f"Could not find backup '{label}'")
        return backup

    def open(self, backup: BackupFile) -> BackupSource:
        """Open a listed backup for reading, once: in its folder as :meth:`folder_path` checks it,
        never through a symlink. Whatever happens to the name afterwards (while a prompt waits),
        reads come from this open file. Raises :class:`BackupStorageError` when that fails."""
        directory = self.folder_path(backup.folder)
        check_file_name(backup.name)
        try:
            folder_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:
            raise BackupStorageError(f"Cannot read backup folder {directory}: {error.strerror}") from None
        try:
            # The folder opened must be the one checked (not swapped for a symlink in between).
            real = os.path.realpath(directory)
            root = os.path.realpath(self.root)
            inside = os.path.commonpath([root, real]) == root and real != root
            if not inside or not os.path.samestat(os.fstat(folder_fd), os.stat(real)):
                raise UnsafeBackupPathError(f"Backup folder changed while it was opened: {directory}")
            return BackupSource.open(backup.name, follow_symlinks=False, dir_fd=folder_fd)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise BackupStorageError(f"Backup {backup.name} is a symbolic link; refusing to read it") from None
            raise BackupStorageError(f"Cannot read backup {backup.name}: {error.strerror}") from None
        finally:
            os.close(folder_fd)

    def full_name(self, backup: BackupFile) -> str:
        """The name a backup was made under: its label, or for a label cut to 20 bytes the full
        name recorded in its gzip header (docs/backups.md)."""
        try:
            with self.open(backup) as source:
                recorded = _gzip_name(source.read_head(_HEADER_READ))
        except BackupError:
            recorded = None
        made_as = recorded.removesuffix(".json") if recorded else None
        if made_as is not None and _cut_bytes(made_as, MAX_LABEL_BYTES) == backup.label:
            return made_as
        return backup.label

    def _check_replace(self, previous: BackupFile, made_as: str) -> None:
        """Refuse to replace a backup made under another full name than ``made_as``."""
        existing = self.full_name(previous)
        if existing != made_as:
            raise BackupNameCollisionError(
                f"The backup '{previous.label}' (made as '{existing}') would be replaced by '{made_as}': names are "
                f"cut to {MAX_LABEL_BYTES} characters. Use --force to replace it, or a name that differs in its "
                f"first {MAX_LABEL_BYTES} characters"
            )

    def info(self, backup: BackupFile, details: bool = False) -> BackupInfo:
        """``getBackupInfo()`` (docs/internals/backup-format.md#size-and-details), details in bounded memory."""
        backup = self._file(backup.folder, backup.name)
        match = _INFO_NAME_RE.match(backup.name)
        info: BackupInfo = {
            "label": match.group(1) if match else None,
            "name": backup.name,
            "size": human_file_size(backup.size),
            "format": "compressed" if match and match.group(3) is not None else "json",
        }
        if details:
            try:
                with self.open(backup) as source:
                    found = summarize(source, backup.compressed)
            except Exception as error:  # the reference reports any Throwable's message
                info["error"] = str(error)
            else:
                info["version"] = found["version"]
                info["users"] = found["users"]
                info["entities"] = found["entities"]
        return info

    # -- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def create(
        self,
        name: str | None = None,
        folder: str = BACKUPS,
        *,
        compress: bool = True,
        now: datetime | None = None,
        force: bool = False,
    ) -> Iterator[NewBackup]:
        """``createBackup(name, folder)``: write ``<label>.json.gz`` (``.json`` without compress).

        The label follows :func:`backup_label`.  Once the new file is in place, the backup listed
        under the same label in either folder (the one :meth:`list_backups` returns) is deleted
        unless it is the file just written.  Nothing changes if the ``with`` block raises.  A name
        cut to the label is recorded in the gzip header; replacing a backup made under another
        full name raises :class:`BackupNameCollisionError` unless ``force``.
        """
        if folder not in BACKUP_FOLDERS:
            raise UnsafeBackupPathError(f"Unknown backup folder: {folder!r}")
        label = backup_label(name, now=now)
        made_as = label if name is None or name in ("", "0") else name
        file_name = label + (".json.gz" if compress else ".json")
        target = self._file(folder, file_name)
        previous = self.list_backups().get(label)
        if previous is not None and not force:
            self._check_replace(previous, made_as)
        recorded = made_as + ".json" if made_as != label and compress else None
        with atomic_write(target.path, compress=compress, fast=True, gzip_name=recorded, files=self.files) as stream:
            pending = NewBackup(label, folder, file_name, target.path, stream)
            yield pending
        if previous is not None and (previous.folder, previous.name) != (folder, file_name):
            self.delete_file(previous)
        pending.result = target

    @contextlib.contextmanager
    def import_writer(self, source_name: str, *, compress: bool = True, force: bool = False) -> Iterator[NewBackup]:
        """Store re-encoded import data as ``backups/<import_label(source_name)>.json.gz``.

        A file with exactly that name in ``backups`` is replaced (``autoBackups`` is not looked
        at), unless it was made under another full name (:class:`BackupNameCollisionError`;
        ``force`` replaces it anyway). A name cut to the label is recorded as :meth:`create` does.
        """
        base = os.path.basename(source_name)
        label = import_label(base)
        made_as = label_of(base)
        file_name = label + (".json.gz" if compress else ".json")
        target = self._file(BACKUPS, file_name)
        if not force and os.path.lexists(target.path):
            self._check_replace(target, made_as)
        recorded = made_as + ".json" if made_as != label and compress else None
        with atomic_write(target.path, compress=compress, fast=True, gzip_name=recorded, files=self.files) as stream:
            pending = NewBackup(label, BACKUPS, file_name, target.path, stream)
            yield pending
        pending.result = target

    def import_file(
        self, source: str | os.PathLike[str], *, label: str | None = None, compressed: bool | None = None
    ) -> BackupFile:
        """Copy an already validated backup file's bytes into ``backups`` unchanged.

        The label defaults to :func:`import_label` of the source's base name; ``compressed`` (the
        source holds gzip bytes; default: its name ends in ``.gz``) selects ``.json.gz`` or ``.json``.
        A file with the same name in ``backups`` is replaced.
        """
        source_path = Path(source)
        label = import_label(source_path.name) if label is None else _cut_bytes(label, MAX_LABEL_BYTES)
        if compressed is None:
            compressed = source_path.name.endswith(".gz")
        target = self._file(BACKUPS, label + (".json.gz" if compressed else ".json"))
        with open(source_path, "rb") as handle, atomic_write(target.path, compress=False, files=self.files) as stream:
            while chunk := handle.read(_CHUNK):
                stream.write(chunk)
        return target

    def export(self, backup: BackupFile, target: str | os.PathLike[str], *, replace_read_only: bool = False) -> Path:
        """Copy the stored bytes of ``backup`` to ``target`` atomically (mode 0600); return it.

        The target's folder must exist (:class:`BackupStorageError`); an existing target that is
        not a regular file raises :class:`InvalidExportPathError`; an existing file is replaced,
        but a read-only one (see :func:`read_only`) only with ``replace_read_only``
        (:class:`ReadOnlyExportFileError` otherwise). File system errors give one line.
        """
        source = self._file(backup.folder, backup.name)
        target_path = Path(target)
        if not target_path.parent.is_dir():
            raise BackupStorageError(f"Export folder does not exist: {target_path.parent}")
        if os.path.lexists(target_path) and not target_path.is_file():
            raise InvalidExportPathError()
        if read_only(target_path) and not replace_read_only:
            raise ReadOnlyExportFileError(f"Export file {target_path} is read-only; it was not replaced")
        try:
            handle = _open_nofollow(source.path)
        except OSError as error:
            raise BackupStorageError(f"Cannot read {source.path}: {error.strerror}") from None
        with handle:
            try:
                with atomic_write(target_path, compress=False) as stream:
                    while chunk := handle.read(_CHUNK):
                        stream.write(chunk)
            except OSError as error:
                raise BackupStorageError(f"Cannot write the export file {target_path}: {error.strerror}") from None
        return target_path

    # -- deleting ----------------------------------------------------------------------------

    def delete(self, label: str) -> BackupFile:
        """``passwords:backup:delete``: remove the backup listed under ``label`` in ``backups``.

        Raises :class:`BackupNotFoundError` with an empty message when there is none.
        """
        backup = self.list_backups(BACKUPS).get(label)
        if backup is None:
            raise BackupNotFoundError()
        self.files.remove(self._file(backup.folder, backup.name).path)
        return backup

    def delete_file(self, backup: BackupFile) -> None:
        """Remove one backup file (no error if it is already gone)."""
        with contextlib.suppress(FileNotFoundError):
            self.files.remove(self._file(backup.folder, backup.name).path)

    def remove_old_backups(self, maximum: object = None) -> list[BackupFile]:
        """``removeOldBackups()`` (docs/internals/backup-format.md#rotation); return the deleted files.

        ``maximum`` is the raw app config value ``backup/files/maximum`` (None when unset → 28),
        converted with PHP ``intval``; 0 keeps everything.  Only ``autoBackups`` is rotated: the
        lowest labels are deleted until ``maximum`` remain.  A negative maximum keeps everything
        like 0 (the reference fails on it; deleting every backup would lose data).
        """
        limit = DEFAULT_MAX_BACKUPS if maximum is None else php_intval(maximum)
        if limit <= 0:
            return []
        backups = list(self.list_backups(AUTO_BACKUPS).values())
        if len(backups) <= limit:
            return []
        doomed = backups[: len(backups) - limit]
        for backup in doomed:
            self.delete_file(backup)
        return doomed

    def cleanup_temp_files(self, *, older_than: float = 3600.0) -> list[Path]:
        """Remove temporary files left by crashed writers in both folders; return their paths.

        Only files whose modification time is at least ``older_than`` seconds ago are removed, so
        a writer that is still running is left alone (pass 0 to remove all).
        """
        removed: list[Path] = []
        limit = time.time() - older_than
        for folder in BACKUP_FOLDERS:
            directory = self.folder_path(folder)
            with os.scandir(directory) as entries:
                for entry in entries:
                    if not entry.name.startswith(TEMP_PREFIX):
                        continue
                    try:
                        info = entry.stat(follow_symlinks=False)
                        if stat.S_ISDIR(info.st_mode) or info.st_mtime > limit:
                            continue
                        os.unlink(entry.path)
                    except FileNotFoundError:
                        continue
                    removed.append(directory / entry.name)
        return removed


# --------------------------------------------------------------------------------------------
# export path resolution (BackupExportCommand)


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
    """The export target of ``passwords:backup:export`` (docs/internals/commands.md#passwordsbackupexport).

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
