"""One connection layer over sqlite3, psycopg 3 and PyMySQL.

Connections run in autocommit mode; `transaction()` issues BEGIN/COMMIT/ROLLBACK itself so the
three drivers behave alike (and a snapshot transaction can be asked for explicitly).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DatabaseConnectionError, UserError
from . import queries
from .dialects import Dialect, check_prefix, quote_ident, split_statements, substitute

Params = Sequence[Any] | dict[str, Any] | None

_cursor_ids = itertools.count(1)


# -- encoding rows for the bulk paths (Database.encode_rows) ---------------------------------------
@dataclass
class EncodedRows:
    """A batch of rows ready for `Database.insert_many`: the COPY statement and its data, the
    INSERT head and whole statements, or the INSERT statement and plain rows for executemany."""

    statement: str
    count: int
    payload: list[bytes] | None
    rows: list[tuple[Any, ...]] | None = None


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8mb4")


# COPY text format: backslash, newline, carriage return and tab are escaped; NULL is \N.
_COPY_ESCAPES = {ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def _copy_line(row: tuple[Any, ...]) -> str:
    out = []
    for value in row:
        kind = type(value)
        if kind is str:
            if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
                value = value.translate(_COPY_ESCAPES)
            out.append(value)
        elif value is None:
            out.append("\\N")
        elif kind is bool:
            out.append("t" if value else "f")
        elif kind is int:
            out.append(int.__repr__(value))
        else:
            raise TypeError(f"cannot write a {kind.__name__} as a typed COPY value")
    return "\t".join(out) + "\n"


# MySQL: the server status flag of sql_mode NO_BACKSLASH_ESCAPES (then PyMySQL's own quoting is
# used), the size of one multi-row INSERT (PyMySQL's executemany default; well below
# max_allowed_packet) and the characters a quoted string must escape (PyMySQL's escape_string).
_NO_BACKSLASH_ESCAPES = 512
_MYSQL_STATEMENT = 1 << 20
_MYSQL_ESCAPES = {
    0: "\\0",
    ord("\\"): "\\\\",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    0x1A: "\\Z",
    ord('"'): '\\"',
    ord("'"): "\\'",
}


def _mysql_row(row: tuple[Any, ...]) -> str:
    """One parenthesised VALUES tuple."""
    out = []
    for value in row:
        kind = type(value)
        if kind is str:
            if (
                "'" in value
                or "\\" in value
                or '"' in value
                or "\n" in value
                or "\r" in value
                or "\x00" in value
                or "\x1a" in value
            ):
                value = value.translate(_MYSQL_ESCAPES)
            out.append("'" + value + "'")
        elif value is None:
            out.append("NULL")
        elif kind is bool:
            out.append("1" if value else "0")
        elif kind is int:
            out.append(int.__repr__(value))
        else:
            raise TypeError(f"cannot write a {kind.__name__} as a typed MySQL value")
    return "(" + ",".join(out) + ")"


def _mysql_statements(head: str, rows: list[tuple[Any, ...]], encoding: str) -> list[bytes]:
    """Multi-row INSERT statements of at most _MYSQL_STATEMENT bytes (or one row), encoded for sending."""
    start = head.encode(encoding)
    statements: list[bytes] = []
    parts: list[bytes] = []
    size = len(start)
    for row in rows:
        data = _mysql_row(row).encode(encoding)
        if parts and size + len(data) >= _MYSQL_STATEMENT:  # a big row goes alone (max_allowed_packet)
            statements.append(start + b",".join(parts))
            parts.clear()
            size = len(start)
        parts.append(data)
        size += len(data) + 1
    if parts:
        statements.append(start + b",".join(parts))
    return statements


@dataclass(frozen=True)
class RowLimit:
    """The most bytes one row may take on its way to the server, and the setting that says so."""

    bytes: int
    setting: str


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the database is, as config.php describes it."""

    dialect: Dialect
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

    def describe(self) -> str:
        """A human-readable location without secrets."""
        if self.dialect == "sqlite":
            return f"SQLite database {self.sqlite_path}"
        where = self.socket or (f"{self.host}:{self.port}" if self.port else self.host)
        engine = "PostgreSQL" if self.dialect == "pgsql" else "MySQL/MariaDB"
        return f"{engine} database '{self.dbname}' on {where}"


class LockBusyError(UserError):
    """Another process holds the advisory lock."""


