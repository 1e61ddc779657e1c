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
        self._width = 0

    def __call__(self, done: int) -> None:
        self._done = done
        now = time.monotonic()
        if self.enabled and now - self._last >= 0.1:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self.started
        of = f"/{self.total}" if self.total else ""
        rate = f", {self._done / elapsed:,.0f} rows/s" if elapsed >= 0.1 else ""  # no rate from an instant
        text = f"{self.label}: {self._done}{of} rows{rate}"
        sys.stderr.write(f"\r{text.ljust(self._width)}")
        self._width = len(text)
        sys.stderr.flush()

    def finish(self, keep: str | None = None) -> None:
        """Draw the final count and end the line; with `keep`, put that text back in place of the
        status line instead (what stdout had written there before the status line covered it)."""
        if not self.enabled:
            return
        if keep is None:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
        else:
            self.clear()
            sys.stderr.write(keep)
        sys.stderr.flush()

    def clear(self) -> None:
        """Erase the status line (for a line of output that replaces it)."""
        if self.enabled and self._width:
            sys.stderr.write("\r" + " " * self._width + "\r")
            sys.stderr.flush()
            self._width = 0
