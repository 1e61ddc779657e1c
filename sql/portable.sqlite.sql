-- Reading a whole schema for db:convert-type (db/portable.py): the tables whose names match
-- :pattern (a LIKE pattern), their columns and indexes.

-- name: tables
SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name LIKE :pattern ESCAPE '\' ORDER BY name;

-- name: columns
SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(:table) ORDER BY cid;

-- name: index_list
SELECT name, "unique", origin FROM pragma_index_list(:table) ORDER BY name;

-- name: index_columns
SELECT name FROM pragma_index_info(:index) ORDER BY seqno;

-- name: index_sql
SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :index;
