-- MySQL / MariaDB only: put a table aside under another name (and back), for --clear-schema.

-- name: rename_table
RENAME TABLE *PREFIX**TABLE* TO *PREFIX**NEWNAME*;

-- The app's rows of a table as canonical binary tuples (transfer/tuples.py), rendered by the
-- server so the driver takes one binary value per row instead of decoding every column. *FIELDS*
-- is the column count in four hex digits, *VALUES* one tuple_* expression below per column,
-- *WHERE* limits a core table to the app's rows. No literal depends on sql_mode.

-- name: tuples
SELECT CAST(CONCAT(UNHEX('*FIELDS*'), *VALUES*) AS BINARY) FROM *PREFIX**TABLE* *WHERE*;

-- Each value as a 32-bit length (FFFFFFFF: NULL) and its bytes: text as stored (UTF-8; a value
-- that CONCAT cannot hold within max_allowed_packet makes the whole tuple NULL, never this value) ...
-- name: tuple_text
IF(*COLUMN* IS NULL, UNHEX('FFFFFFFF'), CONCAT(UNHEX(LPAD(HEX(LENGTH(*COLUMN*)), 8, '0')), CAST(*COLUMN* AS BINARY)));

-- ... integers big-endian two's complement (HEX of a negative number gives all 16 digits); a
-- value out of the column's range (an unsigned id of 2**63 or more) becomes an empty value,
-- which PostgreSQL refuses and no checksum takes for a number ...
-- name: tuple_int8
CASE WHEN *COLUMN* IS NULL THEN UNHEX('FFFFFFFF')
     WHEN *COLUMN* BETWEEN -9223372036854775808 AND 9223372036854775807
     THEN CONCAT(UNHEX('00000008'), UNHEX(LPAD(HEX(*COLUMN*), 16, '0')))
     ELSE UNHEX('00000000') END;

-- name: tuple_int4
CASE WHEN *COLUMN* IS NULL THEN UNHEX('FFFFFFFF')
     WHEN *COLUMN* BETWEEN -2147483648 AND 2147483647
     THEN CONCAT(UNHEX('00000004'), UNHEX(RIGHT(LPAD(HEX(*COLUMN*), 16, '0'), 8)))
     ELSE UNHEX('00000000') END;

-- name: tuple_int2
CASE WHEN *COLUMN* IS NULL THEN UNHEX('FFFFFFFF')
     WHEN *COLUMN* BETWEEN -32768 AND 32767
     THEN CONCAT(UNHEX('00000002'), UNHEX(RIGHT(LPAD(HEX(*COLUMN*), 16, '0'), 4)))
     ELSE UNHEX('00000000') END;

-- ... booleans one byte.
-- name: tuple_bool
CASE WHEN *COLUMN* IS NULL THEN UNHEX('FFFFFFFF') WHEN *COLUMN* <> 0 THEN UNHEX('0000000101') ELSE UNHEX('0000000100') END;

-- A column that holds neither NULL nor values out of its canonical type's range (NOT NULL, and
-- its own type no wider) skips those checks, a good part of the server's work per row: its
-- value's length and bytes as hexadecimal digits, consecutive ones turned into bytes by one
-- UNHEX, text's bytes after their length. The same bytes as the checked expressions above.
-- name: tuple_hex_run
UNHEX(CONCAT(*HEX*));

-- name: tuple_hex_int8
'00000008', LPAD(HEX(*COLUMN*), 16, '0');

-- name: tuple_hex_int4
'00000004', RIGHT(LPAD(HEX(*COLUMN*), 16, '0'), 8);

-- name: tuple_hex_int2
'00000002', RIGHT(LPAD(HEX(*COLUMN*), 16, '0'), 4);

-- name: tuple_hex_length
LPAD(HEX(LENGTH(*COLUMN*)), 8, '0');

-- name: tuple_bytes
CAST(*COLUMN* AS BINARY);

-- The type, character set, nullability and signedness of each column of a table: the tuples
-- above are for integer columns, TINYINT booleans and text stored as UTF-8 (db/backends/mysql.py
-- checks).
-- name: column_types
SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME, IS_NULLABLE, COLUMN_TYPE FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table;
