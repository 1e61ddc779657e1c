"""SQLite: a file below the data directory, opened with the `sqlite3` module in this process."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import itertools
import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import DatabaseConnectionError
from ..errors import DatabaseError, DuplicateKeyError, LockTimeoutError, UnstorableValueError
from ..introspect import ColumnInfo, IndexInfo, TableInfo, normalise_default
from ..portable import LOSES_AUTOINCREMENT_TYPE, LOSES_INDEX_LENGTHS, LOSES_TEXT_LENGTH
from ..portable import Table as PortableTable
from . import sqlite_schema
from .base import Backend, EncodedRows, Release, Row, multi_row_inserts

if TYPE_CHECKING:
    from ..connection import ConnectionSettings, Database

# A new SQLite database holds the server's and the users' keys: it is private to its owner whatever
# the umask (SQLite itself would create it 0644 minus the umask). Only in a folder that belongs to
# another group and is closed to everyone else (the web server's group, which Nextcloud lets read
# config.php) does that group get read access. SQLite gives the -wal, -shm and -journal files it
# creates beside the database the database file's mode.
SQLITE_FILE_MODE = 0o600

# Dates and times are stored as text, as Doctrine writes them ('2025-01-31 12:00:00').
sqlite3.register_adapter(datetime.datetime, lambda value: value.isoformat(" "))
sqlite3.register_adapter(datetime.date, lambda value: value.isoformat())
sqlite3.register_adapter(datetime.time, lambda value: value.isoformat())
SQLITE_GROUP_FILE_MODE = 0o640

_JOURNAL_MODES = frozenset({"DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"})

# The most characters of values in one INSERT of a script.
_SCRIPT_STATEMENT = 1 << 20
# Rows of one INSERT of a bulk load (fewer where SQLite takes fewer parameters per statement):
# one statement with a few thousand rows costs less per row than executemany's statement per row
# (a restore took 7% less time).
_ROWS_PER_INSERT = 2000


class SQLiteBackend(Backend):
    name = "sqlite"
    dbtype = "sqlite3"
    dbtype_aliases = ("sqlite",)
    display_name = "SQLite"
    sqlglot_name = "sqlite"
    client_command = "sqlite3 FILE.db < FILE"
    embedded = True
    param_mark = "?"
    # SQLite works in this process, holding the GIL but while it steps through a statement: a
    # writer thread beside the parsing hands the GIL back and forth for every statement, which on a
    # busy machine costs more than it saves (a restore took 10% longer), so batches are written
    # where they are made.
    background_writes = False

    # -- connections ---------------------------------------------------------------------------
    def connect(self, settings: ConnectionSettings, create: bool) -> sqlite3.Connection:
        assert settings.sqlite_path is not None
        path = settings.sqlite_path
        if not create and not path.is_file():
            raise DatabaseConnectionError(f"Cannot open the SQLite database {path}: the file does not exist")
        if create:
            _create_file(path)
        uri = f"file:{path}?mode={'rwc' if create else 'rw'}"
        raw = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30, check_same_thread=False)
        raw.execute(f"PRAGMA journal_mode = {_journal_mode(settings.sqlite_journal_mode)}")
        raw.execute("PRAGMA foreign_keys = OFF")
        return raw

    def location(self, settings: ConnectionSettings) -> str:
        return f"SQLite database {settings.sqlite_path}"

    def database_file(self, data_dir: Path, dbname: str) -> Path:
        return data_dir / f"{dbname}.db"

    # -- SQL text ------------------------------------------------------------------------------
    def list_param(self, values: Sequence[int | str]) -> Any:
        return json.dumps(list(values))  # read with json_each

    # -- sessions and locks --------------------------------------------------------------------
    def begin(self, snapshot: bool, write_lock: bool) -> list[str]:
        return ["BEGIN IMMEDIATE" if write_lock else "BEGIN"]

    def try_lock(self, db: Database, name: str) -> Release | None:
        """A lock file beside the database (`<file>.<name>.lock`), flock'ed."""
        assert db.settings.sqlite_path is not None
        fd = os.open(f"{db.settings.sqlite_path}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return lambda: os.close(fd)

    # -- errors --------------------------------------------------------------------------------
    def classify(self, exc: BaseException) -> DatabaseError | None:
        if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(exc):
            return DuplicateKeyError(str(exc))
        if isinstance(exc, sqlite3.OperationalError) and "database is locked" in str(exc):
            return LockTimeoutError(str(exc))
        return None

    # -- bulk writing --------------------------------------------------------------------------
    def encode_rows(self, db: Database, table: str, columns: Sequence[str], rows: list[Row]) -> EncodedRows:
        """INSERT statements of up to `_ROWS_PER_INSERT` rows each, with their parameters.

        `OR FAIL`: a statement that breaks a constraint stops there and keeps its earlier rows, so
        SQLite needs no statement journal to undo it (for a restore of M that journal wrote
        ~130 MB of temporary file); every bulk load rolls back its whole transaction on an error."""
        limit = db.raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per = max(1, min(_ROWS_PER_INSERT, limit // len(columns)))
        head = f"INSERT OR FAIL INTO {db.table(table)} ({', '.join(self.quote(c) for c in columns)}) VALUES "
        marks = "(" + ",".join("?" * len(columns)) + ")"
        full = head + ",".join([marks] * per)
        statements = []
        for start in range(0, len(rows), per):
            part = rows[start : start + per]
            sql = full if len(part) == per else head + ",".join([marks] * len(part))
            statements.append((sql, list(itertools.chain.from_iterable(part))))
        return EncodedRows(full, len(rows), None, statements=statements)

    # -- bulk loads ----------------------------------------------------------------------------
    def prepare_load(
        self, db: Database, tables: Sequence[str], *, replace_all: bool, new_tables: bool = False
    ) -> list[str]:
        """Indexes dropped, to be built once after the rows: readers keep the old tables, indexes
        included, until COMMIT (only when every row is replaced); the sorts that build them may
        use helper threads."""
        db.execute("bulk.sort_threads").close()
        return self.drop_secondary_indexes(db, tables) if replace_all else []

    def load_session(self, db: Database) -> None:
        for pragma in ("transfer.load_synchronous", "transfer.load_cache"):
            db.execute(pragma).close()

    def after_load(self, db: Database) -> None:
        db.execute("transfer.checkpoint").close()

    # SQLite keeps statistics only when asked and plans these tables well without them: `analyze`
    # does nothing. Ids come from the rows themselves: `reset_sequence` does nothing.

    # -- introspection -------------------------------------------------------------------------
    def describe(self, db: Database, pattern: str, table: Callable[[str], TableInfo]) -> None:
        for tname, sql in db.rows("introspect.tables", {"pattern": pattern}):
            info = table(tname)
            auto = "AUTOINCREMENT" in str(sql).upper()
            columns = db.rows("introspect.columns", {"table": tname})
            for _, cname, ctype, notnull, default, pk in columns:
                info.columns.append(
                    ColumnInfo(cname, str(ctype).upper(), not notnull, normalise_default(default), bool(pk) and auto)
                )
            pk_cols = tuple(r[1] for r in columns if r[5])
            if pk_cols:
                info.indexes.append(IndexInfo("PRIMARY", pk_cols, True, True))
            for iname, unique, origin in db.rows("introspect.index_list", {"table": tname}):
                if origin == "pk":
                    continue
                cols = tuple(str(r[0]) for r in db.rows("introspect.index_columns", {"index": iname}))
                info.indexes.append(IndexInfo(str(iname), cols, bool(unique)))

    # -- the portable schema (sqlite_schema.py) ---------------------------------------------
    skipped_indexes = frozenset({("text_steps", "text_steps_doc_id_id_index")})
    enforces_lengths = False
    schema_loses = frozenset({LOSES_AUTOINCREMENT_TYPE, LOSES_TEXT_LENGTH, LOSES_INDEX_LENGTHS})

    def read_schema(self, db: Database, pattern: str, prefix: str) -> dict[str, PortableTable]:
        return sqlite_schema.read(db, pattern, prefix)

    def create_table_statements(self, db: Database, table: PortableTable) -> list[str]:
        return sqlite_schema.create_statements(db, table)

    # -- SQL scripts ---------------------------------------------------------------------------
    def script_preamble(self) -> str:
        return ".bail on\nBEGIN;\n"

    def script_rows(self, table: str, columns: str, rows: Iterable[Row]) -> Iterator[str]:
        values = ("(" + ",".join([_literal(v) for v in row]) + ")" for row in rows)
        yield from multi_row_inserts(f"INSERT INTO {table} ({columns}) VALUES\n", values, _SCRIPT_STATEMENT)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):  # booleans too: 1/0
        return str(int(value))
    text = str(value)
    if "\0" in text:
        raise UnstorableValueError("A SQLite script cannot hold text containing a NUL character")
    quoted = "'" + text.replace("'", "''") + "'"
    # The sqlite3 shell reads its input line by line and drops a CR before each LF, even inside a
    # string literal: carriage returns are spliced in with char(13).
    return quoted.replace("\r", "' || char(13) || '") if "\r" in text else quoted


def _create_file(path: Path) -> None:
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
    if mode not in _JOURNAL_MODES:
        raise DatabaseConnectionError(f"Unknown sqlite.journal_mode {mode!r} in config.php")
    return mode


BACKEND = SQLiteBackend()
