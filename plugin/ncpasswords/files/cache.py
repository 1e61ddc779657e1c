"""Rows of Nextcloud's file cache for one storage, as ``OC\\Files\\Cache\\Cache`` reads and writes them.

A row per file and folder in ``<prefix>filecache``: the storage's numeric id from
``<prefix>storages``, the path inside the storage (NFC, no leading slash; the storage's root is
``''`` with parent -1), ``path_hash`` = MD5 of the path, the parent's file id, the name, the MIME type
and its first part as ids of ``<prefix>mimetypes`` (added there when missing), size, mtime,
storage_mtime, etag, permissions and an empty checksum. ``encrypted`` and ``unencrypted_size`` keep
their defaults (0), as Nextcloud's scanner leaves them; it writes no ``filecache_extended`` row.
Removing an entry removes its folder's contents too, with their ``filecache_extended`` and
``files_metadata`` rows, as Nextcloud's cache and its listeners do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..db.connection import Database
from ..db.introspect import tables_exist
from .metadata import LocalStorage, Metadata
from .mimetypes import FOLDER

#: The tables that make a database a Nextcloud database with a file cache.
FILE_CACHE_TABLES = ("filecache", "storages", "mimetypes")


def has_file_cache(db: Database) -> bool:
    """Whether the database holds Nextcloud's file cache (a real Nextcloud's database)."""
    return tables_exist(db, *FILE_CACHE_TABLES)


def path_hash(path: str) -> str:
    return hashlib.md5(path.encode("utf-8")).hexdigest()


def parent_path(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


@dataclass
class Entry:
    """One row of the file cache (the columns the scanner compares)."""

    fileid: int
    parent: int
    name: str
    mimetype: str
    size: int
    mtime: int
    storage_mtime: int
    etag: str | None
    permissions: int
    unencrypted_size: int

    @property
    def is_folder(self) -> bool:
        return self.mimetype == FOLDER


class FileCache:
    """The file cache of one storage in one database."""

    def __init__(self, db: Database, storage: LocalStorage) -> None:
        self.db = db
        self.storage = storage
        self._numeric_id: int | None = None
        self._mimetype_ids: dict[str, int] = {}
        self._mimetypes: dict[int, str] = {}
        self._metadata_tables: bool | None = None

    def forget(self) -> None:
        """Drop the ids read so far (after a rollback they may name rows that are gone)."""
        self._numeric_id = None
        self._mimetype_ids.clear()
        self._mimetypes.clear()

    # -- ids -----------------------------------------------------------------------------------
    @property
    def numeric_id(self) -> int:
        """The storage's ``numeric_id``; the storage is added (available) when it is missing."""
        if self._numeric_id is None:
            found = self.db.scalar("filecache.storage", {"id": self.storage.id})
            if found is None:
                self.db.execute("filecache.insert_storage", {"id": self.storage.id}).close()
                found = self.db.scalar("filecache.storage", {"id": self.storage.id})
            self._numeric_id = int(found)
        return self._numeric_id

    def _load_mimetypes(self) -> None:
        for mid, name in self.db.rows("filecache.mimetypes"):
            self._mimetype_ids[str(name)] = int(mid)
            self._mimetypes[int(mid)] = str(name)

    def mimetype_id(self, mimetype: str) -> int:
        """The id of a MIME type (or of its first part), added to the table when missing."""
        if mimetype not in self._mimetype_ids:
            self._load_mimetypes()
        if mimetype not in self._mimetype_ids:
            self.db.execute("filecache.insert_mimetype", {"mimetype": mimetype}).close()
            self._load_mimetypes()
        return self._mimetype_ids[mimetype]

    def mimetype(self, mimetype_id: int) -> str:
        if mimetype_id not in self._mimetypes:
            self._load_mimetypes()
        return self._mimetypes.get(mimetype_id, "")

    # -- reading -------------------------------------------------------------------------------
    def _entry(self, row: tuple[Any, ...]) -> Entry:
        fileid, parent, name, mimetype, size, mtime, storage_mtime, etag, permissions, unencrypted = row
        storage_mtime = int(storage_mtime) or int(mtime)  # Nextcloud reads 0 as "same as mtime"
        return Entry(
            int(fileid),
            int(parent),
            str(name or ""),
            self.mimetype(int(mimetype)),
            int(size),
            int(mtime),
            storage_mtime,
            None if etag is None else str(etag),
            int(permissions or 0),
            int(unencrypted),
        )

    def get(self, path: str) -> Entry | None:
        """The row of a path, or None."""
        rows = self.db.rows("filecache.entry", {"storage": self.numeric_id, "path_hash": path_hash(path)})
        return self._entry(rows[0]) if rows else None

    def children(self, fileid: int) -> list[Entry]:
        """The rows whose parent is the folder, ordered by name."""
        return [
            self._entry(row)
            for row in self.db.rows("filecache.children", {"parent": fileid, "storage": self.numeric_id})
        ]

    # -- writing -------------------------------------------------------------------------------
    def _values(self, path: str, parent: int, meta: Metadata, etag: str, mtime: int, size: int) -> dict[str, Any]:
        mimepart = self.mimetype_id(meta.mimetype.split("/", 1)[0])  # looked up first, as Nextcloud does
        return {
            "parent": parent,
            "name": path.rsplit("/", 1)[-1],
            "mimetype": self.mimetype_id(meta.mimetype),
            "mimepart": mimepart,
            "size": size,
            "mtime": mtime,
            "storage_mtime": meta.mtime,
            "etag": etag,
            "permissions": meta.permissions,
            "checksum": "",
        }

    def new_row(self, path: str, parent: int, meta: Metadata) -> dict[str, Any]:
        """The values of a new row for a path from what the storage reports."""
        values = self._values(path, parent, meta, meta.etag, meta.mtime, meta.size)
        values.update(storage=self.numeric_id, path=path, path_hash=path_hash(path))
        return values

    def insert(self, path: str, parent: int, meta: Metadata) -> int:
        """Add a row for a path from what the storage reports; returns its file id. A row that a
        concurrent writer added for the path meanwhile gets these values and keeps its id."""
        self.db.execute("filecache.insert_entry", self.new_row(path, parent, meta)).close()
        found = self.db.scalar("filecache.entry", {"storage": self.numeric_id, "path_hash": path_hash(path)})
        return int(found)

    def insert_rows(self, rows: list[dict[str, Any]]) -> None:
        """Add many rows made by :meth:`new_row` in one driver call (a row that a concurrent writer
        added meanwhile is updated, as :meth:`insert` does)."""
        if rows:
            self.db.execute_many("filecache.insert_entry", rows)

    def update(self, entry: Entry, path: str, parent: int, meta: Metadata, *, etag: str, mtime: int, size: int) -> None:
        """Rewrite a row from the storage's report (the values the scanner decided to keep)."""
        values = self._values(path, parent, meta, etag, mtime, size)
        values["fileid"] = entry.fileid
        self.db.execute("filecache.update_entry", values).close()

    def set_size(self, fileid: int, size: int) -> None:
        self.db.execute("filecache.update_folder_size", {"fileid": fileid, "size": size}).close()

    def set_etag(self, fileid: int, etag: str) -> None:
        self.db.execute("filecache.update_etag", {"fileid": fileid, "etag": etag}).close()

    def remove(self, entry: Entry) -> None:
        """Remove a row and, for a folder, everything below it."""
        doomed = [entry.fileid]
        queue = [entry] if entry.is_folder else []
        while queue:
            folder = queue.pop()
            for child in self.children(folder.fileid):
                doomed.append(child.fileid)
                if child.is_folder:
                    queue.append(child)
        if self._metadata_tables is None:
            self._metadata_tables = tables_exist(self.db, "files_metadata", "files_metadata_index")
        for fileid in doomed:
            params = {"fileid": fileid}
            self.db.execute("filecache.delete_entry", params).close()
            self.db.execute("filecache.delete_extended", params).close()
            if self._metadata_tables:
                self.db.execute("filecache.delete_metadata", params).close()
                self.db.execute("filecache.delete_metadata_index", params).close()

    def calculate_folder_size(self, path: str) -> None:
        """Set a folder's size to the sum of its children's (-1 when one is unknown), and its
        ``unencrypted_size`` where Nextcloud would (``Cache::calculateFolderSize``)."""
        entry = self.get(path)
        if entry is None or not entry.is_folder:
            return
        rows = self.db.rows("filecache.child_sizes", {"parent": entry.fileid, "storage": self.numeric_id})
        if rows:
            sizes = [int(size) for size, _ in rows]
            unencrypted_only = [int(unencrypted) for _, unencrypted in rows]
            unencrypted = [int(u) if int(u) > 0 else int(s) for s, u in rows]
            total = -1 if min(sizes) == -1 else sum(sizes)
            unencrypted_total = min(unencrypted) if min(unencrypted) == -1 or min(sizes) == -1 else sum(unencrypted)
            unencrypted_max = max(unencrypted_only)
        else:
            total = unencrypted_total = unencrypted_max = 0
        write_unencrypted = unencrypted_max > 0 or total == 0 or entry.unencrypted_size > 0
        if entry.size == total and not (entry.unencrypted_size != unencrypted_total and write_unencrypted):
            return
        if write_unencrypted:
            if unencrypted_max == 0:
                unencrypted_total = 0
        else:
            unencrypted_total = entry.unencrypted_size
        self.db.execute(
            "filecache.update_size", {"fileid": entry.fileid, "size": total, "unencrypted_size": unencrypted_total}
        ).close()

    def correct_folder_size(self, path: str) -> None:
        """Recalculate a folder's size and that of every folder above it up to the storage's root."""
        while True:
            self.calculate_folder_size(path)
            if path == "":
                return
            path = parent_path(path)