class Database:
    """A connection to the instance's database with the table prefix and engine dialect."""

    def __init__(self, raw: Any, settings: ConnectionSettings) -> None:
        self.raw = raw
        self.settings = settings
        self.dialect: Dialect = settings.dialect
        self.prefix = check_prefix(settings.prefix)
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []

    # -- SQL text -------------------------------------------------------------------------------
    def sql(self, name: str, fragments: tuple[tuple[str, str], ...] = ()) -> str:
        """The named query from `sql/` for this engine and prefix (see `queries.get`)."""
        return queries.get(name, self.dialect, self.prefix, fragments)

    def table(self, name: str) -> str:
        """The physical (prefixed) table name."""
        return self.prefix + name

    def quote(self, identifier: str) -> str:
        return quote_ident(self.dialect, identifier)

    # -- execution -----------------------------------------------------------------------------
    def cursor(self) -> Any:
        return self.raw.cursor()

    def execute(self, name: str, params: Params = None) -> Any:
        """Run a named query and return the cursor."""
        return self.execute_sql(self.sql(name), params)

    def execute_sql(self, sql: str, params: Params = None) -> Any:
        """Run SQL text that is already in this engine's dialect and parameter style."""
        cur = self.cursor()
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)
        return cur

    def rows(self, name: str, params: Params = None) -> list[tuple[Any, ...]]:
        cur = self.execute(name, params)
        try:
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
            row = cur.fetchone()
            return None if row is None else row[0]
        finally:
            cur.close()

    def id_list(self, ids: list[int]) -> Any:
        """A list of integers as the `:ids` parameter of the engine's `rows_by_ids` queries."""
        if self.dialect == "pgsql":
            return list(ids)
        if self.dialect == "mysql":
            return tuple(int(i) for i in ids)
        return "[" + ",".join(str(int(i)) for i in ids) + "]"

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
        if self.dialect == "pgsql" and not self._depth:  # server-side cursors live in a transaction
            with self.transaction():
                yield from self.stream_chunks(name, params, batch, fragments)
            return
        sql = self.sql(name, fragments)
        if self.dialect == "pgsql":
            cur = self.raw.cursor(name=f"ncp_stream_{next(_cursor_ids)}")
            cur.itersize = batch
        elif self.dialect == "mysql":
            import pymysql.cursors

            cur = self.raw.cursor(pymysql.cursors.SSCursor)
        else:
            cur = self.raw.cursor()
        try:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            while True:
                chunk = cur.fetchmany(batch)
                if not chunk:
                    break
                yield chunk
        finally:
            cur.close()

    def copy_out(
        self, name: str, params: Params = None, fragments: tuple[tuple[str, str], ...] = ()
    ) -> Generator[bytes, None, None]:
        """PostgreSQL: the rows a named `COPY … TO STDOUT` query writes, one bytes object per row."""
        assert self.dialect == "pgsql"
        with self.raw.cursor() as cur, cur.copy(self.sql(name, fragments), params) as copy:
            for data in copy:
                yield bytes(data)

    def copy_binary(
        self, table: str, columns: Sequence[str], header: bytes, chunks: Iterable[list[bytes]], trailer: bytes
    ) -> int:
        """PostgreSQL: load rows in binary COPY format into an app table (unprefixed name): the
        stream's header, the tuples, the trailer. Returns the number of tuples sent."""
        assert self.dialect == "pgsql"
        cols = ", ".join(self.quote(c) for c in columns)
        count = 0
        statement = f"COPY {self.table(table)} ({cols}) FROM STDIN (FORMAT binary)"
        with self.raw.cursor() as cur, cur.copy(statement) as copy:
            copy.write(header)
            for chunk in chunks:
                copy.write(b"".join(chunk))
                count += len(chunk)
            copy.write(trailer)
        return count

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]] | EncodedRows, batch: int = 5000
    ) -> int:
        """Bulk insert rows into an app table (unprefixed name) through the engine's fast path.

        PostgreSQL uses COPY, MySQL multi-row INSERT statements, SQLite executemany (`batch` rows
        per call). `rows` may also be a batch made by `encode_rows` (for the same table and
        columns), which is sent as it is. Returns the number of rows written. Call it inside
        `transaction()`.
        """
        if isinstance(rows, EncodedRows):
            return self._write_encoded(rows)
        target = self.table(table)
        cols = ", ".join(self.quote(c) for c in columns)
        count = 0
        if self.dialect == "pgsql":
            with self.raw.cursor() as cur, cur.copy(f"COPY {target} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        mark = "%s" if self.dialect == "mysql" else "?"
        sql = f"INSERT INTO {target} ({cols}) VALUES ({', '.join([mark] * len(columns))})"
        cur = self.raw.cursor()
        try:
            iterator = iter(rows)
            while chunk := list(itertools.islice(iterator, batch)):
                cur.executemany(sql, chunk)
                count += len(chunk)
        finally:
            cur.close()
        return count

    def encode_rows(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> EncodedRows:
        """Rows of int, str, bool and None values (each already of its column's type) in the form
        the engine's bulk path sends: COPY text for PostgreSQL, INSERT statements for MySQL.

        This is the CPU-heavy half of a bulk insert; it touches no connection, so it may run in
        another thread than `insert_many`, beside the database's work on the previous batch.
        Raises ValueError for a string that is not valid Unicode.
        """
        target = self.table(table)
        cols = ", ".join(self.quote(c) for c in columns)
        try:
            if self.dialect == "pgsql" and _is_utf8(self.raw.info.encoding):
                # Rows are encoded one by one: a batch joined as text would take 4 bytes per
                # character as soon as one character lies outside the BMP.
                data = b"".join([_copy_line(row).encode() for row in rows])
                return EncodedRows(f"COPY {target} ({cols}) FROM STDIN", len(rows), [data])
            if self.dialect == "mysql" and not self.raw.server_status & _NO_BACKSLASH_ESCAPES:
                head = f"INSERT INTO {target} ({cols}) VALUES "
                return EncodedRows(head, len(rows), _mysql_statements(head, rows, self.raw.encoding))
        except UnicodeEncodeError:
            raise ValueError(f"{target}: a value is not valid Unicode") from None
        mark = "%s" if self.dialect == "mysql" else "?"
        sql = f"INSERT INTO {target} ({cols}) VALUES ({', '.join([mark] * len(columns))})"
        return EncodedRows(sql, len(rows), None, rows)

    def _write_encoded(self, encoded: EncodedRows) -> int:
        if encoded.payload is None:  # SQLite: plain rows for executemany
            cur = self.raw.cursor()
            try:
                cur.executemany(encoded.statement, encoded.rows or [])
            finally:
                cur.close()
            return encoded.count
        if self.dialect == "pgsql":
            with self.raw.cursor() as cur, cur.copy(encoded.statement) as copy:
                for data in encoded.payload:
                    copy.write(data)
            return encoded.count
        cur = self.raw.cursor()
        try:
            for statement in encoded.payload:
                cur.execute(statement)
        finally:
            cur.close()
        return encoded.count

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def transaction(self, snapshot: bool = False, write_lock: bool = False) -> Iterator[Database]:
        """One transaction; nested calls join the outer one.

        `snapshot` asks for a consistent read-only snapshot (REPEATABLE READ on the servers);
        `write_lock` takes SQLite's write lock at the start (BEGIN IMMEDIATE).
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        if self.dialect == "pgsql":
            begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if snapshot else "BEGIN"
        elif self.dialect == "mysql":
            begin = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY" if snapshot else "START TRANSACTION"
        else:
            begin = "BEGIN IMMEDIATE" if write_lock else "BEGIN"
        if self.dialect == "mysql" and snapshot:
            self.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").close()
        self.execute_sql(begin).close()
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

    # -- locks ---------------------------------------------------------------------------------
    @contextmanager
    def advisory_lock(self, name: str, wait: float = 0.0, busy_message: str | None = None) -> Iterator[None]:
        """Hold a named lock shared by every process using this database.

        Waits up to `wait` seconds, then raises LockBusyError. The lock dies with the process.
        """
        message = busy_message or f"Another process holds the lock '{name}'"
        scoped = f"ncpasswords:{self.settings.dbname}:{self.prefix}:{name}"
        deadline = time.monotonic() + wait
        if self.dialect == "sqlite":
            assert self.settings.sqlite_path is not None
            lock_path = Path(f"{self.settings.sqlite_path}.{name}.lock")
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise LockBusyError(message) from None
                        time.sleep(0.1)
                yield
            finally:
                os.close(fd)
            return
        if self.dialect == "pgsql":
            key = int.from_bytes(hashlib.sha256(scoped.encode()).digest()[:8], "big", signed=True)
            acquire, release = "SELECT pg_try_advisory_lock(%s)", "SELECT pg_advisory_unlock(%s)"
            args: tuple[Any, ...] = (key,)
        else:
            acquire, release = "SELECT GET_LOCK(%s, 0)", "SELECT RELEASE_LOCK(%s)"
            args = (hashlib.sha256(scoped.encode()).hexdigest()[:64],)
        while True:
            cur = self.execute_sql(acquire, args)
            got = cur.fetchone()[0]
            cur.close()
            if got in (True, 1):
                break
            if time.monotonic() >= deadline:
                raise LockBusyError(message)
            time.sleep(0.1)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # the connection may already be gone
                self.execute_sql(release, args).close()

    # -- introspection -------------------------------------------------------------------------
    def table_exists(self, name: str) -> bool:
        """Whether the prefixed table exists."""
        return bool(self.scalar("schema.table_exists", {"name": self.table(name)}))

    def server_version(self) -> str:
        return str(self.scalar("schema.server_version"))

    def row_limit(self) -> RowLimit | None:
        """The size limit a single INSERT of one row meets before any value limit: MariaDB/MySQL
        refuse a statement longer than `max_allowed_packet` (and drop the connection). PostgreSQL
        and SQLite only limit a value to about 1 GB, beyond what a backup can hold (None)."""
        if self.dialect != "mysql":
            return None
        return RowLimit(int(self.scalar("schema.max_allowed_packet")), "max_allowed_packet")

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
        if settings.dialect == "sqlite":
            return Database(_connect_sqlite(settings, create), settings)
        if settings.dialect == "pgsql":
            return Database(_connect_pgsql(settings), settings)
        return Database(_connect_mysql(settings), settings)
    except UserError:
        raise
    except Exception as exc:  # driver errors: one clear line naming the target, never the password
        detail = " ".join(str(exc).split()) or type(exc).__name__
        if settings.password:
            detail = detail.replace(settings.password, "***")
        raise DatabaseConnectionError(f"Cannot connect to the {settings.describe()}: {detail}") from exc


def _connect_sqlite(settings: ConnectionSettings, create: bool) -> sqlite3.Connection:
    assert settings.sqlite_path is not None
    path = settings.sqlite_path
    if not create and not path.is_file():
        raise DatabaseConnectionError(f"Cannot open the SQLite database {path}: the file does not exist")
    if create:
        _create_sqlite_file(path)
    uri = f"file:{path}?mode={'rwc' if create else 'rw'}"
    raw = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30, check_same_thread=False)
    raw.execute(f"PRAGMA journal_mode = {_journal_mode(settings.sqlite_journal_mode)}")
    raw.execute("PRAGMA foreign_keys = OFF")
    return raw


# A new SQLite database holds the server's and the users' keys: it is private to its owner whatever
# the umask (SQLite itself would create it 0644 minus the umask). Only in a folder that belongs to
# another group and is closed to everyone else (the web server's group, which Nextcloud lets read
# config.php) does that group get read access. SQLite gives the -wal, -shm and -journal files it
# creates beside the database the database file's mode.
SQLITE_FILE_MODE = 0o600
SQLITE_GROUP_FILE_MODE = 0o640


def _create_sqlite_file(path: Path) -> None:
    """Create a missing database file, empty (a valid empty database), with the mode above."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
    except FileExistsError:
        return
    try:
        mode = SQLITE_FILE_MODE
        folder = os.stat(path.parent)
        if folder.st_gid != os.getegid() and folder.st_mode & stat.S_IXGRP and not folder.st_mode & stat.S_IRWXO:
            with contextlib.suppress(PermissionError):  # not a member of the folder's group: stay 0600
                os.fchown(fd, -1, folder.st_gid)
                mode = SQLITE_GROUP_FILE_MODE
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _journal_mode(mode: str) -> str:
    mode = mode.upper()
    if mode not in {"DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"}:
        raise DatabaseConnectionError(f"Unknown sqlite.journal_mode {mode!r} in config.php")
    return mode


def _connect_pgsql(settings: ConnectionSettings) -> Any:
    import psycopg

    # Text travels as UTF-8 whatever the database's encoding (binary COPY takes text in the
    # client's encoding): the server converts, and refuses what the database cannot store.
    kwargs: dict[str, Any] = {
        "dbname": settings.dbname,
        "user": settings.user or None,
        "autocommit": True,
        "client_encoding": "UTF8",
    }
    kwargs["host"] = settings.socket or settings.host
    if settings.port:
        kwargs["port"] = settings.port
    if settings.password:
        kwargs["password"] = settings.password
    kwargs["connect_timeout"] = settings.connect_timeout
    return psycopg.connect(**kwargs)


def _connect_mysql(settings: ConnectionSettings) -> Any:
    import pymysql

    kwargs: dict[str, Any] = {
        "database": settings.dbname,
        "user": settings.user,
        "password": settings.password,
        "charset": "utf8mb4" if settings.mysql_utf8mb4 else "utf8",
        "autocommit": True,
        "connect_timeout": settings.connect_timeout,
    }
    if settings.socket:
        kwargs["unix_socket"] = settings.socket
    else:
        kwargs["host"] = settings.host
        kwargs["port"] = settings.port or 3306
    raw = pymysql.connect(**kwargs)
    with raw.cursor() as cur:
        cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')")
    return raw
