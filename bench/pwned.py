"""Benchmark of `passwords:pwned-list:process`: a deterministic 10M-line list with `--size=5`.

    python -m bench.pwned [--lines N] [--size M]

Writes its own section near the end of docs/benchmarks.md (after the PWNED_MARKER line, before
the background jobs' JOBS_MARKER), which `python -m bench` keeps when it rewrites the rest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "bench" / "results"
PWNED_MARKER = "<!-- bench.pwned: kept by python -m bench -->"
_MULT = 0x9E3779B97F4A7C15


def generate(path: Path, lines: int) -> None:
    """A sorted HIBP-style list `<SHA-1>:<count>`, CRLF line ends, ties at every count."""
    step = (1 << 160) // lines
    with open(path, "w", newline="") as handle:
        for start in range(0, lines, 200_000):
            handle.write(
                "".join(
                    f"{i * step + (i * _MULT + 17) % step:040X}:{(i * 7919 + 3) % 600 + 1}\r\n"
                    for i in range(start, min(lines, start + 200_000))
                )
            )


def measure(lines: int, size: int) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `--mode=gzip` run over a generated list."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    source = RESULTS / f"pwned-{lines}.txt"
    if not source.exists():
        generate(source, lines)
    occ = Path(sys.executable).parent / "occ"
    with tempfile.TemporaryDirectory() as work:
        started = time.monotonic()
        child = subprocess.Popen(
            [str(occ), "-q", "passwords:pwned-list:process", str(source), f"--size={size}", "--mode=gzip"], cwd=work
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"pwned-list:process failed with status {status}")
    return wall, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pwned", description=__doc__)
    parser.add_argument("--lines", type=int, default=10_000_000, help="lines in the list (default 10M)")
    parser.add_argument("--size", type=int, default=5, help="--size of the command, millions (default 5)")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    wall, rss = measure(args.lines, args.size)
    target = "met" if rss <= 200 else "**missed**"
    section = (
        f"{PWNED_MARKER}\n\n## Breached-password list\n\n"
        f"`occ passwords:pwned-list:process <list> --size={args.size} --mode=gzip` over a generated sorted\n"
        f"list of {args.lines:,} `<SHA-1>:<count>` lines ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},"
        f" `python -m bench.pwned`).\n\n"
        "| lines | --size | wall (s) | peak RSS (MB) | target |\n|---:|---:|---:|---:|---|\n"
        f"| {args.lines:,} | {args.size} | {wall:.1f} | {rss:.0f} | ≤ 200 MB {target} |\n\n"
        "Memory stays flat: selected hashes are spilled to one file per prefix and written one prefix\n"
        "at a time (the reference holds about 100 MiB per million selected hashes).\n"
    )
    print(section)
    if not args.no_docs:
        from .jobs import JOBS_MARKER  # the hand-written section of the background jobs stays

        text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
        head = text.split(PWNED_MARKER)[0].rstrip() + "\n\n"
        _, marker, jobs = text.partition(JOBS_MARKER)
        DOCS.write_text(head + section + ("\n" + marker + jobs if marker else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
