"""Clustered databases (docs/clusters.md): a 3-node MariaDB Galera cluster and a PostgreSQL primary
with a streaming standby, both started once for the session by the pytest plugin's fixtures
(`passwords_galera`, `passwords_pgsql_replica`) and removed afterwards; a MariaDB primary with an
asynchronous replica, started for this module."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster_helpers import ClusterInstance, cluster_instance, rows
from conftest import IN_CI, database_state
from ncpasswords.backup.errors import BackupFormatError
from ncpasswords.db.connection import Database, LockBusyError
from ncpasswords.errors import UserError
from ncpasswords.instance.install import install
from ncpasswords.instance.instance import FRAGMENT_SIZE_KEY, REPLICA_LAG_KEY, Instance
from ncpasswords.testing.clusters import (
    MARIADBD,
    GaleraCluster,
    GaleraServer,
    MariadbReplication,
    PostgresReplication,
    mariadb_replication,
)
from ncpasswords.testing.instance import run_occ
from ncpasswords.testing.plugin import ENGINES

pytest_plugins = ["pytester"]
WORKED_EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "worked-example-v106.json"
SAMPLE_PASSWORDS = 400
LARGE_PASSWORDS = 1500


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transfer_helpers import write_sample

    return write_sample(tmp_path_factory.mktemp("sample") / "sample.json", SAMPLE_PASSWORDS)


@pytest.fixture(scope="module")
def large_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 10 MB of backup: a write-set of more than 4 MiB."""
    from transfer_helpers import write_sample

    return write_sample(tmp_path_factory.mktemp("sample") / "large.json", LARGE_PASSWORDS)


@pytest.fixture
def on_galera(galera: GaleraCluster, tmp_path: Path) -> Iterator[ClusterInstance]:
    with cluster_instance(galera.servers()[0], tmp_path) as instance:
        yield instance


@pytest.fixture(scope="module")
def maria_replica() -> Iterator[MariadbReplication]:
    """A MariaDB primary with an asynchronous GTID replica (testing/clusters.py)."""
    if not Path(MARIADBD).exists() and not IN_CI:
        pytest.skip(f"ncpasswords: {MARIADBD} missing")
    with mariadb_replication() as replication:
        yield replication


@pytest.fixture
def on_maria_replica(maria_replica: MariadbReplication, tmp_path: Path) -> Iterator[ClusterInstance]:
    with cluster_instance(maria_replica.server(), tmp_path) as instance:
        yield instance
    assert maria_replica.transactions_of_the_replica() == []  # nothing was written on the replica


@pytest.fixture
def on_replica(pg_replica: PostgresReplication, tmp_path: Path) -> Iterator[ClusterInstance]:
    with cluster_instance(pg_replica.server(), tmp_path) as instance:
        yield instance


def test_galera_nodes_form_one_cluster_and_share_the_instance(
    galera: GaleraCluster, on_galera: ClusterInstance
) -> None:
    assert [node.status("wsrep_cluster_size") for node in galera.nodes] == ["3", "3", "3"]
    on_galera.occ("config:app:set", "passwords", "backup/files/maximum", "--value=7").check()
    for index in (1, 2):
        with contextlib.closing(on_galera.connect(node=index)) as db:
            assert db.scalar_sql("SELECT @@wsrep_on") == 1
        got = on_galera.occ("config:app:get", "passwords", "backup/files/maximum", node=index).check()
        assert got.stdout == "7\n"


def test_standby_streams_the_primary(pg_replica: PostgresReplication, on_replica: ClusterInstance) -> None:
    assert on_replica.instance.config["dbreplica"][0]["port"] == pg_replica.standby.port
    with contextlib.closing(on_replica.connect()) as db:
        db.execute_sql(f"INSERT INTO {db.table('appconfig')} (appid, configkey, configvalue) VALUES ('t', 'k', 'v')")
    pg_replica.wait_replayed()
    with contextlib.closing(on_replica.connect_standby()) as standby:
        assert standby.scalar_sql(f"SELECT configvalue FROM {standby.table('appconfig')} WHERE appid = 't'") == "v"
        assert standby.scalar_sql("SELECT pg_is_in_recovery()") is True


def test_plugin_engines_name_the_clusters() -> None:
    assert ENGINES["galera"] == "galera" and ENGINES["pgsql-replica"] == "pgsql-replica"


