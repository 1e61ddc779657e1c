"""`background-job:worker` and `background-job:list` for the app's jobs (Nextcloud's commands)."""

from __future__ import annotations

import click

from ..jobs import registry
from ..jobs.joblist import count_by_class, list_jobs
from ..jobs.worker import WorkerOutput, parse_stop_after, run_worker
from ..php.json import dumps
from .common import installed_instance
from .console import console, output_option, render, table


@click.command("background-job:worker")
@click.argument("job_classes", nargs=-1, help="The classes of the jobs to look for in the database")
@click.option(
    "-o", "--once", is_flag=True, help="Only execute the worker once (as a regular cron execution would do it)"
)
@click.option(
    "-i",
    "--interval",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Seconds to wait before looking again when no job is due (0: exit instead)",
)
@click.option(
    "-t",
    "--stop_after",
    "stop_after",
    help="Duration after which the worker should stop and exit; a running job is finished first "
    '("30" or "30s" for 30 seconds, "10m" for 10 minutes and "2h" for 2 hours)',
)
def worker_command(job_classes: tuple[str, ...], once: bool, interval: int, stop_after: str | None) -> None:
    """Run a background job worker"""
    con = console()
    seconds = None if stop_after is None else parse_stop_after(stop_after)
    jobs = registry.resolve(job_classes)
    out = WorkerOutput(con.line, con.error, con.verbosity)
    code = run_worker(installed_instance, jobs, out, once=once, interval=interval, stop_after=seconds)
    if code:
        raise click.exceptions.Exit(code)


@click.command("background-job:list")
@click.option("-c", "--class", "class_name", help="Job class to search for")
@click.option(
    "-l", "--limit", type=click.IntRange(min=0), default=500, show_default=True, help="Number of jobs to retrieve"
)
@click.option(
    "-o", "--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Offset for retrieving jobs"
)
@click.option("--group", is_flag=True, help="Group jobs by class")
@output_option()
def list_command(class_name: str | None, limit: int, offset: int, group: bool, output: str) -> None:
    """List background jobs"""
    con = console()
    with installed_instance().connect() as db:
        rows = count_by_class(db, limit, offset) if group else list_jobs(db, class_name, limit, offset)
    if output != "plain":
        con.line(render(rows, output) if rows else dumps([]))
        return
    if rows:
        con.line(table(list(rows[0]), [["" if value is None else value for value in row.values()] for row in rows]))
    if not group and len(rows) >= limit:
        con.line()
        con.line(f"Output is currently limited to {limit} jobs. Specify `-l, --limit[=LIMIT]` to override.")


COMMANDS = [worker_command, list_command]
