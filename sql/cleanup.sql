-- The app's CleanUpEntities job (docs/background-jobs.md#cleanupentities). *TABLE* is an unprefixed
-- app table name from repositories/entities.py. User ids compare exactly (exact(): db/dialects.py).

-- name: expire_sessions
-- Sessions not used for an hour (CleanSessionsHelper: active sessions with updated <= now - 3600).
DELETE FROM *PREFIX*passwords_session WHERE deleted = FALSE AND updated <= :before;

-- name: expire_registrations
-- Client registrations older than 150 seconds (CleanRegistrationsHelper: created <= now - 150).
DELETE FROM *PREFIX*passwords_registration WHERE deleted = FALSE AND created <= :before;

-- name: deleted_user_ids
-- The owners of a table's soft-deleted rows, to ask which of them still exist.
SELECT DISTINCT user_id FROM *PREFIX**TABLE* WHERE deleted = TRUE;

-- name: purge_before
-- Soft-deleted rows last changed before :before (entity/purge/timeout).
DELETE FROM *PREFIX**TABLE* WHERE deleted = TRUE AND updated < :before;

-- name: purge_user
-- Soft-deleted rows of a user that no longer exists.
DELETE FROM *PREFIX**TABLE* WHERE deleted = TRUE AND user_id = exact(:uid);