def test_plugin_runs_a_project_on_the_replicated_postgresql(pytester: pytest.Pytester) -> None:
    """`--passwords-engine=pgsql-replica` starts a primary and a standby for the session; the
    instances' config.php lists the standby as `dbreplica`."""
    (pytester.path / "fixtures").mkdir()
    (pytester.path / "fixtures" / "example.json").write_bytes(WORKED_EXAMPLE.read_bytes())
    pytester.makepyfile(
        test_replica="""
        import pytest

        @pytest.mark.passwords_backup("fixtures/example.json")
        def test_restored(passwords_instance, passwords_pgsql_replica):
            replica = passwords_instance.config["dbreplica"]
            assert replica == {0: {"host": "127.0.0.1", "port": passwords_pgsql_replica.standby.port,
                                   "user": "postgres", "password": "", "dbname": passwords_instance.dbname}}
            passwords_pgsql_replica.wait_replayed()
            import psycopg
            with psycopg.connect(host="127.0.0.1", port=replica[0]["port"], user="postgres",
                                 dbname=passwords_instance.dbname) as standby:
                count = standby.execute("SELECT COUNT(*) FROM oc_passwords_password").fetchone()[0]
            assert count == 2
    """
    )
    result = pytester.runpytest_subprocess("--passwords-engine=pgsql-replica", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["ncpasswords: engine pgsql-replica (primary and standby started for the session)"])


def test_plugin_runs_a_project_on_galera(pytester: pytest.Pytester) -> None:
    """`--passwords-engine=galera` starts three nodes for the session; instances are installed
    through the first and their data is on every node."""
    (pytester.path / "fixtures").mkdir()
    (pytester.path / "fixtures" / "example.json").write_bytes(WORKED_EXAMPLE.read_bytes())
    pytester.makepyfile(
        test_galera="""
        import pytest

        @pytest.mark.passwords_backup("fixtures/example.json")
        def test_restored(passwords_instance, passwords_galera):
            assert passwords_instance.engine == "mysql"
            node3 = passwords_galera.nodes[2].connect(database=passwords_instance.dbname)
            with node3.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM oc_passwords_password")
                assert cur.fetchone()[0] == 2
            node3.close()
    """
    )
    result = pytester.runpytest_subprocess("--passwords-engine=galera", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["ncpasswords: engine galera (3 nodes started for the session)"])


# -- the backup lock -------------------------------------------------------------------------------


def lock_rows(db: Database) -> list[tuple[Any, ...]]:
    return rows(db, f"SELECT configkey, configvalue FROM {db.table('appconfig')} WHERE appid = 'ncpasswords'")


def test_backup_lock_holds_across_galera_nodes(on_galera: ClusterInstance) -> None:
    with on_galera.connect(node=0) as first, on_galera.connect(node=1) as second, on_galera.connect(2) as third:
        assert first.backend.multi_primary(first)
        with first.advisory_lock("backup"):
            [(key, value)] = lock_rows(third)  # the lock row reached every node
            assert key == "lock/backup" and json.loads(value)["holder"].count(":") == 2
            with pytest.raises(LockBusyError, match="busy"), second.advisory_lock("backup", 0.5, "busy"):
                pass
            with second.advisory_lock("other"):
                pass
        assert lock_rows(third) == []
        with second.advisory_lock("backup", wait=0.5):
            pass


def test_lock_of_a_crashed_holder_is_taken_over_once_expired(on_galera: ClusterInstance) -> None:
    with on_galera.connect(node=0) as first, on_galera.connect(node=1) as second:
        table = first.table("appconfig")
        now = int(first.scalar_sql("SELECT UNIX_TIMESTAMP()"))
        live = json.dumps({"holder": "crashed:1:x", "expires": now + 60})
        first.execute_sql(
            f"INSERT INTO {table} (appid, configkey, configvalue) VALUES ('ncpasswords', 'lock/backup', %s)", (live,)
        ).close()
        with pytest.raises(LockBusyError), second.advisory_lock("backup", wait=0.3):
            pass
        stale = json.dumps({"holder": "crashed:1:x", "expires": now - 1})
        first.execute_sql(f"UPDATE {table} SET configvalue = %s WHERE appid = 'ncpasswords'", (stale,)).close()
        with second.advisory_lock("backup", wait=0.3):
            [(_, value)] = lock_rows(first)
            assert "crashed" not in value
        assert lock_rows(first) == []


def test_a_create_on_one_node_waits_for_a_restore_holding_the_lock_on_another(
    on_galera: ClusterInstance, tmp_path: Path
) -> None:
    """Two admins on two nodes: the second command waits until the first has finished."""
    from ncpasswords.backup import service

    released_at: list[float] = []
    holding = threading.Event()

    def hold() -> None:
        with on_galera.connect(node=0) as db, service.backup_lock(db):
            holding.set()
            time.sleep(2)
            released_at.append(time.monotonic())

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30)
    created = on_galera.occ("passwords:backup:create", "second", node=1)
    finished_at = time.monotonic()
    holder.join()
    created.check()
    assert finished_at >= released_at[0]


