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
SELECT id, uuid, user_id, receiver, source_password FROM *PREFIX*passwords_share
WHERE deleted = FALSE AND target_password IS NULL AND id > :after
ORDER BY id
LIMIT :limit;

-- name: password_owner
SELECT user_id, share_id FROM *PREFIX*passwords_password WHERE uuid = :uuid AND deleted = FALSE;

-- name: share_source
SELECT source_password FROM *PREFIX*passwords_share WHERE uuid = :uuid AND deleted = FALSE;
