"""What Nextcloud's local storage reports about a file or folder of the data directory.

This is ``OC\\Files\\Storage\\Local::getMetaData()`` and the naming rules of its scanner, so that a
row written here is the row Nextcloud's own scanner would write:

* ``mtime`` is the whole seconds of the modification time, ``size`` the byte size (-1 for folders);
* a file's etag is the MD5 of its mtime, inode, device and size written as decimal numbers one
  after the other; a folder's etag is a fresh ``uniqid()`` (see :func:`uniqid`);
* permissions: share (16), read (1) with the owner's read bit, update (2) with the owner's write bit
  and create (4) for such a folder, delete (8) when the parent folder is writable for this process;
  so 27 for the app's files and 31 for its folders (23 for the storage's root, never deletable);
* names: partial uploads (``*.part``) and blacklisted names (``.htaccess``) are not scanned, names
  that are not in Unicode NFC are skipped with a notice, and a symlink that leads out of the data
  directory is not followed (Nextcloud's ``localstorage.allowsymlinks`` is off by default).
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Final

from .mimetypes import FOLDER, MimeTypeDetector

PERMISSION_READ: Final = 1
PERMISSION_UPDATE: Final = 2
PERMISSION_CREATE: Final = 4
PERMISSION_DELETE: Final = 8
PERMISSION_SHARE: Final = 16

_MAX_NAME_BYTES: Final = 255
_uniqid_lock = threading.Lock()
_last_uniqid = [""]


def uniqid() -> str:
    """PHP's ``uniqid()``: the current time as 8 hex digits of seconds and 5 of microseconds.

    Two calls never return the same value (PHP sleeps a microsecond between calls for that).
    """
    with _uniqid_lock:
        while True:
            now = time.time_ns() // 1000
            value = f"{now // 1_000_000:08x}{now % 1_000_000:05x}"
            if value != _last_uniqid[0]:
                _last_uniqid[0] = value
                return value


def storage_id(datadirectory: str) -> str:
    """The string id of the data directory's storage in ``oc_storages``: ``local::<dir>/``, or
    its MD5 when longer than 64 characters."""
    datadir = datadirectory.replace("//", "/")
    if not datadir.endswith("/"):
        datadir += "/"
    value = "local::" + datadir
    return hashlib.md5(value.encode()).hexdigest() if len(value.encode()) > 64 else value


def is_partial(path: str) -> bool:
    """Nextcloud's scanner ignores ``*.part`` files and everything inside ``*.part/`` folders."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return (dot >= 0 and name[dot + 1 :] == "part") or ".part/" in path


def is_normalized(name: str) -> bool:
    """Whether a name is in Unicode NFC (Nextcloud skips other names when scanning)."""
    return unicodedata.is_normalized("NFC", name)


def is_valid_name(name: str) -> bool:
    """Names the scanner accepts: not too long, no backslash or control characters, valid UTF-8."""
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes from the file system (surrogate escapes)
        return False
    return len(encoded) <= _MAX_NAME_BYTES and "\\" not in name and not any(ord(c) < 32 for c in name)


@dataclass(frozen=True)
class Metadata:
    """One entry as the storage reports it."""

    name: str
    mimetype: str
    mtime: int
    size: int
    etag: str
    permissions: int

    @property
    def is_folder(self) -> bool:
        return self.mimetype == FOLDER


class LocalStorage:
    """The data directory as Nextcloud's root storage sees it; paths are relative to it."""

    def __init__(
        self,
        datadirectory: str,
        *,
        blacklisted: tuple[str, ...] = (".htaccess",),
        allow_symlinks: bool = False,
        detector: MimeTypeDetector | None = None,
    ) -> None:
        self.datadir = datadirectory.replace("//", "/")
        if not self.datadir.endswith("/"):
            self.datadir += "/"
        self.id = storage_id(datadirectory)
        self._real_datadir = os.path.realpath(self.datadir).rstrip("/") + "/"
        self._blacklisted = {name.lower() for name in blacklisted}
        self._allow_symlinks = allow_symlinks
        self.detector = detector or MimeTypeDetector()

    def local_path(self, path: str) -> str:
        """The file system path of a storage path."""
        return self.datadir + path

    def _allowed(self, path: str, full: str) -> bool:
        if path.rsplit("/", 1)[-1].lower() in self._blacklisted:
            return False
        if self._allow_symlinks or path == "":
            return True
        real = os.path.realpath(full)
        return (real + "/").startswith(self._real_datadir)

    def metadata(self, path: str) -> Metadata | None:
        """``getMetaData(path)``: None when the entry is missing or may not be accessed."""
        full = self.local_path(path)
        if not self._allowed(path, full):
            return None
        try:
            info = os.stat(full)
        except (OSError, ValueError):
            return None
        mode = info.st_mode
        is_dir = mode & 0x4000 == 0x4000 and not mode & 0x8000
        permissions = PERMISSION_SHARE
        if mode & stat.S_IRUSR:
            permissions += PERMISSION_READ
        if mode & stat.S_IWUSR:
            permissions += PERMISSION_UPDATE
            if is_dir:
                permissions += PERMISSION_CREATE
        if path not in ("", "/") and os.access(os.path.dirname(full), os.W_OK):
            permissions += PERMISSION_DELETE
        mtime = info.st_mtime_ns // 1_000_000_000
        if is_dir:
            size, etag = -1, uniqid()
        else:
            size = info.st_size
            etag = hashlib.md5(f"{mtime}{info.st_ino}{info.st_dev}{size}".encode()).hexdigest()
        mimetype = FOLDER if is_dir else self.detector.detect_path(path)
        return Metadata(path.rsplit("/", 1)[-1], mimetype, mtime, size, etag, permissions)

    def mtime(self, path: str) -> int | None:
        """The modification time in whole seconds, or None when the entry is gone."""
        try:
            return os.stat(self.local_path(path)).st_mtime_ns // 1_000_000_000
        except OSError:
            return None

    def children(self, path: str) -> list[str]:
        """The names in a folder (unsorted, like ``readdir``); OSError when it cannot be read."""
        return os.listdir(self.local_path(path))
