"""Errors raised by the backup package."""

from __future__ import annotations

from ..errors import UserError

__all__ = [
    "BackupError",
    "BackupFormatError",
    "BackupNameCollisionError",
    "BackupNotFoundError",
    "BackupStorageError",
    "BackupVersionError",
    "ClientBackupError",
    "InvalidBackupFileTypeError",
    "InvalidExportPathError",
    "ReadOnlyExportFileError",
    "UnsafeBackupPathError",
]


class BackupError(UserError):
    """Base class of every backup related error."""


class BackupVersionError(BackupError):
    """The backup's ``version`` cannot be converted to the current format (< 100 or > 106).

    The message is the reference app's exception text.
    """


class ClientBackupError(BackupVersionError):
    """A version below 100: a client (web interface) backup, not a server backup."""


class BackupFormatError(BackupError):
    """The backup's content does not have the shape the reference app can process."""


# --- storage errors (backup/storage.py) ------------------------------------------------------


class BackupStorageError(BackupError):
    """A problem with the backup folders or files on disk."""


class UnsafeBackupPathError(BackupStorageError):
    """A name or path that is not a plain file name inside the backup folders.

    Raised for names containing ``/`` or NUL, ``.``/``..``, names longer than 255 bytes, unknown
    folder names and backup folders that are symlinks leading outside the app-data folder.
    """


class BackupNameCollisionError(BackupStorageError):
    """A new backup's label (cut to 20 bytes) is that of a backup made under another full name."""


class BackupNotFoundError(BackupStorageError):
    """No backup with that name.

    The message follows the reference: ``Could not find backup '<name>'`` for lookups made by
    restore/export, and an empty message for ``passwords:backup:delete`` (``NotFoundException``).
    """


class InvalidExportPathError(BackupStorageError):
    """The export target is not usable; the message is always ``Invalid export file path``."""

    def __init__(self, message: str = "Invalid export file path") -> None:
        super().__init__(message)


class ReadOnlyExportFileError(BackupStorageError):
    """The export target exists and is read-only (or not writable by this user): not replaced
    unless the admin says so."""


class InvalidBackupFileTypeError(BackupError):
    """An import file name that does not end in ``<char>.json`` / ``<char>.json.gz``.

    The message is always ``Invalid file type``.
    """

    def __init__(self, message: str = "Invalid file type") -> None:
        super().__init__(message)
