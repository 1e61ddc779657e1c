"""PostgreSQL through psycopg 3: COPY for bulk paths, binary COPY for canonical tuples, advisory
locks, transactional DDL."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import re
import struct
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..bulk import column_types
from ..errors import ConnectionLostError, DatabaseError, DuplicateKeyError, LockTimeoutError, UnstorableValueError
from ..introspect import ColumnInfo, IndexInfo, TableInfo, normalise_default
from ..portable import LOSES_INDEX_LENGTHS, LOSES_NAME_CASE, LOSES_TEXT_LENGTH, LOSES_UNSIGNED
from ..portable import Table as PortableTable
from . import pgsql_schema
from .base import TUPLE_HEADER, TUPLE_TRAILER, Backend, EncodedRows, Release, Row, RowEncoder, TupleFormatError

if TYPE_CHECKING:
    from ..connection import ConnectionSettings, Database

_cursor_ids = itertools.count(1)

# SQLSTATEs: class 08 (connection exception), 57P01-57P03 (administrator or crash shutdown,
# cannot connect now), 55P03 (lock not available: lock_timeout), 23505 (unique violation).
_SHUTDOWN = frozenset({"57P01", "57P02", "57P03"})
# Column types whose binary COPY format psycopg writes from the values of an insert tuple (int,
# str, bool, None): the types of the app's tables.
_BINARY_TYPES = frozenset({"int2", "int4", "int8", "text", "varchar", "bool"})


class PostgreSQLBackend(Backend):
    name = "pgsql"
    dbtype = "pgsql"
    display_name = "PostgreSQL"
    sqlglot_name = "postgres"
    sqlglot_read = "postgres"
    client_command = "psql -f FILE"
    native_booleans = True
    stream_needs_transaction = True

    # -- connections ---------------------------------------------------------------------------
    def connect(self, settings: ConnectionSettings, create: bool) -> Any:
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
        raw = psycopg.connect(**kwargs)
        # JSON as the text stored, not parsed: copied and checksummed as it is (db:convert-type).
        for name in ("json", "jsonb"):
            raw.adapters.register_loader(name, psycopg.types.string.TextLoader)
        return raw

    # -- SQL text ------------------------------------------------------------------------------
    def native_params(self, sql: str) -> str:
        return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)

    def list_param(self, values: Sequence[int | str]) -> Any:
        return list(values)

    # -- sessions and locks --------------------------------------------------------------------
    def begin(self, snapshot: bool, write_lock: bool) -> list[str]:
        return ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if snapshot else "BEGIN"]

    def replica_caught_up(self, primary: Database, replica: Database, timeout: float) -> bool:
        """A streaming standby (in recovery) that has replayed the primary's WAL up to the
        primary's position now."""
        if replica.scalar_sql("SELECT pg_is_in_recovery()") is not True:
            return False
        target = str(primary.scalar_sql("SELECT pg_current_wal_insert_lsn()"))
        deadline = time.monotonic() + timeout
        while replica.scalar_sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)) is not True:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def try_lock(self, db: Database, name: str) -> Release | None:
        """A session-level advisory lock keyed by a hash of the scoped name."""
        digest = hashlib.sha256(self.scoped_lock_name(db, name).encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        if db.scalar_sql("SELECT pg_try_advisory_lock(%s)", (key,)) is not True:
            return None

        def release() -> None:
            with contextlib.suppress(Exception):  # the connection may already be gone
                db.execute_sql("SELECT pg_advisory_unlock(%s)", (key,)).close()

        return release

    # -- errors --------------------------------------------------------------------------------
    def classify(self, exc: BaseException) -> DatabaseError | None:
        if not type(exc).__module__.startswith("psycopg"):
            return None
        import psycopg

        state = getattr(exc, "sqlstate", None)
        if isinstance(exc, psycopg.InterfaceError):  # used after the connection closed
            return ConnectionLostError(str(exc))
        if isinstance(exc, psycopg.OperationalError) and (state is None or state[:2] == "08" or state in _SHUTDOWN):
            return ConnectionLostError(str(exc))
        if state == "23505":
            return DuplicateKeyError(str(exc))
        if state == "55P03":
            return LockTimeoutError(str(exc))
        return None

    def error_detail(self, exc: BaseException) -> str | None:
        """PostgreSQL's context of a failed COPY quotes the refused value, which may be a
        password: only the row and column are kept."""
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None)
        if not primary:
            return None
        text = " ".join(str(primary).split())
        where = re.match(r"COPY \S+, line (\d+)(?:, column (\w+))?", str(getattr(diag, "context", None) or ""))
        if where:
            text += f" (row {where[1]} of the table" + (f", column {where[2]})" if where[2] else ")")
        return text

    # -- reading -------------------------------------------------------------------------------
    def stream_cursor(self, db: Database, batch: int) -> Any:
        cur = db.raw.cursor(name=f"ncp_stream_{next(_cursor_ids)}")
        cur.itersize = batch
        return cur

    def tuple_chunks(
        self,
        db: Database,
        table: str,
        fragments: tuple[tuple[str, str], ...],
        params: Any,
        kinds: Sequence[tuple[str, str]],
        batch: int,
    ) -> Generator[list[bytes], None, None]:
        """`COPY … TO STDOUT (FORMAT binary)` with each column cast to its canonical type.

        PostgreSQL sends one row per COPY message, the header in front of the first one and the
        trailer on its own; each tuple's field count is checked."""
        casts = ", ".join(f'"{column}"::{kind}' for column, kind in kinds)
        sql = db.sql("transfer.tuples", (*fragments, ("CAST_COLUMNS", casts)))
        fields = len(kinds).to_bytes(2, "big")
        chunk: list[bytes] = []
        first = True
        ended = False
        with db.errors(), db.raw.cursor() as cur, cur.copy(sql, params) as copy:
            for data in copy:
                message = bytes(data)
                if first:
                    if not message.startswith(TUPLE_HEADER):
                        raise TupleFormatError("binary COPY output without its header")
                    message = message[len(TUPLE_HEADER) :]
                    first = False
                    if not message:
                        continue
                if ended:
                    raise TupleFormatError("binary COPY output after its trailer")
                if message == TUPLE_TRAILER:
                    ended = True  # read on to the end of the COPY: leaving early would cancel it
                    continue
                if message[:2] != fields:
                    raise TupleFormatError("binary COPY output not framed as one row per message")
                chunk.append(message)
                if len(chunk) >= batch:
                    yield chunk
                    chunk = []
        if not ended:
            raise TupleFormatError("binary COPY output without its trailer")
        if chunk:
            yield chunk

    # -- bulk writing --------------------------------------------------------------------------
    def insert_rows(
        self, db: Database, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], batch: int
    ) -> int:
        """COPY, the driver converting each value."""
        count = 0
        with db.raw.cursor() as cur, cur.copy(self._copy_statement(db, table, columns)) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def encode_rows(self, db: Database, table: str, columns: Sequence[str], rows: list[Row]) -> EncodedRows:
        """The rows as they are, for binary COPY (`write_encoded`), where the connection's encoding
        is UTF-8 (always, as `connect` sets it): psycopg formats them in C while it sends them, at a
        third of the cost of COPY text built in Python, and the server parses binary values faster
        than text."""
        if not _is_utf8(db.raw.info.encoding):
            return super().encode_rows(db, table, columns, rows)
        statement = self._copy_statement(db, table, columns) + " (FORMAT binary)"
        return EncodedRows(statement, len(rows), None, rows, table=table, columns=columns)

    def row_encoder(self, db: Database, table: str, columns: Sequence[str]) -> RowEncoder | None:
        """Binary COPY tuples, made by psycopg's row formatter (as `write_encoded` has it make them
        while sending), where the table has the app's column types and the connection UTF-8."""
        types = _binary_types(db, table, columns)
        if types is None or not _is_utf8(db.raw.info.encoding):
            return None
        try:
            from psycopg._copy_base import format_row_binary

            encoder = _BinaryTuples(
                self._copy_statement(db, table, columns) + " (FORMAT binary)", types, format_row_binary, table, columns
            )
            # A row of NULLs is its field count and a length of -1 per field: a psycopg whose
            # formatter works otherwise is not used.
            if encoder.encode([(None,) * len(columns)]) != struct.pack("!h", len(columns)) + b"\xff" * 4 * len(columns):
                return None
        except Exception:  # another psycopg: rows go through write_encoded
            return None
        return encoder

    def write_encoded(self, db: Database, encoded: EncodedRows) -> int:
        if encoded.stream is not None:
            with db.raw.cursor() as cur, cur.copy(encoded.statement) as copy:
                copy.write(TUPLE_HEADER)
                for chunk in encoded.stream:
                    copy.write(chunk)
                copy.write(TUPLE_TRAILER)
            return encoded.count
        if encoded.payload is not None or encoded.rows is None or not encoded.table:
            return super().write_encoded(db, encoded)
        types = _binary_types(db, encoded.table, encoded.columns)
        if types is None:  # not the app's schema: COPY text
            return self._write_text(db, encoded.table, encoded.columns, encoded.rows)
        with db.raw.cursor() as cur, cur.copy(encoded.statement) as copy:
            copy.set_types(types)
            for row in encoded.rows:
                copy.write_row(row)
        return encoded.count

    def _write_text(self, db: Database, table: str, columns: Sequence[str], rows: list[Row]) -> int:
        # Rows are encoded one by one: a batch joined as text would take 4 bytes per character
        # as soon as one character lies outside the BMP.
        try:
            data = b"".join([copy_line(row).encode() for row in rows])
        except UnicodeEncodeError:
            raise UnstorableValueError(f"{db.table(table)}: a value is not valid Unicode") from None
        if b"\x00" in data:
            raise UnstorableValueError(f"{db.table(table)}: PostgreSQL cannot store text containing a NUL character")
        with db.raw.cursor() as cur, cur.copy(self._copy_statement(db, table, columns)) as copy:
            copy.write(data)
        return len(rows)

    def copy_binary(
        self,
        db: Database,
        table: str,
        columns: Sequence[str],
        header: bytes,
        chunks: Iterable[list[bytes]],
        trailer: bytes,
    ) -> int:
        count = 0
        statement = self._copy_statement(db, table, columns) + " (FORMAT binary)"
        with db.raw.cursor() as cur, cur.copy(statement) as copy:
            copy.write(header)
            for chunk in chunks:
                copy.write(b"".join(chunk))
                count += len(chunk)
            copy.write(trailer)
        return count

    def takes_tuples(self, db: Database, table: str, kinds: Sequence[tuple[str, str]]) -> bool:
        """Exactly the canonical column types (a core table of another Nextcloud version may
        differ; it is copied row by row then)."""
        actual = column_types(db, table)
        return all(
            actual.get(column) == kind or (kind == "text" and actual.get(column) == "varchar") for column, kind in kinds
        )

    def _copy_statement(self, db: Database, table: str, columns: Sequence[str]) -> str:
        return f"COPY {db.table(table)} ({', '.join(self.quote(c) for c in columns)}) FROM STDIN"

    # -- bulk loads ----------------------------------------------------------------------------
    def prepare_load(
        self, db: Database, tables: Sequence[str], *, replace_all: bool, new_tables: bool = False
    ) -> list[str]:
        """Values stored out of line compressed with LZ4 (where the server has it) for the rest of
        the transaction; on new tables, secondary indexes dropped to be built after the rows (on
        existing ones that would lock out readers until COMMIT)."""
        if int(db.scalar("bulk.lz4_available")):
            db.execute("bulk.use_lz4").close()
        return self.drop_secondary_indexes(db, tables) if new_tables else []

    def analyze(self, db: Database, tables: Sequence[str]) -> None:
        """ANALYZE right in the load's transaction, from a small sample (sql/bulk.pgsql.sql): the
        statistics commit or roll back with the rows, ANALYZE counts the rows its own transaction
        wrote, and autovacuum refines them after the COMMIT."""
        db.execute("bulk.sample_for_analyze").close()
        for table in tables:
            db.execute_sql(db.sql("bulk.analyze", (("TABLE", table),))).close()

    def reset_sequence(self, db: Database, table: str) -> None:
        params = {"table": db.table(table)}
        db.execute_sql(db.sql("transfer.reset_sequence", (("TABLE", table),)), params).close()

    # -- introspection -------------------------------------------------------------------------
    def describe(self, db: Database, pattern: str, table: Callable[[str], TableInfo]) -> None:
        params = {"pattern": pattern}
        for tname, cname, _, dtype, length, nullable, default in db.rows("introspect.columns", params):
            auto = isinstance(default, str) and default.startswith("nextval(")
            kind = f"{dtype}({length})" if length else str(dtype)
            table(tname).columns.append(
                ColumnInfo(cname, kind, nullable == "YES", None if auto else normalise_default(default), auto)
            )
        for tname, iname, unique, primary, cols in db.rows("introspect.indexes", params):
            name = "PRIMARY" if primary else str(iname)
            table(tname).indexes.append(IndexInfo(name, tuple(cols.split(",")), bool(unique), bool(primary)))
        for (seq,) in db.rows("introspect.sequences", params):
            table(str(seq).removesuffix("_id_seq")).options["sequence"] = str(seq)

    # -- the portable schema (pgsql_schema.py) ---------------------------------------------
    skipped_indexes = frozenset({("filecache", "fs_storage_path_prefix"), ("text_steps", "text_steps_doc_id_id_index")})
    folds_names = True
    valid_dates_only = True
    schema_loses = frozenset({LOSES_UNSIGNED, LOSES_TEXT_LENGTH, LOSES_INDEX_LENGTHS, LOSES_NAME_CASE})

    def read_schema(self, db: Database, pattern: str, prefix: str) -> dict[str, PortableTable]:
        return pgsql_schema.read(db, pattern, prefix)

    def create_table_statements(self, db: Database, table: PortableTable) -> list[str]:
        return pgsql_schema.create_statements(db, table)

    def reset_autoincrement(self, db: Database, table: PortableTable) -> None:
        pgsql_schema.reset_sequence(db, table)

    # -- SQL scripts ---------------------------------------------------------------------------
    def script_preamble(self) -> str:
        return "\\set ON_ERROR_STOP on\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nBEGIN;\n"

    def script_rows(self, table: str, columns: str, rows: Iterable[Row]) -> Iterator[str]:
        yield f"COPY {table} ({columns}) FROM stdin;\n"
        for row in rows:
            line = copy_line(row)
            if "\x00" in line:
                raise UnstorableValueError("PostgreSQL cannot store text containing a NUL character")
            yield line
        yield "\\.\n"

    def script_sequences(self, prefix: str, max_ids: Mapping[str, int]) -> str:
        return "".join(
            f"SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('{prefix}{table}', 'id'), {int(max_id)});\n"
            for table, max_id in max_ids.items()
        )


