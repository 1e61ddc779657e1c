-- Version20220101 (MySQL / MariaDB): the twelve tables of the Passwords app.
-- *PREFIX* is dbtableprefix; index names are not prefixed.

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_password (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  revision VARCHAR(36) NOT NULL,
  share_id VARCHAR(36) DEFAULT NULL,
  has_shares TINYINT(1) DEFAULT 0,
  editable TINYINT(1) DEFAULT 1,
  suspended TINYINT(1) DEFAULT 0,
  deleted TINYINT(1) DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  UNIQUE INDEX pw_index_password (user_id, uuid),
  UNIQUE INDEX pw_index_password_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_password_rv (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  model VARCHAR(36) NOT NULL,
  folder VARCHAR(36) NOT NULL,
  hidden TINYINT(1) DEFAULT 0,
  trashed TINYINT(1) DEFAULT 0,
  cse_type VARCHAR(10) NOT NULL,
  cse_key VARCHAR(36) DEFAULT '' NOT NULL,
  sse_type VARCHAR(10) NOT NULL,
  sse_key LONGTEXT DEFAULT NULL,
  username LONGTEXT DEFAULT NULL,
  password LONGTEXT DEFAULT NULL,
  label LONGTEXT DEFAULT NULL,
  url LONGTEXT DEFAULT NULL,
  notes LONGTEXT DEFAULT NULL,
  custom_fields LONGTEXT DEFAULT NULL,
  hash VARCHAR(64) NOT NULL,
  favorite TINYINT(1) DEFAULT 0,
  status SMALLINT DEFAULT 0 NOT NULL,
  status_code VARCHAR(12) DEFAULT 'GOOD' NOT NULL,
  deleted TINYINT(1) DEFAULT 0,
  edited BIGINT NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL,
  UNIQUE INDEX pw_index_password_rv (user_id, uuid),
  UNIQUE INDEX pw_index_password_rv_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_folder (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  revision VARCHAR(36) NOT NULL,
  suspended TINYINT(1) DEFAULT 0,
  deleted TINYINT(1) DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  UNIQUE INDEX pw_index_folder (user_id, uuid),
  UNIQUE INDEX pw_index_folder_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_folder_rv (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  model VARCHAR(36) NOT NULL,
  parent VARCHAR(36) NOT NULL,
  label LONGTEXT DEFAULT NULL,
  cse_type VARCHAR(10) NOT NULL,
  cse_key VARCHAR(36) DEFAULT '' NOT NULL,
  sse_type VARCHAR(10) NOT NULL,
  sse_key LONGTEXT DEFAULT NULL,
  favorite TINYINT(1) DEFAULT 0,
  hidden TINYINT(1) DEFAULT 0,
  trashed TINYINT(1) DEFAULT 0,
  deleted TINYINT(1) DEFAULT 0,
  edited BIGINT NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL,
  UNIQUE INDEX pw_index_folder_rv (user_id, uuid),
  UNIQUE INDEX pw_index_folder_rv_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_tag (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  revision VARCHAR(36) NOT NULL,
  deleted TINYINT(1) DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  UNIQUE INDEX pw_index_tag (user_id, uuid),
  UNIQUE INDEX pw_index_tag_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_tag_rv (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  model VARCHAR(36) NOT NULL,
  cse_type VARCHAR(10) NOT NULL,
  cse_key VARCHAR(36) DEFAULT '' NOT NULL,
  sse_type VARCHAR(10) NOT NULL,
  sse_key LONGTEXT DEFAULT NULL,
  label LONGTEXT DEFAULT NULL,
  color LONGTEXT DEFAULT NULL,
  favorite TINYINT(1) DEFAULT 0,
  hidden TINYINT(1) DEFAULT 0,
  trashed TINYINT(1) DEFAULT 0,
  deleted TINYINT(1) DEFAULT 0,
  edited BIGINT NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL,
  UNIQUE INDEX pw_index_tag_rv (user_id, uuid),
  UNIQUE INDEX pw_index_tag_rv_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_pw_tag_rel (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) DEFAULT '' NOT NULL,
  password VARCHAR(36) NOT NULL,
  password_revision VARCHAR(36) NOT NULL,
  tag VARCHAR(36) NOT NULL,
  tag_revision VARCHAR(36) NOT NULL,
  hidden TINYINT(1) DEFAULT 0,
  deleted TINYINT(1) DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL,
  UNIQUE INDEX pw_index_password_tag (user_id, uuid),
  UNIQUE INDEX pw_index_pw_tag_rel_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_share (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  receiver VARCHAR(64) NOT NULL,
  source_password VARCHAR(36) NOT NULL,
  target_password VARCHAR(36) DEFAULT NULL,
  source_updated TINYINT(1) DEFAULT 0,
  target_updated TINYINT(1) DEFAULT 0,
  type VARCHAR(12) NOT NULL,
  editable TINYINT(1) DEFAULT 0,
  shareable TINYINT(1) DEFAULT 0,
  expires BIGINT DEFAULT NULL,
  deleted TINYINT(1) DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL,
  UNIQUE INDEX pw_index_share (user_id, uuid),
  UNIQUE INDEX pw_index_share_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_session (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  login_type VARCHAR(12) DEFAULT 'none' NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  deleted TINYINT(1) DEFAULT 0,
  authorized TINYINT(1) DEFAULT 0,
  data LONGTEXT DEFAULT NULL,
  shadow_data LONGTEXT DEFAULT NULL,
  client VARCHAR(256) DEFAULT 'CLIENT::UNKNOWN' NOT NULL,
  UNIQUE INDEX pw_index_session (user_id, uuid),
  UNIQUE INDEX pw_index_session_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_keychain (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  type VARCHAR(36) NOT NULL,
  scope VARCHAR(12) NOT NULL,
  data LONGTEXT DEFAULT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  deleted TINYINT(1) DEFAULT 0,
  UNIQUE INDEX pw_index_keychain (user_id, uuid),
  UNIQUE INDEX pw_index_keychain_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_challenge (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  type VARCHAR(36) NOT NULL,
  secret LONGTEXT DEFAULT NULL,
  server_data LONGTEXT DEFAULT NULL,
  client_data LONGTEXT DEFAULT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  deleted TINYINT(1) DEFAULT 0,
  UNIQUE INDEX pw_index_challenge (user_id, uuid),
  UNIQUE INDEX pw_index_challenge_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*passwords_registration (
  id BIGINT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  uuid VARCHAR(36) NOT NULL,
  label VARCHAR(256) DEFAULT NULL,
  code VARCHAR(128) DEFAULT NULL,
  login VARCHAR(128) DEFAULT NULL,
  token VARCHAR(128) DEFAULT NULL,
  `limit` BIGINT DEFAULT NULL,
  status BIGINT DEFAULT 0 NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  deleted TINYINT(1) DEFAULT 0,
  UNIQUE INDEX pw_index_registration (user_id, uuid),
  UNIQUE INDEX pw_index_registration_ac (user_id, uuid, deleted),
  PRIMARY KEY(id)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;
