"""A throwaway instance as tests see it: its folders, `occ` and a connection to its database."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..db.connection import Database
from ..instance.instance import Instance


@dataclass(frozen=True)
class OccResult:
    """What one `occ` run gave: exit code and captured output."""

    returncode: int
    stdout: str
    stderr: str

    def check(self) -> OccResult:
        """Return self, or raise AssertionError with the output when the command failed."""
        if self.returncode != 0:
            raise AssertionError(f"occ exited with {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}")
        return self


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def run_occ(config_dir: Path, *args: str, input: str | None = None) -> OccResult:
    """Run `occ` in this process against the config.php in `config_dir`; capture its output."""
    from ..cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    try:
        if input is not None:
            sys.stdin = io.StringIO(input)
        with (
            _environment("NEXTCLOUD_CONFIG_DIR", str(config_dir)),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = main(list(args))
    finally:
        sys.stdin = old_stdin
    return OccResult(code, out.getvalue(), err.getvalue())


@dataclass
class PasswordsInstance:
    """An installed instance in its own folders and its own database, dropped after the test.

    `config_dir` holds config.php, `data_dir` is its `datadirectory` (backups live under
    `data_dir/appdata_<instanceid>/passwords/`).
    """

    engine: str
    config_dir: Path
    data_dir: Path
    dbname: str
    _restore: Callable[[PasswordsInstance, Path, dict[str, Any]], None] = field(repr=False)
    _open: list[Any] = field(default_factory=list, repr=False)

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.php"

    @property
    def instance(self) -> Instance:
        """The library's view of the instance (config.php read afresh)."""
        return Instance.load(self.config_file)

    @property
    def config(self) -> dict[Any, Any]:
        """config.php's `$CONFIG`, read afresh."""
        return self.instance.config

    @property
    def prefix(self) -> str:
        return self.instance.prefix

    @property
    def appdata_dir(self) -> Path:
        """`<datadirectory>/appdata_<instanceid>/passwords`."""
        return self.instance.appdata_dir

    def table(self, name: str) -> str:
        """The physical name of an app table: `table("passwords_password")` -> `oc_passwords_password`."""
        return self.prefix + name

    @property
    def env(self) -> dict[str, str]:
        """The environment for running the `occ` console script in a subprocess on this instance."""
        return {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(self.config_dir)}

    def occ(self, *args: str, input: str | None = None) -> OccResult:
        """Run an occ command (in this process) on this instance: `occ("passwords:backup:list")`."""
        return run_occ(self.config_dir, *args, input=input)

    def connect(self) -> Any:
        """A DB-API connection to the instance's database (sqlite3, psycopg or PyMySQL).

        It is in autocommit mode, as the library's connections are, and closed after the test.
        """
        return self.database().raw

    def database(self) -> Database:
        """The library's connection (named queries, table prefix); closed after the test."""
        db = self.instance.connect()
        self._open.append(db)
        return db

    def restore(self, backup: str | os.PathLike[str], **options: Any) -> None:
        """Restore a backup file into this instance now (not cached: each call is one restore).

        `options` are those of RestoreOptions: user, data, app_settings, user_settings,
        client_settings.
        """
        self._restore(self, Path(backup), options)

    def close_connections(self) -> None:
        while self._open:
            self._open.pop().close()
