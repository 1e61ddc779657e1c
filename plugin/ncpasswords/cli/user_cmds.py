"""`passwords:user:delete` and `passwords:user:move` (docs/internals/commands.md#passwordsuserdelete).

Prompts, messages and exit codes follow the reference; the data work runs in one transaction
(users/data.py). Differences: docs/compatibility.md#passwordsuserdelete.
"""

from __future__ import annotations

import click

from ..errors import UserError
from ..users.accounts import UserDirectory, check_user_id
from ..users.data import delete_user, has_data, move_user
from .common import confirm, installed_instance, start_interactive
from .completers import user_ids
from .console import Console, console


def _write(con: Console, text: str) -> None:
    """Text on stdout without a newline (Symfony's `write`), unless `-q`."""
    if not con.quiet:
        click.echo(text, nl=False)


class _Steps:
    """Each step as `Name ...`, ended with ` done` when the next one begins."""

    def __init__(self, con: Console) -> None:
        self.con = con
        self.open = False

    def __call__(self, name: str) -> None:
        if self.open:
            self.con.line(" done")
        _write(self.con, f"{name} ...")
        self.open = True


def _user_id_for_delete(con: Console, directory: UserDirectory, user_id: str) -> str:
    """The id to delete: the argument, or the account's real uid when the user confirms it."""
    account = directory.get(user_id)
    if account is None:
        con.line(f'Found no user for id "{user_id}" in database, will continue with provided user id.')
        con.line("If you are sure that the user was not deleted and should exist, you might have the wrong id.")
        con.line()
        return user_id
    if account.uid == user_id:
        return user_id
    con.line(
        f'❗❗❗ Found user "{account.display_name}" for user id "{user_id}" '
        f'but it has the id "{account.uid}" instead ❗❗❗'
    )
    if not con.interactive:
        con.line("ignoring")
        con.line()
        return user_id
    answer = click.prompt(
        f'Type "change" to change the user id to "{account.uid}"', default="", show_default=False, prompt_suffix=": "
    )
    # The reference inverts this test (any answer but "change" changes the id); here the
    # answer means what the question says.
    if answer.strip() == "change":
        con.line(f"Changed user id to {account.uid}")
        con.line()
        return account.uid
    con.line(f"Continuing with {user_id}")
    con.line()
    return user_id


@click.command("passwords:user:delete")
@click.argument("user", help="The id of the user", shell_complete=user_ids)
def delete_command(user: str) -> None:
    """Deletes the passwords app data of a user"""
    check_user_id(user)
    con = console()
    start_interactive(con)
    instance = installed_instance()
    with instance.connect() as db:
        directory = UserDirectory(db)
        uid = _user_id_for_delete(con, directory, user)
        account = directory.get(uid)
        name = account.display_name if account is not None else uid
        if not confirm(con, f'This command will delete all data for the passwords app from "{name}"'):
            raise click.exceptions.Exit(1)
        _write(con, "Deleting passwords app data ...")
        try:
            delete_user(db, uid)
        except UserError:
            con.line(" failed")
            raise
    con.line(" done")


@click.command("passwords:user:move")
@click.argument("source_user", help="The id of the user to move from", shell_complete=user_ids)
@click.argument("target_user", help="The id of the user to move to", shell_complete=user_ids)
def move_command(source_user: str, target_user: str) -> None:
    """Moves all data from one user account to another"""
    check_user_id(source_user, "source user id")
    check_user_id(target_user, "target user id")
    con = console()
    start_interactive(con)
    instance = installed_instance()
    with instance.connect() as db:
        directory = UserDirectory(db)
        source = directory.get(source_user)
        if source is None:
            con.line("The source user does not exist")
            raise click.exceptions.Exit(1)
        target = directory.get(target_user)
        if target is None:
            con.line("The target user does not exist")
            raise click.exceptions.Exit(1)
        if source.uid == target.uid:
            con.line("The source user and the target user are the same")
            raise click.exceptions.Exit(1)
        if not confirm(con, f'This command will move all data from "{source.display_name}" to "{target.display_name}"'):
            raise click.exceptions.Exit(2)
        if not has_data(db, source.uid):
            con.line(f'The user "{source.display_name}" has no data.')
            con.line("aborting")
            raise click.exceptions.Exit(3)
        replace = has_data(db, target.uid)
        if replace and not confirm(con, f'The existing data of "{target.display_name}" will be deleted permanently'):
            raise click.exceptions.Exit(4)
        try:
            move_user(db, source.uid, target.uid, replace=replace, step=_Steps(con))
        except UserError:
            con.line(" failed")
            raise
    con.line(" done")


COMMANDS = [delete_command, move_command]
