-- SQLite only: settings for one big load transaction, and folding the WAL into the file after it.

-- name: load_synchronous
PRAGMA synchronous = NORMAL;

-- name: load_cache
PRAGMA cache_size = -16384;

-- name: checkpoint
PRAGMA wal_checkpoint(TRUNCATE);
