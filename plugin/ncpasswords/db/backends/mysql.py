"""MySQL and MariaDB through PyMySQL: multi-row INSERT statements for bulk paths, DDL that commits
by itself, `max_allowed_packet` as the limit of one row, named locks."""

from __future__ import annotations

import contextlib
import hashlib
import re
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import (
    ConflictError,
    ConnectionLostError,
    DatabaseError,
    DuplicateKeyError,
    LockTimeoutError,
    PacketTooLargeError,
    UnstorableValueError,
)
from ..introspect import ColumnInfo, IndexInfo, TableInfo, normalise_default
from ..portable import LOSES_CONSTRAINTS
from ..portable import Table as PortableTable
from . import mysql_schema
from .base import Backend, EncodedRows, Release, Row, RowLimit, TupleFormatError, multi_row_inserts
from .rowlock import try_row_lock

if TYPE_CHECKING:
    from sqlglot import exp

    from ..connection import ConnectionSettings, Database

# The server status flag of sql_mode NO_BACKSLASH_ESCAPES (then PyMySQL's own quoting is used).
_NO_BACKSLASH_ESCAPES = 512
# The size of one multi-row INSERT of a bulk load (PyMySQL's executemany default; well below
# max_allowed_packet), and of one in a script (in characters of values).
_STATEMENT = 1 << 20
_SCRIPT_STATEMENT = 1 << 20

# Error numbers: client errors 2006 (server has gone away), 2013 (lost connection), 2055 and server
# errors 1053 (shutdown in progress), 1927 (connection killed); 1062 (duplicate entry), 1205 (lock
# wait timeout), 1153 (packet bigger than max_allowed_packet), 1213 (deadlock, and Galera's
# certification conflict), 1047 (a Galera node outside the primary component: "WSREP has not yet
# prepared node for application use").
_LOST = frozenset({2006, 2013, 2055, 1053, 1927, 1047})
_DUPLICATE = 1062
_LOCK_WAIT_TIMEOUT = 1205
_PACKET_TOO_LARGE = 1153
_DEADLOCK = 1213

# A Galera write-set is the transaction's binary log events. By default these carry the text of
# every statement beside its rows (binlog_annotate_row_events), which doubles a bulk load's
# write-set, and the whole old row of every deleted one (binlog_row_image FULL); the nodes apply
# rows by primary key and need neither (docs/clusters.md#smaller-write-sets).
_LEAN_WRITE_SET = (("binlog_annotate_row_events", "OFF"), ("binlog_row_image", "'MINIMAL'"))
# Refusals of SET SESSION: 1227 (needs SUPER or BINLOG ADMIN), 1193 (unknown variable).
_SETTING_REFUSED = frozenset({1227, 1193})

# Connections to a Galera node (wsrep_on), found when they are opened (docs/clusters.md).
_GALERA: weakref.WeakSet[Any] = weakref.WeakSet()

# A string literal ('it''s') or a canonically quoted identifier ("x").
_LITERAL_OR_IDENT = re.compile(r"('(?:[^']|'')*')|\"(\w+)\"")

# Column types the SQL of the canonical tuples renders exactly, per canonical type.
_TUPLE_TYPES = {
    "text": {"varchar", "char", "tinytext", "text", "mediumtext", "longtext"},
    "bool": {"tinyint"},
    "int8": {"tinyint", "smallint", "mediumint", "int", "bigint"},
}
_TUPLE_TYPES["int4"] = _TUPLE_TYPES["int2"] = _TUPLE_TYPES["int8"]


