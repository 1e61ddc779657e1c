-- Schema introspection and server facts (SQLite).

-- name: table_exists
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name;

-- name: server_version
SELECT sqlite_version();

-- name: app_tables
SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name;
