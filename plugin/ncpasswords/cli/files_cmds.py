"""`files:scan-app-data`: scan `appdata_<instanceid>/` (or a folder in it) into Nextcloud's file cache.

On a real Nextcloud's database the scan adds, updates and removes file cache rows as Nextcloud's own
command does (docs/existing-nextcloud.md). A standalone instance has no file cache: the command then
walks the same folders and reports the same counts, so scripts written for Nextcloud keep working.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from ..files.appdata_scan import scan_app_data
from .common import installed_instance
from .console import console, table


@click.command("files:scan-app-data")
@click.argument("folder", required=False, default="", help="The appdata subfolder to scan")
def scan_command(folder: str) -> None:
    """rescan the AppData folder"""
    con = console()
    instance = installed_instance()
    con.line("Scanning AppData for files")
    con.line()

    def on_entry(kind: str) -> Callable[[str], None] | None:
        return (lambda found: con.line(f"\t{kind} /{found}")) if con.verbosity else None

    def on_mismatch(found: str) -> None:
        con.line(f'\tEntry "{found}" will not be accessible due to incompatible encoding')

    counts = scan_app_data(
        instance, folder, on_file=on_entry("File  "), on_folder=on_entry("Folder"), on_mismatch=on_mismatch
    )
    elapsed = counts.seconds
    stamp = f"{elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
    con.line(table(["Folders", "Files", "Elapsed time"], [[counts.folders, counts.files, stamp]]))


COMMANDS = [scan_command]
