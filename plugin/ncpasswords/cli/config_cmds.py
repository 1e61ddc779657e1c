"""Nextcloud's `config:system:*` and `config:app:*` commands."""

from __future__ import annotations

import click

from ..instance import system_config
from ..repositories import app_config
from ..repositories.config_values import AppConfig
from .common import installed_instance
from .console import console, output_option, render


@click.command("config:system:get")
@click.argument("name", nargs=-1, required=True, help="Name of the config to get, specify multiple for array parameter")
@click.option("--default-value", help="If no default value is set and the config does not exist, exit with 1.")
@output_option()
def system_get(name: tuple[str, ...], default_value: str | None, output: str) -> None:
    """Get a system config value"""
    found, value = system_config.get_value(installed_instance(), name)
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
    new_value, readable = system_config.cast_system_value(value, type_name, name)
    system_config.set_value(instance, name, new_value, update_only=update_only)
    console().line(f"System config value {' => '.join(name)} set to {readable}")


@click.command("config:system:delete")
@click.argument(
    "name", nargs=-1, required=True, help="Name of the config to delete, specify multiple for array parameter"
)
@click.option("--error-if-not-exists", is_flag=True, help="Checks whether the config exists before deleting it.")
def system_delete(name: tuple[str, ...], error_if_not_exists: bool) -> None:
    """Delete a system config value"""
    system_config.delete_value(installed_instance(), name, error_if_not_exists=error_if_not_exists)
    console().line(f"System config value {' => '.join(name)} deleted")


@click.command("config:app:get")
@click.argument("app", help="Name of the app")
@click.argument("name", help="Name of the config to get")
@click.option("--default-value", help="If no default value is set and the config does not exist, exit with 1.")
@click.option("--details", is_flag=True, help="Print details about the value.")
@output_option()
def app_get(app: str, name: str, default_value: str | None, details: bool, output: str) -> None:
    """Get an app config value"""
    app_config.check_app_key(app, name)
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
@click.option("--type", "type_name", type=click.Choice(app_config.APP_TYPES), help="Value type.")
@click.option("--lazy/--no-lazy", default=None, help="Accepted for compatibility (values are read eagerly here).")
@click.option("--sensitive/--no-sensitive", default=None, help="Accepted for compatibility.")
@click.option("--update-only", is_flag=True, help="Only update a value that is already set.")
def app_set(
    app: str, name: str, value: str, type_name: str | None, lazy: bool | None, sensitive: bool | None, update_only: bool
) -> None:
    """Set an app config value"""
    stored = app_config.prepare_value(app, name, value, type_name)
    with installed_instance().connect() as db:
        changed = app_config.store_value(db, app, name, stored, update_only=update_only)
    if not changed:
        console().line("Config value were not updated")
        return
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
    app_config.check_app_key(app, name)
    with installed_instance().connect() as db:
        app_config.delete_value(db, app, name, error_if_not_exists=error_if_not_exists)
    console().line(f"Config value {name} of app {app} deleted")


COMMANDS = [system_get, system_set, system_delete, app_get, app_set, app_delete]
