"""The `occ` entry point: the commands, Symfony's console conventions over them (symfony.py), one-line errors."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

import click

from ..db import backends
from ..db.errors import ConnectionLostError, DatabaseError, LockTimeoutError
from ..errors import UserError
from .console import Console
from .symfony import Application

#: Every occ command, one click command per name (registered from the modules of this package).
occ = click.Group("occ", context_settings={"help_option_names": []})


def _register() -> None:
    """Add the COMMANDS of every module of this package (one module per command family)."""
    import importlib
    import pkgutil

    from .. import cli

    for module_info in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"{cli.__name__}.{module_info.name}")
        for command in getattr(module, "COMMANDS", ()):
            occ.add_command(command)


_register()


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
    sys.exit(main(prog=name if name and not name.endswith(".py") else "occ"))
