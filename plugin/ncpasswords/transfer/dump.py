"""`passwords:db:dump`: the app's data as a SQL script for one engine's own client.

    psql -f dump.sql          (PostgreSQL: one transaction, COPY ... FROM stdin blocks)
    mariadb db < dump.sql     (MySQL/MariaDB: DDL, then one transaction of multi-row INSERTs)
    sqlite3 db.db < dump.sql  (SQLite: one transaction of multi-row INSERTs)

The script stops at the first error (`ON_ERROR_STOP` / the client's default / `.bail on`). The
schema comes from migrations/ in the target dialect; tables are created only where missing, and
the app's rows of appconfig, preferences and migrations replace those the target has. Rows come
from one snapshot of the source in the canonical form of `tables.py`, so the checksums in the
report are those `checksum.table_checksums` computes on the loaded database.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from .. import __version__
from ..db import migrator
from ..db.connection import Database
from ..db.dialects import Dialect, quote_ident, split_statements, substitute
from ..db.migrator import APP_ID
from ..errors import UserError
from ..php.json import BinaryWriter
from .checksum import Checksum
from .report import Progress, TableReport, TransferReport
from .tables import APP_COLUMN, TransferTable, transfer_tables

STATEMENT_BYTES = 1 << 20
"""Upper size of one multi-row INSERT (MySQL's default max_allowed_packet is 16 MiB or more)."""

_ENGINES = {"pgsql": "PostgreSQL", "mysql": "MySQL/MariaDB", "sqlite": "SQLite"}
_LOAD_WITH = {"pgsql": "psql -f FILE", "mysql": "mariadb DATABASE < FILE", "sqlite": "sqlite3 FILE.db < FILE"}

# Text escapes: PostgreSQL COPY text format, MySQL string literals (backslash escapes are on: the
# script sets sql_mode without NO_BACKSLASH_ESCAPES).
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_MYSQL_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", "\0": "\\0", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z"})


class DumpError(UserError):
    """A value the target engine cannot store, or an unknown dialect."""


Formatter = Callable[[Any], str]


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if "\0" in text:
        raise DumpError("PostgreSQL cannot store text containing a NUL character")
    return text.translate(_COPY_ESCAPES)


def _mysql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):  # booleans too: 1/0
        return str(int(value))
    return "'" + str(value).translate(_MYSQL_ESCAPES) + "'"


def _sqlite_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(int(value))
    text = str(value)
    if "\0" in text:
        raise DumpError("A SQLite script cannot hold text containing a NUL character")
    quoted = "'" + text.replace("'", "''") + "'"
    # The sqlite3 shell reads its input line by line and drops a CR before each LF, even inside a
    # string literal: carriage returns are spliced in with char(13).
    return quoted.replace("\r", "' || char(13) || '") if "\r" in text else quoted


_LITERAL: dict[Dialect, Formatter] = {"pgsql": _copy_value, "mysql": _mysql_literal, "sqlite": _sqlite_literal}


class _Script:
    """Buffered UTF-8 output."""

    def __init__(self, out: BinaryWriter) -> None:
        self.out = out
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= 1 << 18:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.out.write("".join(self.parts).encode("utf-8"))
            self.parts.clear()
            self.size = 0


def dump(
    db: Database,
    out: BinaryWriter,
    dialect: Dialect | None = None,
    *,
    schema: bool = True,
    data: bool = True,
    progress: Progress | None = None,
) -> TransferReport:
    """Write the script for `dialect` (default: the database's own) from one snapshot of `db`."""
    dialect = dialect or db.dialect
    if dialect not in _LITERAL:
        raise DumpError(f"Unknown dialect '{dialect}' (use mysql, pgsql or sqlite)")
    return _Dumper(db, _Script(out), dialect, progress).run(schema, data)


