-- One status for a list of revision ids (the engine's list parameter: db.id_list).

-- name: set_status_ids
UPDATE *PREFIX*passwords_password_rv SET status = :status, status_code = :code, updated = :now WHERE id = ANY(:ids);