def occ_process(instance: ClusterInstance, node: int, *args: str) -> subprocess.Popen[str]:
    """`occ` in a process of its own, on the given node (as the cron job of another server)."""
    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(instance.config_dir(node))}
    return subprocess.Popen(
        [sys.executable, "-m", "ncpasswords", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_restores_and_a_create_from_three_nodes_at_once(on_galera: ClusterInstance, sample: Path) -> None:
    on_galera.occ("passwords:backup:import", str(sample)).check()
    name = sample.name.split(".")[0]
    procs = [
        occ_process(on_galera, 0, "-n", "passwords:backup:restore", name),
        occ_process(on_galera, 1, "-n", "passwords:backup:restore", name),
        occ_process(on_galera, 2, "passwords:backup:create", "during"),
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    with on_galera.connect(node=2) as db:
        assert db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('passwords_password')}") == SAMPLE_PASSWORDS
        assert lock_rows(db) == []


# -- restore on Galera: fragments and conflicts ----------------------------------------------------


def app_state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the app's tables (without their ids, which each restore numbers anew) and of
    appconfig/preferences except the lock rows."""
    state = database_state(db)
    state["appconfig"] = [row for row in state["appconfig"] if "'ncpasswords'" not in row[0]]
    for table, found in state.items():
        if table.startswith("passwords_"):
            state[table] = sorted(row[1:] for row in found)
    return state


def restore_with(instance: ClusterInstance, path: Path, node: int = 0, progress: Any = None) -> None:
    from ncpasswords.backup import service
    from ncpasswords.backup.restore import RestoreOptions
    from ncpasswords.backup.source import open_path

    library_instance = Instance.load(instance.config_dir(node) / "config.php")
    with library_instance.connect() as db, open_path(path) as source:
        service.restore(library_instance, db, source, RestoreOptions(), progress)


@contextlib.contextmanager
def max_write_set(galera: GaleraCluster, size: int) -> Iterator[None]:
    """Every node refuses a write-set larger than `size` bytes while this lasts."""
    old = []
    for node in galera.nodes:
        with contextlib.closing(node.connect()) as conn, conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.wsrep_max_ws_size")
            old.append(cur.fetchone()[0])
            cur.execute(f"SET GLOBAL wsrep_max_ws_size = {size}")
    try:
        yield
    finally:
        for node, value in zip(galera.nodes, old, strict=True):
            with contextlib.closing(node.connect()) as conn, conn.cursor() as cur:
                cur.execute(f"SET GLOBAL wsrep_max_ws_size = {value}")


def test_restore_replicates_in_fragments_below_the_write_set_limit(
    galera: GaleraCluster, on_galera: ClusterInstance, large_sample: Path
) -> None:
    """A restore larger than wsrep_max_ws_size commits in fragments; without them the cluster
    refuses it whole and nothing changes."""
    with on_galera.connect() as db:
        before = app_state(db)
    config = on_galera.config_dir() / "config.php"
    on_galera.occ("passwords:backup:import", str(large_sample)).check()
    with max_write_set(galera, 4 << 20):
        Instance.load(config).update_config({FRAGMENT_SIZE_KEY: 0})
        failed = on_galera.occ("-n", "passwords:backup:restore", "large")
        assert failed.returncode == 1 and len(failed.stderr.strip().splitlines()) == 1, failed.stderr
        with on_galera.connect(node=2) as db:
            assert app_state(db) == before
        Instance.load(config).update_config({FRAGMENT_SIZE_KEY: 256 << 10})
        on_galera.occ("-n", "passwords:backup:restore", "large").check()
    with on_galera.connect(node=0) as first, on_galera.connect(node=2) as third:
        assert first.scalar_sql(f"SELECT COUNT(*) FROM {first.table('passwords_password')}") == LARGE_PASSWORDS
        assert app_state(third) == app_state(first)


def replicated_bytes(galera: GaleraCluster) -> int:
    """The bytes of write-sets the first node has sent to the cluster so far."""
    return int(galera.nodes[0].status("wsrep_replicated_bytes") or 0)


def test_a_restore_replicates_rows_without_statement_texts_or_old_rows(
    galera: GaleraCluster, on_galera: ClusterInstance, large_sample: Path, tmp_path: Path
) -> None:
    """Run by an account that may set the binary log's session settings, a restore over existing
    data leaves the statements' texts and the deleted rows' contents out of its write-set; by an
    account with privileges on the database only (as Nextcloud's), it restores all the same."""
    account = f"{on_galera.name}_app"[-32:]
    with contextlib.closing(galera.nodes[0].connect()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{account}'@'127.0.0.1' IDENTIFIED BY 'secret'")
        cur.execute(f"GRANT ALL PRIVILEGES ON `{on_galera.name}`.* TO '{account}'@'127.0.0.1'")
    try:
        limited = tmp_path / "config-limited"
        limited.mkdir()
        (limited / "config.php").write_bytes((on_galera.config_dir() / "config.php").read_bytes())
        Instance.load(limited / "config.php").update_config({"dbuser": account, "dbpassword": "secret"})
        on_galera.occ("passwords:backup:import", str(large_sample)).check()
        on_galera.occ("-n", "passwords:backup:restore", "large").check()  # the rows to replace
        sent: dict[str, int] = {}
        states = {}
        for who, config in (("limited", limited), ("privileged", on_galera.config_dir())):
            before = replicated_bytes(galera)
            run_occ(config, "-n", "passwords:backup:restore", "large").check()
            sent[who] = replicated_bytes(galera) - before
            with on_galera.connect(node=2) as db:
                states[who] = app_state(db)
        assert states["limited"] == states["privileged"]
        assert sent["privileged"] * 2 < sent["limited"], sent
    finally:
        with contextlib.closing(galera.nodes[0].connect()) as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{account}'@'127.0.0.1'")


def test_a_failing_restore_in_fragments_leaves_every_node_unchanged(
    on_galera: ClusterInstance, sample: Path, tmp_path: Path
) -> None:
    Instance.load(on_galera.config_dir() / "config.php").update_config({FRAGMENT_SIZE_KEY: 64 << 10})
    restore_with(on_galera, sample)
    with on_galera.connect(node=1) as db:
        before = app_state(db)
    doc = json.loads(sample.read_text())
    doc["challenges"].append(dict(doc["challenges"][0]))  # a duplicate uuid, met after every other row
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps(doc))
    with pytest.raises(BackupFormatError, match="same uuid"):
        restore_with(on_galera, failing)
    for node in range(3):
        with on_galera.connect(node=node) as db:
            assert app_state(db) == before
            assert db.scalar_sql("SELECT COUNT(*) FROM mysql.wsrep_streaming_log") == 0


def test_a_restore_that_loses_a_certification_conflict_runs_again(on_galera: ClusterInstance, sample: Path) -> None:
    """Another node commits a change to a row the restore replaces while it runs: the restore's
    transaction is aborted whole and run again from the start, and the result is the backup's."""
    restore_with(on_galera, sample)
    with on_galera.connect() as db:
        expected = app_state(db)
        victim = db.scalar_sql(f"SELECT MIN(id) FROM {db.table('passwords_password')}")
    Instance.load(on_galera.config_dir() / "config.php").update_config({FRAGMENT_SIZE_KEY: 0})
    calls: list[int] = []

    def interfere(done: int) -> None:
        calls.append(done)
        if len(calls) == 1:
            time.sleep(1)  # the writer thread has deleted the old rows by now (not committed)
            with on_galera.connect(node=1) as other:
                table = other.table("passwords_password")
                other.execute_sql(f"UPDATE {table} SET updated = updated + 1 WHERE id = %s", (victim,)).close()

    restore_with(on_galera, sample, progress=interfere)
    assert calls.count(calls[0]) >= 2  # the progress started over: a second attempt ran
    for node in range(3):
        with on_galera.connect(node=node) as db:
            assert app_state(db) == expected


def test_a_restore_that_keeps_losing_conflicts_says_so_and_changes_nothing(
    on_galera: ClusterInstance, sample: Path
) -> None:
    restore_with(on_galera, sample)
    with on_galera.connect() as db:
        victim = db.scalar_sql(f"SELECT MIN(id) FROM {db.table('passwords_password')}")
    Instance.load(on_galera.config_dir() / "config.php").update_config({FRAGMENT_SIZE_KEY: 0})

    def interfere(done: int) -> None:  # every attempt meets a write of another node
        time.sleep(1)
        with on_galera.connect(node=1) as other:
            table = other.table("passwords_password")
            other.execute_sql(f"UPDATE {table} SET updated = updated + 1 WHERE id = %s", (victim,)).close()

    with on_galera.connect(node=1) as db:
        before = app_state(db)
    with pytest.raises(UserError, match=r"^The restore lost 3 times .*nothing was changed"):
        restore_with(on_galera, sample, progress=interfere)
    with on_galera.connect(node=2) as db:
        after = app_state(db)
    changed = [row for row in after["passwords_password"] if row not in before["passwords_password"]]
    assert len(changed) == 1  # only the other node's three updates of one row


# -- reading from a replica ------------------------------------------------------------------------


def backup_counts(instance: ClusterInstance, name: str) -> list[str]:
    """What `passwords:backup:list --details` says a backup holds (users and entities)."""
    details: dict[str, list[str]] = {}
    label = ""
    for line in instance.occ("passwords:backup:list", "--details").check().stdout.splitlines()[1:]:
        if line.startswith("    "):
            details[label].append(line.strip())
        else:
            label = line.split()[0]
            details[label] = []
    return details[name]


def test_create_reads_from_the_standby_and_writes_nothing_there(
    pg_replica: PostgresReplication, on_replica: ClusterInstance, sample: Path
) -> None:
    restore_with(on_replica, sample)
    created = on_replica.occ("-v", "passwords:backup:create", "from-standby").check()
    assert f"Read from the PostgreSQL database '{on_replica.name}' on 127.0.0.1:{pg_replica.standby.port}" in (
        created.stdout
    )
    Instance.load(on_replica.config_dir() / "config.php").update_config({}, unset=["dbreplica"])
    primary = on_replica.occ("-v", "passwords:backup:create", "from-primary").check()
    assert f"on 127.0.0.1:{pg_replica.primary.port}" in primary.stdout
    held = backup_counts(on_replica, "from-standby")
    assert f"{SAMPLE_PASSWORDS:<5} passwords" in held and held == backup_counts(on_replica, "from-primary")


def test_a_lagging_standby_is_not_read(pg_replica: PostgresReplication, on_replica: ClusterInstance) -> None:
    """A standby that has not replayed the primary's last commit within the bound is passed over
    for the primary, whose snapshot has that commit."""
    Instance.load(on_replica.config_dir() / "config.php").update_config({REPLICA_LAG_KEY: 1})
    with contextlib.closing(pg_replica.standby.connect()) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            on_replica.occ("config:app:set", "passwords", "backup/files/maximum", "--value=9").check()
            started = time.monotonic()
            created = on_replica.occ("-v", "passwords:backup:create", "while-lagging").check()
            assert time.monotonic() - started >= 1  # it waited for the standby as long as allowed
            assert f"on 127.0.0.1:{pg_replica.primary.port}" in created.stdout
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    created = on_replica.occ("-v", "passwords:backup:create", "caught-up").check()
    assert f"on 127.0.0.1:{pg_replica.standby.port}" in created.stdout


def test_create_goes_on_from_the_primary_when_the_standby_stops(
    pg_replica: PostgresReplication, on_replica: ClusterInstance, sample: Path
) -> None:
    from ncpasswords.backup import service

    restore_with(on_replica, sample)
    instance = on_replica.instance
    stopped: list[int] = []

    def stop_standby(done: int) -> None:
        if not stopped:
            stopped.append(done)
            pg_replica.stop_member(pg_replica.standby, "immediate")

    try:
        with instance.connect() as db:
            _, stats = service.create(instance, db, "standby-stopped", progress=stop_standby)
    finally:
        pg_replica.start_member(pg_replica.standby)
        pg_replica.wait_streaming()
    assert stopped and f"127.0.0.1:{pg_replica.primary.port}" in stats.read_from
    assert stats.counts["passwords"] == SAMPLE_PASSWORDS
    assert f"{SAMPLE_PASSWORDS:<5} passwords" in backup_counts(on_replica, "standby-stopped")


def rows_read(node: Any) -> int:
    """Rows a MariaDB server has read since it started."""
    return int(node.scalar("SHOW GLOBAL STATUS LIKE 'Rows_read'", column=1))


def test_create_reads_from_the_mariadb_replica_and_writes_nothing_there(
    maria_replica: MariadbReplication, on_maria_replica: ClusterInstance, sample: Path
) -> None:
    """Read as an account with the database's privileges only, which `read_only` stops from
    writing on the replica (root may write there)."""
    restore_with(on_maria_replica, sample)
    reader = f"'{on_maria_replica.name}'@'127.0.0.1'"
    maria_replica.primary.scalar(f"CREATE USER {reader}")
    try:
        maria_replica.primary.scalar(f"GRANT ALL PRIVILEGES ON `{on_maria_replica.name}`.* TO {reader}")
        maria_replica.wait_applied()
        replica = {0: {"user": on_maria_replica.name, "port": maria_replica.replica.port, "host": "127.0.0.1"}}
        Instance.load(on_maria_replica.config_dir() / "config.php").update_config({"dbreplica": replica})
        primary_before, replica_before = rows_read(maria_replica.primary), rows_read(maria_replica.replica)
        created = on_maria_replica.occ("-v", "passwords:backup:create", "from-replica").check()
    finally:
        maria_replica.primary.scalar(f"DROP USER {reader}")
    assert f"on 127.0.0.1:{maria_replica.replica.port}" in created.stdout
    # The tables were read on the replica; the primary read no more than its settings.
    assert rows_read(maria_replica.replica) - replica_before > SAMPLE_PASSWORDS
    assert rows_read(maria_replica.primary) - primary_before < SAMPLE_PASSWORDS
    assert maria_replica.transactions_of_the_replica() == []
    Instance.load(on_maria_replica.config_dir() / "config.php").update_config({}, unset=["dbreplica"])
    primary = on_maria_replica.occ("-v", "passwords:backup:create", "from-primary").check()
    assert f"on 127.0.0.1:{maria_replica.primary.port}" in primary.stdout
    held = backup_counts(on_maria_replica, "from-replica")
    assert f"{SAMPLE_PASSWORDS:<5} passwords" in held and held == backup_counts(on_maria_replica, "from-primary")


def test_a_mariadb_replica_that_stopped_replicating_is_not_read(
    maria_replica: MariadbReplication, on_maria_replica: ClusterInstance, sample: Path
) -> None:
    """A replica that has not applied the primary's last transaction within the bound (here it
    has none of the passwords) is passed over for the primary; once it has, it is read."""
    Instance.load(on_maria_replica.config_dir() / "config.php").update_config({REPLICA_LAG_KEY: 1})
    maria_replica.stop_replication()
    try:
        restore_with(on_maria_replica, sample)
        started = time.monotonic()
        created = on_maria_replica.occ("-v", "passwords:backup:create", "while-stopped").check()
        assert time.monotonic() - started >= 1  # it waited for the replica as long as allowed
        assert f"on 127.0.0.1:{maria_replica.primary.port}" in created.stdout
        with contextlib.closing(maria_replica.replica.connect()) as replica, replica.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{on_maria_replica.name}`.oc_passwords_password")
            assert cur.fetchone() == (0,)
    finally:
        maria_replica.start_replication()
    assert f"{SAMPLE_PASSWORDS:<5} passwords" in backup_counts(on_maria_replica, "while-stopped")
    created = on_maria_replica.occ("-v", "passwords:backup:create", "caught-up").check()
    assert f"on 127.0.0.1:{maria_replica.replica.port}" in created.stdout
    assert backup_counts(on_maria_replica, "caught-up") == backup_counts(on_maria_replica, "while-stopped")


def test_create_goes_to_the_primary_when_the_mariadb_replica_is_down(
    maria_replica: MariadbReplication, on_maria_replica: ClusterInstance, sample: Path
) -> None:
    """The replica killed while a create reads it: the create starts again on the primary; while
    the replica is down, creates read the primary."""
    from ncpasswords.backup import service

    restore_with(on_maria_replica, sample)
    instance = on_maria_replica.instance
    killed: list[int] = []

    def kill_replica(done: int) -> None:
        if not killed:
            killed.append(done)
            maria_replica.replica.kill()

    try:
        with instance.connect() as db:
            _, stats = service.create(instance, db, "replica-killed", progress=kill_replica)
        assert killed and f"127.0.0.1:{maria_replica.primary.port}" in stats.read_from
        assert stats.counts["passwords"] == SAMPLE_PASSWORDS
        created = on_maria_replica.occ("-v", "passwords:backup:create", "replica-down").check()
        assert f"on 127.0.0.1:{maria_replica.primary.port}" in created.stdout
    finally:
        maria_replica.restart_replica()
    for name in ("replica-killed", "replica-down"):
        assert f"{SAMPLE_PASSWORDS:<5} passwords" in backup_counts(on_maria_replica, name)


def test_galera_node_as_dbreplica_is_read(galera: GaleraCluster, on_galera: ClusterInstance) -> None:
    node = galera.nodes[2]
    replica = {0: {"host": "127.0.0.1", "port": node.port, "user": "root", "password": "", "dbname": on_galera.name}}
    Instance.load(on_galera.config_dir() / "config.php").update_config({"dbreplica": replica})
    created = on_galera.occ("-v", "passwords:backup:create", "from-node3").check()
    assert f"on 127.0.0.1:{node.port}" in created.stdout


# -- every command, on both clusters ---------------------------------------------------------------


@pytest.fixture(params=["galera", "pgsql-replica"])
def clustered(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClusterInstance]:
    """An instance on each cluster; `other_node` is a second Galera node, on PostgreSQL the primary
    again (the standby takes no writes)."""
    if request.param == "galera":
        server: Any = request.getfixturevalue("galera").servers()[0]
    else:
        server = request.getfixturevalue("pg_replica").server()
    with cluster_instance(server, tmp_path) as instance:
        yield instance


def other_node(instance: ClusterInstance) -> int:
    return 1 if isinstance(instance.server, GaleraServer) else 0


def last_node(instance: ClusterInstance) -> Database:
    """The database as the last Galera node or the standby sees it (caught up)."""
    if isinstance(instance.server, GaleraServer):
        return instance.connect(node=2)
    instance.server.replication.wait_replayed()
    return instance.connect_standby()


def user_rows(db: Database) -> dict[str, int]:
    table = db.table("passwords_password")
    return {str(u): int(n) for u, n in rows(db, f"SELECT user_id, COUNT(*) FROM {table} GROUP BY user_id")}


def test_every_command_on_the_cluster(clustered: ClusterInstance, sample: Path) -> None:
    second = other_node(clustered)
    assert "No migrations to execute." in clustered.occ("migrations:migrate", "passwords").check().stdout
    assert "Executed Migrations" in clustered.occ("migrations:status", "passwords", node=second).check().stdout
    clustered.occ("passwords:backup:import", str(sample)).check()
    clustered.occ("-n", "passwords:backup:restore", "sample", node=second).check()
    clustered.occ("passwords:backup:create", "after-restore").check()
    with last_node(clustered) as db:
        before = user_rows(db)
    assert before["alice"] > 0 and "zed" not in before
    clustered.occ("-n", "passwords:user:move", "alice", "zed", node=second).check()
    clustered.occ("-n", "passwords:user:delete", "bob.ünicode@example.org").check()
    with last_node(clustered) as db:
        after = user_rows(db)
        deleted = rows(db, f"SELECT COUNT(*) FROM {db.table('passwords_password')} WHERE deleted = %s", (True,))
    assert after["zed"] == before["alice"] and "alice" not in after
    assert deleted[0][0] >= before["bob.ünicode@example.org"]  # soft-deleted, as the app does
    clustered.occ("-n", "passwords:backup:restore", "after-restore").check()
    with last_node(clustered) as db:
        assert user_rows(db) == before
    listed = clustered.occ("passwords:backup:list", node=second).check().stdout
    assert "after-restore" in listed and "sample" in listed


def test_the_scheduled_backup_runs_once_when_two_nodes_run_the_worker(
    galera: GaleraCluster, on_galera: ClusterInstance
) -> None:
    on_galera.occ("config:app:set", "passwords", "backup/enabled", "--value=1").check()
    job = "\\oca\\passwords\\cron\\backupjob"
    workers = [occ_process(on_galera, node, "background-job:worker", "--once", job) for node in (0, 1, 2)]
    outputs = []
    for proc in workers:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outputs.append(out)
    assert sum(out.count("Running job") for out in outputs) == 1
    listed = on_galera.occ("passwords:backup:list").check().stdout.splitlines()
    assert len(listed) == 2  # the heading and the one backup


def test_convert_into_and_out_of_galera(galera: GaleraCluster, sample: Path, tmp_path: Path) -> None:
    """db:convert-type from SQLite into the cluster (through node 2), then out of it again."""
    from ncpasswords.testing.scratch import scratch_database
    from ncpasswords.testing.servers import SqliteServer

    with scratch_database(SqliteServer(), tmp_path / "data") as lite:
        config = tmp_path / "config" / "config.php"
        install(lite.install_options(), config)
        run_occ(config.parent, "passwords:backup:import", str(sample)).check()
        run_occ(config.parent, "-n", "passwords:backup:restore", "sample").check()
        with Instance.load(config).connect() as db:
            expected = app_state(db)
        node = galera.servers()[1]
        with contextlib.closing(node), scratch_database(node, tmp_path / "unused") as target:
            args = ["--password=", f"--port={node.address.port}", "mysql", "root", "127.0.0.1", target.name]
            run_occ(config.parent, "db:convert-type", *args).check()
            with Instance.load(config).connect() as db:
                assert db.backend.multi_primary(db) and app_state(db) == expected
            run_occ(config.parent, "db:convert-type", "sqlite3", "", "", "back").check()
            with Instance.load(config).connect() as db:
                assert app_state(db) == expected


# -- faults: a node killed while a command runs ----------------------------------------------------


class Killer(threading.Thread):
    """Kills node `victim` as soon as `sql` on node `watched` returns a true value, unless told
    that the command is over first (`killed` says whether it struck)."""

    def __init__(self, galera: GaleraCluster, watched: int, victim: int, sql: str, params: Any) -> None:
        super().__init__()
        self.galera, self.watched, self.victim, self.sql, self.params = galera, watched, victim, sql, params
        self.over = threading.Event()
        self.killed = False
        self.start()

    def run(self) -> None:
        with contextlib.closing(self.galera.nodes[self.watched].connect()) as conn:
            while not self.over.is_set():
                with conn.cursor() as cur:
                    cur.execute(self.sql, self.params)
                    if cur.fetchone()[0]:
                        break
                time.sleep(0.005)
            else:
                return
        self.galera.kill_node(self.victim)
        self.killed = True

    def finish(self) -> None:
        self.over.set()
        self.join()


RESTORE_RUNNING = (
    "SELECT COUNT(*) FROM information_schema.processlist "
    "WHERE db = %s AND command = 'Query' AND info LIKE 'INSERT INTO%%passwords_password %%'"
)
CREATE_RUNNING = "SELECT COUNT(*) FROM information_schema.processlist WHERE db = %s AND info LIKE 'SELECT%%passwords%%'"


def survivors_state(instance: ClusterInstance, node: int) -> dict[str, list[tuple[Any, ...]]]:
    """The state node `node` holds once the cluster has settled (streamed fragments of a lost
    transaction rolled back), without the lock row the killed command left behind."""
    deadline = time.monotonic() + 60
    with instance.connect(node=node) as db:
        while db.scalar_sql("SELECT COUNT(*) FROM mysql.wsrep_streaming_log") and time.monotonic() < deadline:
            time.sleep(0.2)
        db.execute_sql(f"DELETE FROM {db.table('appconfig')} WHERE appid = 'ncpasswords'").close()
        return app_state(db)


@pytest.mark.parametrize("victim", [0, 2], ids=["connected-node", "other-node"])
def test_a_node_killed_during_a_restore(
    galera: GaleraCluster, on_galera: ClusterInstance, sample: Path, large_sample: Path, victim: int
) -> None:
    """The restore's own node dies: the command fails in one line and the survivors hold the state
    from before. Another node dies: the restore completes on the rest of the cluster."""
    Instance.load(on_galera.config_dir() / "config.php").update_config({FRAGMENT_SIZE_KEY: 256 << 10})
    restore_with(on_galera, sample)
    on_galera.occ("passwords:backup:import", str(large_sample)).check()
    survivor = 1
    with on_galera.connect(node=survivor) as db:
        before = app_state(db)
    watcher = Killer(galera, 0, victim, RESTORE_RUNNING, (on_galera.name,))
    try:
        result = on_galera.occ("-n", "passwords:backup:restore", "large")
        watcher.finish()
        after = survivors_state(on_galera, survivor)
    finally:
        watcher.finish()
        if watcher.killed:
            galera.start_node(victim)
    assert watcher.killed, "the node was not killed while the restore ran"
    if victim == 0:
        assert result.returncode == 1
        assert result.stderr.startswith("The connection to the database was lost")
        assert len(result.stderr.strip().splitlines()) == 1
        assert after == before
    else:
        assert result.returncode == 0, result.stderr
        assert len(after["passwords_password"]) == LARGE_PASSWORDS
    with on_galera.connect(node=victim) as db:  # the node rejoined with the survivors' state
        assert app_state(db) == after


@pytest.mark.parametrize("victim", [0, 2], ids=["connected-node", "other-node"])
def test_a_node_killed_during_a_create(
    galera: GaleraCluster, on_galera: ClusterInstance, large_sample: Path, victim: int
) -> None:
    restore_with(on_galera, large_sample)
    folder = on_galera.instance.appdata_dir / "backups"
    watcher = Killer(galera, 0, victim, CREATE_RUNNING, (on_galera.name,))
    try:
        result = on_galera.occ("passwords:backup:create", "during-kill")
        watcher.finish()
    finally:
        watcher.finish()
        survivors_state(on_galera, 1)
        if watcher.killed:
            galera.start_node(victim)
    assert watcher.killed, "the node was not killed while the create ran"
    left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    if victim == 0:
        assert result.returncode == 1 and result.stderr.startswith("The connection to the database was lost")
        assert len(result.stderr.strip().splitlines()) == 1
        assert left == []  # no backup, no temporary file
    else:
        assert result.returncode == 0, result.stderr
        assert f"{LARGE_PASSWORDS:<5} passwords" in backup_counts(on_galera, "during-kill")


# -- settings ------------------------------------------------------------------------------------


def test_cluster_settings_of_config_php(tmp_path: Path) -> None:
    base = {"dbtype": "pgsql", "dbhost": "10.0.0.1:5433", "dbname": "nc", "dbuser": "u", "dbpassword": "p"}
    base["datadirectory"] = str(tmp_path)
    instance = Instance(tmp_path / "config.php", dict(base))
    assert instance.connection_settings().fragment_bytes == 1 << 30 and instance.replica_max_lag == 30
    assert instance.replica_settings() == []
    replicas = {0: {"host": "10.0.0.2", "user": "r"}, 1: {"port": 6543}}
    instance = Instance(tmp_path / "config.php", {**base, "dbreplica": replicas, REPLICA_LAG_KEY: "5"})
    first, second = instance.replica_settings()
    assert (first.host, first.port, first.user, first.password, first.dbname) == ("10.0.0.2", None, "r", "p", "nc")
    assert (second.host, second.port, second.user) == ("10.0.0.1", 6543, "u")
    assert instance.replica_max_lag == 5
    for key, value, message in [
        (FRAGMENT_SIZE_KEY, "lots", "Invalid ncpasswords.galera.fragment_size"),
        (REPLICA_LAG_KEY, -1, "Invalid ncpasswords.replica.max_lag"),
        ("dbreplica", "10.0.0.2", "Invalid dbreplica"),
        ("dbreplica", {0: "10.0.0.2"}, "Invalid dbreplica"),
    ]:
        broken = Instance(tmp_path / "config.php", {**base, key: value})
        with pytest.raises(UserError, match=message):
            broken.connection_settings()
            broken.replica_settings()
            _ = broken.replica_max_lag
