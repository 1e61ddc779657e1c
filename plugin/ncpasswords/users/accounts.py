"""Which user ids exist: Nextcloud's user tables when the instance lives in a Nextcloud database.

The rule (docs/compatibility.md):

* When `<prefix>users` exists (the tables were dropped into a real Nextcloud database), an id
  exists if Nextcloud's database backend knows it (`users.uid`, matched case-insensitively as
  the backend does, so `Alice` finds `alice`), or if `<prefix>accounts` holds it (accounts of
  other backends such as LDAP, matched exactly).
* On a standalone instance without `<prefix>users` every user id counts as existing, with the
  id as its display name.

An id that is empty or begins or ends with whitespace is refused before any lookup: Nextcloud
never creates such ids, and MariaDB's collation would match `alice ` to `alice`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..db.connection import Database
from ..errors import UserError


def check_user_id(uid: str, what: str = "user id") -> str:
    """`uid` when Nextcloud could have created it; else a UserError naming `what` (the argument
    or option the id came from)."""
    if not uid.strip():
        raise UserError(f"Invalid {what} {uid!r}: a user id cannot be empty")
    if uid != uid.strip():
        raise UserError(f"Invalid {what} {uid!r}: a user id cannot begin or end with whitespace")
    return uid


@dataclass(frozen=True)
class Account:
    """A Nextcloud user as the user manager returns it."""

    uid: str
    display_name: str


class UserDirectory:
    """Looks user ids up the way Nextcloud's user manager would, or accepts every id."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.standalone = not db.table_exists("users")
        self._accounts = not self.standalone and db.table_exists("accounts")

    def ids(self) -> list[str]:
        """Every user id the app's tables hold, plus Nextcloud's accounts where it has a user table."""
        found = {str(row[0]) for row in self.db.rows("users.app_user_ids") if row[0]}
        if not self.standalone:
            found.update(str(row[0]) for row in self.db.rows("users.account_ids") if row[0])
        return sorted(found)

    def get(self, uid: str) -> Account | None:
        """The account for `uid` (its real uid may differ in case), or None when it does not exist."""
        if self.standalone:
            return Account(uid, uid)
        rows = self.db.rows("users.find_account", {"uid": uid})
        if rows:
            exact = [r for r in rows if str(r[0]) == uid]
            found, name = exact[0] if exact else rows[0]
            return Account(str(found), str(name) if name else str(found))
        if self._accounts:
            for found, data in self.db.rows("users.find_account_data", {"uid": uid}):
                return Account(str(found), _account_display_name(data) or str(found))
        return None


def _account_display_name(data: object) -> str | None:
    """`displayname.value` of an accounts row's JSON data, if it has one."""
    try:
        decoded = json.loads(str(data))
    except (TypeError, ValueError):
        return None
    if isinstance(decoded, dict):
        entry = decoded.get("displayname")
        if isinstance(entry, dict) and isinstance(entry.get("value"), str) and entry["value"]:
            return str(entry["value"])
    return None
