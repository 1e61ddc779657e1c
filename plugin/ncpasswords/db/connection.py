"""One connection layer over sqlite3, psycopg 3 and PyMySQL; what each engine does its own way is
asked of its backend (db/backends/, docs/internals/backends.md).

Connections run in autocommit mode; `transaction()` issues BEGIN/COMMIT/ROLLBACK itself so the
three drivers behave alike (and a snapshot transaction can be asked for explicitly).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ..errors import DatabaseConnectionError, UserError
from . import backends, queries
from .backends.base import Backend
from .backends.base import EncodedRows as EncodedRows
from .backends.base import RowEncoder as RowEncoder
from .backends.base import RowLimit as RowLimit
from .dialects import check_prefix, split_statements, substitute
from .errors import ConflictError

Params = Sequence[Any] | dict[str, Any] | None
T = TypeVar("T")
CONFLICT_ATTEMPTS = 3
"""How often a transaction that lost a conflict is run (docs/clusters.md#configphp-on-galera)."""
FRAGMENT_BYTES = 1 << 30
"""The default size of a write-set fragment on Galera (docs/clusters.md#configphp-on-galera)."""


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the database is, as config.php describes it."""

    dialect: str
    """The engine's name (`sqlite`, `pgsql`, `mysql`; see db/backends/)."""
    dbname: str
    prefix: str = "oc_"
    host: str = "localhost"
    port: int | None = None
    socket: str | None = None
    user: str = ""
    password: str = ""
    sqlite_path: Path | None = None
    sqlite_journal_mode: str = "WAL"
    mysql_utf8mb4: bool = True
    connect_timeout: int = 10
    """Seconds to wait for a database server to answer a connection (PostgreSQL, MySQL)."""
    fragment_bytes: int = FRAGMENT_BYTES
    """On a Galera cluster, a large transaction replicates in write-sets of about this size
    (streaming replication); 0 replicates it whole at COMMIT."""

    @property
    def backend(self) -> Backend:
        return backends.get(self.dialect)

    def describe(self) -> str:
        """A human-readable location without secrets."""
        return self.backend.location(self)


class LockBusyError(UserError):
    """Another process holds the advisory lock."""


class _ErrorMapper:
    """Turns the driver errors its backend classifies into the project's (db/errors.py)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(exc, Exception) and (mapped := self.backend.classify(exc)) is not None:
            raise mapped from exc


class Database:
    """A connection to the instance's database with the table prefix and the engine's backend.

    Driver errors that the backend classifies (duplicate key, lost connection, lock timeout,
    packet too large) come out of its methods as the project's own (db/errors.py).
    """

    def __init__(self, raw: Any, settings: ConnectionSettings) -> None:
        self.raw = raw
        self.settings = settings
        self.backend = settings.backend
        self.dialect = self.backend.name  # the engine's name, as in ConnectionSettings
        self.prefix = check_prefix(settings.prefix)
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []
        self._errors = _ErrorMapper(self.backend)

    # -- SQL text -------------------------------------------------------------------------------
    def sql(self, name: str, fragments: tuple[tuple[str, str], ...] = ()) -> str:
        """The named query from `sql/` for this engine and prefix (see `queries.get`)."""
        return queries.get(name, self.dialect, self.prefix, fragments)

    def table(self, name: str) -> str:
        """The physical (prefixed) table name."""
        return self.prefix + name

    def quote(self, identifier: str) -> str:
        return self.backend.quote(identifier)

    # -- execution -----------------------------------------------------------------------------
    def errors(self) -> _ErrorMapper:
        """A context in which driver errors come out as the project's (for a caller working with
        the driver's own objects, e.g. a backend's COPY)."""
        return self._errors

    def cursor(self) -> Any:
        return self.raw.cursor()

    def execute(self, name: str, params: Params = None) -> Any:
        """Run a named query and return the cursor."""
        return self.execute_sql(self.sql(name), params)

    def execute_sql(self, sql: str, params: Params = None) -> Any:
        """Run SQL text that is already in this engine's dialect and parameter style."""
        cur = self.cursor()
        with self._errors:
            if params is None:
                cur.execute(sql)
            else:
                cur.execute(sql, params)
        return cur

    def execute_many(self, name: str, params: Sequence[Mapping[str, Any]]) -> None:
        """Run a named query once per parameter set, in one driver call (PyMySQL makes one
        multi-row INSERT of it, psycopg pipelines it)."""
        cur = self.cursor()
        try:
            with self._errors:
                cur.executemany(self.sql(name), params)
        finally:
            cur.close()

    def rows(self, name: str, params: Params = None) -> list[tuple[Any, ...]]:
        cur = self.execute(name, params)
        try:
            with self._errors:
                return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    def scalar(self, name: str, params: Params = None) -> Any:
        """First column of the first row of a named query (None without rows)."""
        return self.scalar_sql(self.sql(name), params)

    def scalar_sql(self, sql: str, params: Params = None) -> Any:
        """First column of the first row of SQL text already in this engine's dialect."""
        cur = self.execute_sql(sql, params)
        try:
            with self._errors:
                row = cur.fetchone()
            return None if row is None else row[0]
        finally:
            cur.close()

    def list_param(self, values: Sequence[int | str]) -> Any:
        """A non-empty list of integers or of strings as a list parameter (`:ids`, `:hashes`) of
        the engine's queries that take one."""
        return self.backend.list_param([v if isinstance(v, str) else int(v) for v in values])

    def run_script(self, script: str) -> None:
        """Run every statement of a DDL file (with `*PREFIX*` placeholders) in order."""
        text = substitute(script, self.prefix, self.settings.mysql_utf8mb4)
        for statement in split_statements(text):
            self.execute_sql(statement).close()

    def stream(
        self,
        name: str,
        params: Params = None,
        batch: int = 2000,
        fragments: tuple[tuple[str, str], ...] = (),
    ) -> Generator[tuple[Any, ...], None, None]:
        """Rows of a named query through a server-side cursor: memory stays flat.

        On MySQL no other query may run on this connection until the iterator is exhausted.
        """
        with contextlib.closing(self.stream_chunks(name, params, batch, fragments)) as chunks:
            for chunk in chunks:
                yield from chunk

    def stream_chunks(
        self,
        name: str,
        params: Params = None,
        batch: int = 2000,
        fragments: tuple[tuple[str, str], ...] = (),
    ) -> Generator[list[tuple[Any, ...]], None, None]:
        """`stream`, in lists of up to `batch` rows as the server-side cursor hands them out."""
        if self.backend.stream_needs_transaction and not self._depth:
            with self.transaction():
                yield from self.stream_chunks(name, params, batch, fragments)
            return
        sql = self.sql(name, fragments)
        cur = self.backend.stream_cursor(self, batch)
        try:
            with self._errors:
                cur.execute(sql, params) if params is not None else cur.execute(sql)
            while True:
                with self._errors:
                    chunk = cur.fetchmany(batch)
                if not chunk:
                    break
                yield chunk
        finally:
            cur.close()

    def copy_binary(
        self, table: str, columns: Sequence[str], header: bytes, chunks: Iterable[list[bytes]], trailer: bytes
    ) -> int:
        """Load rows given as canonical binary tuples (transfer/tuples.py) into an app table
        (unprefixed name): the stream's header, the tuples, the trailer. Returns the number of
        tuples sent. Only where `backend.takes_tuples` says so (PostgreSQL's binary COPY)."""
        with self._errors:
            return self.backend.copy_binary(self, table, columns, header, chunks, trailer)

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]] | EncodedRows, batch: int = 5000
    ) -> int:
        """Bulk insert rows into an app table (unprefixed name) through the engine's fast path.

        PostgreSQL uses COPY, MySQL multi-row INSERT statements, SQLite executemany (`batch` rows
        per call). `rows` may also be a batch made by `encode_rows` (for the same table and
        columns), which is sent as it is. Returns the number of rows written. Call it inside
        `transaction()`.
        """
        with self._errors:
            if isinstance(rows, EncodedRows):
                return self.backend.write_encoded(self, rows)
            return self.backend.insert_rows(self, table, columns, rows, batch)

    def encode_rows(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> EncodedRows:
        """Rows of int, str, bool and None values (each already of its column's type) in the form
        the engine's bulk path sends: COPY text for PostgreSQL, INSERT statements for MySQL.

        This is the CPU-heavy half of a bulk insert; it touches no connection, so it may run in
        another thread than `insert_many`, beside the database's work on the previous batch.
        Raises ValueError for a value the engine cannot take (a string that is not valid Unicode).
        """
        return self.backend.encode_rows(self, table, columns, rows)

    def row_encoder(self, table: str, columns: Sequence[str]) -> RowEncoder | None:
        """An encoder of insert tuples for the table that needs no connection (so it may run in
        another process), where the engine's bulk path takes bytes made ahead; else None."""
        return self.backend.row_encoder(self, table, columns)

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def transaction(self, snapshot: bool = False, write_lock: bool = False) -> Iterator[Database]:
        """One transaction; nested calls join the outer one.

        `snapshot` asks for a consistent read-only snapshot (REPEATABLE READ on the servers);
        `write_lock` takes the database's write lock at the start where the engine has one for the
        whole database (SQLite's BEGIN IMMEDIATE).
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        for statement in self.backend.begin(snapshot, write_lock):
            self.execute_sql(statement).close()
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._after_commit.clear()
            self._rollback()
            raise
        self._depth = 0
        try:
            self.execute_sql("COMMIT").close()
        except BaseException:
            self._after_commit.clear()
            raise
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def resume_transaction(self) -> None:
        """Inside `transaction()`, after a statement that committed by itself (DDL where the engine
        does not run it in transactions): start the next transaction, so that what follows still
        commits or rolls back at the end of the block."""
        if self._depth and not self.backend.transactional_ddl:
            for statement in self.backend.begin(False, False):
                self.execute_sql(statement).close()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the current transaction has committed (not at all if it rolls
        back); outside a transaction, right away."""
        if self._depth:
            self._after_commit.append(callback)
        else:
            callback()

    def _rollback(self) -> None:
        with contextlib.suppress(Exception):  # the connection may already be gone
            self.execute_sql("ROLLBACK").close()

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def large_writes(self) -> Iterator[None]:
        """Around a transaction that may write much (a restore, a conversion): where the engine
        replicates a transaction's writes as one set at COMMIT (Galera), send them in fragments of
        `settings.fragment_bytes` instead; still one transaction, committed or rolled back whole."""
        with self.backend.large_writes(self):
            yield

    def retry_conflicts(self, action: Callable[[], T], attempts: int = CONFLICT_ATTEMPTS) -> T:
        """Run `action` (one whole transaction of its own) again when it lost a conflict
        (ConflictError: a deadlock, or on Galera a certification conflict with another node's
        commit), which rolled it back whole; up to `attempts` runs, then the last error."""
        if self._depth:
            return action()  # inside another transaction only the outermost one may be retried
        attempt = 1
        while True:
            try:
                return action()
            except ConflictError:
                if attempt >= attempts:
                    raise
                time.sleep(0.05 * attempt)
                attempt += 1

    # -- locks ---------------------------------------------------------------------------------
    @contextmanager
    def advisory_lock(self, name: str, wait: float = 0.0, busy_message: str | None = None) -> Iterator[None]:
        """Hold a named lock shared by every process using this database.

        Waits up to `wait` seconds, then raises LockBusyError. The lock dies with the process.
        """
        deadline = time.monotonic() + wait
        while (release := self.backend.try_lock(self, name)) is None:
            if time.monotonic() >= deadline:
                raise LockBusyError(busy_message or f"Another process holds the lock '{name}'")
            time.sleep(0.1)
        try:
            yield
        finally:
            release()

    # -- introspection -------------------------------------------------------------------------
    def table_exists(self, name: str) -> bool:
        """Whether the prefixed table exists."""
        return bool(self.scalar("schema.table_exists", {"name": self.table(name)}))

    def server_version(self) -> str:
        return str(self.scalar("schema.server_version"))

    def row_limit(self) -> RowLimit | None:
        """The size limit a single INSERT of one row meets before any value limit (MariaDB/MySQL's
        `max_allowed_packet`); None where only the engine's limit of about 1 GB per value applies,
        beyond what a backup can hold."""
        return self.backend.row_limit(self)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the connection may already be gone
            self.raw.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(settings: ConnectionSettings, create: bool = False) -> Database:
    """Open the database. `create` allows creating a missing SQLite file (installation only)."""
    try:
        return Database(settings.backend.connect(settings, create), settings)
    except UserError:
        raise
    except Exception as exc:  # driver errors: one clear line naming the target, never the password
        detail = " ".join(str(exc).split()) or type(exc).__name__
        if settings.password:
            detail = detail.replace(settings.password, "***")
        raise DatabaseConnectionError(f"Cannot connect to the {settings.describe()}: {detail}") from exc
