"""Nextcloud's `config:system:*` and `config:app:*` commands."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import click

from ..errors import UserError
from ..instance import phpconfig
from ..php import json as phpjson
from ..php.casts import php_floatval, php_intval
from ..php.json import json_decode
from ..php.numbers import float_string, php_numeric
from ..repositories.config_values import AppConfig
from .common import installed_instance
from .console import console, output_option, render


def _key(part: str) -> int | str:
    """PHP array keys: decimal strings become integers."""
    return int(part) if part.isdigit() and (part == "0" or not part.startswith("0")) else part


def _lookup(config: Mapping[Any, Any], names: tuple[str, ...]) -> tuple[bool, Any]:
    value: Any = config
    for name in names:
        if not isinstance(value, dict) or _key(name) not in value:
            return False, None
        value = value[_key(name)]
    return True, value


# Nextcloud's AppConfig refuses longer app ids and keys (its assertParams, counted in bytes).
_APP_MAX_LENGTH = 32
_KEY_MAX_LENGTH = 64


def _storable(names: tuple[str, ...], value: Any) -> None:
    """Refuse, with one line, a value config.php cannot hold (non-finite numbers, NUL bytes, ...)."""
    nested: Any = value
    for name in reversed(names):
        nested = {_key(name): nested}
    try:
        phpconfig.dump(nested)
    except phpconfig.PhpConfigError as exc:
        reason = str(exc).removeprefix("Cannot write config: ")
        raise UserError(f"Value cannot be stored in config.php: {reason}") from None


def cast_system_value(value: str | None, type_name: str, names: tuple[str, ...] = ("value",)) -> tuple[Any, str]:
    """The value for config key `names` and its readable form, as `config:system:set --type`
    casts it; a value (or key) config.php cannot hold is refused with one line.

    Numbers follow PHP's is_numeric(); an integer or double PHP would silently turn into 0,
    PHP_INT_MAX or INF (`1e400`) is refused instead.
    """
    typed = _typed_value(value or "", type_name)
    _storable(names, typed)
    if type_name == "json":
        return typed, f"json {phpjson.dumps(typed)}"
    if type_name in ("integer", "int"):
        return typed, f"integer {typed}"
    if type_name in ("double", "float"):
        return typed, f"double {float_string(typed)}"
    if type_name in ("boolean", "bool"):
        return typed, f"boolean {'true' if typed else 'false'}"
    if type_name == "null":
        return typed, "null"
    return typed, "empty string" if typed == "" else f"string {typed}"


def _typed_value(raw: str, type_name: str) -> Any:
    if type_name in ("integer", "int", "double", "float"):
        number = php_numeric(raw)
        if number is None:
            raise UserError("Non-numeric value specified")
        if type_name in ("double", "float"):
            if not math.isfinite(number):
                raise UserError(f"Value is out of range for a double: {raw}")
            return float(number)
        if isinstance(number, float) and not (math.isfinite(number) and -(2.0**63) <= number < 2.0**63):
            raise UserError(f"Value is out of range for an integer: {raw}")
        return int(number)
    if type_name in ("boolean", "bool"):
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise UserError("Unable to parse value as boolean")
        return lowered == "true"
    if type_name == "json":
        try:
            return json_decode(raw)
        except ValueError:
            raise UserError("Unable to parse value as json") from None
    if type_name == "null":
        return None
    if type_name == "string":
        return raw
    raise UserError("Invalid type")


@click.command("config:system:get")
@click.argument("name", nargs=-1, required=True, help="Name of the config to get, specify multiple for array parameter")
@click.option("--default-value", help="If no default value is set and the config does not exist, exit with 1.")
@output_option()
def system_get(name: tuple[str, ...], default_value: str | None, output: str) -> None:
    """Get a system config value"""
    instance = installed_instance()
    instance.get(_key(name[0]))  # refuses a value only PHP can compute
    found, value = _lookup(instance.config, name)
    if not found:
        if default_value is None:
            raise click.exceptions.Exit(1)
        value = default_value
    console().line(render(value, output, prefix=""))


@click.command("config:system:set")
@click.argument(
    "name", nargs=-1, required=True, help="Name of the config parameter, specify multiple for array parameter"
)
@click.option(
    "--type",
    "type_name",
    default="string",
    show_default=True,
    help="Value type [string, integer, double, boolean, null, json].",
)
@click.option("--value", help="The new value of the config.")
@click.option("--update-only", is_flag=True, help="Only update a value that is already set.")
def system_set(name: tuple[str, ...], type_name: str, value: str | None, update_only: bool) -> None:
    """Set a system config value"""
    instance = installed_instance()
    new_value, readable = cast_system_value(value, type_name, name)

    def change(config: Mapping[Any, Any]) -> tuple[dict[Any, Any], list[Any]]:  # config.php as it is now
        found, _ = _lookup(config, name)
        if update_only and not found:
            raise UserError("Value not updated, as it has not been set before.")
        top = _key(name[0])
        changed = {top: copy.deepcopy(config[top])} if top in config else {}
        node: dict[Any, Any] = changed
        for part in name[:-1]:
            child = node.get(_key(part))
            if not isinstance(child, dict):
                child = {}
                node[_key(part)] = child
            node = child
        node[_key(name[-1])] = new_value
        return changed, []

    instance.update_config(decide=change)
    console().line(f"System config value {' => '.join(name)} set to {readable}")


@click.command("config:system:delete")
@click.argument(
    "name", nargs=-1, required=True, help="Name of the config to delete, specify multiple for array parameter"
)
@click.option("--error-if-not-exists", is_flag=True, help="Checks whether the config exists before deleting it.")
def system_delete(name: tuple[str, ...], error_if_not_exists: bool) -> None:
    """Delete a system config value"""
    instance = installed_instance()
    joined = " => ".join(name)

    def change(config: Mapping[Any, Any]) -> tuple[dict[Any, Any], list[Any]]:  # config.php as it is now
        found, _ = _lookup(config, name)
        if not found:
            if error_if_not_exists:
                raise UserError(f"System config {joined} could not be deleted because it did not exist")
            return {}, []
        top = _key(name[0])
        if len(name) == 1:
            return {}, [top]
        changed = {top: copy.deepcopy(config[top])}
        _, parent = _lookup(changed, name[:-1])
        del parent[_key(name[-1])]
        return changed, []

    instance.update_config(decide=change)
    console().line(f"System config value {joined} deleted")


_APP_TYPES = ("string", "integer", "float", "boolean", "array")


def _check_utf8(*texts: str) -> None:
    """Text from the command line that is not valid UTF-8 cannot go into the database."""
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise UserError(f"Not valid UTF-8: {text.encode('utf-8', 'surrogateescape')!r}") from None


def _check_app_key(app: str, key: str) -> None:
    """Nextcloud's limits on app ids and config keys (the appconfig columns' sizes)."""
    _check_utf8(app, key)
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


@click.command("config:app:get")
@click.argument("app", help="Name of the app")
@click.argument("name", help="Name of the config to get")
@click.option("--default-value", help="If no default value is set and the config does not exist, exit with 1.")
@click.option("--details", is_flag=True, help="Print details about the value.")
@output_option()
def app_get(app: str, name: str, default_value: str | None, details: bool, output: str) -> None:
    """Get an app config value"""
    _check_app_key(app, name)
    with installed_instance().connect() as db:
        value = AppConfig(db, app).get(name)
    if value is None:
        if default_value is None:
            raise click.exceptions.Exit(1)
        value = default_value
    if details:
        console().line(render({"app": app, "key": name, "value": value}, output, prefix=""))
    else:
        console().line(render(value, output, prefix=""))


@click.command("config:app:set")
@click.argument("app", help="Name of the app")
@click.argument("name", help="Name of the config to set")
@click.option("--value", required=True, help="The new value of the config.")
@click.option("--type", "type_name", type=click.Choice(_APP_TYPES), help="Value type.")
@click.option("--lazy/--no-lazy", default=None, help="Accepted for compatibility (values are read eagerly here).")
@click.option("--sensitive/--no-sensitive", default=None, help="Accepted for compatibility.")
@click.option("--update-only", is_flag=True, help="Only update a value that is already set.")
def app_set(
    app: str, name: str, value: str, type_name: str | None, lazy: bool | None, sensitive: bool | None, update_only: bool
) -> None:
    """Set an app config value"""
    _check_app_key(app, name)
    _check_utf8(value)
    stored = cast_app_value(value, type_name)
    with installed_instance().connect() as db:
        config = AppConfig(db, app)
        current = config.get(name)
        if update_only and current is None:
            raise UserError(f"Config value {name} for app {app} not updated, as it has not been set before.")
        if current == stored:
            console().line("Config value were not updated")
            return
        config.set(name, stored)
    cache = "lazy cache" if lazy else "fast cache"
    console().line(
        f"Config value '{name}' for app '{app}' is now set to '{stored}', stored as {type_name or 'mixed'} in {cache}"
    )


@click.command("config:app:delete")
@click.argument("app", help="Name of the app")
@click.argument("name", help="Name of the config to delete")
@click.option("--error-if-not-exists", is_flag=True, help="Checks whether the config exists before deleting it.")
def app_delete(app: str, name: str, error_if_not_exists: bool) -> None:
    """Delete an app config value"""
    _check_app_key(app, name)
    with installed_instance().connect() as db:
        existed = AppConfig(db, app).delete(name)
    if not existed and error_if_not_exists:
        raise UserError(f"Config {name} of app {app} could not be deleted because it did not exist")
    console().line(f"Config value {name} of app {app} deleted")


COMMANDS = [system_get, system_set, system_delete, app_get, app_set, app_delete]
