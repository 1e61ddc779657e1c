"""Restore and create on a 3-node MariaDB Galera cluster against one MariaDB server.

`python -m bench.galera` starts both from the same settings (testing/clusters.py: the Galera
nodes and the single server differ only in the wsrep settings), installs an instance on each,
restores the sample backup of `--size` and creates a backup from it, alternating which side goes
first, and writes the medians into the benchmark section of docs/clusters.md (between its
markers). Target: the cluster takes at most 1.5 times the single server's time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ncpasswords.testing.clusters import GaleraServer

from .harness import ROOT, Measure, run, sample_file

if TYPE_CHECKING:
    from ncpasswords.testing.servers import DatabaseServer

DOCS = ROOT / "docs" / "clusters.md"
BEGIN = "<!-- bench.galera: begin -->"
END = "<!-- bench.galera: end -->"
TARGET = 1.5


class Side:
    """An instance on one server (a Galera node, or the single MariaDB)."""

    def __init__(self, name: str, server: DatabaseServer, home: Path, fragment: int | None) -> None:
        from ncpasswords.instance.install import install
        from ncpasswords.instance.instance import FRAGMENT_SIZE_KEY, Instance
        from ncpasswords.testing.scratch import new_name

        self.name = name
        self.server = server
        self.home = home
        self.dbname = new_name()
        server.create(self.dbname)
        config = home / "config" / "config.php"
        install(server.install_options(self.dbname, home / "data", "oc_"), config)
        if fragment is not None:
            Instance.load(config).update_config({FRAGMENT_SIZE_KEY: fragment})
        self.instance = Instance.load(config)
        backups = self.instance.appdata_dir / "backups"
        backups.mkdir(parents=True, exist_ok=True)
        self.backups = backups

    def occ(self, *args: str) -> Measure:
        env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(self.home / "config")}
        return run([sys.executable, "-m", "ncpasswords", *args], env=env)

    def clear(self) -> None:
        """Empty the app's tables and wait until every node has applied all it was sent, so that
        no node is still busy with the previous run while this one is timed (not timed)."""
        from ncpasswords.repositories.entities import TABLES

        with self.instance.connect() as db:
            for table in TABLES:
                db.execute_sql(f"TRUNCATE TABLE {db.table(table)}").close()
        self.settle()

    def settle(self) -> None:
        if not isinstance(self.server, GaleraServer) or not self.server.cluster.galera:
            return
        nodes = self.server.cluster.nodes
        while len({node.status("wsrep_last_committed") for node in nodes}) > 1 or any(
            node.status("wsrep_local_recv_queue") != "0" for node in nodes
        ):
            time.sleep(0.2)


@contextlib.contextmanager
def servers() -> Iterator[tuple[DatabaseServer, DatabaseServer, float]]:
    from ncpasswords.testing.clusters import GaleraCluster

    single = GaleraCluster(size=1, galera=False)
    cluster = GaleraCluster()
    try:
        single.start()
        cluster.start()
        yield single.servers()[0], cluster.servers()[0], cluster.started_in
    finally:
        cluster.close()
        single.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.galera", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="M", help="sample size (default M)")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="sample data seed (default 1)")
    parser.add_argument("--fragment-size", type=int, default=None, help="ncpasswords.galera.fragment_size")
    parser.add_argument("--no-docs", action="store_true", help=f"do not write {DOCS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "plugin"))
    sample = sample_file(args.size, args.seed)
    times: dict[tuple[str, str], list[float]] = {}
    work = ROOT / "bench" / "results" / "galera"
    shutil.rmtree(work, ignore_errors=True)
    with servers() as (single_server, galera_server, started_in):
        sides = [
            Side("single MariaDB", single_server, work / "single", None),
            Side("3-node Galera", galera_server, work / "galera", args.fragment_size),
        ]
        for side in sides:
            shutil.copyfile(sample, side.backups / f"bench{args.size}.json.gz")
        for i in range(args.runs):
            order = sides if i % 2 == 0 else sides[::-1]
            for side in order:
                side.clear()
                restore = side.occ("-n", "passwords:backup:restore", f"bench{args.size}")
                side.settle()
                create = side.occ("-q", "passwords:backup:create", "benchout")
                times.setdefault((side.name, "restore"), []).append(restore.seconds)
                times.setdefault((side.name, "create"), []).append(create.seconds)
                print(
                    f"run {i + 1} {side.name}: restore {restore.seconds:.2f}s, create {create.seconds:.2f}s",
                    flush=True,
                )
    rows = []
    for op in ("restore", "create"):
        single = statistics.median(times[("single MariaDB", op)])
        galera = statistics.median(times[("3-node Galera", op)])
        ratio = galera / single
        met = "met" if ratio <= TARGET else "missed"
        rows.append(f"| {op} | {args.size} | {single:.2f} | {galera:.2f} | {ratio:.2f} | ≤ {TARGET}× {met} |")
    table = "\n".join(
        [
            "| operation | size | single MariaDB (s) | 3-node Galera (s) | ratio | target |",
            "|---|---|---:|---:|---:|---|",
            *rows,
        ]
    )
    print(table)
    if not args.no_docs:
        load = f"{os.getloadavg()[0]:.1f}"
        fragment = "default" if args.fragment_size is None else f"{args.fragment_size} bytes"
        section = (
            f"{BEGIN}\n"
            f"`python -m bench.galera` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, medians of "
            f"{args.runs} alternating runs, fragment size {fragment}; the Galera cluster started in "
            f"{started_in:.0f} s, load average {load} at the end).\nAll three nodes and the single server "
            "share one machine, so the cluster's appliers compete with the\nrestoring node for the same cores.\n\n"
            f"{table}\n"
            f"{END}"
        )
        text = DOCS.read_text()
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOCS.write_text(head + section + tail)
        print(f"wrote {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
