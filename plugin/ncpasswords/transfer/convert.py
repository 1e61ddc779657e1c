"""`db:convert-type` for what this tool owns: the app's twelve tables and the app's rows of
`appconfig`, `preferences` and `migrations` (plus those core tables when the target has none).

The copy is all or nothing. PostgreSQL and SQLite run the whole conversion - clearing, schema,
rows, sequences, verification - in one target transaction. MySQL/MariaDB commits DDL on its own,
so there the schema is created first and undone on failure (tables created are dropped, tables
put aside by `--clear-schema` are renamed back) while the rows go in one transaction. Rows are
read from one snapshot of the source and keep their ids. Before committing, every table is read
back from the target and its row count and checksum compared with the source's.

config.php is switched to the target only after the target's COMMIT, through a journal
(`instance/journal.py`): the journal is written before anything changes and lists what a MySQL
conversion creates or puts aside, a token goes into the target with the rows. If the process is
killed, the next command that opens the database either completes the switch (the token was
committed) or undoes what the conversion left in the target, so a conversion is never half done.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backup.service import backup_lock
from ..db import backends, bulk, migrator
from ..db.backends.base import Backend
from ..db.connection import ConnectionSettings, Database, connect
from ..errors import UserError
from ..instance.instance import Instance, split_dbhost
from ..instance.journal import ConfigChange, register_undo
from ..repositories.entities import TABLES
from .checksum import Checksum, table_checksum
from .report import Log, Progress, TableReport, TransferReport
from .tables import CORE_TABLES, Row, TransferTable, drop_table, existing_columns, rename_table, transfer_tables
from .tuples import HEADER, TRAILER, read_tuples, rendered_tuples

DEFAULT_CHUNK_SIZE = 1000
_UNCHANGED = "The target database was left as it was and config.php is unchanged"


class TransferError(UserError):
    """A conversion or dump that failed; nothing was changed."""


class VerificationError(TransferError):
    """The target does not hold exactly the source's rows."""


@dataclass(frozen=True)
class Target:
    """The target database as `db:convert-type` takes it: `type username hostname database`."""

    dbtype: str
    user: str = ""
    host: str = ""
    database: str = ""
    port: int | None = None
    password: str = ""

    @classmethod
    def parse(
        cls, dbtype: str, user: str, host: str, database: str, port: str | int | None = None, password: str = ""
    ) -> Target:
        """Validate the command's arguments (SQLite ignores user, host, port and password)."""
        if dbtype == "oci":
            raise UserError("Converting to Oracle (oci) is not supported by this tool.")
        backend = backends.for_dbtype(dbtype)
        if backend is None:
            raise UserError(f"Unknown database type '{dbtype}' (use mysql, pgsql or sqlite3).")
        if not database:
            raise UserError("The database name must not be empty.")
        if backend.embedded:
            if "/" in database or database in (".", ".."):
                raise UserError(
                    f"For {backend.dbtype} the database is a file name below the datadirectory, not a path."
                )
            return cls(backend.dbtype, database=database)
        number: int | None = None
        if port not in (None, ""):
            try:
                number = int(str(port))
            except ValueError:
                raise UserError(f"Invalid port '{port}'.") from None
            if not 0 < number < 65536:
                raise UserError(f"Invalid port '{port}'.")
            _, host_port, socket = split_dbhost(host)
            if host_port is not None or socket is not None:
                raise UserError("Give the port either in the hostname or with --port, not both.")
        return cls(backend.dbtype, user, host or "localhost", database, number, password)

    @property
    def backend(self) -> Backend:
        backend = backends.for_dbtype(self.dbtype)
        assert backend is not None  # checked by `parse`
        return backend

    def apply(self, config: dict[Any, Any]) -> dict[Any, Any]:
        """config.php values pointing at this target (Nextcloud's keys; other keys are kept)."""
        new = dict(config)
        new["dbtype"] = self.dbtype
        new["dbname"] = self.database
        if "dbport" in new:  # the port now lives in dbhost; a stale dbport would win otherwise
            new["dbport"] = ""
        if self.backend.embedded:
            new["dbhost"] = ""
            new.pop("dbuser", None)
            new.pop("dbpassword", None)
            return new
        new["dbhost"] = f"{self.host}:{self.port}" if self.port else self.host
        new["dbuser"] = self.user
        new["dbpassword"] = self.password
        new.update(self.backend.config_values)
        return new


