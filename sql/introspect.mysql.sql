-- Schema introspection (MySQL / MariaDB): columns, indexes, table options of the tables with a prefix.

-- name: columns
SELECT table_name, column_name, ordinal_position, column_type, character_maximum_length, is_nullable, column_default, extra
FROM information_schema.columns
WHERE table_schema = DATABASE() AND table_name LIKE :pattern
ORDER BY table_name, ordinal_position;

-- name: indexes
SELECT table_name, index_name, MIN(non_unique), GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ',')
FROM information_schema.statistics
WHERE table_schema = DATABASE() AND table_name LIKE :pattern
GROUP BY table_name, index_name
ORDER BY table_name, index_name;

-- name: tables
SELECT table_name, engine, table_collation FROM information_schema.tables
WHERE table_schema = DATABASE() AND table_name LIKE :pattern ORDER BY table_name;
