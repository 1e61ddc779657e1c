-- Counts for passwords:system:report (ServerReportHelper).

-- name: active_shares
SELECT COUNT(*) FROM *PREFIX*passwords_share WHERE deleted = FALSE;

-- name: sse_types
-- Non-deleted tag, folder and password revisions per server-side encryption type.
SELECT t.sse_type, COUNT(*) FROM (
  SELECT sse_type FROM *PREFIX*passwords_tag_rv WHERE deleted = FALSE
  UNION ALL SELECT sse_type FROM *PREFIX*passwords_folder_rv WHERE deleted = FALSE
  UNION ALL SELECT sse_type FROM *PREFIX*passwords_password_rv WHERE deleted = FALSE
) t GROUP BY t.sse_type;

-- name: cse_types
SELECT t.cse_type, COUNT(*) FROM (
  SELECT cse_type FROM *PREFIX*passwords_tag_rv WHERE deleted = FALSE
  UNION ALL SELECT cse_type FROM *PREFIX*passwords_folder_rv WHERE deleted = FALSE
  UNION ALL SELECT cse_type FROM *PREFIX*passwords_password_rv WHERE deleted = FALSE
) t GROUP BY t.cse_type;