class _Dumper:
    def __init__(self, db: Database, script: _Script, dialect: Dialect, progress: Progress | None) -> None:
        self.db = db
        self.script = script
        self.dialect = dialect
        self.progress = progress
        self.prefix = db.prefix
        self.report = TransferReport(db.settings.describe(), f"{_ENGINES[dialect]} SQL script")
        self.max_ids: dict[str, int] = {}

    def run(self, schema: bool, data: bool) -> TransferReport:
        started = time.monotonic()
        w = self.script.write
        what = "schema and data" if schema and data else "schema" if schema else "data"
        w(f"-- Passwords app {what} for {_ENGINES[self.dialect]}, written by ncpasswords {__version__}.\n")
        w(f"-- Load it with: {_LOAD_WITH[self.dialect]}\n")
        w(self._preamble())
        if schema:
            self._schema()
        if self.dialect == "mysql":  # after the DDL, which MySQL commits on its own
            w("START TRANSACTION;\n")
        with self.db.transaction(snapshot=True):
            for table in transfer_tables(self.db):
                if schema if table.name == "migrations" else data:  # migration rows go with the schema
                    self._table(table)
        if data:
            self._sequences()
        w("COMMIT;\n")
        self.script.flush()
        self.report.seconds = time.monotonic() - started
        return self.report

    def _preamble(self) -> str:
        if self.dialect == "pgsql":
            return (
                "\\set ON_ERROR_STOP on\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nBEGIN;\n"
            )
        if self.dialect == "mysql":
            return (
                "SET NAMES utf8mb4;\n"
                "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';\n"
            )
        return ".bail on\nBEGIN;\n"

    def _schema(self) -> None:
        """Core tables where missing, then every migration of the app, in the target dialect."""
        core = substitute(migrator.core_schema(self.dialect), self.prefix, True)
        statements = split_statements(core)
        for version in migrator.available_versions():
            statements += migrator.migration_statements(version, self.dialect, self.prefix, True)
        self.script.write("".join(f"{s};\n" for s in statements))

    def _table(self, table: TransferTable) -> None:
        name = f"{self.prefix}{table.name}"
        checksum = Checksum()
        started = time.monotonic()
        if table.app_rows_only:
            column = quote_ident(self.dialect, APP_COLUMN[table.name])
            app = _sqlite_literal(APP_ID)  # a plain SQL string literal, the same in all three dialects
            self.script.write(f"DELETE FROM {name} WHERE {column} = {app};\n")
        columns = ", ".join(quote_ident(self.dialect, c) for c in table.columns)
        try:
            with contextlib.closing(table.rows(self.db)) as rows:  # the cursor is closed on errors too
                if self.dialect == "pgsql":
                    self._copy(name, columns, rows, table, checksum)
                else:
                    self._inserts(name, columns, rows, table, checksum)
        except DumpError as exc:
            raise DumpError(f"Cannot dump {name}: {exc}") from None
        self.report.tables[table.name] = TableReport(checksum.rows, checksum.hex, time.monotonic() - started)

    def _tick(self, table: TransferTable, checksum: Checksum, row: tuple[Any, ...]) -> None:
        checksum.add(row, table)
        if table.has_id:
            self.max_ids[table.name] = row[0]  # rows arrive ordered by id
        if self.progress and checksum.rows % 1000 == 0:
            self.progress("dump", table.name, checksum.rows)

    def _copy(self, name: str, columns: str, rows: Any, table: TransferTable, checksum: Checksum) -> None:
        w = self.script.write
        w(f"COPY {name} ({columns}) FROM stdin;\n")
        for row in rows:
            w("\t".join([_copy_value(v) for v in row]) + "\n")
            self._tick(table, checksum, row)
        w("\\.\n")

    def _inserts(self, name: str, columns: str, rows: Any, table: TransferTable, checksum: Checksum) -> None:
        literal = _LITERAL[self.dialect]
        head = f"INSERT INTO {name} ({columns}) VALUES\n"
        batch: list[str] = []
        size = 0
        for row in rows:
            values = "(" + ",".join([literal(v) for v in row]) + ")"
            if batch and size + len(values) > STATEMENT_BYTES:
                self.script.write(head + ",\n".join(batch) + ";\n")
                batch, size = [], 0
            batch.append(values)
            size += len(values) + 2
            self._tick(table, checksum, row)
        if batch:
            self.script.write(head + ",\n".join(batch) + ";\n")

    def _sequences(self) -> None:
        """PostgreSQL: id sequences past the highest id (MySQL and SQLite follow explicit ids)."""
        if self.dialect != "pgsql":
            return
        for table, max_id in self.max_ids.items():
            self.script.write(
                f"SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence("
                f"'{self.prefix}{table}', 'id'), {int(max_id)});\n"
            )
