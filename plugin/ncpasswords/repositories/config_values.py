"""App values (`appconfig`) and user values (`preferences`), as Nextcloud's IConfig stores them."""

from __future__ import annotations

from ..db.connection import Database


class AppConfig:
    """Values of one app in `<prefix>appconfig`; always strings."""

    def __init__(self, db: Database, app: str = "passwords") -> None:
        self.db = db
        self.app = app

    def get(self, key: str) -> str | None:
        value = self.db.scalar("appconfig.get", {"appid": self.app, "configkey": key})
        return None if value is None else str(value)

    def all(self) -> dict[str, str]:
        return {str(k): "" if v is None else str(v) for k, v in self.db.rows("appconfig.for_app", {"appid": self.app})}

    def set(self, key: str, value: str) -> None:
        params = {"appid": self.app, "configkey": key, "configvalue": value}
        with self.db.transaction():
            name = "appconfig.insert" if self.get(key) is None else "appconfig.update"
            self.db.execute(name, params).close()

    def delete(self, key: str) -> bool:
        """Remove a key; True when it existed."""
        cur = self.db.execute("appconfig.delete", {"appid": self.app, "configkey": key})
        deleted = bool(cur.rowcount > 0)
        cur.close()
        return deleted


class Preferences:
    """Per-user values of one app in `<prefix>preferences`."""

    def __init__(self, db: Database, app: str = "passwords") -> None:
        self.db = db
        self.app = app

    def get(self, user: str, key: str) -> str | None:
        value = self.db.scalar("preferences.get", {"userid": user, "appid": self.app, "configkey": key})
        return None if value is None else str(value)

    def for_user(self, user: str) -> dict[str, str]:
        rows = self.db.rows("preferences.for_user", {"userid": user, "appid": self.app})
        return {str(k): "" if v is None else str(v) for k, v in rows}

    def all(self) -> dict[str, dict[str, str]]:
        """user id -> key -> value, for every user with values of this app."""
        out: dict[str, dict[str, str]] = {}
        for user, key, value in self.db.rows("preferences.for_app", {"appid": self.app}):
            out.setdefault(str(user), {})[str(key)] = "" if value is None else str(value)
        return out

    def set(self, user: str, key: str, value: str) -> None:
        params = {"userid": user, "appid": self.app, "configkey": key, "configvalue": value}
        with self.db.transaction():
            name = "preferences.insert" if self.get(user, key) is None else "preferences.update"
            self.db.execute(name, params).close()

    def delete(self, user: str, key: str) -> bool:
        cur = self.db.execute("preferences.delete", {"userid": user, "appid": self.app, "configkey": key})
        deleted = bool(cur.rowcount > 0)
        cur.close()
        return deleted

    def delete_user(self, user: str) -> int:
        cur = self.db.execute("preferences.delete_user", {"userid": user, "appid": self.app})
        count = int(cur.rowcount)
        cur.close()
        return count
