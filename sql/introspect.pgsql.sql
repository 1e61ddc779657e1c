-- Schema introspection (PostgreSQL): columns, indexes, sequences of the tables with a prefix.

-- name: columns
SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, is_nullable, column_default
FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name LIKE :pattern
ORDER BY table_name, ordinal_position;

-- name: indexes
SELECT t.relname, i.relname, ix.indisunique, ix.indisprimary, array_to_string(array_agg(a.attname ORDER BY k.ord), ',')
FROM pg_index ix
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) ON TRUE
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE n.nspname = current_schema() AND t.relname LIKE :pattern
GROUP BY t.relname, i.relname, ix.indisunique, ix.indisprimary
ORDER BY t.relname, i.relname;

-- name: sequences
SELECT sequence_name FROM information_schema.sequences
WHERE sequence_schema = current_schema() AND sequence_name LIKE :pattern ORDER BY sequence_name;
