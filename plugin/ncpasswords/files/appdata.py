"""Writing into the app-data folder so that a real Nextcloud sees the result at once.

On a real Nextcloud the Passwords app lists and reads its files through Nextcloud's file cache, so a
file that is only on disk is invisible to it. :func:`app_data_files` returns the object every writer
into ``appdata_<instanceid>/`` goes through:

* on a database with Nextcloud's file cache, :class:`CachedAppDataFiles`: each change of the disk
  (a file renamed into place, a file removed, a folder swapped) happens inside one database
  transaction that writes the rows a scan would write (see :meth:`Scanner.sync`); the change is
  undone on disk when the transaction fails, so no row points at a file that is not there and no
  file stays unregistered after a success;
* on a standalone instance, :class:`DirectAppDataFiles`: the same disk operations, nothing else.

A file that is replaced or removed is first renamed aside to a hidden ``*.part`` name (Nextcloud's
scanner skips those) so that it can be put back; it is deleted once the transaction is committed.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..db.connection import Database
from ..errors import UserError
from ..fsutil import fsync_dir
from ..instance.instance import Instance
from .cache import FileCache, has_file_cache
from .disk import AppDataFiles, DirectAppDataFiles, aside_name, remove_tree_or_file
from .metadata import LocalStorage, is_normalized
from .mimetypes import MimeTypeDetector
from .scanner import Scanner


class CachedAppDataFiles:
    """A real Nextcloud: every change is registered in the file cache in the same step."""

    def __init__(self, db: Database, storage: LocalStorage, scan_root: str) -> None:
        self.db = db
        self.storage = storage
        self.scan_root = scan_root
        self.cache = FileCache(db, storage)
        self.scanner = Scanner(storage, self.cache)

    def internal_path(self, path: Path) -> str:
        """The path inside the data directory's storage (Nextcloud's NFC names)."""
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(self.storage.datadir))
        if relative == "." or relative.startswith(".."):
            raise ValueError(f"{path} is not inside the data directory {self.storage.datadir}")
        return relative.replace(os.sep, "/")

    def _sync(self, folder: Path, name: str, *, recursive: bool = False) -> None:
        self.scanner.sync(self.scan_root, self.internal_path(folder), [name], recursive=recursive)

    def settle(self, folder: Path) -> None:
        """Rewrite what the cache knows about ``folder`` (and above) after scratch entries went."""
        with self.db.transaction(write_lock=True):
            self.scanner.sync(self.scan_root, self.internal_path(folder), [])

    def _swap(self, new: Path | None, target: Path, *, recursive: bool = False) -> None:
        if self.db.in_transaction:
            raise RuntimeError("app-data changes must not run inside another transaction")
        if not is_normalized(target.name):
            raise UserError(f"Nextcloud cannot show a file whose name is not in Unicode NFC form: {target.name}")
        aside: Path | None = None
        placed = False
        try:
            with self.db.transaction(write_lock=True):
                if new is None or os.path.lexists(target):
                    hidden = aside_name(target)
                    os.replace(target, hidden)
                    aside = hidden
                if new is not None:
                    os.replace(new, target)
                    placed = True
                fsync_dir(target.parent)
                self._sync(target.parent, target.name, recursive=recursive)
        except BaseException:  # rolled back: put the disk back as it was
            self.cache.forget()
            if placed and new is not None:
                os.replace(target, new)
            if aside is not None:
                os.replace(aside, target)
            raise
        if aside is not None:
            remove_tree_or_file(aside)
            self.settle(target.parent)

    def make_folder(self, path: Path, mode: int) -> None:
        if self.db.in_transaction:
            raise RuntimeError("app-data changes must not run inside another transaction")
        path.mkdir(mode=mode)
        try:
            os.chmod(path, mode)
            with self.db.transaction(write_lock=True):
                self._sync(path.parent, path.name, recursive=True)
        except BaseException:
            self.cache.forget()
            os.rmdir(path)
            raise

    def place(self, temp: Path, target: Path) -> None:
        self._swap(temp, target)

    def remove(self, path: Path) -> None:
        if not os.path.lexists(path):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        self._swap(None, path)

    def place_tree(self, staging: Path, target: Path) -> None:
        self._swap(staging, target, recursive=True)


def app_data_files(instance: Instance, db: Database) -> AppDataFiles:
    """The app-data writer for an instance: registering in the file cache where the database has one."""
    if not has_file_cache(db):
        return DirectAppDataFiles()
    return CachedAppDataFiles(db, local_storage(instance), f"appdata_{instance.instance_id}")


def local_storage(instance: Instance) -> LocalStorage:
    """The data directory as Nextcloud's root storage, with the instance's storage settings."""
    datadir = str(instance.get("datadirectory") or instance.data_dir)  # data_dir: the error when unset
    blacklisted = instance.get("blacklisted_files", [".htaccess"])
    names = tuple(str(v) for v in (blacklisted.values() if isinstance(blacklisted, dict) else blacklisted or []))
    return LocalStorage(
        datadir,
        blacklisted=names,
        allow_symlinks=bool(instance.get("localstorage.allowsymlinks", False)),
        detector=MimeTypeDetector(instance.path.parent),
    )
