-- Reading a backup's data. *TABLE* is an app table, *COLUMNS* its column list (from
-- repositories/entities.py). Models and revisions are read by primary key: the revision tables
-- have no index on `model`, so a join must scan the revisions once and look each one's model up
-- by the models' unique (user_id, uuid) index, never the other way round (quadratic).

-- name: live_model_ids
-- Non-deleted models' ids in order.
SELECT id FROM *PREFIX**TABLE* WHERE deleted = FALSE ORDER BY id;

-- name: live_revision_owners
-- (model id, revision id) of each non-deleted revision of a non-deleted model of the same user,
-- in model then revision order. *TABLE* is the model table, *REVISIONS* its revision table.
SELECT m.id, r.id
FROM *PREFIX**REVISIONS* r JOIN *PREFIX**TABLE* m ON m.user_id = r.user_id AND m.uuid = r.model
WHERE r.deleted = FALSE AND m.deleted = FALSE
ORDER BY m.id, r.id;

-- name: live_rows_in_id_range
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE id >= :low AND id <= :high AND deleted = FALSE ORDER BY id;
