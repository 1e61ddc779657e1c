-- The app's SynchronizeShares job, the queries that take a list (the engine's list parameter:
-- db.list_param).

-- name: hash_owners
-- Which users have an active revision with one of the hashes (the duplicate rule of the security
-- check, for the receivers' new copies of a batch).
SELECT DISTINCT user_id, hash FROM *PREFIX*passwords_password_rv
WHERE deleted = FALSE AND hash IN :hashes;
