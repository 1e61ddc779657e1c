-- PostgreSQL only: move an id sequence past the highest id (a no-op on an empty table).

-- name: reset_sequence
SELECT setval(pg_get_serial_sequence(:table, 'id'), MAX(id)) FROM *PREFIX**TABLE* HAVING MAX(id) IS NOT NULL;

-- The app's rows of a table as canonical binary tuples (transfer/tuples.py): each column cast to
-- its canonical type. *WHERE* limits a core table to the app's rows.

-- name: tuples
COPY (SELECT *CAST_COLUMNS* FROM *PREFIX**TABLE* *WHERE*) TO STDOUT (FORMAT binary);
