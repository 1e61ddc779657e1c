"""kill -9 in the middle of `db:convert-type`, on every engine as the source (see test_crash.py)."""

from __future__ import annotations

import random
from pathlib import Path

from conftest import InstalledInstance, ScratchDb, run_occ
from ncpasswords.db.connection import ConnectionSettings, connect
from ncpasswords.instance.instance import Instance
from ncpasswords.instance.journal import JOURNAL_NAME
from ncpasswords.repositories.entities import TABLES
from transfer_helpers import checksums, convert_args, target_database

from .helpers import COUNTERS, Run, Snapshot, Zygote, db_state, diff, files_state
from .test_crash import PASSWORDS, SEED, Harness, kill_series, measure, restore_in_process, sample

# -- convert ------------------------------------------------------------------------------------
CONVERT_TARGET = {"sqlite": "pgsql", "pgsql": "mysql", "mysql": "sqlite"}


def app_tables_of(settings: ConnectionSettings) -> list[str]:
    if settings.dialect == "sqlite" and not (settings.sqlite_path and settings.sqlite_path.exists()):
        return []
    with connect(settings) as db:
        return [name for name in TABLES if db.table_exists(name)]


def empty_target(scratch: ScratchDb) -> None:
    """Drop whatever a conversion put into the target."""
    settings = scratch.settings()
    if scratch.engine == "sqlite":
        assert settings.sqlite_path is not None
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{settings.sqlite_path}{suffix}").unlink(missing_ok=True)
        return
    with connect(settings) as db:
        rows = db.rows("schema.app_tables")
        for (name,) in rows:
            db.execute_sql(f"DROP TABLE {db.quote(str(name))}").close()


