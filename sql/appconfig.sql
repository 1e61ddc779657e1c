-- App values in Nextcloud's appconfig table. Only appid/configkey/configvalue are written, so the
-- statements work on every appconfig layout (type and lazy take their defaults where they exist).

-- name: get
SELECT configvalue FROM *PREFIX*appconfig WHERE appid = :appid AND configkey = :configkey;

-- name: for_app
SELECT configkey, configvalue FROM *PREFIX*appconfig WHERE appid = :appid ORDER BY configkey;

-- name: insert
INSERT INTO *PREFIX*appconfig (appid, configkey, configvalue) VALUES (:appid, :configkey, :configvalue);

-- name: update
UPDATE *PREFIX*appconfig SET configvalue = :configvalue WHERE appid = :appid AND configkey = :configkey;

-- name: delete
DELETE FROM *PREFIX*appconfig WHERE appid = :appid AND configkey = :configkey;
