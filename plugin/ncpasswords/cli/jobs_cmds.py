"""`background-job:worker`: runs the app's scheduled backup job (Nextcloud's worker command)."""

from __future__ import annotations

import time

import click

from ..backup.scheduler import run_backup_job
from .common import installed_instance
from .console import console


@click.command("background-job:worker")
@click.argument("job_classes", nargs=-1, help="The classes of the jobs to look for in the database")
@click.option("--once", is_flag=True, help="Only execute the due jobs once, then exit.")
@click.option("-i", "--interval", type=int, default=60, show_default=True,
              help="Seconds to sleep between checks for due jobs.")
@click.option("--stop-after", "stop_after", type=int, default=0,
              help="Stop after this many seconds (0 = run until stopped).")
def worker(job_classes: tuple[str, ...], once: bool, interval: int, stop_after: int) -> None:
    """Run a background job worker

    Runs the app's scheduled backup job whenever `backup/interval` has passed (once with --once).
    """
    con = console()
    wanted = {c.split("\\")[-1] for c in job_classes}
    if wanted and "BackupJob" not in wanted:
        con.line("No known job to run (this tool runs OCA\\Passwords\\Cron\\BackupJob)")
        return
    started = time.monotonic()
    while True:
        instance = installed_instance()
        with instance.connect() as db:
            run_backup_job(instance, db, con.line)
        if once or (stop_after and time.monotonic() - started >= stop_after):
            return
        time.sleep(max(1, interval))


COMMANDS = [worker]