class MySQLBackend(Backend):
    name = "mysql"
    dbtype = "mysql"
    display_name = "MySQL/MariaDB"
    sqlglot_name = "mysql"
    client_command = "mariadb DATABASE < FILE"
    transactional_ddl = False
    config_values: ClassVar[Mapping[str, Any]] = {"mysql.utf8mb4": True}

    # -- connections ---------------------------------------------------------------------------
    def connect(self, settings: ConnectionSettings, create: bool) -> Any:
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
            cur.execute("SHOW VARIABLES LIKE 'wsrep_on'")
            row = cur.fetchone()
            if row is not None and str(row[1]).upper() == "ON":
                # Reads see every write the cluster committed before they started, whichever
                # node it was made on (causality checks).
                cur.execute("SET SESSION wsrep_sync_wait = 1")
                _GALERA.add(raw)
        return raw

    def replica_caught_up(self, primary: Database, replica: Database, timeout: float) -> bool:
        """Another node of the same Galera cluster (its reads wait for the cluster's commits), or a
        MariaDB replica whose applied position reaches the primary's binlog GTID position in time
        (docs/clusters.md#mariadb-with-an-asynchronous-replica)."""
        if self.multi_primary(replica):
            return True
        try:
            position = primary.scalar_sql("SELECT @@GLOBAL.gtid_binlog_pos")
            if not position:
                return False  # no binary log on the primary: the replica's position cannot be compared
            return bool(replica.scalar_sql("SELECT MASTER_GTID_WAIT(%s, %s)", (position, float(timeout))) == 0)
        except Exception:  # MySQL has neither: a replica it cannot check is not read
            return False

    def multi_primary(self, db: Database) -> bool:
        """A Galera node: every node takes writes, named locks hold on one node only."""
        return db.raw in _GALERA

    @contextlib.contextmanager
    def large_writes(self, db: Database) -> Iterator[None]:
        """Galera: a write-set without what the other nodes do not need (`_LEAN_WRITE_SET`, where
        the account may set it), and streaming replication, fragments of `fragment_bytes`
        replicated and certified while the transaction runs (no write-set near wsrep_max_ws_size,
        no stall of the cluster at COMMIT), applied on the other nodes only when it commits
        (docs/clusters.md#mariadb-galera)."""
        if not self.multi_primary(db):
            yield
            return
        changed = [name for name, value in _LEAN_WRITE_SET if _try_session_set(db, name, value)]
        size = db.settings.fragment_bytes
        if size > 0:
            db.execute_sql(
                f"SET SESSION wsrep_trx_fragment_unit = 'bytes', wsrep_trx_fragment_size = {int(size)}"
            ).close()
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # the connection may be gone: the settings with it
                if size > 0:
                    db.execute_sql("SET SESSION wsrep_trx_fragment_size = 0").close()
                for name in changed:
                    db.execute_sql(f"SET SESSION {name} = DEFAULT").close()

    # -- SQL text ------------------------------------------------------------------------------
    def quote(self, identifier: str) -> str:
        return "`" + identifier.replace("`", "``") + "`"

    def native_params(self, sql: str) -> str:
        return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)

    def fill_fragment(self, value: str) -> str:
        return _LITERAL_OR_IDENT.sub(lambda m: m[1] or f"`{m[2]}`", value)

    def rewrite(self, node: exp.Expression) -> exp.Expression:
        """`exact(x)`: `utf8mb4_bin` ignores trailing spaces (`'alice ' = 'alice'`), so it becomes
        `CAST(x AS BINARY)`, which compares exactly and still lets the column's index find the
        rows. Parameters take PyMySQL's `%(name)s` style."""
        from sqlglot import exp

        from ..translation import is_exact_marker

        if is_exact_marker(node):
            value = node.expressions[0].transform(self.rewrite)
            return exp.Cast(this=value, to=exp.DataType.build("BINARY", dialect="mysql"))
        if isinstance(node, exp.Placeholder):
            return exp.var(f"%({node.name})s")
        return node

    def list_param(self, values: Sequence[int | str]) -> Any:
        return tuple(values)

    # -- sessions and locks --------------------------------------------------------------------
    def begin(self, snapshot: bool, write_lock: bool) -> list[str]:
        if snapshot:
            return [
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
            ]
        return ["START TRANSACTION"]

    def try_lock(self, db: Database, name: str) -> Release | None:
        """GET_LOCK of a hash of the scoped name (names are limited to 64 characters); on Galera a
        replicated lock row instead (`rowlock`)."""
        if self.multi_primary(db):
            return try_row_lock(db, name)
        key = hashlib.sha256(self.scoped_lock_name(db, name).encode()).hexdigest()[:64]
        if db.scalar_sql("SELECT GET_LOCK(%s, 0)", (key,)) != 1:
            return None

        def release() -> None:
            with contextlib.suppress(Exception):  # the connection may already be gone
                db.execute_sql("SELECT RELEASE_LOCK(%s)", (key,)).close()

        return release

    def row_limit(self, db: Database) -> RowLimit:
        """The server refuses a statement longer than `max_allowed_packet` (and drops the connection)."""
        return RowLimit(int(db.scalar("schema.max_allowed_packet")), "max_allowed_packet")

    # -- errors --------------------------------------------------------------------------------
    def classify(self, exc: BaseException) -> DatabaseError | None:
        if not type(exc).__module__.startswith("pymysql"):
            return None
        import pymysql

        if isinstance(exc, pymysql.err.InterfaceError):  # used after the connection closed
            return ConnectionLostError(str(exc))
        if not isinstance(exc, pymysql.err.MySQLError) or not exc.args:
            return None
        code = exc.args[0]
        if isinstance(exc, pymysql.err.OperationalError) and code in _LOST:
            return ConnectionLostError(str(exc))
        if isinstance(exc, pymysql.err.IntegrityError) and code == _DUPLICATE:
            return DuplicateKeyError(str(exc))
        if code == _LOCK_WAIT_TIMEOUT:
            return LockTimeoutError(str(exc))
        if code == _PACKET_TOO_LARGE:
            return PacketTooLargeError(str(exc))
        if code == _DEADLOCK:
            return ConflictError(str(exc))
        return None

    # -- reading -------------------------------------------------------------------------------
    def stream_cursor(self, db: Database, batch: int) -> Any:
        """An unbuffered cursor: no other query may run on the connection until it is exhausted."""
        import pymysql.cursors

        return db.raw.cursor(pymysql.cursors.SSCursor)

    def tuple_chunks(
        self,
        db: Database,
        table: str,
        fragments: tuple[tuple[str, str], ...],
        params: Any,
        kinds: Sequence[tuple[str, str]],
        batch: int,
    ) -> Generator[list[bytes], None, None] | None:
        """String functions in SQL (`sql/transfer.mysql.sql`, one binary value per row), for
        tables whose column types they render exactly."""
        columns = _tuple_columns(db, table, kinds)
        if columns is None:
            return None
        return self._rendered_tuples(db, table, fragments, params, columns, batch)

    def _rendered_tuples(
        self,
        db: Database,
        table: str,
        fragments: tuple[tuple[str, str], ...],
        params: Any,
        columns: Sequence[_TupleColumn],
        batch: int,
    ) -> Generator[list[bytes], None, None]:
        fields = ("FIELDS", f"{len(columns):04x}")
        values = ("VALUES", _tuple_values(db, columns))
        with contextlib.closing(
            db.stream_chunks("transfer.tuples", params, batch, (*fragments, values, fields))
        ) as chunks:
            for rendered in chunks:
                tuples = [row[0] for row in rendered]
                if None in tuples:  # CONCAT gives NULL past max_allowed_packet
                    raise TupleFormatError(
                        f"a row of {db.table(table)} is larger than the server's "
                        "max_allowed_packet; raise it to read the row"
                    )
                yield tuples

    # -- bulk writing --------------------------------------------------------------------------
    def encode_rows(self, db: Database, table: str, columns: Sequence[str], rows: list[Row]) -> EncodedRows:
        """Multi-row INSERT statements of at most 1 MiB (or one row), ready to send, unless the
        session has NO_BACKSLASH_ESCAPES (then PyMySQL's executemany quotes the rows)."""
        if db.raw.server_status & _NO_BACKSLASH_ESCAPES:
            return super().encode_rows(db, table, columns, rows)
        cols = ", ".join(self.quote(c) for c in columns)
        head = f"INSERT INTO {db.table(table)} ({cols}) VALUES "
        try:
            statements = _statements(head, rows, db.raw.encoding)
        except UnicodeEncodeError:
            raise UnstorableValueError(f"{db.table(table)}: a value is not valid Unicode") from None
        return EncodedRows(head, len(rows), statements)

    # -- bulk loads ----------------------------------------------------------------------------
    def analyze(self, db: Database, tables: Sequence[str]) -> None:
        """ANALYZE TABLE commits by itself, so it runs once the load has committed; failing there
        changes nothing (InnoDB recalculates its statistics itself some seconds after a load)."""
        query = "bulk.analyze_local" if self.multi_primary(db) else "bulk.analyze"
        statements = [db.sql(query, (("TABLE", table),)) for table in tables]

        def analyze_tables() -> None:
            with contextlib.suppress(Exception):  # statistics only: the load itself has committed
                for statement in statements:
                    cur = db.execute_sql(statement)
                    cur.fetchall()  # ANALYZE TABLE answers with a status row per table
                    cur.close()

        db.after_commit(analyze_tables)

    # -- introspection -------------------------------------------------------------------------
    def describe(self, db: Database, pattern: str, table: Callable[[str], TableInfo]) -> None:
        params = {"pattern": pattern}
        for tname, cname, _, ctype, _len, nullable, default, extra in db.rows("introspect.columns", params):
            auto = "auto_increment" in str(extra).lower()
            table(tname).columns.append(
                ColumnInfo(cname, str(ctype).lower(), nullable == "YES", normalise_default(default), auto)
            )
        for tname, iname, non_unique, cols in db.rows("introspect.indexes", params):
            primary = iname == "PRIMARY"
            table(tname).indexes.append(IndexInfo(str(iname), tuple(cols.split(",")), not int(non_unique), primary))
        for tname, engine, collation in db.rows("introspect.tables", params):
            table(tname).options.update(engine=str(engine), collation=str(collation))

    # -- the portable schema (mysql_schema.py) ---------------------------------------------
    has_unsigned = True
    pads_spaces = True
    schema_loses = frozenset({LOSES_CONSTRAINTS})

    def read_schema(self, db: Database, pattern: str, prefix: str) -> dict[str, PortableTable]:
        return mysql_schema.read(db, pattern, prefix)

    def create_table_statements(self, db: Database, table: PortableTable) -> list[str]:
        return mysql_schema.create_statements(db, table)

    # -- SQL scripts ---------------------------------------------------------------------------
    def script_preamble(self) -> str:
        # Backslash escapes stay on: the sql_mode set here has no NO_BACKSLASH_ESCAPES.
        return (
            "SET NAMES utf8mb4;\n"
            "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';\n"
        )

    def script_begin_rows(self) -> str:
        return "START TRANSACTION;\n"  # after the DDL, which MySQL commits on its own

    def script_rows(self, table: str, columns: str, rows: Iterable[Row]) -> Iterator[str]:
        values = (values_tuple(row) for row in rows)
        yield from multi_row_inserts(f"INSERT INTO {table} ({columns}) VALUES\n", values, _SCRIPT_STATEMENT)


