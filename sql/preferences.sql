-- User values in Nextcloud's preferences table (only the four columns every layout has). User ids
-- compare exactly (exact(): db/dialects.py).

-- name: get
SELECT configvalue FROM *PREFIX*preferences WHERE userid = exact(:userid) AND appid = :appid AND configkey = :configkey;

-- name: for_app
SELECT userid, configkey, configvalue FROM *PREFIX*preferences WHERE appid = :appid ORDER BY userid, configkey;

-- name: for_user
SELECT configkey, configvalue FROM *PREFIX*preferences WHERE userid = exact(:userid) AND appid = :appid ORDER BY configkey;

-- name: insert
INSERT INTO *PREFIX*preferences (userid, appid, configkey, configvalue) VALUES (:userid, :appid, :configkey, :configvalue);

-- name: update
UPDATE *PREFIX*preferences SET configvalue = :configvalue WHERE userid = exact(:userid) AND appid = :appid AND configkey = :configkey;

-- name: delete
DELETE FROM *PREFIX*preferences WHERE userid = exact(:userid) AND appid = :appid AND configkey = :configkey;

-- name: delete_user
DELETE FROM *PREFIX*preferences WHERE userid = exact(:userid) AND appid = :appid;
