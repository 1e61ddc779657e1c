"""The server report of `passwords:system:report` (docs/internals/commands.md#passwordssystemreport).

Built from config.php, the app's and core's app values and a few counts. It holds no
credentials: no secrets or keys, no user ids, host names or URLs; API keys and the proxy appear
only as booleans and the share count only as a bucket. Differences from the reference, which
runs inside PHP (docs/compatibility.md): PHP versions not recorded by a real server are
null, `services.images` stays `auto` (the PHP image extensions cannot be probed), and
`version.ncpasswords` and `environment.databaseVersion` are added.
"""

from __future__ import annotations

import platform
import struct
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .db.connection import Database
from .instance.instance import Instance
from .php.casts import php_intval
from .php.compare import compare
from .repositories.config_values import AppConfig

BASIC_SECTIONS = ("version", "environment")
ENHANCED_SECTIONS = ("services", "settings", "status", "apps", "sharing", "encryption")
DEBUG_SECTIONS = ("version", "environment", "services", "status", "settings", "encryption")
REPORTED_APPS = ("guests", "occweb", "theming", "passman", "unsplash", "impersonate", "passwords_handbook")
SSE_TYPES = ("SSEv1r1", "SSEv1r2", "SSEv2r1", "SSEv3r1", "none")
CSE_TYPES = ("CSEv1r1", "none")
_PREVIEW_API_KEYS = {
    "ssl": "service/preview/ssl/key",
    "ssm": "service/preview/ssm/key",
    "bws": "service/preview/bws/key",
    "screeenly": "service/preview/screeenly/key",
}
_SHARE_BUCKETS = (0, 10, 25, 50, 100, 500)


def php_empty(value: Any) -> bool:
    """PHP's empty(): null, false, 0, "", "0" and empty arrays."""
    return value is None or value is False or value == 0 or value in ("", "0") or value == {} or value == []


class _Values:
    """App values read as ConfigurationService::getAppValue does: an empty string is unset."""

    def __init__(self, db: Database, app: str = "passwords") -> None:
        self.values = AppConfig(db, app).all()

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key)
        return default if value is None or value == "" else value


def _performance(stored: str | None) -> int:
    """`performance`: unset -> 5 on x86_64/amd64 else 1; outside 0..6 (PHP 8 comparison) -> 2."""
    if stored is None:
        return 5 if platform.machine().lower() in ("amd64", "x86_64") else 1
    return 2 if compare(stored, 0) < 0 or compare(stored, 6) > 0 else php_intval(stored)


def _share_bucket(count: int) -> int:
    for bucket in _SHARE_BUCKETS:
        if count <= bucket:
            return bucket
    return 501


def _encryption(counts: dict[str, int], types: tuple[str, ...]) -> dict[str, Any]:
    """Which types are used, and the most used one (ties go to the first); `[]` when none is."""
    data: dict[str, Any] = {}
    best_count, best = 0, "none"
    for name in types:
        count = counts.get(name, 0)
        data[name] = count > 0
        if count > best_count:
            best_count, best = count, name
    if best_count == 0:
        return {}
    data["default"] = best
    return data


def _type_counts(db: Database, query: str) -> dict[str, int]:
    return {str(name): int(count) for name, count in db.rows(query)}


def build_report(instance: Instance, db: Database, enhanced: bool = True) -> dict[str, Any]:
    """The report: `version` and `environment`, plus the other sections when `enhanced`."""
    app = _Values(db)
    core = _Values(db, "core")
    cli_url = str(instance.get_if_known("overwrite.cli.url", "") or "")
    report: dict[str, Any] = {
        "version": {
            "server": str(instance.get("version")) if instance.get("version") else None,
            "app": app.get("installed_version"),
            "lsr": False,
            "php": app.get("web/php/version/string"),
            "cronPhp": app.get("cron/php/version/string"),
            "ncpasswords": __version__,
        },
        "environment": {
            "os": platform.system(),
            "architecture": platform.machine(),
            "bits": struct.calcsize("P") * 8,
            "database": str(instance.get("dbtype", "") or ""),
            "cron": core.get("backgroundjobs_mode", "ajax"),
            "proxy": not php_empty(instance.get_if_known("proxy", "")),
            "sslProxy": str(instance.get_if_known("overwriteprotocol", "") or "").lower() == "https",
            "subdirectory": len(urlsplit(cli_url).path) > 1
            or len(str(instance.get_if_known("overwritewebroot", "") or "")) > 1,
            "databaseVersion": db.server_version(),
        },
    }
    if not enhanced:
        return report
    images = app.get("service/images", "auto")
    if images == "auto" and "preview_imaginary_url" in instance.config:
        images = "imaginary"
    preview = app.get("service/preview", "default")
    favicon = app.get("service/favicon", "default")
    favicon_key = "service/favicon/bi/url" if favicon == "bi" else "service/favicon/api"
    report["services"] = {
        "images": images,
        "favicons": favicon,
        "previews": preview,
        "security": app.get("service/security", "hibp"),
        "words": app.get("service/words", "auto"),
        "previewApi": app.get(_PREVIEW_API_KEYS.get(str(preview), "service/preview/api"), "") != "",
        "faviconApi": app.get(favicon_key, "") != "",
    }
    report["settings"] = {
        "channel": str(instance.get_if_known("updater.release.channel") or "stable"),
        "nightlies": app.get("nightly/enabled", "0") == "1",
        "handbook": app.get("handbook/url") is not None,
        "performance": _performance(app.get("performance")),
    }
    report["status"] = {"autoBackupStatus": php_intval(app.get("auto-backup/status", "0"))}
    apps: dict[str, Any] = {}
    for app_id in REPORTED_APPS:
        values = AppConfig(db, app_id)
        installed = bool(values.get("installed_version"))
        enabled = installed and (values.get("enabled") or "no") != "no"
        apps[app_id] = {"installed": installed, "enabled": enabled}
    report["apps"] = apps
    report["sharing"] = {"shares": _share_bucket(int(db.scalar("report.active_shares") or 0))}
    report["encryption"] = {
        "sse": _encryption(_type_counts(db, "report.sse_types"), SSE_TYPES),
        "cse": _encryption(_type_counts(db, "report.cse_types"), CSE_TYPES),
    }
    return report


def select_sections(report: dict[str, Any], sections: list[str]) -> dict[str, Any]:
    """The named sections in the order given (`debug` stands for the debug set); unknown names
    are ignored, duplicates collapse."""
    names = list(DEBUG_SECTIONS) if "debug" in sections else sections
    return {name: report[name] for name in dict.fromkeys(names) if name in report}
