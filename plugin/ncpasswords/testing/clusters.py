"""Clustered database servers started for a test session (docs/clusters.md#testing-against-a-cluster).

`GaleraCluster` runs three MariaDB nodes on loopback, each a `mariadbd` with its own data folder
and ports, joined by Galera (the first bootstraps the cluster, the others join it by an rsync state
transfer). `MariadbReplication` runs a MariaDB primary with a binary log and one asynchronous
replica of it (GTID replication). `PostgresReplication` runs a PostgreSQL primary and one streaming standby made with
`pg_basebackup -R`. Both live in a folder of their own under the system's temporary folder, can
kill and restart their members for fault tests, and remove everything on `close()`.

Run as root, the servers run as the `mysql` and `postgres` users (rsync's daemon and `pg_ctl`
refuse root), so their folders belong to those users.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .servers import MysqlServer, PostgresServer, ServerAddress

MARIADBD = os.environ.get("NCP_MARIADBD", "/usr/sbin/mariadbd")
GALERA_PROVIDER = os.environ.get("NCP_GALERA_PROVIDER", "/usr/lib/galera/libgalera_smm.so")
PG_BINDIR_CANDIDATES = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")
START_TIMEOUT = 120.0


class ClusterError(RuntimeError):
    """A cluster member did not start or did not reach the state asked for."""


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 right now."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _service_user(name: str) -> pwd.struct_passwd | None:
    """The account a server runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise ClusterError(f"running as root needs the system user {name!r} to start the servers as") from None


def _give(path: Path, account: pwd.struct_passwd | None) -> None:
    """Make `path` and everything below it belong to `account`."""
    if account is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, account.pw_uid, account.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), account.pw_uid, account.pw_gid, follow_symlinks=False)


