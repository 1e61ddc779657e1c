-- Template queries shared by the twelve app tables. *TABLE* is the unprefixed table name and
-- *COLUMNS* its quoted column list, both taken from repositories/entities.py. User ids compare
-- exactly (exact(): db/dialects.py).

-- name: stream_all
SELECT *COLUMNS* FROM *PREFIX**TABLE* ORDER BY id;

-- name: stream_active
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE deleted = FALSE ORDER BY id;

-- name: by_user
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE user_id = exact(:user_id) ORDER BY id;

-- name: by_uuid
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE uuid = :uuid AND deleted = FALSE ORDER BY id;

-- name: count_all
SELECT COUNT(*) FROM *PREFIX**TABLE*;

-- name: count_active
SELECT COUNT(*) FROM *PREFIX**TABLE* WHERE deleted = FALSE;

-- name: delete_all
DELETE FROM *PREFIX**TABLE*;

-- name: delete_by_user
DELETE FROM *PREFIX**TABLE* WHERE user_id = exact(:user_id);

-- name: max_id
SELECT MAX(id) FROM *PREFIX**TABLE*;
