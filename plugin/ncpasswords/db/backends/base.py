"""What a backend names: everything one database engine does its own way (docs/internals/backends.md).

A backend is one stateless object per engine (`db/backends/<engine>.py`), asked by `Database` and
by the callers that need an engine's own behaviour; nothing outside `db/backends/` compares engine
names. The methods here are the ones the engines share or that only some engines have.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import DatabaseError

if TYPE_CHECKING:
    from sqlglot import exp

    from ..connection import ConnectionSettings, Database
    from ..introspect import TableInfo
    from ..portable import Table as PortableTable

Row = tuple[Any, ...]


@dataclass
class EncodedRows:
    """A batch of rows ready for `Database.insert_many`: the statement (COPY, an INSERT head, or
    an INSERT with parameter marks) and either the encoded payload, the plain rows (for
    executemany, or for the driver to format while it sends them), statements with their
    parameters, each run once, or the bytes a `RowEncoder` made, sent through the statement as
    they are (`stream`). `table` and `columns` are those the batch was made for."""

    statement: str
    count: int
    payload: list[bytes] | None
    rows: list[Row] | None = None
    statements: list[tuple[str, list[Any]]] | None = None
    table: str = ""
    columns: Sequence[str] = ()
    stream: list[bytes] | None = None


class RowEncoder:
    """Encodes insert tuples for one table's bulk path without a connection, so that it may run in
    another process (a restore's reading process, see `Backend.row_encoder`); `batch` turns what
    it made back into a batch for `Database.insert_many`."""

    def encode(self, rows: list[Row]) -> bytes:
        """The rows as bytes the bulk statement takes as they are."""
        raise NotImplementedError

    def batch(self, count: int, chunks: list[bytes]) -> EncodedRows:
        """A batch of `count` rows from the bytes `encode` made of them."""
        raise NotImplementedError


@dataclass(frozen=True)
class RowLimit:
    """The most bytes one row may take on its way to the server, and the setting that says so."""

    bytes: int
    setting: str


Release = Callable[[], None]


# The stream of canonical binary tuples (transfer/tuples.py: PostgreSQL's binary COPY format):
# signature, flags (none) and header extension length (0); the trailer is a field count of -1.
TUPLE_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
TUPLE_TRAILER = b"\xff\xff"


class TupleFormatError(ValueError):
    """An engine handed out something that is not a canonical tuple (transfer/tuples.py)."""


class Backend:
    """One database engine. Subclasses set the names and flags and override what differs."""

    name: ClassVar[str]
    """The engine's name in this project: `sql/<family>.<name>.sql`, `migrations/<v>.<name>.sql`,
    `passwords:db:dump --dialect`, `Database.dialect`."""
    dbtype: ClassVar[str]
    """config.php's `dbtype` for this engine, as Nextcloud's installer writes it."""
    dbtype_aliases: ClassVar[tuple[str, ...]] = ()
    """Other `dbtype` values Nextcloud accepts for it."""
    display_name: ClassVar[str]
    """How messages name the engine."""
    sqlglot_name: ClassVar[str]
    sqlglot_read: ClassVar[str] = "canonical"
    """The sqlglot dialect canonical SQL is read as before it is written in `sqlglot_name`
    (`canonical`: `translation.Canonical`)."""
    client_command: ClassVar[str]
    """How the engine's own client loads a SQL script (`passwords:db:dump`)."""
    param_mark: ClassVar[str] = "%s"
    """The driver's positional parameter mark."""

    # -- features ------------------------------------------------------------------------------
    embedded: ClassVar[bool] = False
    """A file below the data directory: no server, no host, no login."""
    transactional_ddl: ClassVar[bool] = True
    """CREATE/DROP/RENAME run inside a transaction and roll back with it."""
    native_booleans: ClassVar[bool] = False
    """The driver hands out boolean columns as bool (otherwise as 0/1)."""
    background_writes: ClassVar[bool] = True
    """A load's batches may be written by a background thread beside the parsing of the next ones
    (the server does the work in its own process)."""
    stream_needs_transaction: ClassVar[bool] = False
    """Server-side cursors live in a transaction."""
    config_values: ClassVar[Mapping[str, Any]] = {}
    """config.php keys Nextcloud's installer writes for this engine (besides the db* keys)."""

    # -- connections ---------------------------------------------------------------------------
    def connect(self, settings: ConnectionSettings, create: bool) -> Any:
        """The driver's connection in autocommit mode, its session set up."""
        raise NotImplementedError

    def location(self, settings: ConnectionSettings) -> str:
        """Where the database is, without secrets."""
        where = settings.socket or (f"{settings.host}:{settings.port}" if settings.port else settings.host)
        return f"{self.display_name} database '{settings.dbname}' on {where}"

    def database_file(self, data_dir: Path, dbname: str) -> Path | None:
        """The database's file for an embedded engine (None for servers)."""
        return None

    # -- SQL text ------------------------------------------------------------------------------
    def quote(self, identifier: str) -> str:
        """Quote an identifier (needed for the reserved column `limit`)."""
        return '"' + identifier.replace('"', '""') + '"'

    def native_params(self, sql: str) -> str:
        """A hand-written query of this engine with `:name` parameters, in the driver's style."""
        return sql

    def fill_fragment(self, value: str) -> str:
        """A query fragment with canonically quoted identifiers ("x"), for a hand-written query."""
        return value

    def rewrite(self, node: exp.Expression) -> exp.Expression:
        """One node of a canonical statement's tree as this engine needs it (`translation.translate`).

        `exact(x)` marks a value that a text column must equal byte for byte; engines that
        compare text exactly already get `x` as it is.
        """
        from ..translation import is_exact_marker

        if is_exact_marker(node):
            value: exp.Expression = node.expressions[0].transform(self.rewrite)
            return value
        return node

    def list_param(self, values: Sequence[int | str]) -> Any:
        """A non-empty list of integers or strings as one list parameter (see `Database.list_param`)."""
        raise NotImplementedError

    # -- sessions and transactions -------------------------------------------------------------
    def begin(self, snapshot: bool, write_lock: bool) -> list[str]:
        """The statements that open a transaction: a read-only snapshot, or one that takes the
        write lock at once where the engine has one lock for the whole database."""
        return ["BEGIN"]

    def try_lock(self, db: Database, name: str) -> Release | None:
        """Take the named lock shared by every process on this database without waiting: its
        release, or None while another process holds it. The lock dies with the process."""
        raise NotImplementedError

    def replica_caught_up(self, primary: Database, replica: Database, timeout: float) -> bool:
        """Wait up to `timeout` seconds until `replica` (a read-only copy of `primary`) has applied
        everything `primary` had committed when this was called; False when it has not, or when it
        cannot tell (then the replica is not read)."""
        return False

    def multi_primary(self, db: Database) -> bool:
        """Whether the database is a cluster in which every node takes writes (Galera): named
        locks of the server hold on one node only, and a commit may lose against another node's."""
        return False

    def large_writes(self, db: Database) -> contextlib.AbstractContextManager[None]:
        """Around a large transaction (`Database.large_writes`): nothing, except where the engine
        replicates a transaction whole at COMMIT."""
        return contextlib.nullcontext()

    def scoped_lock_name(self, db: Database, name: str) -> str:
        """A lock's name unique to the database and table prefix (for the servers' named locks)."""
        return f"ncpasswords:{db.settings.dbname}:{db.prefix}:{name}"

    def row_limit(self, db: Database) -> RowLimit | None:
        """The size limit a single INSERT of one row meets before any value limit (None: only the
        engine's limit of about 1 GB per value, beyond what a backup can hold)."""
        return None

    # -- errors --------------------------------------------------------------------------------
    def classify(self, exc: BaseException) -> DatabaseError | None:
        """The project's exception for an error of this engine's driver (None: not one of ours)."""
        return None

    def error_detail(self, exc: BaseException) -> str | None:
        """The driver error on one line, without the values it may quote (None: not this driver's)."""
        return None

    # -- reading -------------------------------------------------------------------------------
    def stream_cursor(self, db: Database, batch: int) -> Any:
        """A cursor that hands out rows as they come (memory stays flat)."""
        return db.raw.cursor()

    def tuple_chunks(
        self,
        db: Database,
        table: str,
        fragments: tuple[tuple[str, str], ...],
        params: Any,
        kinds: Sequence[tuple[str, str]],
        batch: int,
    ) -> Generator[list[bytes], None, None] | None:
        """The rows of a table (`transfer.tuples` query fragments) as canonical binary tuples
        (transfer/tuples.py) rendered by the engine, in lists of up to `batch`; None when the
        engine cannot render them (they are encoded in Python then). `kinds` pairs each column
        with its canonical type."""
        return None

    # -- bulk writing --------------------------------------------------------------------------
    def insert_statement(self, db: Database, table: str, columns: Sequence[str]) -> str:
        """`INSERT INTO … VALUES (marks)` for executemany (table unprefixed)."""
        cols = ", ".join(self.quote(c) for c in columns)
        return f"INSERT INTO {db.table(table)} ({cols}) VALUES ({', '.join([self.param_mark] * len(columns))})"

    def insert_rows(
        self, db: Database, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], batch: int
    ) -> int:
        """Bulk insert plain rows (see `Database.insert_many`): executemany, `batch` rows a call."""
        sql = self.insert_statement(db, table, columns)
        count = 0
        cur = db.raw.cursor()
        try:
            iterator = iter(rows)
            while chunk := list(itertools.islice(iterator, batch)):
                cur.executemany(sql, chunk)
                count += len(chunk)
        finally:
            cur.close()
        return count

    def encode_rows(self, db: Database, table: str, columns: Sequence[str], rows: list[Row]) -> EncodedRows:
        """Rows of int, str, bool and None values (each of its column's type) in the form the
        bulk path sends (see `Database.encode_rows`)."""
        return EncodedRows(self.insert_statement(db, table, columns), len(rows), None, rows)

    def row_encoder(self, db: Database, table: str, columns: Sequence[str]) -> RowEncoder | None:
        """An encoder of the table's insert tuples that needs no connection, where the engine's
        bulk path takes bytes made ahead (None: rows are encoded by `encode_rows`)."""
        return None

    def write_encoded(self, db: Database, encoded: EncodedRows) -> int:
        """Send a batch made by `encode_rows` (or a `RowEncoder`)."""
        cur = db.raw.cursor()
        try:
            if encoded.statements is not None:
                for sql, params in encoded.statements:
                    cur.execute(sql, params)
            elif encoded.payload is None:
                cur.executemany(encoded.statement, encoded.rows or [])
            else:
                for statement in encoded.payload:
                    cur.execute(statement)
        finally:
            cur.close()
        return encoded.count

    def copy_binary(
        self,
        db: Database,
        table: str,
        columns: Sequence[str],
        header: bytes,
        chunks: Iterable[list[bytes]],
        trailer: bytes,
    ) -> int:
        """Load canonical binary tuples (see `Database.copy_binary`)."""
        raise NotImplementedError(f"{self.display_name} takes no binary tuples")

    def takes_tuples(self, db: Database, table: str, kinds: Sequence[tuple[str, str]]) -> bool:
        """Whether `copy_binary` takes the table's canonical tuples as they are."""
        return False

    # -- bulk loads (db/bulk.py) ---------------------------------------------------------------
    def prepare_load(
        self, db: Database, tables: Sequence[str], *, replace_all: bool, new_tables: bool = False
    ) -> list[str]:
        """Inside a load's transaction, before the rows of `tables` (unprefixed): make the load
        cheaper (see `bulk.prepare`). Returns the definitions of indexes dropped."""
        return []

    def drop_secondary_indexes(self, db: Database, tables: Sequence[str]) -> list[str]:
        """Drop the indexes of `tables` (unprefixed) that back no constraint, inside the load's
        transaction; returns their definitions, to be built again after the rows
        (`bulk.create_indexes`). The engine's `bulk.secondary_indexes` query names them."""
        definitions: list[str] = []
        for table in tables:
            for name, definition in db.rows("bulk.secondary_indexes", {"table": db.table(table)}):
                db.execute_sql(f"DROP INDEX {name}").close()  # a name quoted by the engine itself
                definitions.append(str(definition))
        return definitions

    def load_session(self, db: Database) -> None:
        """Before a big load into a new database, outside any transaction (`db:convert-type`)."""

    def after_load(self, db: Database) -> None:
        """Tidying up after a big load has committed (`db:convert-type`)."""

    def analyze(self, db: Database, tables: Sequence[str]) -> None:
        """Refresh the planner statistics of tables a load has just filled (inside its
        transaction, after the rows)."""

    def reset_sequence(self, db: Database, table: str) -> None:
        """Move a table's id sequence past its highest id, where ids come from a sequence."""

    # -- introspection -------------------------------------------------------------------------
    def describe(self, db: Database, pattern: str, table: Callable[[str], TableInfo]) -> None:
        """Fill in the columns, indexes and options of the tables whose names match the LIKE
        `pattern`; `table(physical_name)` gives each table's record."""
        raise NotImplementedError

    # -- the portable schema (db/portable.py) --------------------------------------------------
    schema_loses: ClassVar[frozenset[str]] = frozenset()
    """Facts of Nextcloud's abstract schema this engine does not keep (`portable.LOSES_*`)."""
    has_unsigned: ClassVar[bool] = False
    """Integer columns may be unsigned (and refuse negative values)."""
    enforces_lengths: ClassVar[bool] = True
    """A value longer than its VARCHAR column is refused."""
    valid_dates_only: ClassVar[bool] = False
    """Dates and times are always real ones (no MySQL `0000-00-00`, no text in a DATETIME)."""
    pads_spaces: ClassVar[bool] = False
    """Text compares with trailing spaces ignored (MySQL's PAD SPACE collations): unique keys that
    differ only in trailing spaces collide."""
    folds_names: ClassVar[bool] = False
    """Unquoted names are stored in lower case (Doctrine writes them unquoted)."""
    skipped_indexes: ClassVar[frozenset[tuple[str, str]]] = frozenset()
    """(table, index) of `declared.ENGINE_INDEXES` Nextcloud does not create on this engine."""

    def read_schema(self, db: Database, pattern: str, prefix: str) -> dict[str, PortableTable]:
        """The tables whose names match the LIKE `pattern` as portable records, keyed by name
        without `prefix`."""
        raise NotImplementedError

    def create_table_statements(self, db: Database, table: PortableTable) -> list[str]:
        """The DDL creating a portable table (with the database's prefix) as Nextcloud's platform
        for this engine writes it: CREATE TABLE first, then the statements of its indexes and
        constraints that are not part of it (a load may run them after the rows)."""
        raise NotImplementedError

    def reset_autoincrement(self, db: Database, table: PortableTable) -> None:
        """After rows were copied with their ids: make the next generated id follow the highest."""

    # -- SQL scripts (passwords:db:dump) -------------------------------------------------------
    def script_preamble(self) -> str:
        """The script's first statements: session settings and, where DDL is transactional, BEGIN."""
        raise NotImplementedError

    def script_begin_rows(self) -> str:
        """What opens the rows' transaction after the schema (where the DDL commits by itself)."""
        return ""

    def script_rows(self, table: str, columns: str, rows: Iterable[Row]) -> Iterator[str]:
        """The script text loading `rows` into `table` (prefixed) with its quoted column list."""
        raise NotImplementedError

    def script_sequences(self, prefix: str, max_ids: Mapping[str, int]) -> str:
        """Statements moving id sequences past the highest ids loaded (tables unprefixed)."""
        return ""


def multi_row_inserts(head: str, values: Iterable[str], limit: int) -> Iterator[str]:
    """`INSERT … VALUES` statements of a script, each up to `limit` characters of values (or one
    row): the head, then one parenthesised tuple a line."""
    batch: list[str] = []
    size = 0
    for value in values:
        if batch and size + len(value) > limit:
            yield head + ",\n".join(batch) + ";\n"
            batch, size = [], 0
        batch.append(value)
        size += len(value) + 2
    if batch:
        yield head + ",\n".join(batch) + ";\n"
