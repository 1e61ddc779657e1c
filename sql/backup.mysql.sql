-- Rows by a list of ids (MySQL/MariaDB: PyMySQL expands a tuple parameter to `(1,2,3)`).

-- name: rows_by_ids
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE id IN :ids;
