-- The migrations table: which app migration versions ran (Nextcloud's `oc_migrations`).

-- name: executed
SELECT version FROM *PREFIX*migrations WHERE app = :app ORDER BY version;

-- name: record
INSERT INTO *PREFIX*migrations (app, version) VALUES (:app, :version);
