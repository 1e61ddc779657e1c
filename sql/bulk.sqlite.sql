-- SQLite bulk loads inside one transaction (db/bulk.py).

-- The indexes of a table that back no constraint (those have no SQL of their own), quoted, with
-- their definitions.
-- name: secondary_indexes
SELECT '"' || replace(name, '"', '""') || '"', sql FROM sqlite_master
WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL
ORDER BY name;

-- Helper threads for the sorts of CREATE INDEX after a bulk load (they work without the GIL).
-- name: sort_threads
PRAGMA threads = 2;
