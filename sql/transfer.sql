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
