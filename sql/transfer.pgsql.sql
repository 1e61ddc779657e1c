-- PostgreSQL only: move an id sequence past the highest id (a no-op on an empty table).

-- name: reset_sequence
SELECT setval(pg_get_serial_sequence(:table, 'id'), MAX(id)) FROM *PREFIX**TABLE* HAVING MAX(id) IS NOT NULL;
