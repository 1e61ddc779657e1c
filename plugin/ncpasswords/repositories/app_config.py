"""App values as Nextcloud's `config:app:*` commands handle them: the limits on app ids and keys,
the typed values of `--type`, and setting or deleting one value of one app."""

from __future__ import annotations

from ..db.connection import Database
from ..errors import UserError
from ..php import json as phpjson
from ..php.casts import php_floatval, php_intval
from ..php.json import json_decode
from ..php.numbers import float_string
from .config_values import AppConfig

APP_TYPES = ("string", "integer", "float", "boolean", "array")

# Nextcloud's AppConfig refuses longer app ids and keys (its assertParams, counted in bytes).
_APP_MAX_LENGTH = 32
_KEY_MAX_LENGTH = 64


def check_utf8(*texts: str) -> None:
    """Text from the command line that is not valid UTF-8 cannot go into the database."""
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise UserError(f"Not valid UTF-8: {text.encode('utf-8', 'surrogateescape')!r}") from None


def check_app_key(app: str, key: str) -> None:
    """Nextcloud's limits on app ids and config keys (the appconfig columns' sizes)."""
    check_utf8(app, key)
    if app == "":
        raise UserError("app cannot be an empty string")
    if len(app.encode("utf-8", "surrogateescape")) > _APP_MAX_LENGTH:
        raise UserError(f"Value ({app}) for app is too long ({_APP_MAX_LENGTH})")
    if len(key.encode("utf-8", "surrogateescape")) > _KEY_MAX_LENGTH:
        raise UserError(f"Value ({key}) for key is too long ({_KEY_MAX_LENGTH})")


def cast_app_value(value: str, type_name: str | None) -> str:
    """Validate a value for `config:app:set --type` and return the string that is stored.

    Integers and floats must read back exactly as PHP writes them (`(string)(int)$value`);
    arrays are stored as PHP's json_encode of the decoded value.
    """
    if type_name in (None, "string"):
        return value
    if type_name == "integer":
        if str(php_intval(value)) != value:
            raise UserError("Value is not an integer")
        return value
    if type_name == "float":
        if float_string(php_floatval(value)) != value:
            raise UserError("Value is not a float")
        return value
    if type_name == "boolean":
        lowered = value.lower()
        if lowered in ("true", "1", "on", "yes"):
            return "1"
        if lowered in ("false", "0", "off", "no"):
            return "0"
        raise UserError("Value is not a boolean, please use 'true' or 'false'")
    try:
        parsed = json_decode(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UserError("Value is not an array")
    try:
        return phpjson.dumps(parsed)
    except ValueError as exc:
        raise UserError(f"Value cannot be stored as JSON: {exc}") from None


def prepare_value(app: str, key: str, value: str, type_name: str | None) -> str:
    """The string `config:app:set` stores for `value` of this type; bad input is refused before
    any database is opened."""
    check_app_key(app, key)
    check_utf8(value)
    return cast_app_value(value, type_name)


def store_value(db: Database, app: str, key: str, stored: str, *, update_only: bool = False) -> bool:
    """Store a prepared value; False when the value was already that (nothing written). With
    `update_only` a key that is not set yet is refused."""
    config = AppConfig(db, app)
    current = config.get(key)
    if update_only and current is None:
        raise UserError(f"Config value {key} for app {app} not updated, as it has not been set before.")
    if current == stored:
        return False
    config.set(key, stored)
    return True


def delete_value(db: Database, app: str, key: str, *, error_if_not_exists: bool = False) -> None:
    """Delete one value; a missing key is left alone, or with `error_if_not_exists` refused."""
    existed = AppConfig(db, app).delete(key)
    if not existed and error_if_not_exists:
        raise UserError(f"Config {key} of app {app} could not be deleted because it did not exist")
