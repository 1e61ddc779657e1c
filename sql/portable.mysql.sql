-- Reading a whole schema for db:convert-type (db/portable.py): every column, index and table
-- option of the tables whose names match :pattern (a LIKE pattern).

-- name: columns
SELECT table_name, column_name, data_type, column_type, character_maximum_length, numeric_precision,
       numeric_scale, is_nullable, column_default, extra, column_comment, COALESCE(collation_name, '')
FROM information_schema.columns
WHERE table_schema = DATABASE() AND table_name LIKE :pattern
ORDER BY table_name, ordinal_position;

-- name: indexes
SELECT table_name, index_name, non_unique, column_name, sub_part, index_type
FROM information_schema.statistics
WHERE table_schema = DATABASE() AND table_name LIKE :pattern
ORDER BY table_name, index_name, seq_in_index;

-- name: tables
SELECT table_name, engine, table_collation, row_format, create_options, table_comment
FROM information_schema.tables
WHERE table_schema = DATABASE() AND table_name LIKE :pattern AND table_type = 'BASE TABLE'
ORDER BY table_name;

-- name: checks
SELECT table_name, constraint_name, check_clause
FROM information_schema.check_constraints
WHERE constraint_schema = DATABASE() AND table_name LIKE :pattern
ORDER BY table_name, constraint_name;
