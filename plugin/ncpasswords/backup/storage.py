"""The two backup folders of the app data, and the backup files in them
(docs/internals/backup-format.md#storage): listing, opening, writing, deleting, rotation.

No database. The app-data root is ``<datadirectory>/appdata_<instanceid>/passwords``; backups live
in its ``backups/`` (manual, imports) and ``autoBackups/`` (cron, safety backups) folders, which
are created with mode 0700 on first use.

Safety rules kept here:

* every file name handled is a single path component (:func:`.names.check_file_name`);
* a backup folder that is a symlink must stay inside the app-data root;
* listing only reports regular files (symlinks and sub-folders are skipped) and ignores the hidden
  temporary files of the atomic writer; backups are opened once (:meth:`BackupStorage.open`), in
  the checked folder and with ``O_NOFOLLOW``, and read from that open file;
* a label cut to 20 bytes keeps the full name in the gzip header (FNAME), and a backup made under
  another full name is not replaced without ``force``;
* files are written through :func:`write_backup_file`: temp file in the target folder, fsync,
  rename into place with mode 0600; nothing is left behind when the writer raises.

Deliberate differences from the reference, all for robustness: a backup with the same label is
deleted only after the new file has been written (the reference deletes it first), and a label cut
to 20 bytes never ends in a partial UTF-8 character.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Required, TypedDict

from ..files.disk import AppDataFiles, DirectAppDataFiles
from ..fsutil import TEMP_PREFIX, WriteError, atomic_write
from ..php.casts import php_intval
from ..php.compare import ksorted
from .compression import CHUNK, HEADER_READ, GzipWriter, recorded_name
from .errors import (
    BackupError,
    BackupNameCollisionError,
    BackupNotFoundError,
    BackupStorageError,
    UnsafeBackupPathError,
)
from .export import Transform, copy_out
from .names import MAX_LABEL_BYTES, backup_label, check_file_name, cut_bytes, human_file_size, import_label, label_of
from .source import BackupSource
from .summary import summarize

BACKUPS: Final = "backups"
AUTO_BACKUPS: Final = "autoBackups"
#: Folders in the order the reference reads them; on equal labels the later folder wins.
BACKUP_FOLDERS: Final = (BACKUPS, AUTO_BACKUPS)
DEFAULT_MAX_BACKUPS: Final = 28

_FOLDER_MODE: Final = 0o700
_FILE_MODE: Final = 0o600

# getBackupInfo(): PCRE without /u, so \w is ASCII; PCRE and Python both let ``$`` match before a
# final newline.
_INFO_NAME_RE: Final = re.compile(r"^([\w\-.]+)(\.json(\.gz)?)$", re.ASCII)


def appdata_root(datadirectory: str | os.PathLike[str], instanceid: str) -> Path:
    """``<datadirectory>/appdata_<instanceid>/passwords``."""
    check_file_name(f"appdata_{instanceid}")
    return Path(datadirectory) / f"appdata_{instanceid}" / "passwords"


@contextlib.contextmanager
def write_backup_file(
    target: str | os.PathLike[str],
    *,
    compress: bool | None = None,
    mode: int = _FILE_MODE,
    fast: bool = False,
    gzip_name: str | None = None,
    files: AppDataFiles | None = None,
) -> Iterator[io.BufferedIOBase]:
    """Write the backup file ``target`` atomically (:func:`~ncpasswords.fsutil.atomic_write`).

    Yields a binary writer. With ``compress`` (default: the name ends in ``.gz``) the bytes are
    gzipped like PHP's ``gzencode()``, or with ``fast`` at :mod:`.fastzlib`'s fast level (valid
    gzip, other bytes); ``gzip_name`` goes into the gzip header's file name field. The folder
    must exist (:class:`BackupStorageError` otherwise); nothing is left behind when the block
    raises. ``files`` does the final rename (in app data: registering the file in Nextcloud's file
    cache in the same step). Do not close the writer yourself.
    """
    path = Path(target)
    check_file_name(path.name)
    if compress is None:
        compress = path.name.endswith(".gz")
    try:
        with atomic_write(path, mode=mode, place=(files or DirectAppDataFiles()).place) as raw:
            if not compress:
                yield raw
                return
            writer = GzipWriter(raw, fast=fast, name=gzip_name)
            try:
                yield writer
                writer.finish()
            finally:
                writer.stop()
    except WriteError as error:
        raise BackupStorageError(str(error)) from None


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
        return {label: merged[label] for label in ksorted(merged)}

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
                recorded = recorded_name(source.read_head(HEADER_READ))
        except BackupError:
            recorded = None
        made_as = recorded.removesuffix(".json") if recorded else None
        if made_as is not None and cut_bytes(made_as, MAX_LABEL_BYTES) == backup.label:
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
        with self._writing(target, label, made_as, compress) as pending:
            yield pending
        if previous is not None and (previous.folder, previous.name) != (folder, file_name):
            self.delete_file(previous)

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
        with self._writing(target, label, made_as, compress) as pending:
            yield pending

    @contextlib.contextmanager
    def _writing(self, target: BackupFile, label: str, made_as: str, compress: bool) -> Iterator[NewBackup]:
        """Write ``target`` at the fast gzip level, recording a name that was cut to the label."""
        recorded = made_as + ".json" if made_as != label and compress else None
        with write_backup_file(
            target.path, compress=compress, fast=True, gzip_name=recorded, files=self.files
        ) as stream:
            pending = NewBackup(label, target.folder, target.name, target.path, stream)
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
        label = import_label(source_path.name) if label is None else cut_bytes(label, MAX_LABEL_BYTES)
        if compressed is None:
            compressed = source_path.name.endswith(".gz")
        target = self._file(BACKUPS, label + (".json.gz" if compressed else ".json"))
        with (
            open(source_path, "rb") as handle,
            write_backup_file(target.path, compress=False, files=self.files) as stream,
        ):
            while chunk := handle.read(CHUNK):
                stream.write(chunk)
        return target

    def export(
        self,
        backup: BackupFile,
        target: str | os.PathLike[str],
        *,
        replace_read_only: bool = False,
        transform: Transform | None = None,
    ) -> Path:
        """Copy the stored bytes of ``backup`` to ``target`` (:func:`.export.copy_out`), through
        ``transform`` when given (encrypted)."""
        path = self._file(backup.folder, backup.name).path
        return copy_out(path, target, replace_read_only=replace_read_only, transform=transform)

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
