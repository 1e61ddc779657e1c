"""`passwords:system:report`: sections, keys, values from the instance, and no secret anywhere."""

from __future__ import annotations

import json

import pytest

from conftest import InstalledInstance
from ncpasswords.instance import phpconfig
from ncpasswords.repositories.config_values import AppConfig, Preferences
from ncpasswords.repositories.entity_repository import EntityRepository
from test_user_cmds import entity

KEYS = {
    "version": ["server", "app", "lsr", "php", "cronPhp", "ncpasswords"],
    "environment": [
        "os",
        "architecture",
        "bits",
        "database",
        "cron",
        "proxy",
        "sslProxy",
        "subdirectory",
        "databaseVersion",
    ],
    "services": ["images", "favicons", "previews", "security", "words", "previewApi", "faviconApi"],
    "settings": ["channel", "nightlies", "handbook", "performance"],
    "status": ["autoBackupStatus"],
    "apps": ["guests", "occweb", "theming", "passman", "unsplash", "impersonate", "passwords_handbook"],
    "sharing": ["shares"],
    "encryption": ["sse", "cse"],
}
SECRETS = {
    "secret": "S3cr3t-nextcloud-instance-secret-value-0123456789",
    "passwords.secret": "passwords-app-secret-value-abcdef",
    "proxy": "http://proxyuser:proxypass@proxy.internal:3128",
    "overwrite.cli.url": "https://cloud.example.org/nextcloud",
    "preview_imaginary_key": "imaginary-api-key-value",
}


def test_full_report_has_every_section_and_no_secret(installed: InstalledInstance) -> None:
    path = installed.config_dir / "config.php"
    config = phpconfig.read(path)
    config.update(SECRETS)
    config["version"] = "32.0.1.2"
    config["overwriteprotocol"] = "HTTPS"
    if installed.scratch.engine != "mysql":  # the test MySQL server needs the empty password
        config["dbpassword"] = "db-password-value-xyz"
    phpconfig.write(path, config)
    secrets = (
        [str(v) for k, v in config.items() if k in ("dbpassword", "dbhost", "dbuser", "passwordsalt") and v]
        + list(SECRETS.values())
        + ["proxyuser", "proxypass", "cloud.example.org"]
    )
    with installed.connect() as db, db.transaction():
        app = AppConfig(db)
        app.set("SSEv1ServerKey", "server-key-value-1234")
        app.set("service/preview", "ssl")
        app.set("service/preview/ssl/key", "screenshotlayer-api-key")
        app.set("service/favicon", "bi")
        app.set("service/favicon/bi/url", "https://besticon.internal/icons")
        app.set("web/php/version/string", "8.4.1")
        app.set("performance", "9")
        app.set("auto-backup/status", "2")
        app.set("nightly/enabled", "1")
        AppConfig(db, "core").set("backgroundjobs_mode", "cron")
        AppConfig(db, "theming").set("installed_version", "3.0.0")
        AppConfig(db, "theming").set("enabled", "yes")
        AppConfig(db, "guests").set("installed_version", "4.0.0")
        AppConfig(db, "guests").set("enabled", "no")
        Preferences(db).set("alice", "SSEv1UserKey", "alice-user-key-value")
        secrets += ["server-key-value-1234", "screenshotlayer-api-key", "besticon.internal", "alice-user-key-value"]
        rows = [
            entity("passwords_password_rv", "alice", f"r{i}", sseType=sse, cseType=cse)
            for i, (sse, cse) in enumerate([("SSEv1r2", "none"), ("SSEv2r1", "none"), ("SSEv2r1", "CSEv1r1")])
        ]
        rows.append(entity("passwords_password_rv", "alice", "gone", deleted=True, sseType="SSEv3r1"))
        EntityRepository(db, "passwords_password_rv").insert_many(rows)
        EntityRepository(db, "passwords_folder_rv").insert_many(
            [entity("passwords_folder_rv", "alice", "f", sseType="SSEv1r2", cseType="none")]
        )
        EntityRepository(db, "passwords_share").insert_many(
            [entity("passwords_share", "alice", f"s{i}", deleted=i == 11, expires=None) for i in range(12)]
        )

    result = installed.occ("passwords:system:report")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('{\n    "version": {\n        "server": "32.0.1.2",')  # PHP pretty print
    report = json.loads(result.stdout)
    assert {k: list(v) for k, v in report.items()} == KEYS
    for secret in secrets:
        assert secret not in result.stdout and secret.replace("/", "\\/") not in result.stdout, secret
    assert report["version"]["php"] == "8.4.1" and report["version"]["lsr"] is False
    dbtype = {"sqlite": "sqlite3", "pgsql": "pgsql", "mysql": "mysql"}[installed.scratch.engine]
    env = report["environment"]
    assert (env["database"], env["cron"], env["proxy"], env["sslProxy"], env["subdirectory"]) == (
        dbtype,
        "cron",
        True,
        True,
        True,
    )
    assert env["databaseVersion"] and env["bits"] == 64
    assert report["services"]["previewApi"] is True and report["services"]["faviconApi"] is True
    assert report["services"]["images"] == "auto"
    assert report["settings"] == {"channel": "stable", "nightlies": True, "handbook": False, "performance": 2}
    assert report["status"] == {"autoBackupStatus": 2}
    assert report["apps"]["theming"] == {"installed": True, "enabled": True}
    assert report["apps"]["guests"] == {"installed": True, "enabled": False}
    assert report["apps"]["occweb"] == {"installed": False, "enabled": False}
    assert report["sharing"] == {"shares": 25}  # 11 active shares
    assert report["encryption"] == {
        "sse": {
            "SSEv1r1": False,
            "SSEv1r2": True,
            "SSEv2r1": True,
            "SSEv3r1": False,
            "none": False,
            "default": "SSEv1r2",
        },  # 2 vs 2: the first in list order wins the tie
        "cse": {"CSEv1r1": True, "none": True, "default": "none"},
    }


@pytest.mark.parametrize("engine", ["sqlite"])
def test_sections_basic_and_output_formats(installed: InstalledInstance) -> None:
    basic = json.loads(installed.occ("passwords:system:report", "--basic").stdout)
    assert list(basic) == ["version", "environment"]
    picked = json.loads(installed.occ("passwords:system:report", "-b", "sharing", "nope", "version", "sharing").stdout)
    assert list(picked) == ["sharing", "version"]  # naming sections builds the full report
    debug = json.loads(installed.occ("passwords:system:report", "status", "debug").stdout)
    assert list(debug) == ["version", "environment", "services", "status", "settings", "encryption"]
    assert debug["encryption"] == {"sse": [], "cse": []}  # no revisions: PHP's empty array
    none = installed.occ("passwords:system:report", "nothing")
    assert (none.returncode, none.stdout) == (0, "[]\n")
    compact = installed.occ("passwords:system:report", "--output=json", "version").stdout
    assert compact.startswith('{"version":{"server":null,"app":"2026.2.0","lsr":false,')
    plain = installed.occ("passwords:system:report", "--output=plain", "sharing").stdout
    assert plain == "  - sharing:\n    - shares: 0\n"
