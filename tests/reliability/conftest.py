"""Fixtures of the reliability tests and the summary they print at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import COUNTERS, Zygote

ENGINES = ("sqlite", "pgsql", "mysql")
_FAILURES: list[str] = []


@pytest.fixture(scope="session")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    """One pre-loaded occ process that forks a child per command (see zygote.py)."""
    runner = Zygote(Path(tmp_path_factory.mktemp("zygote")))
    yield runner
    runner.close()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed and "reliability/" in report.nodeid.replace("\\", "/"):
        _FAILURES.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not COUNTERS.counts and not _FAILURES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability")
    for kind in sorted(COUNTERS.counts):
        per_engine = COUNTERS.counts[kind]
        engines = [e for e in ENGINES if e in per_engine] + sorted(set(per_engine) - set(ENGINES))
        cells = ", ".join(f"{e} {per_engine[e]}" for e in engines)
        write(f"{kind:<44} {cells}")
    write(f"{'failures found':<44} {len(_FAILURES)}")