def _try_session_set(db: Database, name: str, value: str) -> bool:
    """Set a session variable; False where the account lacks the privilege (SUPER or BINLOG
    ADMIN) or the server does not know the variable."""
    import pymysql

    try:
        db.execute_sql(f"SET SESSION {name} = {value}").close()
    except pymysql.err.MySQLError as exc:
        if exc.args and exc.args[0] in _SETTING_REFUSED:
            return False
        raise
    return True


@dataclass(frozen=True)
class _TupleColumn:
    """A column as the SQL of the tuples renders it: its canonical type, and whether it may hold
    NULL or a value out of that type's range (only then is it checked for them, row by row)."""

    name: str
    kind: str
    checked: bool


def _tuple_columns(db: Database, table: str, kinds: Sequence[tuple[str, str]]) -> list[_TupleColumn] | None:
    """The table's columns for the SQL of the tuples, or None where a column's type is not one it
    renders: integers, TINYINT booleans and text stored as UTF-8 (utf8mb4, or utf8mb3 before it)."""
    found = {
        str(name): (str(kind).lower(), str(charset or "").lower(), nullable == "YES", "unsigned" in str(full).lower())
        for name, kind, charset, nullable, full in db.rows("transfer.column_types", {"table": db.table(table)})
    }
    columns = []
    for column, kind in kinds:
        data_type, charset, nullable, unsigned = found.get(column, ("", "", True, False))
        if data_type not in _TUPLE_TYPES.get(kind, ()):
            return None
        if kind == "text" and charset not in ("utf8mb4", "utf8mb3", "utf8"):
            return None
        fits = kind not in _INT_BITS or _INT_BITS[data_type] + unsigned <= _INT_BITS[kind]
        columns.append(_TupleColumn(column, kind, nullable or not fits))
    return columns


