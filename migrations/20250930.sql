-- Version20250930: two non-unique lookup indexes. Canonical SQL, translated per engine.

CREATE INDEX IF NOT EXISTS pw_uuid_index ON *PREFIX*passwords_password (uuid);
CREATE INDEX IF NOT EXISTS share_source_password_index ON *PREFIX*passwords_share (source_password);
