"""Clustered databases (docs/clusters.md): a 3-node MariaDB Galera cluster and a PostgreSQL primary
with a streaming standby, both started once for the session by the pytest plugin's fixtures
(`passwords_galera`, `passwords_pgsql_replica`) and removed afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster_helpers import ClusterInstance, cluster_instance
from ncpasswords.testing.clusters import GaleraCluster, PostgresReplication
from ncpasswords.testing.plugin import ENGINES

pytest_plugins = ["pytester"]
WORKED_EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "worked-example-v106.json"


@pytest.fixture
def on_galera(galera: GaleraCluster, tmp_path: Path) -> Iterator[ClusterInstance]:
    with cluster_instance(galera.servers()[0], tmp_path) as instance:
        yield instance


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
