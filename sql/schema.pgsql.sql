-- Schema introspection and server facts (PostgreSQL).

-- name: table_exists
SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = :name;

-- name: server_version
SELECT current_setting('server_version');

-- name: app_tables
SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name;
