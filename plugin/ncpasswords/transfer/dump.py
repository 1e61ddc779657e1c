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
from collections.abc import Iterator

from .. import __version__
from ..db import backends, migrator
from ..db.backends.base import Backend
from ..db.connection import Database
from ..db.dialects import split_statements, substitute
from ..db.errors import UnstorableValueError
from ..db.migrator import APP_ID
from ..errors import UserError
from ..php.json import BinaryWriter
from .checksum import Checksum
from .report import Progress, TableReport, TransferReport
from .tables import APP_COLUMN, Row, TransferTable, transfer_tables


class DumpError(UserError):
    """A value the target engine cannot store, or an unknown dialect."""


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
    dialect: str | None = None,
    *,
    schema: bool = True,
    data: bool = True,
    progress: Progress | None = None,
) -> TransferReport:
    """Write the script for the engine `dialect` (default: the database's own) from one snapshot of `db`."""
    try:
        backend = backends.get(dialect) if dialect is not None else db.backend
    except KeyError:
        raise DumpError(f"Unknown dialect '{dialect}' (use mysql, pgsql or sqlite)") from None
    return _Dumper(db, _Script(out), backend, progress).run(schema, data)


class _Dumper:
    def __init__(self, db: Database, script: _Script, backend: Backend, progress: Progress | None) -> None:
        self.db = db
        self.script = script
        self.backend = backend
        self.progress = progress
        self.prefix = db.prefix
        self.report = TransferReport(db.settings.describe(), f"{backend.display_name} SQL script")
        self.max_ids: dict[str, int] = {}

    def run(self, schema: bool, data: bool) -> TransferReport:
        started = time.monotonic()
        w = self.script.write
        what = "schema and data" if schema and data else "schema" if schema else "data"
        w(f"-- Passwords app {what} for {self.backend.display_name}, written by ncpasswords {__version__}.\n")
        w(f"-- Load it with: {self.backend.client_command}\n")
        w(self.backend.script_preamble())
        if schema:
            self._schema()
        w(self.backend.script_begin_rows())
        with self.db.transaction(snapshot=True):
            for table in transfer_tables(self.db):
                if schema if table.name == "migrations" else data:  # migration rows go with the schema
                    self._table(table)
        if data:
            w(self.backend.script_sequences(self.prefix, self.max_ids))
        w("COMMIT;\n")
        self.script.flush()
        self.report.seconds = time.monotonic() - started
        return self.report

    def _schema(self) -> None:
        """Core tables where missing, then every migration of the app, in the target dialect."""
        engine = self.backend.name
        statements = split_statements(substitute(migrator.core_schema(engine), self.prefix, True))
        for version in migrator.available_versions():
            statements += migrator.migration_statements(version, engine, self.prefix, True)
        self.script.write("".join(f"{s};\n" for s in statements))

    def _table(self, table: TransferTable) -> None:
        name = f"{self.prefix}{table.name}"
        checksum = Checksum()
        started = time.monotonic()
        quote = self.backend.quote
        if table.app_rows_only:
            app = "'" + APP_ID.replace("'", "''") + "'"  # a plain SQL string literal, the same in every dialect
            self.script.write(f"DELETE FROM {name} WHERE {quote(APP_COLUMN[table.name])} = {app};\n")
        columns = ", ".join(quote(c) for c in table.columns)
        try:
            with contextlib.closing(table.rows(self.db)) as rows:  # the cursor is closed on errors too
                for text in self.backend.script_rows(name, columns, self._ticked(rows, table, checksum)):
                    self.script.write(text)
        except UnstorableValueError as exc:
            raise DumpError(f"Cannot dump {name}: {exc}") from None
        self.report.tables[table.name] = TableReport(checksum.rows, checksum.hex, time.monotonic() - started)

    def _ticked(self, rows: Iterator[Row], table: TransferTable, checksum: Checksum) -> Iterator[Row]:
        """The rows, each added to the checksum (and its id noted) as the script takes it."""
        for row in rows:
            checksum.add(row, table)
            if table.has_id:
                self.max_ids[table.name] = row[0]  # rows arrive ordered by id
            if self.progress and checksum.rows % 1000 == 0:
                self.progress("dump", table.name, checksum.rows)
            yield row
