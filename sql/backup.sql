-- Reading a backup's data. *TABLE* is an app table, *COLUMNS* its column list (from
-- repositories/entities.py). Models and revisions are read by primary key only: the revision
-- tables have no index on `model`, so joining them would sort or scan quadratically.

-- name: live_model_keys
-- Non-deleted models in id order: id and the (user, uuid) their revisions point at.
SELECT id, user_id, uuid FROM *PREFIX**TABLE* WHERE deleted = FALSE ORDER BY id;

-- name: live_revision_keys
-- Non-deleted revisions: id and the model they belong to.
SELECT id, user_id, model FROM *PREFIX**TABLE* WHERE deleted = FALSE ORDER BY id;

-- name: live_rows_in_id_range
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE id >= :low AND id <= :high AND deleted = FALSE ORDER BY id;
