-- Version20220101 (SQLite): the twelve tables of the Passwords app.
-- *PREFIX* is dbtableprefix; index names are not prefixed.

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_password (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  revision VARCHAR(36) NOT NULL,
  share_id VARCHAR(36) DEFAULT NULL,
  has_shares BOOLEAN DEFAULT 0,
  editable BOOLEAN DEFAULT 1,
  suspended BOOLEAN DEFAULT 0,
  deleted BOOLEAN DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_password ON *PREFIX*passwords_password (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_password_ac ON *PREFIX*passwords_password (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_password_rv (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  model VARCHAR(36) NOT NULL,
  folder VARCHAR(36) NOT NULL,
  hidden BOOLEAN DEFAULT 0,
  trashed BOOLEAN DEFAULT 0,
  cse_type VARCHAR(10) NOT NULL,
  cse_key VARCHAR(36) DEFAULT '' NOT NULL,
  sse_type VARCHAR(10) NOT NULL,
  sse_key CLOB DEFAULT NULL,
  username CLOB DEFAULT NULL,
  password CLOB DEFAULT NULL,
  label CLOB DEFAULT NULL,
  url CLOB DEFAULT NULL,
  notes CLOB DEFAULT NULL,
  custom_fields CLOB DEFAULT NULL,
  hash VARCHAR(64) NOT NULL,
  favorite BOOLEAN DEFAULT 0,
  status SMALLINT DEFAULT 0 NOT NULL,
  status_code VARCHAR(12) DEFAULT 'GOOD' NOT NULL,
  deleted BOOLEAN DEFAULT 0,
  edited BIGINT NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_password_rv ON *PREFIX*passwords_password_rv (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_password_rv_ac ON *PREFIX*passwords_password_rv (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_folder (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  revision VARCHAR(36) NOT NULL,
  suspended BOOLEAN DEFAULT 0,
  deleted BOOLEAN DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_folder ON *PREFIX*passwords_folder (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_folder_ac ON *PREFIX*passwords_folder (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_folder_rv (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  model VARCHAR(36) NOT NULL,
  parent VARCHAR(36) NOT NULL,
  label CLOB DEFAULT NULL,
  cse_type VARCHAR(10) NOT NULL,
  cse_key VARCHAR(36) DEFAULT '' NOT NULL,
  sse_type VARCHAR(10) NOT NULL,
  sse_key CLOB DEFAULT NULL,
  favorite BOOLEAN DEFAULT 0,
  hidden BOOLEAN DEFAULT 0,
  trashed BOOLEAN DEFAULT 0,
  deleted BOOLEAN DEFAULT 0,
  edited BIGINT NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_folder_rv ON *PREFIX*passwords_folder_rv (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_folder_rv_ac ON *PREFIX*passwords_folder_rv (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_tag (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  revision VARCHAR(36) NOT NULL,
  deleted BOOLEAN DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_tag ON *PREFIX*passwords_tag (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_tag_ac ON *PREFIX*passwords_tag (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_tag_rv (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  model VARCHAR(36) NOT NULL,
  cse_type VARCHAR(10) NOT NULL,
  cse_key VARCHAR(36) DEFAULT '' NOT NULL,
  sse_type VARCHAR(10) NOT NULL,
  sse_key CLOB DEFAULT NULL,
  label CLOB DEFAULT NULL,
  color CLOB DEFAULT NULL,
  favorite BOOLEAN DEFAULT 0,
  hidden BOOLEAN DEFAULT 0,
  trashed BOOLEAN DEFAULT 0,
  deleted BOOLEAN DEFAULT 0,
  edited BIGINT NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_tag_rv ON *PREFIX*passwords_tag_rv (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_tag_rv_ac ON *PREFIX*passwords_tag_rv (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_pw_tag_rel (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) DEFAULT '' NOT NULL,
  password VARCHAR(36) NOT NULL,
  password_revision VARCHAR(36) NOT NULL,
  tag VARCHAR(36) NOT NULL,
  tag_revision VARCHAR(36) NOT NULL,
  hidden BOOLEAN DEFAULT 0,
  deleted BOOLEAN DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_password_tag ON *PREFIX*passwords_pw_tag_rel (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_pw_tag_rel_ac ON *PREFIX*passwords_pw_tag_rel (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_share (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  receiver VARCHAR(64) NOT NULL,
  source_password VARCHAR(36) NOT NULL,
  target_password VARCHAR(36) DEFAULT NULL,
  source_updated BOOLEAN DEFAULT 0,
  target_updated BOOLEAN DEFAULT 0,
  type VARCHAR(12) NOT NULL,
  editable BOOLEAN DEFAULT 0,
  shareable BOOLEAN DEFAULT 0,
  expires BIGINT DEFAULT NULL,
  deleted BOOLEAN DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_share ON *PREFIX*passwords_share (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_share_ac ON *PREFIX*passwords_share (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_session (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  login_type VARCHAR(12) DEFAULT 'none' NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  deleted BOOLEAN DEFAULT 0,
  authorized BOOLEAN DEFAULT 0,
  data CLOB DEFAULT NULL,
  shadow_data CLOB DEFAULT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_session ON *PREFIX*passwords_session (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_session_ac ON *PREFIX*passwords_session (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_keychain (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  type VARCHAR(36) NOT NULL,
  scope VARCHAR(12) NOT NULL,
  data CLOB DEFAULT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  deleted BOOLEAN DEFAULT 0
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_keychain ON *PREFIX*passwords_keychain (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_keychain_ac ON *PREFIX*passwords_keychain (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_challenge (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  type VARCHAR(36) NOT NULL,
  secret CLOB DEFAULT NULL,
  server_data CLOB DEFAULT NULL,
  client_data CLOB DEFAULT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  deleted BOOLEAN DEFAULT 0
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_challenge ON *PREFIX*passwords_challenge (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_challenge_ac ON *PREFIX*passwords_challenge (user_id, uuid, deleted);

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_registration (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  label VARCHAR(256) DEFAULT NULL,
  code VARCHAR(128) DEFAULT NULL,
  login VARCHAR(128) DEFAULT NULL,
  token VARCHAR(128) DEFAULT NULL,
  "limit" BIGINT DEFAULT NULL,
  status BIGINT DEFAULT 0 NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  deleted BOOLEAN DEFAULT 0
);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_registration ON *PREFIX*passwords_registration (user_id, uuid);

CREATE UNIQUE INDEX IF NOT EXISTS pw_index_registration_ac ON *PREFIX*passwords_registration (user_id, uuid, deleted);
