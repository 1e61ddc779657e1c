-- Rows by a list of ids (PostgreSQL: an array parameter).

-- name: rows_by_ids
SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE id = ANY(:ids);

-- Each revision looks its model up by the models' unique (user_id, uuid) index in a scalar
-- subquery, which PostgreSQL never turns into a join: the plan (a scan of the revisions, one
-- index probe each, a sort of the pairs) does not depend on statistics. As a join, a table loaded
-- but not yet analysed made the planner pick a nested loop over the revisions of each user for
-- every model (quadratic). OFFSET 0 keeps the subquery from being folded into the outer query,
-- which would evaluate the lookup twice per revision.
-- name: live_revision_owners
SELECT p.model_id, p.revision_id FROM (
  SELECT (SELECT m.id FROM *PREFIX**TABLE* m
          WHERE m.user_id = r.user_id AND m.uuid = r.model AND m.deleted = FALSE) AS model_id,
         r.id AS revision_id
  FROM *PREFIX**REVISIONS* r
  WHERE r.deleted = FALSE
  OFFSET 0
) p
WHERE p.model_id IS NOT NULL
ORDER BY p.model_id, p.revision_id;
