"""config.php under concurrency: every pair of commands that write it.

Each test lines two writers up deterministically: the first pauses (zygote `pause_at`) while it
holds what serialises it (the instance's backup lock, or the configuration it has read), the
second runs meanwhile, and the outcome must be what running them one after the other gives:

* a restore queued behind `db:convert-type` neither restores into the old database nor points
  config.php back at it: it refuses, and the instance is on the converted database;
* a conversion queued behind a restore keeps the server secret the restore brought;
* a restore after a conversion killed right after its COMMIT completes the switch and restores
  into the converted database;
* `config:system:set` and `config:system:delete` made while a restore runs survive it;
* two `config:system:set` at once both land;
* two `maintenance:install` at once: one installs, the other refuses, config.php is the first's;
* the journal's recovery (a restore killed after its COMMIT) keeps a change made meanwhile;
* a Nextcloud process writing config.php (flock, then rewriting it in place) is waited for, by
  writers (its change is kept) and by readers (they never read its half-written file).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import InstalledInstance, ScratchDb, scratch_database
from ncpasswords.db.connection import connect
from ncpasswords.instance import phpconfig
from ncpasswords.instance.instance import Instance
from ncpasswords.instance.journal import JOURNAL_NAME
from transfer_helpers import checksums, convert_args, target_database

from .helpers import COUNTERS, Zygote, db_state, diff, one_line_error
from .test_concurrency import _wait_for_lock
from .test_crash import restore_in_process, sample, secret_of

CONVERT_TARGET = {"sqlite": "pgsql", "pgsql": "mysql", "mysql": "sqlite"}
NEXTCLOUD_WRITER = Path(__file__).with_name("nextcloud_config_writer.py")
PASSWORDS = 40
PAUSE = 2.0  # how long the first writer holds still; the second starts within a fraction of it
CHANGED_WHILE_WAITING = "config.php was changed while this command waited for another one"


@pytest.fixture
def two_backups(installed: InstalledInstance, tmp_path: Path) -> InstalledInstance:
    """An instance holding backup `alpha` (restored) and `beta`, each with its own server secret."""
    sample(installed, tmp_path, "alpha", 1, passwords=PASSWORDS)
    sample(installed, tmp_path, "beta", 2, passwords=PASSWORDS)
    restore_in_process(installed, tmp_path / "alpha.json.gz")
    assert secret_of(tmp_path / "alpha.json.gz") != secret_of(tmp_path / "beta.json.gz")
    return installed


def config_of(inst: InstalledInstance) -> phpconfig.PhpArray:
    return phpconfig.read(inst.config_dir / "config.php")


# -- the backup lock serialises restore and convert; config.php must follow -----------------------
def test_restore_queued_behind_convert_refuses(
    two_backups: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path
) -> None:
    inst = two_backups
    source = inst.instance.connection_settings()
    with connect(source) as db:
        before = db_state(db)
    source_sums = checksums(connect(source))
    with target_database(CONVERT_TARGET[engine], inst, tmp_path / "target") as target:
        convert = zygote.start(
            inst.config_dir, *convert_args(target), pause_at="ncpasswords.transfer.convert:_check_source", pause=PAUSE
        )
        try:
            _wait_for_lock(inst)
            restore = zygote.start(inst.config_dir, "-n", "passwords:backup:restore", "beta")
        finally:
            converted = zygote.wait(convert)
        restored = zygote.wait(restore)
        assert converted.exit == 0, converted.stderr
        assert restored.elapsed > 1.0, "the restore did not wait for the conversion"
        assert restored.exit == 1 and one_line_error(restored.stderr), restored.stderr
        assert CHANGED_WHILE_WAITING in restored.stderr
        instance = inst.instance
        now, wanted = instance.connection_settings(), target.settings()
        assert (now.dialect, now.dbname) == (wanted.dialect, wanted.dbname), "config.php is not on the target"
        assert instance.server_secret == secret_of(tmp_path / "alpha.json.gz")
        assert checksums(connect(target.settings())) == source_sums
    with connect(source) as db:
        after = db_state(db)
    assert after == before, diff(before, after)  # nothing was restored into the old database
    COUNTERS.add("config.php: writer pairs serialised", engine)


def test_convert_queued_behind_restore_keeps_its_secret(
    two_backups: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path
) -> None:
    inst = two_backups
    beta = secret_of(tmp_path / "beta.json.gz")
    with target_database(CONVERT_TARGET[engine], inst, tmp_path / "target") as target:
        restore = zygote.start(
            inst.config_dir,
            "-n",
            "passwords:backup:restore",
            "beta",
            pause_at="ncpasswords.backup.restore:_delete_data",
            pause=PAUSE,
        )
        try:
            _wait_for_lock(inst)
            convert = zygote.start(inst.config_dir, *convert_args(target))
        finally:
            restored = zygote.wait(restore)
        converted = zygote.wait(convert)
        assert restored.exit == 0, restored.stderr
        assert converted.exit == 0, converted.stderr
        assert converted.elapsed > 1.0, "the conversion did not wait for the restore"
        instance = inst.instance
        assert instance.connection_settings().dialect == target.settings().dialect
        assert instance.server_secret == beta, "the conversion put the old server secret back"
        # What an admin saw fail: a single-user restore checks the secret against the backup's.
        again = inst.occ("-n", "passwords:backup:restore", "beta", "--user", "alice")
        assert again.returncode == 0, again.stderr
    COUNTERS.add("config.php: writer pairs serialised", engine)


def test_restore_after_a_killed_conversion_goes_to_the_converted_database(
    two_backups: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path
) -> None:
    """A conversion killed right after its COMMIT leaves the switch of config.php to the journal.
    The next command completes it when it opens the database, and then works on the converted
    database, not on the one it opened first."""
    inst = two_backups
    source = inst.instance.connection_settings()
    with connect(source) as db:
        before = db_state(db)
    with target_database(CONVERT_TARGET[engine], inst, tmp_path / "target") as target:
        killed = zygote.run(
            inst.config_dir,
            *convert_args(target),
            die_at="ncpasswords.instance.journal:ConfigChange.apply",
            die_before=True,
        )
        assert killed.killed and (inst.config_dir / JOURNAL_NAME).exists()
        restored = zygote.run(inst.config_dir, "-n", "passwords:backup:restore", "beta")
        assert restored.exit == 0, restored.stderr
        instance = inst.instance
        now, wanted = instance.connection_settings(), target.settings()
        assert (now.dialect, now.dbname) == (wanted.dialect, wanted.dbname), "config.php is not on the target"
        assert instance.server_secret == secret_of(tmp_path / "beta.json.gz")
        beta = json.loads(gzip.decompress((tmp_path / "beta.json.gz").read_bytes()))
        with connect(wanted) as db:
            cur = db.execute_sql(f"SELECT uuid FROM {db.table('passwords_password')}")
            uuids = {str(row[0]) for row in cur.fetchall()}
            cur.close()
        assert uuids == {p["uuid"] for p in beta["passwords"]}
    with connect(source) as db:
        after = db_state(db)
    assert after == before, diff(before, after)  # the old database was left alone
    COUNTERS.add("config.php: writer pairs serialised", engine)


@pytest.mark.parametrize(
    "command",
    [
        ("config:system:set", "loglevel", "--value", "3", "--type", "integer"),
        ("config:system:delete", "maintenance_window_start"),
    ],
    ids=["set", "delete"],
)
def test_config_change_during_a_restore_survives_it(
    two_backups: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path, command: tuple[str, ...]
) -> None:
    inst = two_backups
    assert inst.occ("config:system:set", "maintenance_window_start", "--value", "1").returncode == 0
    restore = zygote.start(
        inst.config_dir,
        "-n",
        "passwords:backup:restore",
        "beta",
        pause_at="ncpasswords.backup.restore:_delete_data",
        pause=PAUSE,
    )
    try:
        _wait_for_lock(inst)
        changed = inst.occ(*command)
    finally:
        restored = zygote.wait(restore)
    assert changed.returncode == 0, changed.stderr
    assert restored.exit == 0, restored.stderr
    config = config_of(inst)
    assert config["passwords.secret"] == secret_of(tmp_path / "beta.json.gz")
    if command[0] == "config:system:set":
        assert config.get("loglevel") == 3, "the restore put its old copy of config.php back"
    else:
        assert "maintenance_window_start" not in config, "the restore put its old copy of config.php back"
    COUNTERS.add("config.php: writer pairs serialised", engine)


def test_recovery_keeps_a_change_made_meanwhile(
    two_backups: InstalledInstance, zygote: Zygote, engine: str, tmp_path: Path
) -> None:
    """A restore killed right after its COMMIT leaves the secret to the journal; the next command
    that opens the database writes it. A change made after that command read the configuration
    and before it recovered stays."""
    inst = two_backups
    killed = zygote.run(
        inst.config_dir,
        "-n",
        "passwords:backup:restore",
        "beta",
        die_at="ncpasswords.instance.journal:ConfigChange.apply",
        die_before=True,
    )
    assert killed.killed and (inst.config_dir / JOURNAL_NAME).exists()
    opener = zygote.start(
        inst.config_dir,
        "config:app:get",
        "passwords",
        "backup/interval",
        pause_at="ncpasswords.instance.instance:Instance.load",
        pause=PAUSE,
    )
    try:
        time.sleep(PAUSE / 4)  # the opener has read the configuration and holds still
        changed = inst.occ("config:system:set", "loglevel", "--value", "3", "--type", "integer")
    finally:
        opened = zygote.wait(opener)
    assert changed.returncode == 0, changed.stderr
    assert opened.exit in (0, 1) and opened.stderr == "", opened.stderr
    assert not (inst.config_dir / JOURNAL_NAME).exists()
    config = config_of(inst)
    assert config["passwords.secret"] == secret_of(tmp_path / "beta.json.gz")
    assert config.get("loglevel") == 3, "the recovery put its old copy of config.php back"
    COUNTERS.add("config.php: writer pairs serialised", engine)


def _install_args(db: ScratchDb) -> list[str]:
    opts = db.install_options()
    args = [
        "--no-warnings",
        "maintenance:install",
        "--database",
        opts.database,
        "--database-name",
        str(opts.database_name),
        "--data-dir",
        str(opts.data_dir),
    ]
    if db.engine != "sqlite":
        args += [
            "--database-host",
            opts.database_host,
            "--database-port",
            str(opts.database_port or ""),
            "--database-user",
            str(opts.database_user),
            "--database-pass",
            str(opts.database_pass or ""),
        ]
    return args


def test_two_installs_at_once(zygote: Zygote, engine: str, tmp_path: Path) -> None:
    """Both find no installed instance, both create their tables; only one may write config.php."""
    config_dir = tmp_path / "config"
    with scratch_database(engine, tmp_path / "one") as one, scratch_database(engine, tmp_path / "two") as two:
        pids = [
            zygote.start(config_dir, *_install_args(db), pause_at="ncpasswords.db.migrator:migrate", pause=PAUSE)
            for db in (one, two)
        ]
        runs = [zygote.wait(pid) for pid in pids]
        assert sorted(r.exit or 0 for r in runs) == [0, 1], [r.stderr for r in runs]
        winner, loser = (one, runs[1]) if runs[0].exit == 0 else (two, runs[0])
        assert one_line_error(loser.stderr) and "Nextcloud is already installed" in loser.stderr, loser.stderr
        assert Instance.load(config_dir / "config.php").connection_settings().dbname == winner.name
    COUNTERS.add("config.php: writer pairs serialised", engine)


# -- the configuration read before a write is never written back ------------------------------------
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_two_config_changes_at_once_both_land(installed: InstalledInstance, zygote: Zygote, engine: str) -> None:
    first = zygote.start(
        installed.config_dir,
        "config:system:set",
        "first",
        "--value",
        "1",
        pause_at="ncpasswords.instance.instance:Instance.load",
        pause=PAUSE,
    )
    try:
        time.sleep(PAUSE / 4)  # the first has read the configuration and holds still
        second = installed.occ("config:system:set", "second", "--value", "2")
    finally:
        ran = zygote.wait(first)
    assert ran.exit == 0 and second.returncode == 0, (ran.stderr, second.stderr)
    config = config_of(installed)
    assert (config.get("first"), config.get("second")) == ("1", "2")
    COUNTERS.add("config.php: writer pairs serialised", engine)


# -- Nextcloud's own writer -------------------------------------------------------------------------
def _nextcloud_writes(installed: InstalledInstance, *extra: str) -> subprocess.Popen[str]:
    """A Nextcloud-like writer of config.php holding its lock (see nextcloud_config_writer.py)."""
    writer = subprocess.Popen(
        [
            sys.executable,
            str(NEXTCLOUD_WRITER),
            str(installed.config_dir / "config.php"),
            "nextcloud",
            "wrote",
            str(PAUSE),
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdout.readline() == "locked\n"
    return writer


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_write_waits_for_nextclouds_and_keeps_it(installed: InstalledInstance, zygote: Zygote, engine: str) -> None:
    writer = _nextcloud_writes(installed)
    ours = zygote.start(installed.config_dir, "config:system:set", "ours", "--value", "1")
    assert writer.wait(timeout=60) == 0
    ran = zygote.wait(ours)
    assert ran.exit == 0, ran.stderr
    config = config_of(installed)
    assert (config.get("nextcloud"), config.get("ours")) == ("wrote", "1")
    COUNTERS.add("config.php: writer pairs serialised", engine)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_read_waits_for_nextclouds_write_in_progress(
    installed: InstalledInstance, zygote: Zygote, engine: str
) -> None:
    writer = _nextcloud_writes(installed, "--truncate-first")  # config.php is empty until it writes
    got = zygote.run(installed.config_dir, "config:system:get", "dbtype")
    assert writer.wait(timeout=60) == 0
    assert got.exit == 0 and got.stdout == "sqlite3\n", got.stderr
    COUNTERS.add("config.php: writer pairs serialised", engine)
