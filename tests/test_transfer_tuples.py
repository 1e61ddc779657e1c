"""The canonical binary tuples behind convert's copy into PostgreSQL and every checksum: each
engine renders the same bytes for the same rows."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from conftest import _admin, scratch_database
from ncpasswords.db.connection import Database
from ncpasswords.db.errors import ConnectionLostError
from ncpasswords.instance.install import install
from ncpasswords.transfer.tables import TransferTable, app_tables, transfer_tables
from ncpasswords.transfer.tuples import RowTypeError, TupleFormatError, encode_row, read_tuples
from transfer_helpers import TRICKY, edge_rows

LATIN1_TEXT = "café ünïcødé «quoted» 'single' \"double\" back\\slash"


def latin1_row(table: TransferTable) -> tuple[object, ...]:
    """A row of the table whose texts all fit into latin1."""
    values: list[object] = []
    for column, kind in zip(table.columns, table.types, strict=True):
        if kind == "bool":
            values.append(column == "hidden")
        elif kind == "int":
            values.append(1 if column == "id" else -5)
        else:
            values.append(LATIN1_TEXT if column == "label" else column[:10])
    return tuple(values)


def tag_rv() -> TransferTable:
    return next(t for t in app_tables() if t.name == "passwords_tag_rv")


def tuples_of(db: Database, table: TransferTable) -> list[bytes]:
    with db.transaction(snapshot=True):
        return sorted(t for chunk in read_tuples(db, table, batch=2) for t in chunk)


# The app's rows of the core tables with the extremes of their narrow integer columns that every
# engine can hold (MySQL's are UNSIGNED, PostgreSQL's signed).
CORE_ROWS = {
    "appconfig": [("passwords", "min", "", 0, 0), ("passwords", "max", TRICKY, 2147483647, 32767)],
    "preferences": [
        ("u1", "passwords", "min", "x", 0, 0, 0, ""),
        ("u2", "passwords", "max", "", 32767, 32767, 2147483647, TRICKY[:64]),
    ],
}


def table_named(name: str, db: Database) -> TransferTable:
    return next(t for t in transfer_tables(db) if t.name == name)


@pytest.mark.parametrize("engine", ["pgsql", "mysql", "sqlite"])
@pytest.mark.parametrize("name", ["passwords_tag_rv", "passwords_password_rv", "appconfig", "preferences"])
def test_every_engine_renders_the_python_encoding(engine: str, name: str, tmp_path: Path) -> None:
    """Rows with NULLs, empty and maximum-length strings, quotes, control characters, astral
    characters, big integers and the extremes of SMALLINT and INT columns come out of each engine
    as `encode_row` packs them."""
    with scratch_database(engine, tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            table = table_named(name, db)
            with db.transaction():
                if table.app_rows_only:
                    table.delete_app_rows(db)
                rows = CORE_ROWS[name] if table.app_rows_only else edge_rows(name, count=6)
                db.insert_many(name, table.columns, rows)
            expected = sorted(encode_row(row, table) for row in rows)
            assert tuples_of(db, table) == expected


def test_postgresql_reads_back_every_row_of_a_big_table_and_none_of_an_empty_one(tmp_path: Path) -> None:
    """Every row of a table larger than the network buffers comes out once, an empty table gives none."""
    with scratch_database("pgsql", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            table = tag_rv()
            rows = edge_rows(table.name, count=2_000)
            assert tuples_of(db, table) == []
            with db.transaction():
                db.insert_many(table.name, table.columns, rows)
            assert tuples_of(db, table) == sorted(encode_row(row, table) for row in rows)


def test_postgresql_ending_the_session_during_a_read_back_is_a_lost_connection(tmp_path: Path) -> None:
    """A read-back whose session the server ends is reported as a lost connection (rolled back),
    not as malformed COPY output."""
    with scratch_database("pgsql", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            table = tag_rv()
            with db.transaction():
                db.insert_many(table.name, table.columns, edge_rows(table.name, count=3_000))
            pid = db.scalar_sql("SELECT pg_backend_pid()")
            raised: list[Exception] = []
            with pytest.raises(ConnectionLostError), db.transaction(snapshot=True):
                chunks = read_tuples(db, table, batch=100)
                next(chunks)
                with contextlib.closing(_admin("pgsql")) as admin, admin.cursor() as cur:
                    cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
                try:
                    for _ in chunks:
                        pass
                except Exception as exc:  # what the reading raised, before the rollback's own error
                    raised.append(exc)
                    raise
            assert [type(exc) for exc in raised] == [ConnectionLostError]


def test_null_in_a_narrow_mysql_integer_column(tmp_path: Path) -> None:
    """NULL in a SMALLINT column (none is nullable in the app's schema) is NULL, not an empty value."""
    with scratch_database("mysql", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            table = table_named("passwords_password_rv", db)
            db.execute_sql(f"ALTER TABLE {db.table(table.name)} MODIFY status SMALLINT NULL").close()
            row = tuple(
                None if c == "status" else v for c, v in zip(table.columns, edge_rows(table.name)[1], strict=True)
            )
            with db.transaction():
                db.insert_many(table.name, table.columns, [row])
            assert tuples_of(db, table) == [encode_row(row, table)]


def test_mysql_values_out_of_postgresqls_range_are_never_packed_as_numbers(tmp_path: Path) -> None:
    """MySQL's ids are BIGINT UNSIGNED: 2**63 cannot become a negative BIGINT, the tuple is refused."""
    table = tag_rv()
    row = (2**63 + 5, *edge_rows(table.name)[1][1:])
    with scratch_database("mysql", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            with db.transaction():
                db.insert_many(table.name, table.columns, [row])
            (data,) = tuples_of(db, table)
            assert data[2:6] == bytes(4)  # an empty id: binary COPY and the checksums both refuse it
            with pytest.raises(RowTypeError, match="does not fit into 64 bits"):
                encode_row(row, table)


def test_text_in_an_integer_column_is_refused(tmp_path: Path) -> None:
    """SQLite keeps text in an INTEGER column; packed as it is, 8 characters would read as a number."""
    table = tag_rv()
    row = tuple(
        "abcdefgh" if c == "edited" else v for c, v in zip(table.columns, edge_rows(table.name)[1], strict=True)
    )
    with pytest.raises(RowTypeError, match=r"passwords_tag_rv.edited holds a value of type str where an integer"):
        encode_row(row, table)
    with scratch_database("sqlite", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            with db.transaction():
                db.insert_many(table.name, table.columns, [row])
            with pytest.raises(RowTypeError):
                tuples_of(db, table)


def test_a_row_past_max_allowed_packet_is_an_error_not_a_null(tmp_path: Path) -> None:
    """CONCAT gives NULL past max_allowed_packet: the tuple must not turn into a NULL value."""
    table = tag_rv()
    row = tuple(
        "x" * (1536 * 1024) if c == "label" else v for c, v in zip(table.columns, edge_rows(table.name)[1], strict=True)
    )
    with scratch_database("mysql", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db, db.transaction():
            db.insert_many(table.name, table.columns, [row])
        with contextlib.closing(_admin("mysql")) as admin, admin.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.max_allowed_packet")
            (original,) = cur.fetchone()
            cur.execute("SET GLOBAL max_allowed_packet = 1048576")
            try:
                with scratch.connect() as db, pytest.raises(TupleFormatError, match="max_allowed_packet"):
                    tuples_of(db, table)
            finally:
                cur.execute(f"SET GLOBAL max_allowed_packet = {int(original)}")


def test_a_mysql_table_with_latin1_text_is_read_through_the_driver(tmp_path: Path) -> None:
    """Text stored in another character set is converted, not taken as UTF-8 bytes."""
    table = tag_rv()
    row = latin1_row(table)
    with scratch_database("mysql", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            with db.transaction():
                db.insert_many(table.name, table.columns, [row])
            assert tuples_of(db, table) == [encode_row(row, table)]
            db.execute_sql(
                f"ALTER TABLE {db.table(table.name)} MODIFY label LONGTEXT "
                "CHARACTER SET latin1 COLLATE latin1_bin DEFAULT NULL"
            ).close()
            assert tuples_of(db, table) == [encode_row(row, table)]


# Integer columns of every MySQL type, signed and unsigned, NOT NULL and nullable, read as the
# canonical type a whole-instance conversion gives them (the widest value each can hold there).
_WIDTHS_TABLE = (
    ("t_s", "TINYINT NOT NULL", "int2", -128, 127),
    ("t_u", "TINYINT UNSIGNED NOT NULL", "int2", 0, 255),
    ("s_s", "SMALLINT NOT NULL", "int2", -32768, 32767),
    ("s_u", "SMALLINT UNSIGNED NOT NULL", "int4", 0, 65535),
    ("m_s", "MEDIUMINT NOT NULL", "int4", -8388608, 8388607),
    ("i_s", "INT NOT NULL", "int4", -(2**31), 2**31 - 1),
    ("i_u", "INT UNSIGNED NOT NULL", "int8", 0, 2**32 - 1),
    ("i_n", "INT NULL", "int4", -(2**31), None),
    ("b_s", "BIGINT NOT NULL", "int8", -(2**63), 2**63 - 1),
    ("b_u", "BIGINT UNSIGNED NOT NULL", "int8", 0, 2**63 - 1),
    ("x_t", "VARCHAR(64) NOT NULL", "text", "", TRICKY[:64]),
    ("x_n", "VARCHAR(64) NULL", "text", TRICKY[:64], None),
)


def test_mysql_renders_integers_of_every_width_as_python_encodes_them(tmp_path: Path) -> None:
    """NOT NULL columns of types that fit their canonical type skip the server's checks; every
    width, signed or unsigned, nullable or not, still comes out as `encode_row` packs it."""
    columns = tuple(c for c, *_ in _WIDTHS_TABLE)
    kinds = tuple(k for _, _, k, *_ in _WIDTHS_TABLE)
    table = TransferTable("widths", columns, tuple("str" if k == "text" else "int" for k in kinds), column_kinds=kinds)
    rows = [tuple(v[3] for v in _WIDTHS_TABLE), tuple(v[4] for v in _WIDTHS_TABLE)]
    with scratch_database("mysql", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        with scratch.connect() as db:
            definition = ", ".join(f"{c} {sql}" for c, sql, *_ in _WIDTHS_TABLE)
            db.execute_sql(
                f"CREATE TABLE {db.table('widths')} ({definition}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ).close()
            with db.transaction():
                db.insert_many("widths", columns, rows)
            assert tuples_of(db, table) == sorted(encode_row(row, table) for row in rows)
