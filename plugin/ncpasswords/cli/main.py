"""The `occ` entry point: the commands, Symfony's console conventions over them (symfony.py), one-line errors."""

from __future__ import annotations

import gc
import importlib
import os
import sys
import traceback
from collections.abc import Iterator, Mapping, MutableMapping, Sequence

import click

from ..db import backends
from ..db.errors import ConnectionLostError, DatabaseError, LockTimeoutError
from ..errors import UserError

# An interrupted conversion is finished by whichever command next opens the instance: its undo is
# registered when the module is imported (instance/journal.py).
from ..transfer import convert as _convert  # noqa: F401
from .console import Console
from .symfony import Application

#: Where each occ command is defined (one module of this package per command family), in the order
#: they are registered; a module is imported only when one of its commands is asked for, so a
#: command starts without loading the others (tests/test_console.py checks this table against the
#: modules' COMMANDS).
COMMAND_MODULES: dict[str, str] = {
    "passwords:backup:create": "backup_cmds",
    "passwords:backup:list": "backup_cmds",
    "passwords:backup:restore": "backup_cmds",
    "passwords:backup:export": "backup_cmds",
    "passwords:backup:import": "backup_cmds",
    "passwords:backup:delete": "backup_cmds",
    "passwords:backup:verify": "backup_cmds",
    "config:system:get": "config_cmds",
    "config:system:set": "config_cmds",
    "config:system:delete": "config_cmds",
    "config:app:get": "config_cmds",
    "config:app:set": "config_cmds",
    "config:app:delete": "config_cmds",
    "dev:sample-backup": "dev_cmds",
    "files:scan-app-data": "files_cmds",
    "background-job:worker": "jobs_cmds",
    "background-job:list": "jobs_cmds",
    "maintenance:install": "maintenance",
    "status": "maintenance",
    "migrations:migrate": "maintenance",
    "migrations:status": "maintenance",
    "maintenance:repair": "repair_cmds",
    "passwords:system:report": "report_cmds",
    "passwords:pwned-list:process": "security_cmds",
    "passwords:security:check-hash": "security_cmds",
    "list": "symfony",
    "help": "symfony",
    "completion": "symfony_completion",
    "_complete": "symfony_completion",
    "db:convert-type": "transfer_cmds",
    "passwords:db:dump": "transfer_cmds",
    "passwords:db:checksum": "transfer_cmds",
    "passwords:user:delete": "user_cmds",
    "passwords:user:move": "user_cmds",
}


class LazyCommands(MutableMapping[str, click.Command]):
    """occ's click commands by name, each module imported when one of its commands is first used."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module = importlib.import_module(f"{__package__}.{self._modules[name]}")
            for command in module.COMMANDS:  # a command put in by hand (add_command) stays
                if command.name in self._modules:
                    self._loaded.setdefault(str(command.name), command)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._modules.setdefault(name, "")
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._modules[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules


#: Every occ command, one click command per name.
occ = click.Group("occ", context_settings={"help_option_names": []})
occ.commands = LazyCommands(COMMAND_MODULES)


def application(prog: str = "occ") -> Application:
    """The occ application over every registered command."""
    return Application(occ.commands, prog=prog)


def main(argv: Sequence[str] | None = None, prog: str = "occ") -> int:
    """Run occ; returns the exit code (0 ok, 1 error, others as the command says)."""
    con = Console()
    try:
        return application(prog).run(sys.argv[1:] if argv is None else argv, con)
    except UserError as exc:
        con.error(str(exc))
        return exc.exit_code
    except click.exceptions.Abort:
        con.error("Aborted.")
        return 1
    except click.ClickException as exc:
        con.error(exc.format_message())
        return 1 if exc.exit_code == 2 else exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except KeyboardInterrupt:
        con.error("Interrupted by user")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: say so on one line; -v shows the traceback
        detail = " ".join(str(exc).split())
        # A driver error that escaped the Database methods is classified here (db/backends/).
        kind = exc if isinstance(exc, DatabaseError) else backends.classify(exc)
        if isinstance(kind, ConnectionLostError):  # not a bug: the session is gone
            con.error(
                f"The connection to the database was lost ({detail or type(exc).__name__}); "
                "what was not committed has been rolled back"
            )
        elif isinstance(kind, LockTimeoutError):  # not a bug: another session held the rows
            con.error(
                f"The database did not grant a lock in time, another session holds it ({detail}); "
                "what was not committed has been rolled back, try again"
            )
        else:
            con.error(f"Unexpected error: {type(exc).__name__}: {detail}")
        if con.verbosity:
            traceback.print_exc()
        return 1


def entry() -> None:
    """Console-script entry point."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    code = main(prog=name if name and not name.endswith(".py") else "occ")
    # The interpreter's last collection would walk every object the command left (tens of
    # milliseconds after a restore) only to find them about to go anyway.
    gc.freeze()
    sys.exit(code)
