-- Fixes for a list of row ids (the engine's list parameter: db.list_param). *TABLE* is an app table.

-- name: soft_delete_ids
UPDATE *PREFIX**TABLE* SET deleted = TRUE, updated = :now WHERE id IN (SELECT value FROM json_each(:ids));

-- name: revision_status_ids
UPDATE *PREFIX*passwords_password_rv SET status = :status, updated = :now WHERE id IN (SELECT value FROM json_each(:ids));

-- name: revision_base_folder_ids
UPDATE *PREFIX*passwords_password_rv SET folder = :base, updated = :now WHERE id IN (SELECT value FROM json_each(:ids));

-- name: reset_share_ids
UPDATE *PREFIX*passwords_share SET source_updated = TRUE, target_password = NULL, updated = :now WHERE id IN (SELECT value FROM json_each(:ids));
