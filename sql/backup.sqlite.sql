-- Rows by a list of ids (SQLite: a JSON array parameter read with json_each).

-- name: rows_by_ids
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE id IN (SELECT value FROM json_each(:ids));
