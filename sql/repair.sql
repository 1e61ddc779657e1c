-- The app's database repair step (docs/repair.md): the rows that need a fix, each table in one
-- query, with what the fix needs. *TABLE* is a model table, *REVISIONS* its revision table.

-- Fixes for lists of ids are in repair.<engine>.sql (the engine's list parameter).

-- name: count_active
SELECT COUNT(*) FROM *PREFIX**TABLE* WHERE deleted = FALSE;

-- name: orphaned_revisions
-- Active revisions whose model has no active row.
SELECT r.id FROM *PREFIX**REVISIONS* r
LEFT JOIN (SELECT DISTINCT uuid FROM *PREFIX**TABLE* WHERE deleted = FALSE) m ON m.uuid = r.model
WHERE r.deleted = FALSE AND m.uuid IS NULL
ORDER BY r.id;

-- name: password_revisions_to_fix
-- Active password revisions after id :after (:limit of them) with a missing model, a status that disagrees with its code or hash,
-- or a folder that has no active row.
SELECT r.id, r.status, r.status_code, r.hash, r.folder,
  CASE WHEN m.uuid IS NULL THEN 0 ELSE 1 END AS has_model,
  CASE WHEN r.folder = :base OR f.uuid IS NOT NULL THEN 1 ELSE 0 END AS has_folder
FROM *PREFIX*passwords_password_rv r
LEFT JOIN (SELECT DISTINCT uuid FROM *PREFIX*passwords_password WHERE deleted = FALSE) m ON m.uuid = r.model
LEFT JOIN (SELECT DISTINCT uuid FROM *PREFIX*passwords_folder WHERE deleted = FALSE) f ON f.uuid = r.folder
WHERE r.deleted = FALSE AND r.id > :after AND (
  m.uuid IS NULL
  OR (r.status <> 0 AND r.status_code = 'GOOD')
  OR ((r.hash = '' OR r.hash = '0') AND r.status <> 3)
  OR (r.folder <> :base AND f.uuid IS NULL)
)
ORDER BY r.id
LIMIT :limit;

-- name: active_folders
-- Every active folder's uuid (a uuid two users share comes twice).
SELECT uuid FROM *PREFIX*passwords_folder WHERE deleted = FALSE;

-- name: current_folder_revisions
-- Each folder's current revision (the folder row itself may be deleted, as in the app's lookup).
SELECT r.model, r.parent FROM *PREFIX*passwords_folder_rv r
JOIN *PREFIX*passwords_folder m ON m.user_id = r.user_id AND m.uuid = r.model AND m.revision = r.uuid
WHERE r.deleted = FALSE;

-- name: folder_revisions
SELECT r.id, r.uuid, r.model, r.parent,
  CASE WHEN m.id IS NULL THEN 0 ELSE 1 END AS is_current
FROM *PREFIX*passwords_folder_rv r
LEFT JOIN *PREFIX*passwords_folder m ON m.user_id = r.user_id AND m.uuid = r.model AND m.revision = r.uuid
WHERE r.deleted = FALSE
ORDER BY r.id;

-- name: fix_folder_revision
UPDATE *PREFIX*passwords_folder_rv SET deleted = :deleted, parent = :parent, updated = :now WHERE id = :id;

-- name: models_to_fix
-- Active models (but the base folder) without an active revision, or whose revision is not an
-- active revision of theirs, with the newest of their active revisions.
SELECT m.id, lr.uuid AS latest
FROM *PREFIX**TABLE* m
LEFT JOIN (
  SELECT user_id, model, MAX(id) AS latest_id FROM *PREFIX**REVISIONS* WHERE deleted = FALSE GROUP BY user_id, model
) lat ON lat.user_id = m.user_id AND lat.model = m.uuid
LEFT JOIN *PREFIX**REVISIONS* lr ON lr.id = lat.latest_id
LEFT JOIN *PREFIX**REVISIONS* cur ON cur.user_id = m.user_id AND cur.uuid = m.revision AND cur.deleted = FALSE
WHERE m.deleted = FALSE AND m.uuid <> :base AND (lat.latest_id IS NULL OR cur.id IS NULL OR cur.model <> m.uuid)
ORDER BY m.id;

-- name: shared_copies_without_share
-- Active passwords received through a share that is gone or no longer points at them.
SELECT p.id FROM *PREFIX*passwords_password p
LEFT JOIN *PREFIX*passwords_share s ON s.uuid = p.share_id AND s.deleted = FALSE AND s.target_password = p.uuid
WHERE p.deleted = FALSE AND p.share_id IS NOT NULL AND p.share_id <> '' AND p.share_id <> '0' AND s.id IS NULL
ORDER BY p.id;

-- name: set_model_revision
UPDATE *PREFIX**TABLE* SET revision = :revision, updated = :now WHERE id = :id;

-- name: relations_to_fix
-- Password-tag relations whose password or tag is not an active row of the same user (active
-- relations only), or without a uuid.
SELECT r.id, r.deleted, r.uuid,
  CASE WHEN r.deleted = FALSE AND (p.id IS NULL OR t.id IS NULL) THEN 1 ELSE 0 END AS broken
FROM *PREFIX*passwords_pw_tag_rel r
LEFT JOIN *PREFIX*passwords_password p ON p.user_id = r.user_id AND p.uuid = r.password AND p.deleted = FALSE
LEFT JOIN *PREFIX*passwords_tag t ON t.user_id = r.user_id AND t.uuid = r.tag AND t.deleted = FALSE
WHERE r.uuid = '' OR (r.deleted = FALSE AND (p.id IS NULL OR t.id IS NULL))
ORDER BY r.id;

-- name: fix_relation
UPDATE *PREFIX*passwords_pw_tag_rel SET deleted = :deleted, uuid = :uuid, updated = :now WHERE id = :id;

-- name: count_relations
SELECT COUNT(*) FROM *PREFIX*passwords_pw_tag_rel WHERE deleted = FALSE OR deleted = TRUE;

-- name: shares_without_copy
-- Active shares whose copy for the receiver is not an active password.
SELECT s.id FROM *PREFIX*passwords_share s
LEFT JOIN (SELECT DISTINCT uuid FROM *PREFIX*passwords_password WHERE deleted = FALSE) p ON p.uuid = s.target_password
WHERE s.deleted = FALSE AND s.target_password IS NOT NULL AND p.uuid IS NULL
ORDER BY s.id;