# The bits of each signed integer type (an unsigned one needs one more to fit a signed type).
_INT_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "bigint": 64, "int2": 16, "int4": 32, "int8": 64}


def _tuple_values(db: Database, columns: Sequence[_TupleColumn]) -> str:
    """The tuple's values for `transfer.tuples`: a column that may hold NULL or a value out of
    range through its checked expression, the others as hexadecimal digits, each run of them
    turned into bytes at once (`tuple_hex_*`)."""
    parts: list[str] = []
    run: list[str] = []

    def end_run() -> None:
        if run:
            parts.append(db.sql("transfer.tuple_hex_run", (("HEX", ", ".join(run)),)))
            run.clear()

    for column in columns:
        name = (("COLUMN", f'"{column.name}"'),)
        if column.checked or column.kind == "bool":
            end_run()
            parts.append(db.sql(f"transfer.tuple_{column.kind}", name))
        elif column.kind == "text":
            run.append(db.sql("transfer.tuple_hex_length", name))
            end_run()
            parts.append(db.sql("transfer.tuple_bytes", name))
        else:
            run.append(db.sql(f"transfer.tuple_hex_{column.kind}", name))
    end_run()
    return ", ".join(parts)


# The characters a quoted string must escape while backslash escapes are on (PyMySQL's
# escape_string does the same).
_ESCAPES = {
    0: "\\0",
    ord("\\"): "\\\\",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    0x1A: "\\Z",
    ord('"'): '\\"',
    ord("'"): "\\'",
}


