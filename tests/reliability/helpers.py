"""Shared tools of the reliability tests: the forking occ runner, whole-instance snapshots
(database, config.php, backup folders) and the counters printed at the end of the run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import _admin
from ncpasswords.db.connection import ConnectionSettings, Database, connect
from ncpasswords.repositories.entities import TABLES

ZYGOTE = Path(__file__).with_name("zygote.py")
# Tables of a real Nextcloud that an operation may touch when they exist.
OPTIONAL_TABLES = ("jobs", "users", "accounts")


# -- counters for the session summary ---------------------------------------------------------
@dataclass
class Counters:
    """What the reliability tests did, per kind and engine; printed by conftest's summary."""

    counts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, engine: str, n: int = 1) -> None:
        with self.lock:
            self.counts[kind][engine] += n

    def get(self, kind: str, engine: str) -> int:
        return self.counts.get(kind, {}).get(engine, 0)


COUNTERS = Counters()


# -- the forking occ runner ---------------------------------------------------------------------
@dataclass
class Run:
    exit: int | None
    signal: int | None
    elapsed: float
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.signal is not None

    @classmethod
    def of(cls, reply: dict[str, Any], out: Path, err: Path) -> Run:
        """A run as the zygote reported it, with the output it wrote to `out` and `err`."""
        return cls(
            reply["exit"],
            reply["signal"],
            reply["elapsed"],
            out.read_text(errors="replace"),
            err.read_text(errors="replace"),
        )


def sessions_on(engine: str, dbname: str) -> list[int]:
    """The sessions connected to `dbname` on a database server, seen from an admin connection."""
    admin = _admin(engine)
    try:
        with admin.cursor() as cur:
            if engine == "pgsql":
                cur.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)
                )
            else:
                cur.execute(
                    "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()", (dbname,)
                )
            return [int(row[0]) for row in cur.fetchall()]
    finally:
        admin.close()


def wait_for_sessions_to_end(engine: str, dbname: str, timeout: float = 60.0) -> None:
    """Wait until the server has ended every session on `dbname`: a client killed with SIGKILL
    leaves its session to finish (commit or roll back) on the server after the client is gone."""
    if engine == "sqlite":
        return
    deadline = time.monotonic() + timeout
    while sessions_on(engine, dbname):
        assert time.monotonic() < deadline, f"sessions on {dbname} still open after {timeout} s"
        time.sleep(0.02)


