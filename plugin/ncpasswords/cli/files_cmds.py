"""`files:scan-app-data`: accepted for compatibility; reports what is under the app-data folder.

Nextcloud needs this scan to register hand-copied files in its file cache. This tool reads the
folders directly, so there is nothing to register; the command still walks the folder and reports
the counts so scripts written for Nextcloud keep working.
"""

from __future__ import annotations

import os
import time

import click

from ..errors import UserError
from .common import installed_instance
from .console import console, table


@click.command("files:scan-app-data")
@click.argument("folder", required=False, default="", help="The appdata subfolder to scan")
def scan_app_data(folder: str) -> None:
    """rescan the AppData folder"""
    instance = installed_instance()
    if not instance.get("instanceid"):
        raise UserError("NoAppData folder found")
    con = console()
    con.line("Scanning AppData for files")
    con.line()
    root = instance.data_dir / f"appdata_{instance.instance_id}"
    start = root / folder if folder else root
    if ".." in folder.split("/") or not start.is_dir():
        raise UserError(f"Could not find folder: {folder}")
    began = time.monotonic()
    folders, files = 1, 0
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames.sort()
        for d in dirnames:
            folders += 1
            if con.verbosity:
                con.line(f"\tFolder {os.path.join(dirpath, d)}")
        for f in sorted(filenames):
            files += 1
            if con.verbosity:
                con.line(f"\tFile   {os.path.join(dirpath, f)}")
    elapsed = int(time.monotonic() - began)
    stamp = f"{elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
    con.line(table(["Folders", "Files", "Elapsed time"], [[folders, files, stamp]]))


COMMANDS = [scan_app_data]