def _workdir(prefix: str) -> Path:
    # Under the system's temporary folder, not pytest's: the servers' users must reach it.
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def _wait(what: str, check: Callable[[], bool], timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if check():
                return
        if time.monotonic() >= deadline:
            tail = ""
            if log is not None and log.is_file():
                lines = log.read_text(errors="replace").splitlines()
                tail = " (last log line: " + (lines[-1] if lines else "none") + ")"
            raise ClusterError(f"{what} within {timeout:.0f} s{tail}")
        time.sleep(0.1)


# -- Galera ---------------------------------------------------------------------------------------


@dataclass
class MariadbNode:
    """One `mariadbd` with its own folder (named after its role) and port on loopback."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, kw_only=True)

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def config_file(self) -> Path:
        return self.root / "my.cnf"

    @property
    def log(self) -> Path:
        return self.root / "error.log"

    @property
    def address(self) -> ServerAddress:
        return ServerAddress("127.0.0.1", self.port, "root")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def connect(self, **options: Any) -> Any:
        """A new PyMySQL connection to this server (autocommit), as root."""
        import pymysql

        return pymysql.connect(
            host="127.0.0.1", port=self.port, user="root", autocommit=True, connect_timeout=5, **options
        )

    def status(self, name: str) -> str | None:
        """A `SHOW STATUS` value of this server (None when it cannot be asked)."""
        try:
            with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
                cur.execute("SHOW STATUS LIKE %s", (name,))
                row = cur.fetchone()
        except Exception:
            return None
        return None if row is None else str(row[1])

    def scalar(self, sql: str, params: tuple[Any, ...] | None = None, column: int = 0) -> Any:
        """A value of the first row `sql` returns on this server (None: no row)."""
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return None if row is None else row[column]

    def ready(self, galera: bool = False) -> bool:
        """Whether the server answers on its socket (and, in a cluster, Galera is ready)."""
        import pymysql

        with contextlib.closing(pymysql.connect(unix_socket=str(self.socket), user="root")):
            pass
        return not galera or self.status("wsrep_ready") == "ON"

    @property
    def socket(self) -> Path:
        return self.root / "mysqld.sock"

    def config(self, account: pwd.struct_passwd | None) -> str:
        """The `[mysqld]` settings every test server shares (a Galera node adds its own)."""
        user = f"user={account.pw_name}\n" if account is not None else ""
        return (
            "[mysqld]\n"
            f"{user}"
            f"datadir={self.datadir}\n"
            f"socket={self.socket}\n"
            f"pid-file={self.root / 'mysqld.pid'}\n"
            f"log-error={self.log}\n"
            f"port={self.port}\n"
            "bind-address=127.0.0.1\n"
            "character-set-server=utf8mb4\n"
            "collation-server=utf8mb4_general_ci\n"
            "innodb_buffer_pool_size=128M\n"
            "innodb_log_file_size=32M\n"
            # As docs/clusters.md advises for Galera nodes, on the single server too.
            "innodb_flush_log_at_trx_commit=2\n"
            "max_allowed_packet=64M\n"
            "performance_schema=OFF\n"
            "skip-name-resolve\n"
            "binlog_format=ROW\n"
            "default_storage_engine=InnoDB\n"
            "innodb_autoinc_lock_mode=2\n"
        )

    def install(self) -> None:
        """Create the system tables in the (empty) data folder."""
        install = subprocess.run(
            [
                "mariadb-install-db",
                f"--defaults-file={self.config_file}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            raise ClusterError(f"mariadb-install-db failed: {' '.join(install.stderr.split())[-300:]}")

    def allow_root_over_tcp(self, *, binlog: bool = True) -> None:
        """root@localhost reaches only the socket under skip-name-resolve: let root in over TCP
        too (without `binlog`, a change this server's replicas do not get)."""
        import pymysql

        with (
            contextlib.closing(pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)) as conn,
            conn.cursor() as cur,
        ):
            if not binlog:
                cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
            cur.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")

    def start(self, *options: str) -> None:
        """Start `mariadbd` with this folder's my.cnf (and `options`); it runs in the background."""
        self.process = subprocess.Popen(
            [MARIADBD, f"--defaults-file={self.config_file}", *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, galera: bool = False) -> None:
        _wait(f"{self.name} did not start", lambda: self.ready(galera), START_TIMEOUT, self.log)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        """Shut the server down cleanly."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _check_programs(*programs: str) -> None:
    for binary in programs:
        if not Path(binary).exists():
            raise ClusterError(f"{binary} is missing (Debian: apt-get install mariadb-server galera-4 rsync)")


@dataclass
class GaleraNode(MariadbNode):
    """One `mariadbd` of the cluster."""

    index: int
    gcomm_port: int
    sst_port: int
    ist_port: int

    def synced(self, size: int) -> bool:
        """Whether this node is a synced member of a primary component of `size` nodes."""
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(
                "SHOW STATUS WHERE Variable_name IN "
                "('wsrep_ready', 'wsrep_cluster_size', 'wsrep_local_state_comment', 'wsrep_cluster_status')"
            )
            values = {str(k): str(v) for k, v in cur.fetchall()}
        return (
            values.get("wsrep_ready") == "ON"
            and values.get("wsrep_cluster_status") == "Primary"
            and values.get("wsrep_local_state_comment") == "Synced"
            and values.get("wsrep_cluster_size") == str(size)
        )


@dataclass
class GaleraCluster:
    """Three (or `size`) MariaDB Galera nodes on loopback; `start()`, `close()`. With `galera`
    False, one plain MariaDB server with the same settings (a reference for benchmarks)."""

    size: int = 3
    galera: bool = True
    root: Path = field(default_factory=lambda: _workdir("ncp-galera-"))
    nodes: list[GaleraNode] = field(default_factory=list)
    started_in: float = 0.0
    """Seconds `start()` took, from nothing to every node synced."""

    def __post_init__(self) -> None:
        ports = free_ports(4 * self.size)
        for i in range(self.size):
            p = ports[4 * i : 4 * i + 4]
            self.nodes.append(
                GaleraNode(self.root / f"node{i + 1}", p[0], index=i, gcomm_port=p[1], sst_port=p[2], ist_port=p[3])
            )
        self._account = _service_user("mysql")

    # -- configuration -----------------------------------------------------------------------------
    def _config(self, node: GaleraNode) -> str:
        members = ",".join(f"127.0.0.1:{n.gcomm_port}" for n in self.nodes)
        provider_options = ";".join(
            [
                f"gmcast.listen_addr=tcp://127.0.0.1:{node.gcomm_port}",
                f"ist.recv_addr=127.0.0.1:{node.ist_port}",
                "gcache.size=64M",
                # A killed node is noticed within seconds, not the default 15-30 s.
                "evs.suspect_timeout=PT3S",
                "evs.inactive_timeout=PT6S",
                "evs.inactive_check_period=PT0.5S",
                # Large write-sets (a restore) stream without waiting for acknowledgements every
                # two messages, as docs/clusters.md advises.
                "evs.send_window=512",
                "evs.user_send_window=512",
            ]
        )
        plain = node.config(self._account)
        if not self.galera:
            return plain
        return plain + (
            "wsrep_on=ON\n"
            f"wsrep_provider={GALERA_PROVIDER}\n"
            "wsrep_cluster_name=ncpasswords_test\n"
            f"wsrep_cluster_address=gcomm://{members}\n"
            "wsrep_node_address=127.0.0.1\n"
            f"wsrep_node_name={node.name}\n"
            "wsrep_sst_method=rsync\n"
            "wsrep_slave_threads=2\n"  # parallel appliers, as docs/clusters.md advises
            f"wsrep_sst_receive_address=127.0.0.1:{node.sst_port}\n"
            f'wsrep_provider_options="{provider_options}"\n'
        )

    # -- life cycle --------------------------------------------------------------------------------
    def start(self) -> GaleraCluster:
        """Create the nodes' folders, bootstrap the first node, join the others; wait until all
        are synced."""
        _check_programs(*((MARIADBD, GALERA_PROVIDER) if self.galera else (MARIADBD,)))
        began = time.monotonic()
        for node in self.nodes:
            node.datadir.mkdir(parents=True)
            node.config_file.write_text(self._config(node))
        _give(self.root, self._account)
        first = self.nodes[0]
        first.install()
        self.start_node(0, bootstrap=self.galera, wait=False)
        first.wait_ready(self.galera)
        first.allow_root_over_tcp()
        for node in self.nodes[1:]:
            self.start_node(node.index, wait=False)
        self.wait_synced()
        self.started_in = time.monotonic() - began
        return self

    def start_node(self, index: int, *, bootstrap: bool = False, wait: bool = True) -> None:
        """Start node `index` (it joins the running cluster; `bootstrap` makes it a new one)."""
        self.nodes[index].start(*(["--wsrep-new-cluster"] if bootstrap else []))
        if wait:
            self.wait_synced()

    def wait_synced(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until every running node is a synced member of one cluster of them all."""
        if not self.galera:
            return
        running = [n for n in self.nodes if n.running]
        for node in running:
            _wait(
                f"{node.name} did not join the cluster",
                lambda node=node: node.synced(len(running)),  # type: ignore[misc]
                timeout,
                node.log,
            )

    def kill_node(self, index: int) -> None:
        """Kill node `index` at once (SIGKILL), as a crash would."""
        self.nodes[index].kill()

    def stop_node(self, index: int) -> None:
        """Shut node `index` down cleanly."""
        self.nodes[index].stop()

    def close(self) -> None:
        """Stop every node and remove their folders."""
        try:
            for node in self.nodes:
                node.kill()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def servers(self) -> list[GaleraServer]:
        """A `DatabaseServer` for each node (the same databases, reached through that node)."""
        return [GaleraServer(node.address, self, node.index) for node in self.nodes]


class GaleraServer(MysqlServer):
    """One node of a Galera cluster as the plugin's MariaDB server: databases made through it
    exist on every node."""

    label = "MariaDB Galera"

    def __init__(self, address: ServerAddress, cluster: GaleraCluster, index: int) -> None:
        super().__init__(address)
        self.cluster = cluster
        self.index = index

    def describe(self) -> str:
        return f"{self.label} {self.cluster.nodes[self.index].name} on {self.address.host}:{self.address.port}"

    def admin(self) -> Any:
        """The administrative connection, opened again when its node was restarted."""
        connection = super().admin()
        try:
            connection.ping(reconnect=False)
        except Exception:
            self.close()
            connection = super().admin()
        return connection

    def node(self, index: int) -> GaleraServer:
        """The same cluster reached through node `index`."""
        return GaleraServer(self.cluster.nodes[index].address, self.cluster, index)


@contextlib.contextmanager
def galera_cluster(size: int = 3) -> Iterator[GaleraCluster]:
    """A running Galera cluster of `size` nodes, removed afterwards."""
    cluster = GaleraCluster(size)
    try:
        yield cluster.start()
    finally:
        cluster.close()


# -- MariaDB with an asynchronous replica ---------------------------------------------------------


@dataclass
class MariadbReplication:
    """A MariaDB primary writing a binary log with GTIDs and one replica that follows it
    asynchronously (`MASTER_USE_GTID=slave_pos`), read-only; `start()`, `close()`. The replica
    logs what it applies too (`log_slave_updates`), so its `gtid_binlog_state` shows any
    transaction made on it: one with its own server_id."""

    root: Path = field(default_factory=lambda: _workdir("ncp-mariarepl-"))
    started_in: float = 0.0

    PRIMARY_ID = 1
    REPLICA_ID = 2

    def __post_init__(self) -> None:
        primary_port, replica_port = free_ports(2)
        self.primary = MariadbNode(self.root / "primary", primary_port)
        self.replica = MariadbNode(self.root / "replica", replica_port)
        self._account = _service_user("mysql")

    def _config(self, node: MariadbNode, server_id: int) -> str:
        extra = f"server_id={server_id}\nlog_bin={node.root / 'binlog'}\nlog_slave_updates=ON\n"
        if node is self.replica:
            extra += "read_only=ON\nslave_net_timeout=5\n"
        return node.config(self._account) + extra

    def start(self) -> MariadbReplication:
        """Create both data folders, start both servers, point the replica at the primary's
        current GTID position and wait until it replicates."""
        _check_programs(MARIADBD)
        began = time.monotonic()
        for node, server_id in ((self.primary, self.PRIMARY_ID), (self.replica, self.REPLICA_ID)):
            node.datadir.mkdir(parents=True)
            node.config_file.write_text(self._config(node, server_id))
        _give(self.root, self._account)
        for node in (self.primary, self.replica):
            node.install()
            node.start()
        for node in (self.primary, self.replica):
            node.wait_ready()
            node.allow_root_over_tcp(binlog=False)
        position = self.primary.scalar("SELECT @@GLOBAL.gtid_binlog_pos")
        with contextlib.closing(self.replica.connect()) as conn, conn.cursor() as cur:
            cur.execute("RESET MASTER")  # nothing of its own in its binary log
            cur.execute("SET GLOBAL gtid_slave_pos = %s", (position,))
            cur.execute(
                "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = %s, MASTER_USER = 'root', "
                "MASTER_PASSWORD = '', MASTER_CONNECT_RETRY = 1, MASTER_USE_GTID = slave_pos",
                (self.primary.port,),
            )
            cur.execute("START SLAVE")
        self.wait_replicating()
        self.started_in = time.monotonic() - began
        return self

    def slave_status(self) -> dict[str, str]:
        """The replica's `SHOW SLAVE STATUS` (empty when it is not a replica)."""
        import pymysql

        options = {"cursorclass": pymysql.cursors.DictCursor}
        with contextlib.closing(self.replica.connect(**options)) as conn, conn.cursor() as cur:
            cur.execute("SHOW SLAVE STATUS")
            row = cur.fetchone()
        return {str(k): str(v) for k, v in (row or {}).items()}

    def wait_replicating(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the replica receives and applies the primary's binary log."""

        def replicating() -> bool:
            status = self.slave_status()
            return status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes"

        _wait("the replica did not start replicating", replicating, timeout, self.replica.log)

    def wait_applied(self, timeout: float = 30.0) -> None:
        """Wait until the replica has applied everything the primary has logged so far."""
        target = set(str(self.primary.scalar("SELECT @@GLOBAL.gtid_binlog_pos")).split(","))
        _wait(
            "the replica did not catch up",
            lambda: target <= set(str(self.replica.scalar("SELECT @@GLOBAL.gtid_slave_pos")).split(",")),
            timeout,
            self.replica.log,
        )

    def stop_replication(self) -> None:
        """Stop the replica's replication threads: it keeps answering, and falls behind."""
        self.replica.scalar("STOP SLAVE")

    def start_replication(self) -> None:
        self.replica.scalar("START SLAVE")
        self.wait_replicating()

    def transactions_of_the_replica(self) -> list[str]:
        """The GTIDs the replica has logged as its own (server_id): what was written on it."""
        state = str(self.replica.scalar("SELECT @@GLOBAL.gtid_binlog_state") or "")
        return [gtid for gtid in state.split(",") if gtid and gtid.split("-")[1] == str(self.REPLICA_ID)]

    def restart_replica(self) -> None:
        """Start the replica's server again (after `replica.stop()`/`kill()`); it resumes replicating."""
        self.replica.start()
        self.replica.wait_ready()
        self.wait_replicating()

    def close(self) -> None:
        """Stop both servers and remove their folders."""
        try:
            for node in (self.replica, self.primary):
                node.kill()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def server(self) -> ReplicatedMysqlServer:
        """The primary as the plugin's MariaDB server, knowing its replica."""
        return ReplicatedMysqlServer(self.primary.address, self)


class ReplicatedMysqlServer(MysqlServer):
    """The primary of a `MariadbReplication`: databases made on it reach the replica."""

    label = "MariaDB primary"

    def __init__(self, address: ServerAddress, replication: MariadbReplication) -> None:
        super().__init__(address)
        self.replication = replication

    def replicas(self, name: str) -> dict[int, dict[str, Any]]:
        replica = self.replication.replica.address
        return {0: {"host": replica.host, "port": replica.port, "user": replica.user, "password": "", "dbname": name}}

    def create(self, name: str) -> None:
        super().create(name)
        self.replication.wait_applied()


@contextlib.contextmanager
def mariadb_replication() -> Iterator[MariadbReplication]:
    """A running MariaDB primary with an asynchronous replica, removed afterwards."""
    replication = MariadbReplication()
    try:
        yield replication.start()
    finally:
        replication.close()


# -- PostgreSQL with a standby --------------------------------------------------------------------


def pg_bindir() -> Path:
    """The folder of PostgreSQL's server programs (NCP_PG_BINDIR, `pg_config --bindir`, Debian's)."""
    candidates: list[str] = []
    if env := os.environ.get("NCP_PG_BINDIR"):
        candidates.append(env)
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout)
    candidates.extend(PG_BINDIR_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate.strip())
        if (path / "initdb").is_file() and (path / "pg_basebackup").is_file():
            return path
    raise ClusterError("no PostgreSQL server programs found (set NCP_PG_BINDIR to the folder of initdb)")


@dataclass
class PostgresMember:
    """The primary or the standby."""

    name: str
    root: Path
    port: int
    running: bool = False

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def address(self) -> ServerAddress:
        return ServerAddress("127.0.0.1", self.port, "postgres")

    def connect(self, dbname: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True, connect_timeout=5
        )

    def scalar(self, sql: str) -> Any:
        with contextlib.closing(self.connect()) as conn:
            row = conn.execute(sql).fetchone()
        return None if row is None else row[0]


@dataclass
class PostgresReplication:
    """A PostgreSQL primary and one streaming standby on loopback; `start()`, `close()`."""

    root: Path = field(default_factory=lambda: _workdir("ncp-pgrepl-"))
    started_in: float = 0.0

    def __post_init__(self) -> None:
        primary_port, standby_port = free_ports(2)
        self.primary = PostgresMember("primary", self.root / "primary", primary_port)
        self.standby = PostgresMember("standby", self.root / "standby", standby_port)
        self._account = _service_user("postgres")
        self._bindir = Path()

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self._bindir / program), *args]
        if self._account is not None:
            command = ["runuser", "-u", self._account.pw_name, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=self.root)
        if check and result.returncode != 0:
            detail = " ".join((result.stderr or result.stdout).split())[-300:]
            raise ClusterError(f"{program} failed: {detail}")
        return result

    def _options(self, member: PostgresMember) -> str:
        return " ".join(
            [
                f"-p {member.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={member.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c shared_buffers=64MB",
                "-c wal_level=replica",
                "-c max_wal_senders=5",
                "-c hot_standby=on",
                # Queries on the standby are not cancelled for the primary's cleanup while they run.
                "-c hot_standby_feedback=on",
                "-c max_standby_streaming_delay=-1",
            ]
        )

    def start(self) -> PostgresReplication:
        """initdb the primary, start it, copy it with `pg_basebackup -R`, start the standby and
        wait until it streams."""
        began = time.monotonic()
        self._bindir = pg_bindir()
        for member in (self.primary, self.standby):
            member.root.mkdir(mode=0o700)
        _give(self.root, self._account)
        self._run(
            "initdb",
            "-D",
            str(self.primary.datadir),
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        self.start_member(self.primary)
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-D",
            str(self.standby.datadir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        self.start_member(self.standby)
        self.wait_streaming()
        self.started_in = time.monotonic() - began
        return self

    def start_member(self, member: PostgresMember) -> None:
        self._run(
            "pg_ctl", "-D", str(member.datadir), "-l", str(member.log), "-o", self._options(member), "-w", "start"
        )
        member.running = True

    def stop_member(self, member: PostgresMember, mode: str = "fast") -> None:
        """Stop the primary or the standby (`mode` immediate is a crash)."""
        if member.running:
            self._run("pg_ctl", "-D", str(member.datadir), "-m", mode, "-w", "stop", check=False)
            member.running = False

    def wait_streaming(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the standby receives the primary's WAL."""
        _wait(
            "the standby did not start streaming",
            lambda: self.primary.scalar("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == 1,
            timeout,
            self.standby.log,
        )

    def wait_replayed(self, timeout: float = 30.0) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        target = self.primary.scalar("SELECT pg_current_wal_insert_lsn()")
        _wait(
            "the standby did not catch up",
            lambda: bool(self.standby.scalar(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")),
            timeout,
            self.standby.log,
        )

    def close(self) -> None:
        """Stop both servers and remove their folders."""
        try:
            for member in (self.standby, self.primary):
                self.stop_member(member, "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def server(self) -> ReplicatedPostgresServer:
        """The primary as the plugin's PostgreSQL server, knowing its standby."""
        return ReplicatedPostgresServer(self.primary.address, self)


class ReplicatedPostgresServer(PostgresServer):
    """The primary of a `PostgresReplication`: databases made on it reach the standby."""

    label = "PostgreSQL primary"

    def __init__(self, address: ServerAddress, replication: PostgresReplication) -> None:
        super().__init__(address)
        self.replication = replication

    @property
    def standby(self) -> ServerAddress:
        return self.replication.standby.address

    def replicas(self, name: str) -> dict[int, dict[str, Any]]:
        standby = self.standby
        return {0: {"host": standby.host, "port": standby.port, "user": standby.user, "password": "", "dbname": name}}

    def create(self, name: str) -> None:
        super().create(name)
        self.replication.wait_replayed()


@contextlib.contextmanager
def postgres_replication() -> Iterator[PostgresReplication]:
    """A running PostgreSQL primary with a streaming standby, removed afterwards."""
    replication = PostgresReplication()
    try:
        yield replication.start()
    finally:
        replication.close()
