"""The app's schema migrations (`migrations/`), applied in order and recorded like Nextcloud does.

`migrations/<version>.<dialect>.sql` is the engine's own DDL where Doctrine's type mapping cannot be
expressed as a translation (auto-increment ids, LONGTEXT/CLOB, boolean defaults, MySQL table
options); otherwise `migrations/<version>.sql` holds canonical SQL that sqlglot translates.
Every statement is idempotent (`IF NOT EXISTS`), so a database that already has the objects is left
as it is. Versions already recorded in `<prefix>migrations` are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..resources import resource_dir
from . import backends
from .connection import Database
from .dialects import split_statements, substitute

APP_ID = "passwords"
_VERSION_RE = re.compile(r"^(\d+)(?:\.(\w+))?\.sql$")


def available_versions() -> list[str]:
    """Migration versions shipped with the package, in Nextcloud's order (lexical for these names)."""
    versions = {
        m[1]
        for p in resource_dir("migrations").iterdir()
        if (m := _VERSION_RE.match(p.name)) and (m[2] is None or m[2] in backends.names())
    }
    return sorted(versions)


def migration_statements(version: str, engine: str, prefix: str, mysql_utf8mb4: bool = True) -> list[str]:
    """The statements of one migration version for an engine (its name), ready to run."""
    folder = resource_dir("migrations")
    native = folder / f"{version}.{engine}.sql"
    if native.is_file():
        return split_statements(substitute(native.read_text(encoding="utf-8"), prefix, mysql_utf8mb4))
    from .translation import translate

    canonical = folder / f"{version}.sql"
    text = substitute(canonical.read_text(encoding="utf-8"), prefix, mysql_utf8mb4)
    backend = backends.get(engine)
    return [translate(s, backend) for s in split_statements(text)]


def core_schema(engine: str) -> str:
    """DDL of the Nextcloud core tables the app needs (appconfig, preferences, migrations) for an
    engine (its name)."""
    return (resource_dir("migrations") / f"core.{engine}.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class MigrationStatus:
    version: str
    executed: bool


def ensure_core_tables(db: Database) -> None:
    """Create appconfig, preferences and migrations where they do not exist yet."""
    with db.transaction():
        db.run_script(core_schema(db.dialect))


def executed_versions(db: Database) -> list[str]:
    """Versions recorded for the app (including historical ones the package no longer ships)."""
    if not db.table_exists("migrations"):
        return []
    return [str(r[0]) for r in db.rows("migrations.executed", {"app": APP_ID})]


def status(db: Database) -> list[MigrationStatus]:
    """Every known version, shipped or recorded, and whether it has run."""
    done = set(executed_versions(db))
    return [MigrationStatus(v, v in done) for v in sorted(done | set(available_versions()))]


def migrate(db: Database) -> list[str]:
    """Apply the pending versions in order; returns the versions applied (empty when up to date).

    PostgreSQL and SQLite run each version in one transaction; MySQL commits DDL implicitly, which
    is why every statement is written to be safely re-runnable.
    """
    ensure_core_tables(db)
    done = set(executed_versions(db))
    applied = []
    for version in available_versions():
        if version in done:
            continue
        with db.transaction(write_lock=True):
            for statement in migration_statements(version, db.dialect, db.prefix, db.settings.mysql_utf8mb4):
                db.execute_sql(statement).close()
            db.execute("migrations.record", {"app": APP_ID, "version": version}).close()
        applied.append(version)
    return applied
