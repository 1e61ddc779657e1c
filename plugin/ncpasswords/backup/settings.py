"""Application, user and client settings as backups export and restore them (docs/internals/backup-format.md#settings
and docs/internals/backup-format.md#restore)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..php.casts import php_boolval, php_intval
from ..repositories.config_values import AppConfig, Preferences

SettingType = Literal["select:number", "number", "boolean"]


@dataclass(frozen=True)
class AppSetting:
    """One setting of the admin settings list: backup name, app config key, type, default."""

    name: str
    key: str
    type: SettingType
    default: int | bool
    options: tuple[int, ...] = ()


APP_SETTINGS: tuple[AppSetting, ...] = (
    AppSetting(
        "entity.purge.timeout",
        "entity/purge/timeout",
        "select:number",
        -1,
        (-1, 0, 7200, 86400, 1209600, 2592000, 31536000),
    ),
    AppSetting(
        "backup.interval", "backup/interval", "select:number", 86400, (3600, 21600, 86400, 172800, 604800, 1209600)
    ),
    AppSetting("backup.files.max", "backup/files/maximum", "number", 28),
    AppSetting("backup.update.autorestore", "backup/update/autorestore", "boolean", True),
    AppSetting("survey.server", "survey/server/mode", "select:number", 0, (0, 1, 2)),
    AppSetting("default.mail.security", "settings/mail/security", "boolean", True),
    AppSetting("default.mail.shares", "settings/mail/shares", "boolean", False),
    AppSetting("default.password.hash", "settings/password/security/hash", "select:number", 40, (0, 20, 30, 40)),
    AppSetting("nightly.enabled", "nightly/enabled", "boolean", False),
    AppSetting("encryption.ssev3.enabled", "encryption/SSEv3/enabled", "boolean", False),
)

# User settings (UserSettingsHelper): backup name -> (type, fixed default or None when derived).
USER_SETTINGS: dict[str, Literal["integer", "boolean"]] = {
    "password.generator.strength": "integer",
    "password.generator.numbers": "boolean",
    "password.generator.special": "boolean",
    "password.security.duplicates": "boolean",
    "password.security.age": "integer",
    "password.security.hash": "integer",
    "mail.security": "boolean",
    "mail.shares": "boolean",
    "notification.security": "boolean",
    "notification.shares": "boolean",
    "notification.errors": "boolean",
    "notification.admin": "boolean",
    "sharing.editable": "boolean",
    "sharing.resharing": "boolean",
    "session.lifetime": "integer",
    "encryption.sse": "integer",
    "encryption.cse": "integer",
}

CLIENT_SETTINGS_KEY = "client/settings"


def user_key(name: str) -> str:
    """Backup name of a user setting -> its preference key (`.` -> `/`)."""
    return name.replace(".", "/")


# -- export ----------------------------------------------------------------------------------------
def export_application(values: dict[str, str]) -> dict[str, Any]:
    """`settings.application`: null for settings whose key is not stored, else the read value."""
    out: dict[str, Any] = {}
    for setting in APP_SETTINGS:
        stored = values.get(setting.key)
        if stored is None:
            out[setting.name] = None
            continue
        effective = stored if stored != "" else _php_default_string(setting.default)
        out[setting.name] = effective == "1" if setting.type == "boolean" else effective
    return out


def _php_default_string(default: int | bool) -> str:
    if isinstance(default, bool):
        return "1" if default else ""
    return str(default)


def export_user(values: dict[str, str]) -> dict[str, str | None]:
    """`settings.users.<uid>`: the 17 raw preference strings, null when unset."""
    return {name: values.get(user_key(name)) for name in USER_SETTINGS}


# -- restore ---------------------------------------------------------------------------------------
def _is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        try:
            float(value.strip())
        except ValueError:
            return False
        return value.strip() != ""
    return False


def _app_value(setting: AppSetting, value: Any, current: str | None) -> str | None:
    """The string to store for a restored application setting, or None when it is invalid."""
    if setting.type == "boolean":
        if isinstance(value, bool):
            flag = value
        elif value in ("true", "1", 1):
            flag = True
        elif value in ("false", "", 0):
            flag = False
        else:
            return None
        return "1" if flag else ""
    if not _is_numeric(value):
        return None
    number = php_intval(value)
    if setting.type == "number":
        return str(number) if number >= 0 else None
    allowed = setting.options + ((-1,) if setting.name == "survey.server" and current is None else ())
    return str(number) if number in allowed else None


def restore_application(app: AppConfig, backup: Any) -> None:
    """Apply `settings.application` as the reference does: reset missing/null, set valid values.

    Unlike the reference, `default.*` settings are restored too (it cannot route their scope and
    silently drops them; docs/compatibility.md).
    """
    values = backup if isinstance(backup, dict) else {}
    current = app.all()
    for setting in APP_SETTINGS:
        value = values.get(setting.name)
        if value is None:
            app.delete(setting.key)
            continue
        stored = _app_value(setting, value, current.get(setting.key))
        if stored is not None:
            app.set(setting.key, stored)


def user_default(name: str, app_values: dict[str, str], prefs: dict[str, str]) -> int | bool:
    if name == "password.security.hash":
        return php_intval(app_values.get("settings/password/security/hash") or 40)
    if name in ("mail.security", "mail.shares"):
        stored = app_values.get(f"settings/{user_key(name)}")
        return stored == "1" if stored else name == "mail.security"
    if name == "encryption.cse":
        return 1 if prefs.get("user/challenge/id") else 0
    fixed: dict[str, int | bool] = {
        "password.generator.strength": 1,
        "password.security.age": 0,
        "session.lifetime": 600,
        "encryption.sse": 0,
        "password.security.duplicates": True,
    }
    if name in fixed:
        return fixed[name]
    return name.startswith("notification.")


def user_value(name: str, value: Any, default: int | bool) -> str:
    if USER_SETTINGS[name] == "boolean":
        return "1" if php_boolval(value) else "0"
    number = php_intval(value)
    valid = {
        "password.generator.strength": 0 <= number <= 4,
        "password.security.age": number >= 0,
        "password.security.hash": 0 <= number <= 40,
        "session.lifetime": number >= 30,
        "encryption.sse": 0 <= number <= 2,
        "encryption.cse": 0 <= number <= 1,
    }.get(name, True)
    return str(number if valid else int(default))


def restore_user(prefs: Preferences, app: AppConfig, uid: str, backup: Any) -> None:
    """Apply one user's `settings.users` entry: set non-null values (validated), delete the rest."""
    values = backup if isinstance(backup, dict) else {}
    app_values = app.all()
    core = AppConfig(app.db, "core")
    sharing = (core.get("shareapi_enabled") or "yes") == "yes"
    resharing = sharing and (core.get("shareapi_allow_resharing") or "yes") == "yes"
    current = prefs.for_user(uid)
    for name in USER_SETTINGS:
        key = user_key(name)
        value = values.get(name)
        if value is None:
            if key in current:
                prefs.delete(uid, key)
            continue
        if (name == "sharing.editable" and not sharing) or (name == "sharing.resharing" and not resharing):
            continue
        prefs.set(uid, key, user_value(name, value, user_default(name, app_values, current)))