@dataclass
class ConvertOptions:
    clear_schema: bool = False
    chunk_size: int = DEFAULT_CHUNK_SIZE


ConfirmExtraTables = Callable[[list[str]], bool]


def convert(
    instance: Instance,
    target: Target,
    options: ConvertOptions | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
    confirm_extra_tables: ConfirmExtraTables | None = None,
) -> TransferReport:
    """Copy the app's data from the instance's database to `target`, verify it, and point
    config.php at the target. Raises a UserError (nothing changed) on any failure.

    `confirm_extra_tables` is asked when the source holds other tables with the prefix that the
    target lacks (they are not converted); without it the conversion stops, as with `-n`.
    """
    return start(_Conversion, instance, target, options, progress, log, confirm_extra_tables)


def start(
    kind: type[_Conversion],
    instance: Instance,
    target: Target,
    options: ConvertOptions | None,
    progress: Progress | None,
    log: Log | None,
    confirm: ConfirmExtraTables | None,
    **extra: Any,
) -> TransferReport:
    """What every conversion does before it copies: checks, the backup lock, config.php re-read under
    it and the new config.php checked; then a `kind` (with `extra` arguments) runs."""
    options = options or ConvertOptions()
    if options.chunk_size < 1:
        raise UserError("The chunk size must be a positive number.")
    current = str(instance.get("dbtype", "sqlite3"))
    if backends.for_dbtype(current) is target.backend:
        raise UserError(f"Can not convert from {current} to {target.dbtype}.")
    with instance.connect() as source, backup_lock(source):
        instance.reload_for(source)  # config.php as it is now, not as it was before the wait
        new_config = kind.target_config(source, target.apply(instance.config))
        change = _config_change(instance, new_config)
        instance.check_config_update(change.set_values, change.unset)  # refused before anything is copied
        kind.check_source(source)
        target_settings = Instance(instance.path, new_config).connection_settings()
        job = kind(source, target_settings, options, progress or _ignore, log or _ignore, **extra)
        return job.run(confirm, change)


def _ignore(*_: Any) -> None:
    pass


def _check_source(source: Database) -> None:
    missing = [source.table(t) for t in TABLES if not source.table_exists(t)]
    if missing:
        raise UserError(f"The source database lacks the app's tables ({', '.join(missing)}).")
    pending = set(migrator.available_versions()) - set(migrator.executed_versions(source))
    if pending:
        raise UserError(
            "The source database is not at the app's latest schema; run 'occ migrations:migrate passwords' first."
        )


def _config_change(instance: Instance, new_config: dict[Any, Any]) -> ConfigChange:
    """The journalled switch of config.php from the source to the target."""
    missing = object()
    set_values = {str(k): v for k, v in new_config.items() if instance.config.get(k, missing) != v}
    unset = [str(k) for k in instance.config if k not in new_config]
    return ConfigChange(instance, set_values, unset, kind="convert")


def recover_interrupted(target: Database | None, data: dict[str, Any], committed: bool) -> list[str]:
    """After a conversion was killed (called by `journal.recover`): undo what it left in the target,
    or, when it had committed, drop the tables it had put aside. Returns files to remove."""
    aside: dict[str, str] = dict(data.get("aside") or {})
    if committed:
        if target is not None:
            for name in aside.values():
                drop_table(target, name)
        return []
    if target is not None:
        for name in data.get("created") or []:
            if name in aside and not target.table_exists(aside[name]):
                continue  # not yet put aside: still the target's own table
            drop_table(target, name)
        for name, moved in aside.items():
            if target.table_exists(moved):
                rename_table(target, moved, name)
    path = data.get("created_file")
    return [f"{path}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")] if path else []


