-- MySQL/MariaDB after a bulk load (db/bulk.py).

-- InnoDB's persistent statistics of a table that a load has just filled (commits by itself, so
-- it runs after the load's COMMIT).
-- name: analyze
ANALYZE TABLE *PREFIX**TABLE*;
