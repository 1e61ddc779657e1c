"""Empty throwaway databases: created under a fresh name on a server, dropped afterwards.

For tests that need a database but not an installed instance (a migration, an import into an
empty schema), or that install into it themselves: `scratch_database(server, data_dir)` gives one,
`passwords_database` (plugin.py) one per test on the session's engine.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..db.connection import ConnectionSettings, Database, connect
from ..instance.install import InstallOptions
from .servers import DatabaseServer


@dataclass
class ScratchDatabase:
    """A database on `server` named `name`; an SQLite one is the file `<data_dir>/<name>.db`."""

    server: DatabaseServer
    name: str
    data_dir: Path

    @property
    def engine(self) -> str:
        return self.server.engine

    def settings(self, prefix: str = "oc_") -> ConnectionSettings:
        """How the library reaches the database."""
        return self.server.connection_settings(self.name, self.data_dir, prefix)

    def connect(self, prefix: str = "oc_") -> Database:
        """The library's connection (an SQLite file is created on first use)."""
        return connect(self.settings(prefix), create=True)

    def install_options(self, prefix: str = "oc_") -> InstallOptions:
        """The `maintenance:install` options that install an instance into this database, with
        `data_dir` as its data folder."""
        return self.server.install_options(self.name, self.data_dir, prefix)


def new_name() -> str:
    """A fresh database name."""
    return f"ncp_test_{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def scratch_database(server: DatabaseServer, data_dir: Path) -> Iterator[ScratchDatabase]:
    """Create a uniquely named, empty database on `server`, yield it, drop it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    name = new_name()
    server.create(name)
    try:
        yield ScratchDatabase(server, name, data_dir)
    finally:
        server.drop(name)


def unreachable(server: DatabaseServer, exc: BaseException, *, skip: bool = False) -> None:
    """End the test in one line because `server` cannot be reached: a failure, or with `skip` a skip."""
    detail = " ".join(str(exc).split())[:300] or type(exc).__name__
    message = f"ncpasswords: cannot reach {server.describe()}: {detail}"
    if skip:
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def reach(server: DatabaseServer, *, skip: bool = False) -> DatabaseServer:
    """`server` once its administrative connection is open; else `unreachable`."""
    try:
        server.admin()
    except Exception as exc:
        unreachable(server, exc, skip=skip)
    return server