register_undo("convert", recover_interrupted)


class _Conversion:
    """One run of `convert`: checks, schema, copy, verification, and the undo after a failure."""

    def __init__(
        self, source: Database, settings: ConnectionSettings, options: ConvertOptions, progress: Progress, log: Log
    ) -> None:
        self.source = source
        self.settings = settings
        self.options = options
        self.progress = progress
        self.log = log
        self.step = "checking the target"
        self.report = TransferReport(source.settings.describe(), settings.describe())
        # What to undo on MySQL, where DDL is not transactional.
        self.created_tables: list[str] = []
        self.aside: dict[str, str] = {}
        self.created_file = False
        self.committed = False

    @staticmethod
    def target_config(source: Database, config: dict[Any, Any]) -> dict[Any, Any]:
        """config.php as it will be on the target (`Target.apply` made it)."""
        return config

    @staticmethod
    def check_source(source: Database) -> None:
        """Refuse a source this conversion cannot copy (UserError)."""
        _check_source(source)

    def run(self, confirm_extra_tables: ConfirmExtraTables | None, change: ConfigChange) -> TransferReport:
        started = time.monotonic()
        if self.settings.sqlite_path is not None and not self.settings.sqlite_path.exists():
            change.data["created_file"] = str(self.settings.sqlite_path)
        change.begin()  # before anything can change: a killed run is undone by the next command
        try:
            target = self._open()
        except BaseException:
            change.discard()
            raise
        try:
            with target:
                existing = self._preflight(target, confirm_extra_tables)
                self._load(target, existing, change)
                self._after_commit(target)
        except BaseException as exc:
            if self.committed:  # converted and verified; config.php follows with the next command
                change.settle(None)
                if not isinstance(exc, Exception):
                    raise
                detail = " ".join(str(exc).split()) or type(exc).__name__
                raise TransferError(
                    f"The data was converted and verified, but {self.step} failed: {detail}. "
                    "The next occ command completes the switch of config.php."
                ) from exc
            cleanup_problem = self._undo()
            change.discard()
            if isinstance(exc, (KeyboardInterrupt, SystemExit)) or not isinstance(exc, Exception):
                raise
            raise self._failure(exc, cleanup_problem) from exc
        self.report.seconds = time.monotonic() - started
        return self.report

    # -- steps ---------------------------------------------------------------------------------
    def _open(self) -> Database:
        if self.settings.sqlite_path is not None:
            self.created_file = not self.settings.sqlite_path.exists()
        try:
            return connect(self.settings, create=True)
        except BaseException:
            self._remove_created_file()
            raise

    def _preflight(self, target: Database, confirm_extra_tables: ConfirmExtraTables | None) -> list[str]:
        """Checks that change nothing; returns the app tables the target already has."""
        self.step = "checking the target"
        existing = [name for name in TABLES if target.table_exists(name)]
        if existing and not self.options.clear_schema:
            names = ", ".join(target.table(n) for n in existing)
            raise UserError(
                f"The target database already has tables of the Passwords app ({names}); "
                "use --clear-schema to replace them."
            )
        extra = sorted(
            set(self._prefixed_tables(self.source))
            - set(self._prefixed_tables(target))
            - {self.source.table(t) for t in (*TABLES, *CORE_TABLES)}
        )
        if extra and (confirm_extra_tables is None or not confirm_extra_tables(extra)):
            raise UserError("Conversion aborted: the source has tables this tool does not convert.")
        return existing

    @staticmethod
    def _prefixed_tables(db: Database) -> list[str]:
        return [str(r[0]) for r in db.rows("schema.app_tables") if str(r[0]).startswith(db.prefix)]

    def _load(self, target: Database, existing: list[str], change: ConfigChange) -> None:
        target.backend.load_session(target)
        # Where DDL is transactional the whole conversion is one transaction; elsewhere the schema
        # commits by itself (and is undone by `_undo`) and the rows go in one transaction.
        transactional_ddl = target.backend.transactional_ddl
        outer = target.transaction(write_lock=True) if transactional_ddl else contextlib.nullcontext()
        with outer:
            self._create_schema(target, existing, change)
            tables = self._transfer_tables(target)
            indexes = self._prepare_load(target, tables, transactional_ddl)
            with target.large_writes(), target.transaction(), self.source.transaction(snapshot=True):
                self._copy(target, tables)
                if indexes:
                    self.step = "creating indexes"
                    bulk.create_indexes(target, indexes)
                self._verify(target, tables)
                self.step = "analysing the tables"
                bulk.analyze(target, [t.name for t in tables])
                self.step = "writing config.php"
                change.prepare()
                change.mark(target)  # commits with the rows: the switch is decided by this COMMIT
                self.step = "committing"
        self.committed = True
        self.created_tables = []
        self.created_file = False
        self.report.verified = True
        self.step = "dropping the tables put aside"
        for aside in self.aside.values():  # before the journal goes: a recovery drops them otherwise
            drop_table(target, aside)
        self.aside = {}
        self.step = "writing config.php"
        change.apply(target)

    def _prepare_load(self, target: Database, tables: list[TransferTable], transactional_ddl: bool) -> list[str]:
        """Where DDL is transactional: make the load cheaper; returns the index definitions to
        run after the rows (the app's tables are new and empty here)."""
        if not transactional_ddl:
            return []
        new = [t.name for t in tables if t.has_id]
        return bulk.prepare(target, new, replace_all=True, new_tables=True)

    def _transfer_tables(self, target: Database) -> list[TransferTable]:
        """The tables to copy, as read from the source."""
        return transfer_tables(self.source, target)

    def _target_table(self, table: TransferTable) -> TransferTable:
        """The table as written to and read back from the target (its columns as named there)."""
        return table

    def _insert_rows(self, target: Database, name: str, columns: tuple[str, ...], rows: Iterable[Row]) -> int:
        """Write rows read from the source into the target's table through its bulk path."""
        return target.insert_many(name, columns, rows, batch=self.options.chunk_size)

    def _reset_sequence(self, target: Database, table: TransferTable) -> None:
        table.reset_sequence(target)

    def _create_schema(self, target: Database, existing: list[str], change: ConfigChange) -> None:
        committed_ddl = not target.backend.transactional_ddl
        missing_core = [t for t in CORE_TABLES if t not in existing_columns(target)]
        if committed_ddl:  # DDL commits on its own: journal what will be created and put aside first
            token = secrets.token_hex(3)
            planned = {name: f"{name}_ncp{token}" for name in existing}
            change.update(created=[*TABLES, *missing_core], aside=planned)
        if existing:
            self.step = "clearing the schema"
            self.log("Clearing schema in new database")
            if committed_ddl:  # keep the old tables aside until the new ones are committed
                for name in existing:
                    rename_table(target, name, planned[name])
                    self.aside[name] = planned[name]
            else:
                for name in existing:
                    drop_table(target, name)
        self.step = "creating the schema"
        self.log("Creating schema in new database")
        if committed_ddl:
            self.created_tables = [*TABLES, *missing_core]
        if missing_core:
            target.run_script(migrator.core_schema(target.dialect))
        for version in migrator.available_versions():
            for statement in migrator.migration_statements(
                version, target.dialect, target.prefix, target.settings.mysql_utf8mb4
            ):
                target.execute_sql(statement).close()

    def _copy(self, target: Database, tables: list[TransferTable]) -> None:
        for table in tables:
            self.step = f"copying {target.table(table.name)}"
            if table.app_rows_only:
                table.delete_app_rows(target)
            checksum = Checksum()
            started = time.monotonic()
            self.progress("copy", table.name, 0)
            written_table = self._target_table(table)
            if target.backend.takes_tuples(target, table.name, written_table.canonical_types()):
                # the source renders binary tuples, the target takes them as they are
                with contextlib.closing(self._read_tuples(table, checksum)) as tuples:
                    written = target.copy_binary(table.name, written_table.columns, HEADER, tuples, TRAILER)
            else:
                # Where the source's engine renders the tuples, they are hashed from a second read
                # of the snapshot, cheaper than encoding every row here.
                rendered = rendered_tuples(self.source, table, self.options.chunk_size)
                with contextlib.closing(self._read(table, checksum if rendered is None else None)) as rows:
                    written = self._insert_rows(target, table.name, written_table.columns, rows)
                if rendered is not None:
                    with contextlib.closing(rendered) as chunks:
                        for rendered_chunk in chunks:
                            checksum.add_tuples(rendered_chunk)
            self._reset_sequence(target, table)
            seconds = time.monotonic() - started
            self.progress("copy", table.name, written)
            if written != checksum.rows:
                raise VerificationError(f"{written} rows written but {checksum.rows} read")
            self.report.tables[table.name] = TableReport(written, checksum.hex, seconds)
            self.log(f"Copied {target.table(table.name)}: {written} rows")

    def _read(self, table: TransferTable, checksum: Checksum | None) -> Generator[tuple[Any, ...], None, None]:
        """The source's rows of a table, added to `checksum` (if given), with progress every chunk."""
        chunk = self.options.chunk_size
        for count, row in enumerate(table.rows(self.source, chunk), 1):
            if checksum is not None:
                checksum.add(row, table)
            yield row
            if count % chunk == 0:
                self.progress("copy", table.name, count)

    def _read_tuples(self, table: TransferTable, checksum: Checksum) -> Generator[list[bytes], None, None]:
        """The source's rows of a table as binary tuples, in chunks added to `checksum`, with progress."""
        for tuples in read_tuples(self.source, table, self.options.chunk_size):
            checksum.add_tuples(tuples)
            yield tuples
            self.progress("copy", table.name, checksum.rows)

    def _verify(self, target: Database, tables: list[TransferTable]) -> None:
        for table in tables:
            self.step = f"verifying {target.table(table.name)}"
            expected = self.report.tables[table.name]
            got = table_checksum(target, self._target_table(table), self.options.chunk_size)
            self.progress("verify", table.name, got.rows)
            if got.rows != expected.rows or got.hex != expected.checksum:
                raise VerificationError(
                    f"the source has {expected.rows} rows with checksum {expected.checksum[:16]}…, "
                    f"the target {got.rows} rows with checksum {got.hex[:16]}…"
                )
        self.log(f"Verified {len(tables)} tables: row counts and checksums match")

    def _after_commit(self, target: Database) -> None:
        """Tidy-ups after the switch; their failure does not undo the conversion."""
        try:
            target.backend.after_load(target)
        except Exception as exc:
            self.log(f"Warning: tidying up the target failed: {' '.join(str(exc).split())}")

    # -- failure -------------------------------------------------------------------------------
    def _undo(self) -> str | None:
        """Put the target back as it was (config.php is only written after COMMIT); returns a
        problem or None."""
        problems = []
        if self.created_tables or self.aside:
            try:
                with connect(self.settings) as db:
                    for name in self.created_tables:
                        drop_table(db, name)
                    for name, aside in self.aside.items():
                        rename_table(db, aside, name)
            except Exception as exc:
                problems.append(f"cleaning up the target failed: {' '.join(str(exc).split())}")
        self._remove_created_file()
        return "; ".join(problems) or None

    def _remove_created_file(self) -> None:
        if self.created_file and self.settings.sqlite_path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.settings.sqlite_path}{suffix}").unlink(missing_ok=True)

    def _failure(self, exc: Exception, cleanup_problem: str | None) -> UserError:
        """One line: what failed, and what state things are in."""
        if isinstance(exc, UserError) and self.step == "checking the target" and cleanup_problem is None:
            return exc  # refused before anything changed
        detail = backends.error_detail(exc)
        if self.settings.password:
            detail = detail.replace(self.settings.password, "***")
        message = f"Conversion failed while {self.step}: {detail}"
        if cleanup_problem:
            return TransferError(f"{message}. config.php is unchanged, but {cleanup_problem}")
        return TransferError(f"{message}. {_UNCHANGED}.")
