"""Nextcloud's `config:system:*` and `config:app:*` commands."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import click

from ..errors import UserError
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


def cast_system_value(value: str | None, type_name: str) -> tuple[Any, str]:
    """The value and its readable form, as `config:system:set --type` casts it."""
    raw = value or ""
    if type_name in ("integer", "int"):
        try:
            number = float(raw)
        except ValueError:
            raise UserError("Non-numeric value specified") from None
        return int(number), f"integer {int(number)}"
    if type_name in ("double", "float"):
        try:
            fnum = float(raw)
        except ValueError:
            raise UserError("Non-numeric value specified") from None
        return fnum, f"double {raw}"
    if type_name in ("boolean", "bool"):
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise UserError("Unable to parse value as boolean")
        return lowered == "true", f"boolean {lowered}"
    if type_name == "null":
        return None, "null"
    if type_name == "json":
        try:
            return json.loads(raw), f"json {raw}"
        except ValueError:
            raise UserError("Unable to parse value as json") from None
    if type_name == "string":
        return raw, "empty string" if raw == "" else f"string {raw}"
    raise UserError("Invalid type")


@click.command("config:system:get")
@click.argument("name", nargs=-1, required=True)
@click.option("--default-value", help="If no default value is set and the config does not exist, exit with 1.")
@output_option()
def system_get(name: tuple[str, ...], default_value: str | None, output: str) -> None:
    """Get a system config value."""
    instance = installed_instance()
    instance.get(_key(name[0]))  # refuses a value only PHP can compute
    found, value = _lookup(instance.config, name)
    if not found:
        if default_value is None:
            raise click.exceptions.Exit(1)
        value = default_value
    console().line(render(value, output, prefix=""))


@click.command("config:system:set")
@click.argument("name", nargs=-1, required=True)
@click.option("--type", "type_name", default="string", show_default=True,
              help="Value type [string, integer, double, boolean, null, json].")
@click.option("--value", help="The new value of the config.")
@click.option("--update-only", is_flag=True, help="Only update a value that is already set.")
def system_set(name: tuple[str, ...], type_name: str, value: str | None, update_only: bool) -> None:
    """Set a system config value."""
    instance = installed_instance()
    new_value, readable = cast_system_value(value, type_name)

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
@click.argument("name", nargs=-1, required=True)
@click.option("--error-if-not-exists", is_flag=True, help="Checks whether the config exists before deleting it.")
def system_delete(name: tuple[str, ...], error_if_not_exists: bool) -> None:
    """Delete a system config value."""
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


def cast_app_value(value: str, type_name: str | None) -> str:
    """Validate a value for `config:app:set --type` and return the string that is stored."""
    if type_name in (None, "string"):
        return value
    if type_name == "integer":
        if not value.lstrip("-").isdigit():
            raise UserError("Value is not an integer")
        return str(int(value))
    if type_name == "float":
        try:
            float(value)
        except ValueError:
            raise UserError("Value is not a float") from None
        return value
    if type_name == "boolean":
        lowered = value.lower()
        if lowered in ("true", "1", "on", "yes"):
            return "1"
        if lowered in ("false", "0", "off", "no"):
            return "0"
        raise UserError("Value is not a boolean, please use 'true' or 'false'")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, (list, dict)):
        raise UserError("Value is not an array")
    return value


@click.command("config:app:get")
@click.argument("app")
@click.argument("name")
@click.option("--default-value", help="If no default value is set and the config does not exist, exit with 1.")
@click.option("--details", is_flag=True, help="Print details about the value.")
@output_option()
def app_get(app: str, name: str, default_value: str | None, details: bool, output: str) -> None:
    """Get an app config value."""
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
@click.argument("app")
@click.argument("name")
@click.option("--value", required=True, help="The new value of the config.")
@click.option("--type", "type_name", type=click.Choice(_APP_TYPES), help="Value type.")
@click.option("--lazy/--no-lazy", default=None, help="Accepted for compatibility (values are read eagerly here).")
@click.option("--sensitive/--no-sensitive", default=None, help="Accepted for compatibility.")
@click.option("--update-only", is_flag=True, help="Only update a value that is already set.")
def app_set(app: str, name: str, value: str, type_name: str | None, lazy: bool | None,
            sensitive: bool | None, update_only: bool) -> None:
    """Set an app config value."""
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
@click.argument("app")
@click.argument("name")
@click.option("--error-if-not-exists", is_flag=True, help="Checks whether the config exists before deleting it.")
def app_delete(app: str, name: str, error_if_not_exists: bool) -> None:
    """Delete an app config value."""
    with installed_instance().connect() as db:
        existed = AppConfig(db, app).delete(name)
    if not existed and error_if_not_exists:
        raise UserError(f"Config {name} of app {app} could not be deleted because it did not exist")
    console().line(f"Config value {name} of app {app} deleted")


COMMANDS = [system_get, system_set, system_delete, app_get, app_set, app_delete]
