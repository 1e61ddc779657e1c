"""The installed schema equals the reference DDL (fixtures/reference_ddl/) on every engine and prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import InstalledInstance, ScratchDb, run_occ
from ncpasswords.db import introspect, migrator
from ncpasswords.db.dialects import split_statements
from ncpasswords.instance.install import install
from ncpasswords.repositories.entities import TABLES

REFERENCE = Path(__file__).parent / "fixtures" / "reference_ddl"


def load_reference(scratch: ScratchDb, prefix: str) -> dict[str, introspect.TableInfo]:
    """Load the reference DDL, with the prefix swapped in, into the scratch database; describe it."""
    script = (REFERENCE / f"{scratch.engine}.sql").read_text()
    with scratch.connect(prefix) as db:
        for statement in split_statements(script.replace("oc_", prefix)):
            db.execute_sql(statement).close()
        return introspect.describe(db, prefix)


@pytest.mark.parametrize("prefix", ["oc_", "nc7_"])
def test_install_creates_exactly_the_reference_schema(scratch: ScratchDb, tmp_path: Path, prefix: str) -> None:
    install(scratch.install_options(prefix), tmp_path / "config" / "config.php")
    with scratch.connect(prefix) as db:
        ours = introspect.describe(db, prefix)
    app_tables = {name: info for name, info in ours.items() if name.startswith("passwords_")}
    assert sorted(app_tables) == sorted(TABLES)

    # The reference DDL goes into the same database under a different prefix, so both sides are
    # described by the same server. Index names are global on PostgreSQL and SQLite, so the
    # reference is loaded into its own scratch database there.
    with _reference_database(scratch, tmp_path) as ref_scratch:
        reference = load_reference(ref_scratch, prefix)
    for name, expected in reference.items():
        got = app_tables[name]
        assert got.columns == expected.columns, name
        assert got.indexes == expected.indexes, name
        assert got.options == expected.options, name


def _reference_database(scratch: ScratchDb, tmp_path: Path):  # type: ignore[no-untyped-def]
    from conftest import scratch_database

    return scratch_database(scratch.engine, tmp_path / "reference")


def test_columns_match_entity_definitions(installed: InstalledInstance) -> None:
    """The entity map (used for every read and write) names the physical columns in order."""
    with installed.connect() as db:
        described = introspect.describe(db)
    for name, table in TABLES.items():
        assert tuple(c.name for c in described[name].columns) == table.column_names


def test_core_tables_and_migration_rows(installed: InstalledInstance) -> None:
    with installed.connect() as db:
        described = introspect.describe(db)
        assert {"appconfig", "preferences", "migrations"} <= set(described)
        assert migrator.executed_versions(db) == ["20220101", "20220102", "20250930"]
        primary = [i for i in described["migrations"].indexes if i.primary]
        assert primary and primary[0].columns == ("app", "version")


def test_existing_database_is_left_unchanged(installed: InstalledInstance) -> None:
    """Pointing occ at a database that already has everything changes nothing."""
    with installed.connect() as db:
        before = introspect.fingerprint(db)
    result = installed.occ("migrations:migrate", "passwords")
    assert result.returncode == 0, result.stderr
    assert "No migrations to execute." in result.stdout
    with installed.connect() as db:
        assert introspect.fingerprint(db) == before
        assert migrator.migrate(db) == []
        assert introspect.fingerprint(db) == before


def test_migrate_adds_missing_app_tables_to_existing_nextcloud(scratch: ScratchDb, tmp_path: Path) -> None:
    """A Nextcloud database with core tables but without the app gets the app's tables."""
    with scratch.connect() as db:
        db.run_script(migrator.core_schema(scratch.engine))  # type: ignore[arg-type]
        db.execute_sql(
            db.sql("appconfig.insert"), {"appid": "core", "configkey": "vendor", "configvalue": "nextcloud"}
        ).close()
    install(scratch.install_options(), tmp_path / "config" / "config.php")
    with scratch.connect() as db:
        described = introspect.describe(db)
        assert set(TABLES) <= set(described)
        assert db.scalar("appconfig.get", {"appid": "core", "configkey": "vendor"}) == "nextcloud"


def test_migrations_status_reports_versions(installed: InstalledInstance) -> None:
    result = installed.occ("migrations:status", "passwords")
    assert result.returncode == 0
    assert "Executed Migrations:" in result.stdout
    assert "Already at latest migration step" in result.stdout
    assert run_occ(installed.config_dir, "migrations:status", "files").returncode == 1