def values_tuple(row: Sequence[Any]) -> str:
    """One row as the parenthesised VALUES tuple of an INSERT (backslash escapes on)."""
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
                value = value.translate(_ESCAPES)
            out.append("'" + value + "'")
        elif value is None:
            out.append("NULL")
        elif kind is bool:
            out.append("1" if value else "0")
        elif kind is int:
            out.append(int.__repr__(value))
        elif kind is bytes:
            out.append("X'" + value.hex() + "'")
        else:
            out.append("'" + str(value).translate(_ESCAPES) + "'")
    return "(" + ",".join(out) + ")"


def _statements(head: str, rows: list[Row], encoding: str) -> list[bytes]:
    """Multi-row INSERT statements of at most _STATEMENT bytes (or one row), encoded for sending."""
    start = head.encode(encoding)
    statements: list[bytes] = []
    parts: list[bytes] = []
    size = len(start)
    for row in rows:
        data = values_tuple(row).encode(encoding)
        if parts and size + len(data) >= _STATEMENT:  # a big row goes alone (max_allowed_packet)
            statements.append(start + b",".join(parts))
            parts.clear()
            size = len(start)
        parts.append(data)
        size += len(data) + 1
    if parts:
        statements.append(start + b",".join(parts))
    return statements


BACKEND = MySQLBackend()
