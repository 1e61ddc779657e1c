-- Reading a backup's data. *MODEL*/*REVISION* are a model table and its revision table,
-- *MCOLUMNS*/*RCOLUMNS* their qualified column lists (from repositories/entities.py).

-- name: models_with_revisions
-- Non-deleted models with their non-deleted revisions of the same user (the reference's findAll
-- plus findAllByModel), in id order so one pass builds each model's revision list.
SELECT *MCOLUMNS*, *RCOLUMNS*
FROM *PREFIX**MODEL* m
LEFT JOIN *PREFIX**REVISION* r ON r.model = m.uuid AND r.user_id = m.user_id AND r.deleted = FALSE
WHERE m.deleted = FALSE
ORDER BY m.id, r.id;
