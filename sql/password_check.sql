-- The app's CheckPasswordsJob (docs/background-jobs.md#checkpasswordsjob). User ids compare
-- exactly (exact(): db/dialects.py).

-- name: rule_preferences
-- The users' settings the check reads (hash length, maximum age in days, duplicate check).
SELECT userid, configkey, configvalue FROM *PREFIX*preferences
WHERE appid = 'passwords'
AND configkey IN ('password/security/hash', 'password/security/age', 'password/security/duplicates');

-- name: count_revisions
SELECT COUNT(*) FROM *PREFIX*passwords_password_rv WHERE deleted = FALSE;

-- name: truncate_user_hashes
-- A user's stored hashes cut to the user's hash length (the app's mapper update: only `hash`).
UPDATE *PREFIX*passwords_password_rv SET hash = SUBSTR(hash, 1, :length)
WHERE deleted = FALSE AND user_id = exact(:uid) AND LENGTH(hash) > :length;

-- name: truncate_default_hashes
-- The same for every user without their own hash length setting.
UPDATE *PREFIX*passwords_password_rv SET hash = SUBSTR(hash, 1, :length)
WHERE deleted = FALSE AND LENGTH(hash) > :length AND user_id NOT IN (
  SELECT userid FROM *PREFIX*preferences WHERE appid = 'passwords' AND configkey = 'password/security/hash'
);

-- name: revisions_to_check
-- Active revisions whose status is neither bad (2) nor unknown (3), in hash order (so the files of
-- the local database are read one after the other), with whether another of the user's passwords
-- has an active revision with the same hash. Only narrow columns, so engines sort them in memory.
SELECT r.id, r.user_id, r.hash, r.status_code, r.edited,
  CASE WHEN d.hash IS NULL THEN 0 ELSE 1 END AS is_duplicate
FROM *PREFIX*passwords_password_rv r
LEFT JOIN (
  SELECT user_id, hash FROM *PREFIX*passwords_password_rv WHERE deleted = FALSE
  GROUP BY user_id, hash HAVING MIN(model) <> MAX(model)
) d ON d.user_id = r.user_id AND d.hash = r.hash
WHERE r.deleted = FALSE AND r.status <> 2 AND r.status <> 3
ORDER BY r.hash, r.id;

-- set_status_ids (a status for a list of ids) and current_by_ids (how many of a list of revisions
-- are their password's current one, per user) are in password_check.<engine>.sql.
