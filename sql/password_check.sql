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

-- name: check_page
-- The next revisions to check in (hash, id) order after (:hash, :id): active ones whose status is
-- neither bad (2) nor unknown (3), with whether each is its password's current revision.
SELECT r.id, r.user_id, r.hash, r.status_code, r.edited,
  CASE WHEN p.id IS NULL THEN 0 ELSE 1 END AS is_current
FROM *PREFIX*passwords_password_rv r
LEFT JOIN *PREFIX*passwords_password p ON p.user_id = r.user_id AND p.uuid = r.model AND p.revision = r.uuid
WHERE r.deleted = FALSE AND r.status <> 2 AND r.status <> 3
AND (r.hash > :hash OR (r.hash = :hash AND r.id > :id))
ORDER BY r.hash, r.id
LIMIT :limit;

-- name: duplicates_in_range
-- (user, hash) pairs between :low and :high that active revisions of more than one password hold.
SELECT user_id, hash FROM *PREFIX*passwords_password_rv
WHERE deleted = FALSE AND hash >= :low AND hash <= :high
GROUP BY user_id, hash HAVING COUNT(DISTINCT model) > 1;

-- name: set_status
UPDATE *PREFIX*passwords_password_rv SET status = :status, status_code = :code, updated = :now WHERE id = :id;
