-- Rows by a list of ids (PostgreSQL: an array parameter).

-- name: rows_by_ids
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE id = ANY(:ids);
