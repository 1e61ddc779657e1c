"""The `occ` entry point: Symfony-style global options anywhere on the line, one-line errors."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import click

from .. import __version__
from ..errors import UserError
from .console import Console

_GLOBAL_FLAGS = {
    "-n": "no_interaction",
    "--no-interaction": "no_interaction",
    "-q": "quiet",
    "--quiet": "quiet",
    "--no-warnings": "no_warnings",
    "--ansi": None,
    "--no-ansi": None,
}
_VERBOSE = {"-v": 1, "-vv": 2, "-vvv": 3, "--verbose": 1}


def split_global_options(argv: Sequence[str]) -> tuple[Console, list[str]]:
    """Take the console's global flags out of argv wherever they stand (before a `--`)."""
    con = Console()
    rest: list[str] = []
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in _GLOBAL_FLAGS:
            attr = _GLOBAL_FLAGS[arg]
            if attr:
                setattr(con, attr, True)
        elif arg in _VERBOSE:
            con.verbosity = max(con.verbosity, _VERBOSE[arg])
        elif arg.startswith("--verbose="):
            con.verbosity = max(con.verbosity, int(arg.split("=", 1)[1] or 1))
        else:
            rest.append(arg)
    return con, rest


class OccGroup(click.Group):
    """Lists commands in the order Nextcloud's `occ list` does (alphabetical, namespaced)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)


@click.group(cls=OccGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ncpasswords occ")
def occ() -> None:
    """Nextcloud Passwords data layer: occ commands over SQLite, PostgreSQL and MySQL/MariaDB.

    Global options (anywhere on the line): -n/--no-interaction, -q/--quiet, -v/-vv/-vvv.
    """


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


# Errors of the drivers that mean the session is gone: PostgreSQL SQLSTATE class 08 (connection
# exception) and 57P01-57P03 (administrator or crash shutdown, cannot connect now); MySQL/MariaDB
# client errors 2006 (server has gone away), 2013 (lost connection), 2055 and server errors 1053
# (shutdown in progress), 1927 (connection killed).
_MYSQL_LOST = frozenset({2006, 2013, 2055, 1053, 1927})


def connection_lost(exc: BaseException) -> bool:
    """Whether a driver error says that the connection to the database server is gone."""
    module = type(exc).__module__
    if module.startswith("psycopg"):
        import psycopg

        if isinstance(exc, psycopg.InterfaceError):  # used after the connection closed
            return True
        if isinstance(exc, psycopg.OperationalError):
            state = exc.sqlstate
            return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")
        return False
    if module.startswith("pymysql"):
        import pymysql

        if isinstance(exc, pymysql.err.InterfaceError):
            return True
        return isinstance(exc, pymysql.err.OperationalError) and bool(exc.args) and exc.args[0] in _MYSQL_LOST
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run occ; returns the exit code (0 ok, 1 error, 2 usage as Symfony's console does)."""
    con, args = split_global_options(sys.argv[1:] if argv is None else argv)
    try:
        result = occ.main(args=args, prog_name="occ", standalone_mode=False, obj=con)
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
        if connection_lost(exc):  # not a bug: the server went away or ended the session
            con.error(f"The connection to the database was lost ({detail or type(exc).__name__}); "
                      "what was not committed has been rolled back")
        else:
            con.error(f"Unexpected error: {type(exc).__name__}: {detail}")
        if con.verbosity:
            traceback.print_exc()
        return 1
    return int(result or 0)


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
