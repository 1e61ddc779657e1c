-- Moving the app's data between engines (transfer/): the app's rows of the three core tables.
-- *COLUMNS* is the quoted list of the columns both sides have (transfer/tables.py).

-- name: appconfig_rows
SELECT *COLUMNS* FROM *PREFIX*appconfig WHERE appid = :app ORDER BY configkey;

-- name: preferences_rows
SELECT *COLUMNS* FROM *PREFIX*preferences WHERE appid = :app ORDER BY userid, configkey;

-- name: migrations_rows
SELECT *COLUMNS* FROM *PREFIX*migrations WHERE app = :app ORDER BY version;

-- name: appconfig_delete
DELETE FROM *PREFIX*appconfig WHERE appid = :app;

-- name: preferences_delete
DELETE FROM *PREFIX*preferences WHERE appid = :app;

-- name: migrations_delete
DELETE FROM *PREFIX*migrations WHERE app = :app;

-- name: drop_table
DROP TABLE IF EXISTS *PREFIX**TABLE*;

-- The apps Nextcloud has installed (whether enabled or not): those with an installed version.
-- name: installed_apps
SELECT DISTINCT appid FROM *PREFIX*appconfig WHERE configkey = 'installed_version' ORDER BY appid;

-- One pass over a table counting the values its target would refuse (transfer/hostile.py): *CHECKS*
-- is a list of SUM(CASE …) expressions built from the portable schema.
-- name: scan
SELECT COUNT(*), *CHECKS* FROM *PREFIX**TABLE*;

-- The keys of a unique index that collide once trailing spaces are ignored (*KEYS*: the key's
-- columns, text ones trimmed; *NOT_NULL*: none of them NULL).
-- name: padded_duplicates
SELECT COUNT(*) FROM (SELECT 1 AS one FROM *PREFIX**TABLE* WHERE *NOT_NULL* GROUP BY *KEYS* HAVING COUNT(*) > 1) AS d;

-- A table of the whole instance, in no particular order (transfer/instance_tables.py).
-- name: table_rows
SELECT *COLUMNS* FROM *PREFIX**TABLE*;
