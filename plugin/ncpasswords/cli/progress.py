"""Progress on stderr for long work, only when stderr is a terminal."""

from __future__ import annotations

import sys
import time

from .console import Console


class Progress:
    """A callable taking the number of rows done; redraws one status line at most 10 times a second."""

    def __init__(self, console: Console, label: str, total: int | None = None) -> None:
        self.enabled = console.progress_enabled()
        self.label = label
        self.total = total
        self.started = time.monotonic()
        self._last = 0.0
        self._done = 0

    def __call__(self, done: int) -> None:
        self._done = done
        now = time.monotonic()
        if self.enabled and now - self._last >= 0.1:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self._done / max(now - self.started, 1e-6)
        of = f"/{self.total}" if self.total else ""
        sys.stderr.write(f"\r{self.label}: {self._done}{of} rows, {rate:,.0f} rows/s ")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
            sys.stderr.flush()
