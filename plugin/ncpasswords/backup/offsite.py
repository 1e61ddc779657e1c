"""Off-site copies of scheduled backups (docs/off-site-backups.md#scheduled-off-site-copies).

After each scheduled backup, when the app config names a copy folder, the new backup is
encrypted in the age format for the configured recipients and written into that folder
atomically (temporary name, fsync, rename), as `<label>.json.gz.age`. The folder keeps its own
number of copies: the oldest copies of scheduled backups beyond `backup/offsite/files/maximum`
are deleted; other files in it are never touched. A copy that fails raises: the job reports it and
`backup:list --details` shows it.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..php.casts import php_intval
from ..repositories.config_values import AppConfig
from .agecrypt import AGE_SUFFIX, AgeError, Recipient, encrypt_file, read_recipients, recipients_from_lines
from .errors import BackupStorageError
from .storage import DEFAULT_MAX_BACKUPS, BackupFile, BackupStorage

FOLDER_KEY: Final = "backup/offsite/folder"
RECIPIENTS_KEY: Final = "backup/offsite/recipients"
RECIPIENTS_FILE_KEY: Final = "backup/offsite/recipients-file"
MAXIMUM_KEY: Final = "backup/offsite/files/maximum"
# Copies of scheduled backups: the date label the job gives them, gzip, age.
_COPY_NAME: Final = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.json\.gz\.age")


class OffsiteCopyError(BackupStorageError):
    """The off-site copy could not be written."""


@dataclass(frozen=True)
class OffsiteSettings:
    """The app config of off-site copies; `folder` None means none are made."""

    folder: Path | None
    recipients: list[Recipient]
    maximum: int

    @classmethod
    def load(cls, app: AppConfig) -> OffsiteSettings:
        """Read and check the settings; a folder without recipients is refused."""
        folder = (app.get(FOLDER_KEY) or "").strip()
        if not folder:
            return cls(None, [], 0)
        if not os.path.isabs(folder):
            raise OffsiteCopyError(f"{FOLDER_KEY} must be an absolute path, not {folder!r}")
        inline = recipients_from_lines(re.split(r"[\n,]", app.get(RECIPIENTS_KEY) or ""), RECIPIENTS_KEY)
        file = (app.get(RECIPIENTS_FILE_KEY) or "").strip()
        recipients = inline + (read_recipients((), [file]) if file else [])
        if not recipients:
            raise OffsiteCopyError(f"Off-site copies need recipients: set {RECIPIENTS_KEY} or {RECIPIENTS_FILE_KEY}")
        raw = app.get(MAXIMUM_KEY)
        maximum = DEFAULT_MAX_BACKUPS if raw is None or raw == "" else php_intval(raw)
        return cls(Path(folder), recipients, maximum)


def copy_backup(storage: BackupStorage, backup: BackupFile, settings: OffsiteSettings) -> tuple[Path, list[Path]]:
    """Write the encrypted copy of `backup` into the copy folder, then rotate the folder.

    Returns the copy and the old copies removed. Raises OffsiteCopyError when the folder is
    missing or the copy cannot be written (nothing is left behind then).
    """
    folder = settings.folder
    assert folder is not None
    if not folder.is_dir():
        raise OffsiteCopyError(f"The off-site folder {folder} does not exist (is the remote mounted?)")
    target = folder / (backup.name + AGE_SUFFIX)
    try:
        written = storage.export(
            backup, target, transform=lambda source, size, out: encrypt_file(source, out, settings.recipients)
        )
    except (AgeError, BackupStorageError) as exc:
        raise OffsiteCopyError(f"The off-site copy {target} failed: {exc}") from None
    try:
        return written, rotate(folder, settings.maximum)
    except OSError as exc:
        raise OffsiteCopyError(f"Old off-site copies in {folder} could not be removed: {exc.strerror}") from None


def rotate(folder: Path, maximum: int) -> list[Path]:
    """Delete the oldest copies of scheduled backups beyond `maximum` (0 or less keeps all)."""
    if maximum <= 0:
        return []
    copies = sorted(entry.name for entry in os.scandir(folder) if _COPY_NAME.fullmatch(entry.name) and entry.is_file())
    removed = []
    for name in copies[: max(0, len(copies) - maximum)]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / name)
        removed.append(folder / name)
    return removed
