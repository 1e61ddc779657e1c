-- Nextcloud core tables the Passwords app relies on (layout of Nextcloud 31+), created only when
-- absent: a real Nextcloud database already has them.

CREATE TABLE IF NOT EXISTS *PREFIX*appconfig (
  appid VARCHAR(32) DEFAULT '' NOT NULL,
  configkey VARCHAR(64) DEFAULT '' NOT NULL,
  configvalue CLOB DEFAULT NULL,
  type INTEGER UNSIGNED DEFAULT 2 NOT NULL,
  lazy SMALLINT UNSIGNED DEFAULT 0 NOT NULL,
  PRIMARY KEY(appid, configkey)
);
CREATE INDEX IF NOT EXISTS ac_lazy_i ON *PREFIX*appconfig (lazy);

CREATE TABLE IF NOT EXISTS *PREFIX*preferences (
  userid VARCHAR(64) DEFAULT '' NOT NULL,
  appid VARCHAR(32) DEFAULT '' NOT NULL,
  configkey VARCHAR(64) DEFAULT '' NOT NULL,
  configvalue CLOB DEFAULT NULL,
  lazy SMALLINT UNSIGNED DEFAULT 0 NOT NULL,
  type SMALLINT UNSIGNED DEFAULT 0 NOT NULL,
  flags INTEGER UNSIGNED DEFAULT 0 NOT NULL,
  indexed VARCHAR(64) DEFAULT '',
  PRIMARY KEY(userid, appid, configkey)
);
CREATE INDEX IF NOT EXISTS prefs_uid_lazy_i ON *PREFIX*preferences (userid, lazy);
CREATE INDEX IF NOT EXISTS prefs_app_key_ind_fl_i ON *PREFIX*preferences (appid, configkey, indexed, flags);

CREATE TABLE IF NOT EXISTS *PREFIX*migrations (
  app VARCHAR(255) NOT NULL,
  version VARCHAR(255) NOT NULL,
  PRIMARY KEY(app, version)
);
