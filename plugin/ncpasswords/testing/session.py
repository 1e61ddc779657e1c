"""Templates and throwaway instances for one test session, and the count of restores it ran.

The first instance of a session is installed for real (config.php, migrations) and kept as the
*base template*. Every backup fixture is restored once into a copy of the base, which is kept as
that fixture's template. A test then gets a copy of a template: the data folder is copied (for
SQLite that copies the database file too) and the database is cloned on the server. Restoring the
same fixture for fifty tests therefore costs one restore, and `restores` shows it.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backup.restore import RestoreOptions, restore_backup
from ..instance.install import install
from ..instance.instance import Instance
from .instance import PasswordsInstance
from .servers import DatabaseServer

# Files of a data folder that belong to a live SQLite connection or a lock, never to a copy.
_NOT_COPIED = shutil.ignore_patterns("*.db-wal", "*.db-shm", "*.lock")
RESTORE_OPTION_NAMES = frozenset(RestoreOptions.__dataclass_fields__)


@dataclass(frozen=True)
class RestoreRecord:
    """One restore the session ran: which file, with which options, into which database."""

    backup: Path
    options: tuple[tuple[str, Any], ...]
    database: str
    for_template: bool


@dataclass
class Template:
    """A prepared instance that tests get copies of."""

    dbname: str
    root: Path
    config: dict[Any, Any]
    backup: Path | None = None  # the file restored into it (None for the base template)
    options: tuple[tuple[str, Any], ...] = ()  # the restore options it was made with
    copies: int = 0  # instances made from it so far

    @property
    def data_dir(self) -> Path:
        return Path(str(self.config["datadirectory"]))


class FixtureOptionError(ValueError):
    """A restore option the fixture does not know."""


def restore_options(options: Mapping[str, Any]) -> RestoreOptions:
    """RestoreOptions from keyword arguments; unknown names are an error."""
    unknown = sorted(set(options) - RESTORE_OPTION_NAMES)
    if unknown:
        raise FixtureOptionError(
            f"unknown restore option(s) {', '.join(unknown)}; use {', '.join(sorted(RESTORE_OPTION_NAMES))}"
        )
    return RestoreOptions(**options)


def _options_key(options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(options.items()))


def _same_file(recorded: Path, wanted: str | Path) -> bool:
    path = Path(wanted)
    if path.is_absolute():
        return recorded == path.resolve()
    return recorded.parts[-len(path.parts) :] == path.parts


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class PasswordsSession:
    """Throwaway instances on one engine for one pytest session."""

    def __init__(self, server: DatabaseServer, base_dir: Path, prefix: str = "oc_") -> None:
        self.server = server
        self.engine = server.engine
        self.base_dir = base_dir
        self.prefix = prefix
        self.restores: list[RestoreRecord] = []
        self._token = secrets.token_hex(4)
        self._numbers = itertools.count(1)
        self._templates: dict[tuple[str, tuple[tuple[str, Any], ...]], Template | BaseException] = {}
        self._base: Template | None = None
        self._databases: set[str] = set()  # every database created and not yet dropped

    # -- counting -------------------------------------------------------------------------------
    @property
    def restore_count(self) -> int:
        """How many restores this session ran so far (template builds and uncached restores)."""
        return len(self.restores)

    def restores_of(self, backup: str | Path, **options: Any) -> int:
        """How many restores of this file with exactly these restore options ran.

        `backup` is an absolute path or the last parts of one (`fixtures/x.json.gz`); no options
        means a full restore, as `@pytest.mark.passwords_backup(path)` asks for.
        """
        wanted = _options_key(options)
        return sum(1 for r in self.restores if r.options == wanted and _same_file(r.backup, backup))

    def copies_of(self, backup: str | Path, **options: Any) -> int:
        """How many instances were made from this file's template (same options as restores_of)."""
        wanted = _options_key(options)
        return sum(
            t.copies
            for t in self._templates.values()
            if isinstance(t, Template) and t.backup is not None and t.options == wanted and _same_file(t.backup, backup)
        )

    @property
    def template_count(self) -> int:
        return sum(1 for t in self._templates.values() if isinstance(t, Template))

    # -- names ----------------------------------------------------------------------------------
    def _new_name(self, kind: str) -> str:
        return f"ncpt_{self._token}_{kind}{next(self._numbers)}"

    # -- templates ------------------------------------------------------------------------------
    def base_template(self) -> Template:
        """The installed, empty instance every other one is copied from."""
        if self._base is None:
            root = self.base_dir / "base"
            data_dir = root / "data"
            dbname = self._new_name("base")
            self.server.create(dbname)
            self._databases.add(dbname)
            config_file = root / "config" / "config.php"
            install(self.server.install_options(dbname, data_dir, self.prefix), config_file)
            template = Template(dbname, root, Instance.load(config_file).config)
            self._settle(template)
            self._base = template
        return self._base

    def template(self, backup: Path | None = None, options: Mapping[str, Any] | None = None) -> Template:
        """The template for a backup fixture (restored once per session), or the base template."""
        if backup is None:
            return self.base_template()
        opts = restore_options(options or {})
        key = (_file_digest(backup), _options_key(options or {}))
        cached = self._templates.get(key)
        if isinstance(cached, BaseException):  # it failed before: fail the same way, do not retry
            raise cached
        if cached is not None:
            return cached
        try:
            instance = self.spawn(self.base_template())
            self._restore(instance, backup, opts, key[1], for_template=True)
            instance.close_connections()
            template = Template(instance.dbname, instance.config_dir.parent, instance.config, backup.resolve(), key[1])
            self._settle(template)
        except BaseException as exc:
            self._templates[key] = exc
            raise
        self._templates[key] = template
        return template

    def _settle(self, template: Template) -> None:
        """Make a copy of the template's data folder complete (see DatabaseServer.settle)."""
        self.server.settle(template.dbname, template.data_dir)

    # -- instances ------------------------------------------------------------------------------
    def spawn(self, template: Template) -> PasswordsInstance:
        """A new instance holding a copy of the template's database and data folder."""
        root = Path(tempfile.mkdtemp(prefix="instance-", dir=self.base_dir))
        data_dir = root / "data"
        config_dir = root / "config"
        dbname = template.dbname
        try:
            shutil.copytree(template.data_dir, data_dir, symlinks=True, ignore=_NOT_COPIED)
            if not self.server.in_data_folder:
                dbname = self._new_name("t")
                self.server.clone(template.dbname, dbname)
                self._databases.add(dbname)
            config = copy.deepcopy(template.config)
            config["datadirectory"] = str(data_dir.resolve())
            config["dbname"] = dbname
            if replicas := self.server.replicas(dbname):
                config["dbreplica"] = replicas
            config_dir.mkdir(mode=0o750)
            Instance(config_dir / "config.php", {}).update_config(config)
        except BaseException:
            if dbname != template.dbname and dbname in self._databases:
                self._drop(dbname)
            shutil.rmtree(root, ignore_errors=True)
            raise
        template.copies += 1
        return PasswordsInstance(self.engine, config_dir, data_dir.resolve(), dbname, self.restore_into)

    def discard(self, instance: PasswordsInstance) -> None:
        """Close the instance's connections, drop its database, remove its folders."""
        instance.close_connections()
        try:
            if not self.server.in_data_folder:
                self._drop(instance.dbname)
        finally:
            shutil.rmtree(instance.config_dir.parent, ignore_errors=True)

    def restore_into(self, instance: PasswordsInstance, backup: Path, options: dict[str, Any]) -> None:
        """Restore a backup into an existing instance (counted; no template involved)."""
        self._restore(instance, backup, restore_options(options), _options_key(options), for_template=False)

    def _restore(
        self,
        instance: PasswordsInstance,
        backup: Path,
        options: RestoreOptions,
        key: tuple[tuple[str, Any], ...],
        for_template: bool,
    ) -> None:
        library_instance = instance.instance
        with library_instance.connect() as db:
            restore_backup(library_instance, db, backup, options)
        self.restores.append(RestoreRecord(backup.resolve(), key, instance.dbname, for_template))

    def _drop(self, name: str) -> None:
        self.server.drop(name)
        self._databases.discard(name)

    def close(self) -> None:
        """Drop every database the session made (templates included) and remove its folders."""
        try:
            for name in sorted(self._databases):
                self._drop(name)
        finally:
            self.server.close()
            shutil.rmtree(self.base_dir, ignore_errors=True)
