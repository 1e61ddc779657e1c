"""`files:scan-app-data`: scan `appdata_<instanceid>/` (or a folder in it) into Nextcloud's file cache.

On a real Nextcloud's database the scan adds, updates and removes file cache rows as Nextcloud's own
command does (docs/existing-nextcloud.md). A standalone instance has no file cache: the command then
walks the same folders and reports the same counts, so scripts written for Nextcloud keep working.
"""

from __future__ import annotations

import time

import click

from ..errors import UserError
from ..files.appdata import local_storage
from ..files.cache import FileCache, has_file_cache
from ..files.scanner import Scanner
from .common import installed_instance
from .console import console, table


def _clean_folder(folder: str) -> str | None:
    """The sub-folder as a storage path; None for one that leaves the app-data folder."""
    parts = [part for part in folder.split("/") if part not in ("", ".")]
    return None if ".." in parts else "/".join(parts)


@click.command("files:scan-app-data")
@click.argument("folder", required=False, default="", help="The appdata subfolder to scan")
def scan_app_data(folder: str) -> None:
    """rescan the AppData folder"""
    con = console()
    instance = installed_instance()
    con.line("Scanning AppData for files")
    con.line()
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
    counts = {"files": 0, "folders": 0}

    def on_file(found: str) -> None:
        counts["files"] += 1
        if con.verbosity:
            con.line(f"\tFile   /{found}")

    def on_folder(found: str) -> None:
        counts["folders"] += 1
        if con.verbosity:
            con.line(f"\tFolder /{found}")

    def on_mismatch(found: str) -> None:
        con.line(f'\tEntry "{found}" will not be accessible due to incompatible encoding')

    began = time.monotonic()
    with instance.connect() as db:
        cache = FileCache(db, storage) if has_file_cache(db) else None
        scanner = Scanner(storage, cache, on_file=on_file, on_folder=on_folder, on_mismatch=on_mismatch)
        try:
            scanner.scan(path)
        except KeyboardInterrupt:
            raise UserError("Interrupted by user") from None
        except UserError:
            raise
        except Exception as exc:  # what Nextcloud's command reports for any other failure
            raise UserError(f"Exception during scan: {' '.join(str(exc).split())}") from exc
    elapsed = round(time.monotonic() - began)
    stamp = f"{elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
    con.line(table(["Folders", "Files", "Elapsed time"], [[counts["folders"], counts["files"], stamp]]))


COMMANDS = [scan_app_data]