class _BinaryTuples(RowEncoder):
    """Rows as binary COPY tuples (no stream header or trailer), by psycopg's own row formatter
    with a transformer of its global adapters: the bytes `Copy.write_row` sends for them."""

    def __init__(
        self, statement: str, types: list[str], format_row: Callable[..., Any], table: str, columns: Sequence[str]
    ) -> None:
        self._statement = statement
        self._types = types
        self._format_row = format_row
        self._table = table
        self._columns = columns
        self._transformer: Any = None

    def encode(self, rows: list[Row]) -> bytes:
        if self._transformer is None:
            from psycopg.adapt import Transformer
            from psycopg.pq import Format

            transformer = Transformer()
            oids = [transformer.adapters.types.get_oid(name) for name in self._types]
            transformer.set_dumper_types(oids, Format.BINARY)
            self._transformer = transformer
        out = bytearray()
        for row in rows:
            self._format_row(row, self._transformer, out)
        return bytes(out)

    def batch(self, count: int, chunks: list[bytes]) -> EncodedRows:
        return EncodedRows(self._statement, count, None, stream=chunks, table=self._table, columns=self._columns)


def _binary_types(db: Database, table: str, columns: Sequence[str]) -> list[str] | None:
    """The columns' type names where psycopg writes their binary COPY format from insert tuples
    (the app's schema), else None."""
    actual = column_types(db, table)
    types = [actual.get(column, "") for column in columns]
    return types if _BINARY_TYPES.issuperset(types) else None


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8mb4")


# COPY text format: backslash, newline, carriage return and tab are escaped; NULL is \N.
_COPY_ESCAPES = {ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def copy_line(row: Sequence[Any]) -> str:
    """One row as a line of COPY's text format (NUL characters are left for the caller to refuse)."""
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
        elif kind is bytes:
            out.append("\\\\x" + value.hex())
        else:
            out.append(str(value).translate(_COPY_ESCAPES))
    return "\t".join(out) + "\n"


BACKEND = PostgreSQLBackend()