def test_convert_survives_kill_9(installed: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path) -> None:
    """db:convert-type to the next engine, killed anywhere: the source and config.php stay as they
    were and the target gets nothing, or (killed after COMMIT) config.php points at a complete,
    verified target, at the latest once the next command opened the database."""
    target_engine = CONVERT_TARGET[engine]
    h = Harness(installed, zygote, engine)
    restore_in_process(installed, sample(installed, tmp_path, "alpha", 5, passwords=PASSWORDS // 2))
    source = installed.instance.connection_settings()
    config_path = installed.config_dir / "config.php"
    original = config_path.read_bytes()
    rng = random.Random(f"{SEED}-convert-{engine}")
    with connect(source) as db:
        source_state = db_state(db)
    source_sums = checksums(connect(source))
    with target_database(target_engine, installed, tmp_path / "target") as target:
        args = convert_args(target)

        def reset() -> None:
            config_path.write_bytes(original)
            (installed.config_dir / JOURNAL_NAME).unlink(missing_ok=True)
            empty_target(target)

        def snap() -> Snapshot:
            with connect(source) as db:
                return Snapshot(db_state(db), config_path.read_bytes(), files_state(h.appdata))

        def check(before: Snapshot, after: Snapshot, result: Run) -> bool:
            assert after.checksum == before.checksum, diff(before.db, after.db)
            assert after.files == before.files
            opened = run_occ(installed.config_dir, "config:app:get", "passwords", "backup/interval")
            assert opened.returncode in (0, 1) and opened.stderr == "", opened.stderr
            if config_path.read_bytes() == original:
                assert app_tables_of(target.settings()) == [], "the target kept tables of a failed conversion"
                return False
            assert Instance.load(config_path).connection_settings().dialect == target.settings().dialect
            assert checksums(connect(target.settings())) == source_sums
            return True

        def next_run(before: Snapshot) -> None:
            result = h.run(*args)
            assert result.exit == 0, result.stderr
            assert Instance.load(config_path).connection_settings().dialect == target.settings().dialect
            assert checksums(connect(target.settings())) == source_sums

        reset()
        duration = measure(h, lambda: args, reset)
        kill_series(h, "db:convert-type", lambda: args, check, next_run, duration, rng, before_each=reset, snap=snap)
    with connect(source) as db:
        assert db_state(db) == source_state


# (function, n-th call, kill before the call instead of after it, committed by then)
CONVERT_POINTS = (
    ("ncpasswords.instance.journal:ConfigChange.begin", 1, False, False),  # journal written, target untouched
    ("ncpasswords.transfer.convert:_Conversion._create_schema", 1, False, False),  # schema (MySQL: committed DDL)
    ("ncpasswords.transfer.convert:_Conversion._copy", 1, False, False),  # rows copied
    ("ncpasswords.instance.journal:ConfigChange.mark", 1, False, False),  # token written, not committed
    ("ncpasswords.instance.journal:ConfigChange.apply", 1, True, True),  # committed, config.php not written
    ("ncpasswords.instance.instance:Instance.update_config", 1, False, True),  # config.php written
)


def test_convert_killed_at_chosen_points(
    installed: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path
) -> None:
    target_engine = CONVERT_TARGET[engine]
    h = Harness(installed, zygote, engine)
    restore_in_process(installed, sample(installed, tmp_path, "alpha", 6, passwords=PASSWORDS // 4))
    source = installed.instance.connection_settings()
    config_path = installed.config_dir / "config.php"
    original = config_path.read_bytes()
    source_sums = checksums(connect(source))
    with target_database(target_engine, installed, tmp_path / "target") as target:
        args = convert_args(target)
        for point, call, early, committed in CONVERT_POINTS:
            config_path.write_bytes(original)
            empty_target(target)
            result = h.run(*args, die_at=point, die_call=call, die_before=early)
            assert result.killed, (point, result.exit, result.stderr)
            COUNTERS.add("crash: kill -9 at chosen points", engine)
            opened = run_occ(installed.config_dir, "config:app:get", "passwords", "backup/interval")
            assert opened.returncode in (0, 1) and opened.stderr == "", (point, opened.stderr)
            assert not (installed.config_dir / JOURNAL_NAME).exists(), point
            if committed:
                assert config_path.read_bytes() != original, point
                assert checksums(connect(target.settings())) == source_sums, point
            else:
                assert config_path.read_bytes() == original, point
                assert app_tables_of(target.settings()) == [], point
                if target_engine == "sqlite":
                    assert not target.settings().sqlite_path.exists(), point  # type: ignore[union-attr]

        if target_engine != "mysql":
            return
        # --clear-schema on MySQL puts the target's own tables aside (RENAME) before creating new
        # ones; killed half way through the renames, the next command puts every table back.
        config_path.write_bytes(original)
        with connect(target.settings()) as db:
            before = db_state(db)
        assert [t for t in TABLES if t in before and before[t][1]], "the target holds a converted copy"
        for call in (3, 7, 12):
            result = h.run(
                "db:convert-type",
                "--clear-schema",
                *args[1:],
                die_at="ncpasswords.transfer.convert:rename_table",
                die_call=call,
            )
            assert result.killed, (call, result.exit, result.stderr)
            COUNTERS.add("crash: kill -9 at chosen points", engine)
            opened = run_occ(installed.config_dir, "config:app:get", "passwords", "backup/interval")
            assert opened.returncode in (0, 1) and opened.stderr == "", opened.stderr
            assert config_path.read_bytes() == original
            with connect(target.settings()) as db:
                after = db_state(db)
                assert after == before, diff(before, after)
                assert not [t for t in db.rows("schema.app_tables") if "_ncp" in str(t[0])]
        result = h.run("db:convert-type", "--clear-schema", *args[1:])
        assert result.exit == 0, result.stderr
        assert checksums(connect(target.settings())) == source_sums


# The whole-instance conversion (the default): the same points, and its own schema step.
WHOLE_INSTANCE_POINTS = (
    ("ncpasswords.instance.journal:ConfigChange.begin", 1, False, False),
    ("ncpasswords.transfer.instance_convert:_InstanceConversion._create_schema", 1, False, False),
    ("ncpasswords.transfer.convert:_Conversion._copy", 1, False, False),
    ("ncpasswords.db.bulk:create_indexes", 1, False, False),  # on MySQL the rows have committed
    ("ncpasswords.transfer.convert:_Conversion._verify", 1, False, False),
    ("ncpasswords.instance.journal:ConfigChange.mark", 1, False, False),
    ("ncpasswords.instance.journal:ConfigChange.apply", 1, True, True),
    ("ncpasswords.instance.instance:Instance.update_config", 1, False, True),
)


def tables_of(settings: ConnectionSettings) -> list[str]:
    if settings.dialect == "sqlite" and not (settings.sqlite_path and settings.sqlite_path.exists()):
        return []
    with connect(settings) as db:
        return [str(r[0]) for r in db.rows("schema.app_tables")]


def test_whole_instance_convert_killed_at_chosen_points(
    installed: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path
) -> None:
    """kill -9 at each step: the instance stays on its old database with the target empty, or
    (killed after COMMIT) is on the new one, complete, once the next command has run."""
    target_engine = CONVERT_TARGET[engine]
    h = Harness(installed, zygote, engine)
    restore_in_process(installed, sample(installed, tmp_path, "alpha", 7, passwords=PASSWORDS // 4))
    source = installed.instance.connection_settings()
    config_path = installed.config_dir / "config.php"
    original = config_path.read_bytes()
    source_sums = checksums(connect(source))
    with target_database(target_engine, installed, tmp_path / "target") as target:
        args = [a for a in convert_args(target) if a != "--only-app"]
        for point, call, early, committed in WHOLE_INSTANCE_POINTS:
            config_path.write_bytes(original)
            empty_target(target)
            result = h.run(*args, die_at=point, die_call=call, die_before=early)
            assert result.killed, (point, result.exit, result.stderr)
            COUNTERS.add("crash: kill -9 at chosen points", engine)
            opened = run_occ(installed.config_dir, "status")
            assert opened.returncode == 0 and opened.stderr == "", (point, opened.stderr)
            assert not (installed.config_dir / JOURNAL_NAME).exists(), point
            if committed:
                assert config_path.read_bytes() != original, point
                assert checksums(connect(target.settings())) == source_sums, point
            else:
                assert config_path.read_bytes() == original, point
                assert tables_of(target.settings()) == [], point
