"""`files:scan-app-data` as a library: scan `appdata_<instanceid>/` (or a folder in it) into
Nextcloud's file cache, or on a standalone instance (no file cache) only walk it and count."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..errors import UserError
from ..instance.instance import Instance
from .appdata import local_storage
from .cache import FileCache, has_file_cache
from .scanner import Listener, Scanner


@dataclass
class ScanCounts:
    """What a scan found, and how long it took (whole seconds)."""

    files: int = 0
    folders: int = 0
    seconds: int = 0


def _clean_folder(folder: str) -> str | None:
    """The sub-folder as a storage path; None for one that leaves the app-data folder."""
    parts = [part for part in folder.split("/") if part not in ("", ".")]
    return None if ".." in parts else "/".join(parts)


def scan_app_data(
    instance: Instance,
    folder: str = "",
    *,
    on_file: Listener | None = None,
    on_folder: Listener | None = None,
    on_mismatch: Listener | None = None,
) -> ScanCounts:
    """Scan the app-data folder, or `folder` below it, as Nextcloud's command does; the listeners
    are told each file and folder found and each name whose encoding makes it unreachable.

    Failures are one UserError line, with Nextcloud's messages (`NoAppData folder found`,
    `Could not find folder: …`, `Exception during scan: …`).
    """
    if not instance.get("instanceid"):
        raise UserError("NoAppData folder found")
    storage = local_storage(instance)
    root = f"appdata_{instance.instance_id}"
    meta = storage.metadata(root)
    if meta is None or not meta.is_folder:
        raise UserError("NoAppData folder found")
    path = root
    if folder:
        cleaned = _clean_folder(folder)
        if cleaned is None or (cleaned and storage.metadata(f"{root}/{cleaned}") is None):
            raise UserError(f"Could not find folder: {folder}")
        path = f"{root}/{cleaned}" if cleaned else root
    counts = ScanCounts()

    def file_found(found: str) -> None:
        counts.files += 1
        if on_file is not None:
            on_file(found)

    def folder_found(found: str) -> None:
        counts.folders += 1
        if on_folder is not None:
            on_folder(found)

    began = time.monotonic()
    with instance.connect() as db:
        cache = FileCache(db, storage) if has_file_cache(db) else None
        scanner = Scanner(storage, cache, on_file=file_found, on_folder=folder_found, on_mismatch=on_mismatch)
        try:
            scanner.scan(path)
        except KeyboardInterrupt:
            raise UserError("Interrupted by user") from None
        except UserError:
            raise
        except Exception as exc:  # what Nextcloud's command reports for any other failure
            raise UserError(f"Exception during scan: {' '.join(str(exc).split())}") from exc
    counts.seconds = round(time.monotonic() - began)
    return counts
