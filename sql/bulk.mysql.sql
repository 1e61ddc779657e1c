-- MySQL/MariaDB after a bulk load (db/bulk.py).

-- InnoDB's persistent statistics of a table that a load has just filled (commits by itself, so
-- it runs after the load's COMMIT).
-- name: analyze
ANALYZE TABLE *PREFIX**TABLE*;

-- name: analyze_local
-- On Galera: statistics of this node only (a plain ANALYZE TABLE runs on every node in total order,
-- halting the cluster's writes while it does; the other nodes recalculate theirs by themselves).
ANALYZE LOCAL TABLE *PREFIX**TABLE*;
