"""The disk operations of the app-data writers, and their plain form for a standalone instance.

See :mod:`.appdata` for the form that registers each change in a real Nextcloud's file cache.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import Protocol

from ..fsutil import TEMP_PREFIX, fsync_dir


def aside_name(path: Path) -> Path:
    """A hidden name in the same folder that Nextcloud's scanner and the backup listing skip."""
    return path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}.part")


def remove_tree_or_file(path: Path) -> None:
    """Delete a file, or a folder with its contents (best effort)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class AppDataFiles(Protocol):
    """The disk operations of the app-data writers."""

    def make_folder(self, path: Path, mode: int) -> None:
        """Create a folder (its parent exists); FileExistsError when there is one."""

    def place(self, temp: Path, target: Path) -> None:
        """Rename a finished temporary file over ``target`` (same folder)."""

    def remove(self, path: Path) -> None:
        """Delete a file; FileNotFoundError when it is not there."""

    def place_tree(self, staging: Path, target: Path) -> None:
        """Replace the folder ``target`` by the finished folder ``staging`` (same parent)."""

    def settle(self, folder: Path) -> None:
        """After hidden scratch entries in ``folder`` were deleted: bring what is known about the
        folder itself up to date (its modification time has moved on)."""


class DirectAppDataFiles:
    """A standalone instance: plain renames and unlinks."""

    def make_folder(self, path: Path, mode: int) -> None:
        path.mkdir(mode=mode)
        os.chmod(path, mode)

    def place(self, temp: Path, target: Path) -> None:
        os.replace(temp, target)

    def remove(self, path: Path) -> None:
        os.unlink(path)
        fsync_dir(path.parent)

    def place_tree(self, staging: Path, target: Path) -> None:
        aside = aside_name(target) if os.path.lexists(target) else None
        if aside is not None:
            os.replace(target, aside)
        try:
            os.replace(staging, target)
        except BaseException:
            if aside is not None:
                os.replace(aside, target)
            raise
        fsync_dir(target.parent)
        if aside is not None:
            remove_tree_or_file(aside)

    def settle(self, folder: Path) -> None:
        pass
