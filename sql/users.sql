-- User accounts (Nextcloud core tables, when present) and moving or deleting one user's app data.
-- *TABLE* is an unprefixed app table name from repositories/entities.py. User ids compare exactly
-- (exact(): db/dialects.py; MariaDB's collation ignores trailing spaces), except in find_account,
-- which matches as Nextcloud's database backend does (callers refuse ids with edge whitespace).

-- name: find_account
-- Nextcloud's database backend matches user ids case-insensitively (uid_lower = lower(:uid)).
SELECT uid, displayname FROM *PREFIX*users WHERE LOWER(uid) = LOWER(:uid) ORDER BY uid;

-- name: find_account_data
-- Accounts of every user backend (LDAP, SAML, ...) as Nextcloud's account manager stores them.
SELECT uid, data FROM *PREFIX*accounts WHERE uid = exact(:uid);

-- name: app_user_ids
-- Every user id the app's tables hold (revisions and tag relations belong to the same users).
SELECT user_id FROM *PREFIX*passwords_password
UNION SELECT user_id FROM *PREFIX*passwords_folder
UNION SELECT user_id FROM *PREFIX*passwords_tag
UNION SELECT user_id FROM *PREFIX*passwords_share
UNION SELECT receiver FROM *PREFIX*passwords_share
UNION SELECT user_id FROM *PREFIX*passwords_keychain
UNION SELECT user_id FROM *PREFIX*passwords_challenge
UNION SELECT user_id FROM *PREFIX*passwords_session
UNION SELECT user_id FROM *PREFIX*passwords_registration;

-- name: account_ids
SELECT uid FROM *PREFIX*users;

-- name: has_rows
SELECT 1 FROM *PREFIX**TABLE* WHERE user_id = exact(:uid) LIMIT 1;

-- name: soft_delete
UPDATE *PREFIX**TABLE* SET deleted = TRUE, updated = :now WHERE user_id = exact(:uid) AND deleted = FALSE;

-- name: soft_delete_passwords
-- A deleted password is no longer shared (BeforePasswordDeletedListener clears has_shares).
UPDATE *PREFIX*passwords_password SET deleted = TRUE, has_shares = FALSE, updated = :now
WHERE user_id = exact(:uid) AND deleted = FALSE;

-- name: move_rows
-- Active rows are saved by the reference (updated bumped); soft-deleted rows keep their
-- timestamp so the purge timeout still counts from their deletion.
UPDATE *PREFIX**TABLE* SET user_id = :target, updated = CASE WHEN deleted = FALSE THEN :now ELSE updated END
WHERE user_id = exact(:source);

-- name: move_share_receiver
UPDATE *PREFIX*passwords_share SET receiver = :target, updated = CASE WHEN deleted = FALSE THEN :now ELSE updated END
WHERE receiver = exact(:source);

-- name: received_share_sources
-- Passwords of other users shared with :uid through shares that are still active.
SELECT DISTINCT user_id, source_password FROM *PREFIX*passwords_share
WHERE receiver = exact(:uid) AND user_id <> exact(:uid) AND deleted = FALSE
ORDER BY user_id, source_password;

-- name: soft_delete_received_shares
UPDATE *PREFIX*passwords_share SET deleted = TRUE, updated = :now
WHERE receiver = exact(:uid) AND user_id <> exact(:uid) AND deleted = FALSE;

-- name: clear_has_shares
-- ShareDeletedListener: a password whose last active share is gone is no longer shared.
UPDATE *PREFIX*passwords_password SET has_shares = FALSE, updated = :now
WHERE user_id = exact(:owner) AND uuid = :uuid AND deleted = FALSE AND has_shares = TRUE
AND NOT EXISTS (
  SELECT 1 FROM *PREFIX*passwords_share s
  WHERE s.user_id = exact(:owner) AND s.source_password = :uuid AND s.deleted = FALSE
);

-- name: delete_job
-- Nextcloud's job list stores the argument as PHP json_encode() text.
DELETE FROM *PREFIX*jobs WHERE class = :class AND argument = :argument;
