-- The cluster-wide lock row of a multi-primary cluster (db/backends/rowlock.py): one appconfig row
-- per lock, whose value names the holder and when it expires; every change is compared and swapped.

-- name: now
SELECT UNIX_TIMESTAMP();

-- name: get
SELECT configvalue FROM *PREFIX*appconfig WHERE appid = :appid AND configkey = :configkey;

-- name: insert
INSERT INTO *PREFIX*appconfig (appid, configkey, configvalue) VALUES (:appid, :configkey, :configvalue);

-- name: swap
UPDATE *PREFIX*appconfig SET configvalue = :new
WHERE appid = :appid AND configkey = :configkey AND configvalue = :old;

-- name: delete
DELETE FROM *PREFIX*appconfig WHERE appid = :appid AND configkey = :configkey AND configvalue = :value;
