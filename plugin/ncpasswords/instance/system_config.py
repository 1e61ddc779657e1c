"""Nextcloud's system configuration as a tree: reading, setting and deleting a value at a path of
keys (`config:system:get/set/delete`), and casting a value given on the command line to its type.

A path is a tuple of key names; decimal names are PHP's integer keys (`trusted_domains 0`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from ..errors import UserError
from ..php import json as phpjson
from ..php.json import json_decode
from ..php.numbers import float_string, php_numeric
from . import phpconfig
from .instance import Instance

KeyPath = tuple[str, ...]


def config_key(part: str) -> int | str:
    """PHP array keys: decimal strings become integers."""
    return int(part) if part.isdigit() and (part == "0" or not part.startswith("0")) else part


def lookup(config: Mapping[Any, Any], names: KeyPath) -> tuple[bool, Any]:
    """(True, value) for the value at `names`, (False, None) when the path does not exist."""
    value: Any = config
    for name in names:
        if not isinstance(value, dict) or config_key(name) not in value:
            return False, None
        value = value[config_key(name)]
    return True, value


def get_value(instance: Instance, names: KeyPath) -> tuple[bool, Any]:
    """The value at `names` as `lookup` gives it; a top-level value only PHP can compute is refused."""
    instance.get(config_key(names[0]))
    return lookup(instance.config, names)


def set_value(instance: Instance, names: KeyPath, value: Any, *, update_only: bool = False) -> None:
    """Set the value at `names` in config.php, creating the arrays on the way; with `update_only`
    a path that is not set yet is refused (nothing written)."""

    def change(config: Mapping[Any, Any]) -> tuple[dict[Any, Any], list[Any]]:  # config.php as it is now
        found, _ = lookup(config, names)
        if update_only and not found:
            raise UserError("Value not updated, as it has not been set before.")
        top = config_key(names[0])
        changed = {top: copy.deepcopy(config[top])} if top in config else {}
        node: dict[Any, Any] = changed
        for part in names[:-1]:
            child = node.get(config_key(part))
            if not isinstance(child, dict):
                child = {}
                node[config_key(part)] = child
            node = child
        node[config_key(names[-1])] = value
        return changed, []

    instance.update_config(decide=change)


def delete_value(instance: Instance, names: KeyPath, *, error_if_not_exists: bool = False) -> None:
    """Delete the value at `names` from config.php; a missing path is left alone, or with
    `error_if_not_exists` refused."""

    def change(config: Mapping[Any, Any]) -> tuple[dict[Any, Any], list[Any]]:  # config.php as it is now
        found, _ = lookup(config, names)
        if not found:
            if error_if_not_exists:
                raise UserError(f"System config {' => '.join(names)} could not be deleted because it did not exist")
            return {}, []
        top = config_key(names[0])
        if len(names) == 1:
            return {}, [top]
        changed = {top: copy.deepcopy(config[top])}
        _, parent = lookup(changed, names[:-1])
        del parent[config_key(names[-1])]
        return changed, []

    instance.update_config(decide=change)


def _storable(names: KeyPath, value: Any) -> None:
    """Refuse, with one line, a value config.php cannot hold (non-finite numbers, NUL bytes, ...)."""
    nested: Any = value
    for name in reversed(names):
        nested = {config_key(name): nested}
    try:
        phpconfig.dump(nested)
    except phpconfig.PhpConfigError as exc:
        reason = str(exc).removeprefix("Cannot write config: ")
        raise UserError(f"Value cannot be stored in config.php: {reason}") from None


def cast_system_value(value: str | None, type_name: str, names: KeyPath = ("value",)) -> tuple[Any, str]:
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
