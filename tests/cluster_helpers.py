"""Instances on the clusters of tests/test_clusters.py: installed through one Galera node or the
PostgreSQL primary, with a config.php per node so that `occ` can run through any of them (as the
Nextcloud servers of a cluster each use their own database node)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ncpasswords.db.connection import ConnectionSettings, Database, connect
from ncpasswords.instance.install import install
from ncpasswords.instance.instance import Instance
from ncpasswords.testing.clusters import GaleraServer, ReplicatedPostgresServer
from ncpasswords.testing.instance import OccResult, run_occ
from ncpasswords.testing.scratch import scratch_database
from ncpasswords.testing.servers import NetworkServer


@dataclass
class ClusterInstance:
    """An installed instance on a cluster; node 0 is the one it was installed through."""

    server: NetworkServer
    name: str
    root: Path

    def config_dir(self, node: int = 0) -> Path:
        """A config folder whose config.php reaches the database through Galera node `node`."""
        folder = self.root / f"config-node{node}"
        if not folder.exists():
            assert isinstance(self.server, GaleraServer)
            folder.mkdir()
            shutil.copy(self.root / "config-node0" / "config.php", folder / "config.php")
            address = self.server.node(node).address
            Instance.load(folder / "config.php").update_config({"dbhost": f"{address.host}:{address.port}"})
        return folder

    @property
    def instance(self) -> Instance:
        return Instance.load(self.config_dir() / "config.php")

    def occ(self, *args: str, node: int = 0, input: str | None = None) -> OccResult:
        return run_occ(self.config_dir(node), *args, input=input)

    def connect(self, node: int = 0) -> Database:
        return Instance.load(self.config_dir(node) / "config.php").connect()

    def connect_standby(self) -> Database:
        """The library's connection to the database on the PostgreSQL standby."""
        assert isinstance(self.server, ReplicatedPostgresServer)
        s = self.server.standby
        return connect(ConnectionSettings("pgsql", self.name, host=s.host, port=s.port, user=s.user))


@contextlib.contextmanager
def cluster_instance(server: NetworkServer, tmp_path: Path) -> Iterator[ClusterInstance]:
    """An instance installed into a fresh database through `server`, dropped afterwards."""
    with contextlib.closing(server), scratch_database(server, tmp_path / "data") as database:
        config = tmp_path / "config-node0" / "config.php"
        install(database.install_options(), config)
        if replicas := server.replicas(database.name):
            Instance.load(config).update_config({"dbreplica": replicas})
        yield ClusterInstance(server, database.name, tmp_path)


def rows(db: Database, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = db.execute_sql(sql, params)
    try:
        return [tuple(r) for r in cur.fetchall()]
    finally:
        cur.close()