class Zygote:
    """A pre-loaded `python -m ncpasswords` (zygote.py) that forks one occ process per call."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, str(ZYGOTE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lock = threading.Lock()
        self._serial = 0
        self._files: dict[int, tuple[Path, Path]] = {}

    def run(
        self,
        config_dir: Path,
        *argv: str,
        kill_after: float | None = None,
        die_at: str | None = None,
        die_call: int = 1,
        die_before: bool = False,
        env: dict[str, str] | None = None,
    ) -> Run:
        """Run `occ ARGV` in a forked child; SIGKILL it `kill_after` seconds after the fork, or right
        after the `die_call`-th return of the function `die_at` ("module:Qual.name"), or right when it
        is called that time (`die_before`)."""
        with self.lock:
            out, err = self.workdir / "stdout", self.workdir / "stderr"
            self._send(
                config_dir,
                argv,
                out,
                err,
                env,
                kill_after=kill_after,
                die_at=die_at,
                die_call=die_call,
                die_before=die_before,
            )
            return Run.of(self._receive(), out, err)

    def start(
        self,
        config_dir: Path,
        *argv: str,
        pause_at: str | None = None,
        pause: float = 0.0,
        pause_call: int = 1,
        env: dict[str, str] | None = None,
    ) -> int:
        """Start `occ ARGV` in the background (optionally sleeping `pause` seconds right after the
        `pause_call`-th return of `pause_at`); returns its pid for `wait`."""
        with self.lock:
            self._serial += 1
            out, err = self.workdir / f"bg{self._serial}.out", self.workdir / f"bg{self._serial}.err"
            self._send(
                config_dir,
                argv,
                out,
                err,
                env,
                background=True,
                die_at=pause_at,
                die_call=pause_call,
                pause=pause if pause_at else None,
            )
            pid = int(self._receive()["pid"])
            self._files[pid] = (out, err)
            return pid

    def wait(self, pid: int) -> Run:
        with self.lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"wait": pid}) + "\n")
            self.proc.stdin.flush()
            reply = self._receive()
            out, err = self._files.pop(pid)
            return Run.of(reply, out, err)

    def _send(
        self, config_dir: Path, argv: tuple[str, ...], out: Path, err: Path, env: dict[str, str] | None, **options: Any
    ) -> None:
        request = {
            "argv": list(argv),
            "env": {"NEXTCLOUD_CONFIG_DIR": str(config_dir), **(env or {})},
            "stdout": str(out),
            "stderr": str(err),
            **options,
        }
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def _receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the zygote died")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_real_occ(config_dir: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m ncpasswords ARGV` in a fresh interpreter (the real entry point)."""
    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(config_dir)}
    return subprocess.run(
        [sys.executable, "-m", "ncpasswords", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


# -- snapshots ----------------------------------------------------------------------------------
TableState = tuple[tuple[str, ...], list[tuple[str, ...]]]


def table_names(db: Database) -> list[str]:
    names = [*TABLES, "appconfig", "preferences", "migrations"]
    return names + [t for t in OPTIONAL_TABLES if db.table_exists(t)]


def db_state(db: Database) -> dict[str, TableState]:
    """Every row of every table (app tables, appconfig, preferences, migrations, and jobs/users/
    accounts when present), with column names, rows sorted: an order-independent picture."""
    state: dict[str, TableState] = {}
    for name in table_names(db):
        cur = db.execute_sql(f"SELECT * FROM {db.table(name)}")
        columns = tuple(d[0].lower() for d in cur.description)
        rows = sorted(tuple(_canon(v) for v in row) for row in cur.fetchall())
        cur.close()
        state[name] = (columns, rows)
    return state


def _canon(value: Any) -> str:
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bool):
        value = int(value)
    return repr(value)


def checksum(state: dict[str, TableState]) -> str:
    """One hash of a whole database state (tables, columns, sorted rows)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        columns, rows = state[name]
        digest.update(repr((name, columns)).encode())
        for row in rows:
            digest.update(repr(row).encode())
    return digest.hexdigest()


def without(
    state: dict[str, TableState], columns: tuple[str, ...] = ("id",), tables: tuple[str, ...] = tuple(TABLES)
) -> dict[str, TableState]:
    """The state without some columns of some tables (ids a restore reassigns, `updated` a move
    bumps), rows re-sorted: for comparing a finished run with its expected result."""
    out: dict[str, TableState] = {}
    for name, (cols, rows) in state.items():
        if name not in tables:
            out[name] = (cols, rows)
            continue
        keep = [i for i, c in enumerate(cols) if c not in columns]
        out[name] = (tuple(cols[i] for i in keep), sorted(tuple(r[i] for i in keep) for r in rows))
    return out


def diff(a: dict[str, TableState], b: dict[str, TableState]) -> str:
    """A short description of how two states differ (for assertion messages)."""
    lines = []
    for name in sorted(set(a) | set(b)):
        ra, rb = a.get(name, ((), []))[1], b.get(name, ((), []))[1]
        if ra != rb:
            sa, sb = set(ra), set(rb)
            lines.append(f"{name}: {len(ra)} vs {len(rb)} rows, {len(sa - sb)} only before, {len(sb - sa)} only after")
    return "; ".join(lines) or "no difference"


def files_state(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file below `folder`: relative path -> (mode, sha256 of the bytes or link target)."""
    out: dict[str, tuple[int, str]] = {}
    if not folder.exists():
        return out
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            path = Path(root) / name
            info = path.lstat()
            if path.is_symlink():
                content = "link:" + os.readlink(path)
            elif path.is_file():
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                content = "dir"
            out[str(path.relative_to(folder))] = (info.st_mode & 0o7777, content)
    return out


class StateReader:
    """One long-lived connection for reading states (a new connection costs ~35 ms on MariaDB).

    The connection is in autocommit mode, so each query sees what is committed at that moment.
    """

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = connect(self.settings)
        return self._db

    def state(self) -> dict[str, TableState]:
        try:
            return db_state(self.db)
        except Exception:  # the server ended the session (a test killed it): once more, afresh
            self.close()
            return db_state(self.db)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


@dataclass
class Snapshot:
    """The whole observable state of an instance: database, config.php bytes and app-data files."""

    db: dict[str, TableState]
    config: bytes
    files: dict[str, tuple[int, str]]

    @property
    def checksum(self) -> str:
        return checksum(self.db)


def snapshot(config_dir: Path, appdata: Path, db: Database) -> Snapshot:
    return Snapshot(db_state(db), (config_dir / "config.php").read_bytes(), files_state(appdata))


def one_line_error(stderr: str) -> bool:
    """Exactly one non-empty line on stderr, and no traceback."""
    return stderr.count("\n") == 1 and stderr.strip() != "" and "Traceback" not in stderr
