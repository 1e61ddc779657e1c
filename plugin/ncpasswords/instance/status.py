"""What `occ status` and `occ migrations:status` report, key for key as Nextcloud's commands
(docs/existing-nextcloud.md).

`needsDbUpgrade` is true when the database lacks some of the app's schema migrations, which
`occ migrations:migrate passwords` applies; this tool cannot tell whether Nextcloud's own code is
newer than its database, so core upgrades are not judged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..db import migrator
from ..errors import UserError
from ..php.casts import php_boolval
from ..repositories.config_values import AppConfig
from .instance import Instance
from .version import version, versionstring

PRODUCT_NAME = "Nextcloud"
_TAG = re.compile(r"<[^>]*>")


def status(config_file: Path) -> dict[str, Any]:
    """installed, version, versionstring, edition, maintenance, needsDbUpgrade, productname,
    extendedSupport; the database is only opened for an installed instance."""
    config = Instance.load(config_file).config if config_file.is_file() else {}
    installed = php_boolval(config.get("installed", False))
    needs_upgrade, product = False, PRODUCT_NAME
    if installed:
        with Instance(config_file, config).connect() as db:
            executed = set(migrator.executed_versions(db))
            needs_upgrade = not set(migrator.available_versions()) <= executed
            themed = AppConfig(db, "theming").get("productName") if db.table_exists("appconfig") else None
            if themed is not None:
                product = _TAG.sub("", themed)
    return {
        "installed": installed,
        "version": version(config),
        "versionstring": versionstring(config),
        "edition": "",
        "maintenance": php_boolval(config.get("maintenance", False)),
        "needsDbUpgrade": needs_upgrade,
        "productname": product,
        "extendedSupport": False,
    }


def check_app(app: str) -> None:
    """Refuse an app other than Passwords: the only app whose migrations this tool knows."""
    if app != migrator.APP_ID:
        raise UserError(f"App {app} is not handled by this tool (only '{migrator.APP_ID}')")


def migration_status(instance: Instance, app: str = migrator.APP_ID) -> dict[str, Any]:
    """The lines of `occ migrations:status <app>`: versions executed, pending and shipped."""
    check_app(app)
    with instance.connect() as db:
        states = migrator.status(db)
    available = migrator.available_versions()
    executed = [s.version for s in states if s.executed]
    new = [v for v in available if v not in executed]
    return {
        "App": app,
        "Version Table Name": f"{instance.prefix}migrations",
        "Previous Version": executed[-2] if len(executed) > 1 else "0",
        "Current Version": executed[-1] if executed else "0",
        "Next Version": new[0] if new else "Already at latest migration step",
        "Latest Version": available[-1],
        "Executed Migrations": len(executed),
        "Executed Unavailable Migrations": len([v for v in executed if v not in available]),
        "Available Migrations": len(available),
        "New Migrations": len(new),
    }
