-- Schema introspection (SQLite): tables and indexes of the tables with a prefix; columns and
-- index columns come from the table_info/index_info pragmas.

-- name: tables
SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name LIKE :pattern ESCAPE '\' ORDER BY name;

-- name: indexes
SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE :pattern ESCAPE '\' ORDER BY tbl_name, name;

-- name: columns
SELECT cid, name, type, "notnull", dflt_value, pk FROM pragma_table_info(:table) ORDER BY cid;

-- name: index_list
SELECT name, "unique", origin FROM pragma_index_list(:table);

-- name: index_columns
SELECT name FROM pragma_index_info(:index) ORDER BY seqno;
