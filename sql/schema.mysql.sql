-- Schema introspection and server facts (MySQL / MariaDB).

-- name: table_exists
SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = :name;

-- name: server_version
SELECT VERSION();

-- name: max_allowed_packet
SELECT @@max_allowed_packet;

-- name: app_tables
SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name;
