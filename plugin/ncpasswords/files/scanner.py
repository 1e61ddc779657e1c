"""Nextcloud's file scanner (``OC\\Files\\Cache\\Scanner`` as ``files:scan-app-data`` runs it).

A scan compares what the storage reports with the cache and writes the difference: new entries are
added (a missing parent first), changed ones rewritten, vanished ones removed with everything below.
Like Nextcloud's, it reuses the cached etag, mtime and folder size of an entry whose
``storage_mtime`` still matches the disk, gives a folder a new etag when its own mtime changed or
when the etag of anything below it changed (up to the folder the scan started at), and afterwards
recalculates the sizes of the scanned folder and of every folder above it up to the storage's root.

:meth:`Scanner.sync` is the same scan narrowed to what one operation changed: a few names in one
folder plus the folders from the scan root down to it. After it, a full scan finds nothing to change.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .cache import Entry, FileCache, parent_path
from .metadata import LocalStorage, Metadata, is_normalized, is_partial, is_valid_name, uniqid

Listener = Callable[[str], None]


class _Lookup(Enum):
    """The cache row of the entry is not known yet: read it."""

    ROW = 0


_LOOKUP = _Lookup.ROW


@dataclass(frozen=True)
class Scanned:
    """The outcome of scanning one entry (``fileid`` is -1 for a file added in bulk later)."""

    fileid: int
    meta: Metadata
    size: int
    etag_changed: bool


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


class Scanner:
    """Scans paths of a storage into its cache; without a cache (a standalone instance) it only
    walks the folders and reports what it finds."""

    def __init__(
        self,
        storage: LocalStorage,
        cache: FileCache | None = None,
        *,
        on_file: Listener | None = None,
        on_folder: Listener | None = None,
        on_mismatch: Listener | None = None,
    ) -> None:
        self.storage = storage
        self.cache = cache
        self._on_file = on_file
        self._on_folder = on_folder
        self._on_mismatch = on_mismatch

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        if self.cache is None:
            yield
        else:
            with self.cache.db.transaction(write_lock=True):
                yield

    # -- one entry -----------------------------------------------------------------------------
    def scan_file(
        self,
        path: str,
        parent_id: int = -1,
        existing: Entry | _Lookup | None = _LOOKUP,
        meta: Metadata | None = None,
        new_files: list[dict[str, Any]] | None = None,
    ) -> Scanned | None:
        """Scan one file or folder (not its contents); None when it is not scanned. The row of a new
        file goes to ``new_files`` when given, for the caller to add in bulk."""
        if path and not is_valid_name(path.rsplit("/", 1)[-1]):
            return None
        if is_partial(path):
            return None
        meta = meta or self.storage.metadata(path)
        cache = self.cache
        if meta is None:
            if cache is not None and (gone := cache.get(path)) is not None:
                cache.remove(gone)
            return None
        if not meta.is_folder and self._on_file is not None:
            self._on_file(path)
        if cache is None:
            return Scanned(-1, meta, meta.size, False)
        if path and parent_id == -1:
            parent = cache.get(parent_path(path))
            if parent is not None:
                parent_id = parent.fileid
            else:
                scanned_parent = self.scan_file(parent_path(path))
                if scanned_parent is None:
                    return None
                parent_id = scanned_parent.fileid
        entry = cache.get(path) if existing is _LOOKUP else existing
        if entry is None:
            if new_files is not None and not meta.is_folder:
                new_files.append(cache.new_row(path, parent_id, meta))
                return Scanned(-1, meta, meta.size, False)
            return Scanned(cache.insert(path, parent_id, meta), meta, meta.size, False)
        etag, mtime, size = meta.etag, meta.mtime, meta.size
        if meta.mtime == entry.storage_mtime and entry.size != -1:  # unchanged: keep what is known
            mtime = entry.mtime
            if size == -1:
                size = entry.size
            etag = entry.etag or meta.etag
        changed = (bool(path) and entry.parent != parent_id) or (
            entry.name,
            entry.mimetype,
            entry.size,
            entry.mtime,
            entry.storage_mtime,
            entry.etag,
            entry.permissions,
        ) != (meta.name, meta.mimetype, size, mtime, meta.mtime, etag, meta.permissions)
        if changed:
            cache.update(entry, path, parent_id, meta, etag=etag, mtime=mtime, size=size)
        return Scanned(entry.fileid, meta, size, entry.etag != etag)

    # -- folders -------------------------------------------------------------------------------
    def scan_children(self, path: str, folder_id: int, old_size: int) -> tuple[int, bool]:
        """Scan a folder's contents recursively; returns its size and whether an etag below changed."""
        if self._on_folder is not None:
            self._on_folder(path)
        cache = self.cache
        size = 0
        etag_changed = False
        folders: list[tuple[str, int, int]] = []
        with self._transaction():
            existing = {e.name: e for e in cache.children(folder_id)} if cache is not None else {}
            new_files: list[dict[str, Any]] = []
            seen: set[str] = set()
            for name in sorted(self.storage.children(path)):
                child = _join(path, name)
                meta = self.storage.metadata(child)
                if meta is None:
                    continue
                if not is_normalized(name):
                    if self._on_mismatch is not None:
                        self._on_mismatch(child)
                    continue
                seen.add(name)
                scanned = self.scan_file(child, folder_id, existing.get(name), meta, new_files)
                if scanned is None:
                    continue
                if scanned.meta.is_folder:
                    folders.append((child, scanned.fileid, scanned.size))
                elif scanned.size == -1:
                    size = -1
                elif size != -1:
                    size += scanned.size
                etag_changed = etag_changed or scanned.etag_changed
            if cache is not None:
                cache.insert_rows(new_files)
                for name in existing.keys() - seen:
                    cache.remove(existing[name])
        for child, child_id, child_size in folders:
            child_size, child_changed = self.scan_children(child, child_id, child_size)
            etag_changed = etag_changed or child_changed
            if child_size == -1:
                size = -1
            elif size != -1:
                size += child_size
        if cache is not None:
            with self._transaction():
                if old_size != size:
                    cache.set_size(folder_id, size)
                if etag_changed:
                    cache.set_etag(folder_id, uniqid())
        return size, etag_changed

    def scan(self, path: str) -> None:
        """Scan a path and everything below it, then correct the folder sizes up to the root."""
        with self._transaction():
            scanned = self.scan_file(path)
        if scanned is not None and scanned.meta.is_folder:
            self.scan_children(path, scanned.fileid, scanned.size)
        if self.cache is not None:
            with self._transaction():
                self.cache.correct_folder_size(path)

    # -- one operation -------------------------------------------------------------------------
    def sync(self, scan_root: str, folder: str, names: Sequence[str], *, recursive: bool = False) -> None:
        """Write what a scan of ``scan_root`` would write for ``folder/<name>`` (each of ``names``,
        with their contents when ``recursive``) and for the folders from ``scan_root`` down to
        ``folder``. Runs in the caller's transaction."""
        cache = self.cache
        assert cache is not None
        if folder != scan_root and not folder.startswith(scan_root + "/"):
            raise ValueError(f"{folder!r} is not below {scan_root!r}")
        chain = [scan_root]
        for part in folder[len(scan_root) :].strip("/").split("/") if folder != scan_root else []:
            chain.append(f"{chain[-1]}/{part}")
        levels: list[Scanned] = []
        for path in chain:
            scanned = self.scan_file(path)
            if scanned is None or not scanned.meta.is_folder:
                raise FileNotFoundError(f"Not a folder in the data directory: {self.storage.local_path(path)}")
            levels.append(scanned)
        changed = False
        for name in names:
            child = _join(folder, name)
            meta = self.storage.metadata(child) if is_normalized(name) else None
            if meta is None:
                if (gone := cache.get(child)) is not None:
                    cache.remove(gone)
                continue
            scanned = self.scan_file(child, levels[-1].fileid, _LOOKUP, meta)
            if scanned is None:
                continue
            changed = changed or scanned.etag_changed
            if recursive and scanned.meta.is_folder:
                _, below = self.scan_children(child, scanned.fileid, scanned.size)
                changed = changed or below
        for level in reversed(levels):
            if changed:
                cache.set_etag(level.fileid, uniqid())
            changed = changed or level.etag_changed
        cache.correct_folder_size(folder)
