-- Nextcloud core tables the Passwords app relies on (layout of Nextcloud 31+), created only when
-- absent: a real Nextcloud database already has them.

CREATE TABLE IF NOT EXISTS *PREFIX*appconfig (
  appid VARCHAR(32) DEFAULT '' NOT NULL,
  configkey VARCHAR(64) DEFAULT '' NOT NULL,
  configvalue LONGTEXT DEFAULT NULL,
  type INT UNSIGNED DEFAULT 2 NOT NULL,
  lazy SMALLINT UNSIGNED DEFAULT 0 NOT NULL,
  INDEX ac_lazy_i (lazy),
  PRIMARY KEY(appid, configkey)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*preferences (
  userid VARCHAR(64) DEFAULT '' NOT NULL,
  appid VARCHAR(32) DEFAULT '' NOT NULL,
  configkey VARCHAR(64) DEFAULT '' NOT NULL,
  configvalue LONGTEXT DEFAULT NULL,
  lazy SMALLINT UNSIGNED DEFAULT 0 NOT NULL,
  type SMALLINT UNSIGNED DEFAULT 0 NOT NULL,
  flags INT UNSIGNED DEFAULT 0 NOT NULL,
  indexed VARCHAR(64) DEFAULT '',
  INDEX prefs_uid_lazy_i (userid, lazy),
  INDEX prefs_app_key_ind_fl_i (appid, configkey, indexed, flags),
  PRIMARY KEY(userid, appid, configkey)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS *PREFIX*migrations (
  app VARCHAR(255) NOT NULL,
  version VARCHAR(255) NOT NULL,
  PRIMARY KEY(app, version)
) DEFAULT CHARACTER SET *CHARSET* COLLATE `*COLLATION*` ENGINE = InnoDB;
