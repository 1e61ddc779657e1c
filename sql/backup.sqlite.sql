-- Rows by a list of ids (SQLite: a JSON array parameter read with json_each).

-- name: rows_by_ids
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE id IN (SELECT value FROM json_each(:ids));

-- CROSS JOIN keeps the order of the tables: scan the revisions, look models up by their unique
-- (user_id, uuid) index.
-- name: live_revision_owners
SELECT m.id, r.id
FROM *PREFIX**REVISIONS* r CROSS JOIN *PREFIX**TABLE* m ON m.user_id = r.user_id AND m.uuid = r.model
WHERE r.deleted = 0 AND m.deleted = 0
ORDER BY m.id, r.id;
