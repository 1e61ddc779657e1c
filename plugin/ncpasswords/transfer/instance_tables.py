"""The tables of a whole Nextcloud instance: found by introspection with the instance's table
prefix, in the portable form (db/portable.py) shaped for the target engine, with the app each
belongs to, and as `TransferTable`s for the copy and the checksums."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..db import declared, portable
from ..db.backends.base import Backend
from ..db.connection import Database
from .tables import TransferTable

# The canonical type (tuples.py) of each portable type. Unsigned integers keep their width: a
# value beyond the signed range is refused before anything is written (hostile.py).
_KINDS = {
    "bigint": "int8",
    "integer": "int4",
    "smallint": "int2",
    "boolean": "bool",
    "string": "text",
    "text": "text",
    "json": "json",
    "blob": "bytea",
    "datetime": "timestamp",
    "datetimetz": "timestamp",
    "date": "date",
    "time": "time",
    "float": "float8",
    "smallfloat": "float4",
    "decimal": "text",
}
CORE_APP = "core"


@dataclass
class InstanceTables:
    """What a whole-instance conversion finds in the source."""

    tables: dict[str, portable.Table]
    """Every table with the prefix, shaped for the target (unprefixed names)."""
    apps: dict[str, str | None] = field(default_factory=dict)
    """The app of each table (None: unknown)."""
    installed: frozenset[str] = frozenset()

    def chosen(self, all_apps: bool) -> list[str]:
        """The tables converted: those of Nextcloud and of installed apps, or every one."""
        return sorted(n for n in self.tables if all_apps or self.apps[n] in self.installed)

    def left_out(self, all_apps: bool) -> list[str]:
        """The tables not converted without --all-apps (of apps not installed, or unknown)."""
        return [] if all_apps else sorted(n for n in self.tables if self.apps[n] not in self.installed)


def discover(source: Database, target: Backend) -> InstanceTables:
    """Every table of the instance (its prefix), read from the source in the portable form with
    the facts the source engine lost restored, shaped for the `target` engine."""
    prefix = source.prefix
    pattern = prefix.replace("\\", "\\\\").replace("_", "\\_") + "%"
    read = source.backend.read_schema(source, pattern, prefix)
    tables = {
        name: portable.for_engine(
            portable.restore_lost_facts(table, source.backend.schema_loses), target.skipped_indexes
        )
        for name, table in read.items()
    }
    installed = frozenset({CORE_APP, *installed_apps(source, tables)})
    return InstanceTables(tables, {name: app_of(name, installed) for name in tables}, installed)


def installed_apps(source: Database, tables: dict[str, portable.Table]) -> list[str]:
    """The apps with an installed version in appconfig (none without that table)."""
    if "appconfig" not in tables:
        return []
    return [str(r[0]) for r in source.rows("transfer.installed_apps")]


def app_of(table: str, installed: frozenset[str]) -> str | None:
    """The app a table belongs to (see `declared.TABLE_APPS`): by the start of its name, else
    Nextcloud's own for a table Nextcloud 34 has, else an installed app whose id begins the name,
    else None."""
    matches = [start for start in declared.TABLE_APPS if table.startswith(start)]
    if matches:
        return declared.TABLE_APPS[max(matches, key=len)]
    if table in declared.TABLES:
        return CORE_APP
    owners = [app for app in installed if table == app or table.startswith(app + "_")]
    return max(owners, key=len) if owners else None


def transfer_table(table: portable.Table, folds_names: bool = False) -> TransferTable:
    """The table as the copy and the checksums take it; `folds_names`: column names in lower
    case, as an engine that folds unquoted names holds them."""
    names = tuple(c.name.lower() if folds_names else c.name for c in table.columns)
    kinds = tuple(_KINDS[c.type] for c in table.columns)
    types = tuple("bool" if k == "bool" else "int" if k.startswith("int") else "str" for k in kinds)
    return TransferTable(table.name, names, types, column_kinds=kinds)  # type: ignore[arg-type]
