-- One status for a list of revision ids (the engine's list parameter: db.list_param).

-- name: set_status_ids
UPDATE *PREFIX*passwords_password_rv SET status = :status, status_code = :code, updated = :now WHERE id IN :ids;

-- name: current_by_ids
SELECT r.user_id, COUNT(*) FROM *PREFIX*passwords_password_rv r
JOIN *PREFIX*passwords_password p ON p.user_id = r.user_id AND p.uuid = r.model AND p.revision = r.uuid
WHERE r.id IN :ids
GROUP BY r.user_id;
