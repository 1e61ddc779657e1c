-- MySQL / MariaDB only: put a table aside under another name (and back), for --clear-schema.

-- name: rename_table
RENAME TABLE *PREFIX**TABLE* TO *PREFIX**NEWNAME*;

-- The app's rows of a table as canonical binary tuples (transfer/tuples.py), rendered by the
-- server so the driver takes one binary value per row instead of decoding every column. *FIELDS*
-- is the column count in four hex digits, *VALUES* one tuple_* expression below per column,
-- *WHERE* limits a core table to the app's rows. No literal depends on sql_mode.

-- name: tuples
SELECT CAST(CONCAT(UNHEX('*FIELDS*'), *VALUES*) AS BINARY) FROM *PREFIX**TABLE* *WHERE*;

-- Each value as a 32-bit length (FFFFFFFF: NULL) and its bytes: text as stored (UTF-8)...
-- name: tuple_text
IFNULL(CONCAT(UNHEX(LPAD(HEX(LENGTH(*COLUMN*)), 8, '0')), CAST(*COLUMN* AS BINARY)), UNHEX('FFFFFFFF'));

-- ... integers big-endian two's complement (HEX of a negative number gives all 16 digits); a
-- value out of a narrow column's range becomes an empty value, which PostgreSQL refuses and no
-- checksum takes for the number ...
-- name: tuple_int8
IFNULL(CONCAT(UNHEX('00000008'), UNHEX(LPAD(HEX(*COLUMN*), 16, '0'))), UNHEX('FFFFFFFF'));

-- name: tuple_int4
IFNULL(IF(*COLUMN* BETWEEN -2147483648 AND 2147483647,
          CONCAT(UNHEX('00000004'), UNHEX(RIGHT(LPAD(HEX(*COLUMN*), 16, '0'), 8))), UNHEX('00000000')),
       UNHEX('FFFFFFFF'));

-- name: tuple_int2
IFNULL(IF(*COLUMN* BETWEEN -32768 AND 32767,
          CONCAT(UNHEX('00000002'), UNHEX(RIGHT(LPAD(HEX(*COLUMN*), 16, '0'), 4))), UNHEX('00000000')),
       UNHEX('FFFFFFFF'));

-- ... booleans one byte.
-- name: tuple_bool
CASE WHEN *COLUMN* IS NULL THEN UNHEX('FFFFFFFF') WHEN *COLUMN* <> 0 THEN UNHEX('0000000101') ELSE UNHEX('0000000100') END;

-- The character sets of a table's text columns: the tuples above take the stored bytes as UTF-8.
-- name: text_charsets
SELECT DISTINCT CHARACTER_SET_NAME FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table AND CHARACTER_SET_NAME IS NOT NULL;
