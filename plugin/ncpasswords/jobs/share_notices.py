"""The notifications the app's SynchronizeShares job sends, as rows of Nextcloud's notifications
app (`<prefix>notifications`), written the way its handler stores them
(docs/background-jobs.md#synchronizeshares).
"""

from __future__ import annotations

from typing import Any

from ..db.connection import Database
from ..instance.instance import Instance
from ..php.casts import php_boolval
from ..php.json import dumps as php_json
from ..repositories.config_values import AppConfig

COLUMNS = (
    "app", "user", "timestamp", "object_type", "object_id", "subject", "subject_parameters", "message",
    "message_parameters", "link", "icon", "actions",
)  # fmt: skip
#: (object id, subject, the user setting that allows it, the tab of the app the link opens)
CREATED = ("create", "share_create", "notification/shares", 0)
LOOP = ("loop", "share_loop", "notification/errors", 1)


def _base_url(instance: Instance) -> str:
    return str(instance.get_if_known("overwrite.cli.url", "") or "").rstrip("/")


def _app_url(instance: Instance) -> str:
    """The absolute address of the app's page, as Nextcloud's URL generator gives it from cron."""
    front = "" if php_boolval(instance.get_if_known("htaccess.IgnoreFrontController", False)) else "/index.php"
    return f"{_base_url(instance)}{front}/apps/passwords/"


def enabled(db: Database) -> bool:
    """Whether notifications are stored: Nextcloud's notifications app is there and enabled."""
    return db.table_exists("notifications") and AppConfig(db, "notifications").get("enabled") not in (None, "no")


def _allowed(db: Database, users: list[str], setting: str) -> set[str]:
    """The users whose setting allows the notification (unset means allowed)."""
    values = {
        str(u): "" if v is None else str(v) for u, k, v in db.rows("shares.notification_settings") if k == setting
    }
    return {u for u in users if u not in values or values[u] not in ("", "0")}


def _row(instance: Instance, user: str, kind: tuple[str, str, str, int], params: Any, now: int) -> tuple[Any, ...]:
    object_id, subject, _, tab = kind
    action = {"label": "link", "link": f"{_app_url(instance)}#/shared/{tab}", "type": "WEB", "primary": True}
    icon = f"{_base_url(instance)}/apps/passwords/img/app-dark.svg"
    return (
        "passwords", user, now, "share", object_id, subject, php_json(params), "", "[]", "", icon, php_json([action]),
    )  # fmt: skip


def notify(
    instance: Instance, db: Database, created: dict[str, dict[str, int]], loops: dict[str, int], now: int
) -> int:
    """One notification per receiver of new copies (how many per sharing user) and one per user
    whose shares were loops; returns how many rows were written."""
    if not (created or loops) or not enabled(db):
        return 0
    receivers = _allowed(db, list(created), CREATED[2])
    sharers = _allowed(db, list(loops), LOOP[2])
    rows = [_row(instance, u, CREATED, {"owners": owners}, now) for u, owners in created.items() if u in receivers]
    rows += [_row(instance, u, LOOP, {"passwords": amount}, now) for u, amount in loops.items() if u in sharers]
    if rows:
        db.insert_many("notifications", COLUMNS, rows)
    return len(rows)
