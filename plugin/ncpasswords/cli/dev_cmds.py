"""Development aids that are not part of the reference app."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..backup.sample import SIZES, generate
from ..backup.storage import write_backup_file
from ..errors import NotInstalledError
from ..instance.instance import Instance
from .console import console


@click.command("dev:sample-backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), help="The file to write")
@click.option(
    "--size",
    type=click.Choice(sorted(SIZES)),
    default="S",
    show_default=True,
    help="S: 1k passwords, M: 20k x 3 revisions, L: 100k x 3 revisions.",
)
@click.option("--passwords", type=int, help="Number of passwords (overrides --size).")
@click.option("--revisions", type=int, help="Revisions per password (overrides --size).")
@click.option("--users", type=int, help="Number of users (overrides --size).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: same seed, same file.")
def sample_backup(
    file: Path, size: str, passwords: int | None, revisions: int | None, users: int | None, seed: int
) -> None:
    """Write a deterministic sample backup

    Format 106 with realistic data; gzip-compressed when the file name ends in .gz. The revisions
    are encrypted with the installed instance's server secret (without one, a secret drawn from
    the seed), so the backup verifies and restores like one the app wrote.
    """
    chosen = replace(SIZES[size], seed=seed)
    if passwords is not None:
        chosen = replace(chosen, passwords=passwords)
    if revisions is not None:
        chosen = replace(chosen, revisions=max(1, revisions))
    if users is not None:
        chosen = replace(chosen, users=max(1, users))
    with write_backup_file(file.resolve()) as out:
        counts = generate(out, chosen, server_secret())
    console().line(
        f"Wrote {file}: {counts['passwords']} passwords with {chosen.revisions} revisions each, {len(counts)} sections"
    )


def server_secret() -> str | None:
    """The installed instance's server secret, or None when there is no instance."""
    try:
        instance = Instance.load()
    except NotInstalledError:
        return None
    return instance.server_secret or None if instance.installed else None


COMMANDS = [sample_backup]
