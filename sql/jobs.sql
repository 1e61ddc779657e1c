-- Nextcloud's background job list (`oc_jobs`), read and updated the way its JobList does, so that
-- Nextcloud's cron and `occ background-job:worker` never run one job at the same time.

-- name: has_class
SELECT 1 FROM *PREFIX*jobs WHERE class = :class LIMIT 1;

-- The next row of a class that may run: not reserved within the last 12 hours (:reserved_before)
-- and not scheduled for later (last_checked), the least recently checked first.
-- name: next
SELECT id, class, argument, last_run, last_checked, reserved_at FROM *PREFIX*jobs
WHERE reserved_at <= :reserved_before AND last_checked <= :now AND class = :class
ORDER BY last_checked, id LIMIT 1;

-- Every row of a class that may run now, in the order of `next` (a queued job's rows).
-- name: runnable
SELECT id, class, argument, last_run, last_checked, reserved_at FROM *PREFIX*jobs
WHERE reserved_at <= :reserved_before AND last_checked <= :now AND class = :class
ORDER BY last_checked, id;

-- A queued job's rows with one argument (PHP json_encode() text), as Nextcloud's remove() does.
-- name: remove
DELETE FROM *PREFIX*jobs WHERE class = :class AND argument = :argument;

-- Reserve the row only if nobody else did since it was read (one row changed: it is ours).
-- name: reserve
UPDATE *PREFIX*jobs SET reserved_at = :now, last_checked = :now
WHERE id = :id AND reserved_at = :reserved_at AND last_checked = :last_checked;

-- name: set_last_run
UPDATE *PREFIX*jobs SET last_run = :now WHERE id = :id;

-- name: set_execution_time
UPDATE *PREFIX*jobs SET execution_duration = :duration, reserved_at = 0 WHERE id = :id;

-- name: unlock
UPDATE *PREFIX*jobs SET reserved_at = 0 WHERE id = :id;

-- The app's jobs (class starting with :prefix of :prefix_length characters), or those of one class.
-- name: list_app
SELECT id, class, argument, last_run, last_checked FROM *PREFIX*jobs
WHERE SUBSTRING(class, 1, :prefix_length) = :prefix ORDER BY id LIMIT :limit OFFSET :offset;

-- name: list_class
SELECT id, class, argument, last_run, last_checked FROM *PREFIX*jobs
WHERE class = :class ORDER BY id LIMIT :limit OFFSET :offset;

-- name: count_by_class
SELECT class, COUNT(id) AS count FROM *PREFIX*jobs WHERE SUBSTRING(class, 1, :prefix_length) = :prefix
GROUP BY class;
