-- Rows by a list of ids (MySQL/MariaDB: PyMySQL expands a tuple parameter to `(1,2,3)`).

-- name: rows_by_ids
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE id IN :ids;

-- STRAIGHT_JOIN: scan the revisions, look models up by their unique (user_id, uuid) index.
-- name: live_revision_owners
SELECT STRAIGHT_JOIN m.id, r.id
FROM *PREFIX**REVISIONS* r JOIN *PREFIX**TABLE* m ON m.user_id = r.user_id AND m.uuid = r.model
WHERE r.deleted = FALSE AND m.deleted = FALSE
ORDER BY m.id, r.id;
