-- The app's SynchronizeShares job (docs/background-jobs.md#synchronizeshares). Soft deletes set
-- `deleted` and bump `updated`, as the app's services save a deleted object.

-- name: orphaned_targets
-- Active passwords that a deleted share points to as its copy (the receiver's copy of an ended
-- share), the next :limit of them.
SELECT DISTINCT a.id, a.uuid, a.share_id FROM *PREFIX*passwords_password a
JOIN *PREFIX*passwords_share b ON a.uuid = b.target_password
WHERE a.deleted = FALSE AND b.deleted = TRUE
ORDER BY a.id
LIMIT :limit;

-- name: expired_shares
-- Active shares whose expiry time has come, the next :limit of them.
SELECT id, uuid, source_password, target_password FROM *PREFIX*passwords_share
WHERE deleted = FALSE AND expires IS NOT NULL AND expires <= :now
ORDER BY id
LIMIT :limit;

-- name: active_password
SELECT has_shares, share_id FROM *PREFIX*passwords_password WHERE uuid = :uuid AND deleted = FALSE;

-- name: delete_shares_of_source
-- The shares of a password (BeforePasswordDeletedListener, or the job for an orphaned copy).
UPDATE *PREFIX*passwords_share SET deleted = TRUE, updated = :now
WHERE source_password = :uuid AND deleted = FALSE;

-- name: delete_relations
UPDATE *PREFIX*passwords_pw_tag_rel SET deleted = TRUE, updated = :now
WHERE password = :uuid AND deleted = FALSE;

-- name: delete_revisions
UPDATE *PREFIX*passwords_password_rv SET deleted = TRUE, updated = :now
WHERE model = :uuid AND deleted = FALSE;

-- name: delete_password
-- A deleted password is no longer shared.
UPDATE *PREFIX*passwords_password SET deleted = TRUE, has_shares = FALSE, updated = :now
WHERE uuid = :uuid AND deleted = FALSE;

-- name: share_of_target
-- The active share whose copy a password is (PasswordDeletedListener).
SELECT uuid, source_password FROM *PREFIX*passwords_share WHERE target_password = :uuid AND deleted = FALSE;

-- name: delete_share
-- The app saves a share it deletes also when an earlier step of the same run deleted it.
UPDATE *PREFIX*passwords_share SET deleted = TRUE, updated = :now WHERE uuid = :uuid;

-- name: unflag_source
-- ShareDeletedListener: an active password with no active share left is no longer shared (saved,
-- so `updated` is bumped, even when the flag was already off).
UPDATE *PREFIX*passwords_password SET has_shares = FALSE, updated = :now
WHERE uuid = :uuid AND deleted = FALSE
AND NOT EXISTS (
  SELECT 1 FROM *PREFIX*passwords_share s WHERE s.source_password = :uuid AND s.deleted = FALSE
);

-- name: remove_shared_attribute
-- Passwords flagged as shared that no share row (deleted or not) names as its source; the app
-- does not look at the password's own `deleted` here.
UPDATE *PREFIX*passwords_password SET has_shares = FALSE, updated = :now
WHERE has_shares = TRUE
AND NOT EXISTS (
  SELECT 1 FROM *PREFIX*passwords_share s WHERE s.source_password = *PREFIX*passwords_password.uuid
);

-- name: new_shares
-- Active shares without a copy yet, after id :after, the next :limit of them.
SELECT id, uuid, user_id, receiver, source_password, editable FROM *PREFIX*passwords_share
WHERE deleted = FALSE AND target_password IS NULL AND id > :after
ORDER BY id
LIMIT :limit;

-- name: password_owner
SELECT user_id, share_id FROM *PREFIX*passwords_password WHERE uuid = :uuid AND deleted = FALSE;

-- name: share_source
SELECT source_password FROM *PREFIX*passwords_share WHERE uuid = :uuid AND deleted = FALSE;

-- name: current_revision
-- A password's current revision (the app's findCurrentRevisionByModel: the active revision its
-- active password names, of the same user), every column in table order.
SELECT r.id, r.user_id, r.uuid, r.model, r.folder, r.hidden, r.trashed, r.cse_type, r.cse_key, r.sse_type,
  r.sse_key, r.username, r.password, r.label, r.url, r.notes, r.custom_fields, r.hash, r.favorite, r.status,
  r.status_code, r.deleted, r.edited, r.created, r.updated, r.client
FROM *PREFIX*passwords_password_rv r
JOIN *PREFIX*passwords_password p ON p.revision = r.uuid AND p.user_id = r.user_id
WHERE p.uuid = :uuid AND p.deleted = FALSE AND r.deleted = FALSE;

-- name: password_state
SELECT id, user_id, share_id, has_shares, editable FROM *PREFIX*passwords_password
WHERE uuid = :uuid AND deleted = FALSE;

-- name: has_duplicate
-- The app's duplicate rule: another active revision of the user, of another password, with the hash.
SELECT COUNT(*) FROM *PREFIX*passwords_password_rv
WHERE deleted = FALSE AND hash = :hash AND model <> :model AND user_id = :user;

-- name: set_target
-- A new share gets its copy; `source_updated` is cleared, `target_updated` left as it is.
UPDATE *PREFIX*passwords_share SET target_password = :target, source_updated = FALSE, updated = :now
WHERE id = :id;

-- name: source_updated
-- Active shares with a copy whose source changed (the app also asks `target_updated IS NOT NULL`),
-- after id :after, the next :limit of them.
SELECT id, uuid, source_password, target_password, editable, shareable FROM *PREFIX*passwords_share
WHERE deleted = FALSE AND source_updated = TRUE AND target_updated IS NOT NULL AND target_password IS NOT NULL
AND id > :after
ORDER BY id
LIMIT :limit;

-- name: target_updated
-- Active shares whose copy was edited by the receiver, after id :after, the next :limit of them.
SELECT id, uuid, source_password, target_password, editable, shareable FROM *PREFIX*passwords_share
WHERE deleted = FALSE AND target_updated = TRUE
AND id > :after
ORDER BY id
LIMIT :limit;

-- name: clear_flags
UPDATE *PREFIX*passwords_share SET source_updated = FALSE, target_updated = FALSE, updated = :now WHERE id = :id;

-- name: set_revision
-- A password's new current revision (the app's setRevision saves the model).
UPDATE *PREFIX*passwords_password SET revision = :revision, editable = :editable, updated = :now WHERE id = :id;

-- name: flag_share_of_target
-- BeforePasswordSetRevisionListener: the share whose copy an edited password is.
UPDATE *PREFIX*passwords_share SET target_updated = TRUE, updated = :now
WHERE target_password = :uuid AND deleted = FALSE;

-- name: flag_shares_of_source
-- BeforePasswordSetRevisionListener: the shares made of an edited password.
UPDATE *PREFIX*passwords_share SET source_updated = TRUE, updated = :now
WHERE source_password = :uuid AND deleted = FALSE;

-- name: lock_shares_of_source
-- The shares made of a copy that may not be edited may not be edited either.
UPDATE *PREFIX*passwords_share SET editable = FALSE, source_updated = TRUE, updated = :now
WHERE source_password = :uuid AND deleted = FALSE AND editable = TRUE;

-- name: shares_of_source
SELECT uuid, source_password FROM *PREFIX*passwords_share WHERE source_password = :uuid AND deleted = FALSE;

-- name: notification_settings
-- The users' notification settings the job reads (`notification/shares`, `notification/errors`).
SELECT userid, configkey, configvalue FROM *PREFIX*preferences
WHERE appid = 'passwords' AND configkey IN ('notification/shares', 'notification/errors');
