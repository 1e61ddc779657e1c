"""Backup file names and labels, as the app makes and reads them
(docs/internals/backup-format.md#names-and-labels): every name handled is one safe path component;
labels are cut to 20 bytes (never inside a UTF-8 character); sizes are shown as Nextcloud's
``humanFileSize()`` shows them."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from ..php.numbers import float_string
from .errors import InvalidBackupFileTypeError, UnsafeBackupPathError

MAX_LABEL_BYTES: Final = 20

_NAME_MAX_BYTES: Final = 255
# BackupImportCommand: only the character before ``.json`` is checked.
_IMPORT_NAME_RE: Final = re.compile(r"[\w+\-.](\.json(\.gz)?)$", re.ASCII)
# BackupCreateCommand: preg_replace('/[^\w\-.]/', '', $name).
_CREATE_STRIP_RE: Final = re.compile(r"[^A-Za-z0-9_\-.]")


def check_file_name(name: str) -> str:
    """Return ``name`` if it is one safe path component, else raise :class:`UnsafeBackupPathError`."""
    if not isinstance(name, str) or name in ("", ".", ".."):
        raise UnsafeBackupPathError(f"Invalid file name: {name!r}")
    if "/" in name or "\0" in name:
        raise UnsafeBackupPathError(f"Invalid file name: {name!r}")
    if len(os.fsencode(name)) > _NAME_MAX_BYTES:
        raise UnsafeBackupPathError(f"File name too long: {name[:40]!r}…")
    return name


def cut_bytes(text: str, limit: int) -> str:
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
    return cut_bytes(name, MAX_LABEL_BYTES)


def label_of(file_name: str) -> str:
    """The listing key of a file: its name up to the last ``.json``; ``""`` without ``.json``."""
    index = file_name.rfind(".json")
    return file_name[:index] if index >= 0 else ""


def import_label(file_name: str) -> str:
    """``passwords:backup:import`` label: the base name up to the last ``.json``, cut to 20 bytes."""
    return cut_bytes(label_of(file_name), MAX_LABEL_BYTES)


def check_import_name(file_name: str) -> bool:
    """Validate an import file's base name like the reference; return True if it is ``.json.gz``.

    Raises :class:`InvalidBackupFileTypeError` (``Invalid file type``) otherwise.
    """
    match = _IMPORT_NAME_RE.search(file_name)
    if match is None:
        raise InvalidBackupFileTypeError()
    return match.group(2) is not None


def _php_round(value: float, places: int) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def human_file_size(size: int) -> str:
    """Nextcloud's ``humanFileSize()`` (docs/internals/backup-format.md#size-and-details)."""
    if size < 0:
        return "?"
    if size < 1024:
        return f"{size} B"
    value = _php_round(size / 1024, 0)
    if value < 1024:
        return f"{float_string(float(value))} KB"
    for unit in ("MB", "GB", "TB"):
        value = _php_round(float(value) / 1024, 1)
        if value < 1024:
            return f"{float_string(float(value))} {unit}"
    value = _php_round(float(value) / 1024, 1)
    return f"{float_string(float(value))} PB"
