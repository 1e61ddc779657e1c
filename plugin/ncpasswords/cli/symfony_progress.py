"""Symfony Console's ProgressBar as the reference's commands show it, on stderr and only on a terminal.

Format `normal` (` %current%/%max% [%bar%] %percent:3s%%`): 28 cells of `=` ending in `>` and
padded with `-`, the current step right-aligned to the width of the maximum, redrawn in place
(`\\r` + erase line) at most 25 times a second and always at the end. Symfony's bar writes to
the error output, while the reference's newline after `finish()` goes to stdout.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .console import Console

BAR_WIDTH = 28
MIN_SECONDS_BETWEEN_REDRAWS = 1 / 25


def render_bar(step: int, maximum: int) -> str:
    """One frame of the bar (without the line reset)."""
    if maximum:
        percent = min(step / maximum, 1.0)
        complete = int(percent * BAR_WIDTH)
    else:  # an unknown maximum: Symfony's `normal_nomax` format, the bar cycles
        percent = 0.0
        complete = step % BAR_WIDTH
    bar = "=" * complete
    if complete < BAR_WIDTH:
        bar += ">" + "-" * (BAR_WIDTH - complete - 1)
    if not maximum:
        return f" {step} [{bar}]"
    return f" {str(step).rjust(len(str(maximum)))}/{maximum} [{bar}] {int(percent * 100):>3}%"


class ProgressBar:
    """`start(max)`, `advance(n)`, `finish()` as in Symfony; silent unless stderr is a terminal."""

    def __init__(self, con: Console, stream: TextIO | None = None) -> None:
        self.enabled = con.progress_enabled()
        self.stream = stream
        self.step = 0
        self.maximum = 0
        self._last_draw = 0.0
        self._drawn = False

    def _out(self) -> TextIO:
        return self.stream or sys.stderr

    def start(self, maximum: int = 0) -> None:
        self.step, self.maximum, self._drawn = 0, max(maximum, 0), False
        self._draw()

    def advance(self, steps: int = 1) -> None:
        if not self.enabled:
            return
        self.step += steps
        if self.maximum and self.step > self.maximum:
            self.maximum = self.step
        now = time.monotonic()
        if self.step == self.maximum or now - self._last_draw >= MIN_SECONDS_BETWEEN_REDRAWS:
            self._draw(now)

    def finish(self) -> None:
        if not self.maximum:
            self.maximum = self.step
        self.step = self.maximum
        self._draw()

    def _draw(self, now: float | None = None) -> None:
        if not self.enabled:
            return
        out = self._out()
        out.write(("\r\x1b[2K" if self._drawn else "") + render_bar(self.step, self.maximum))
        out.flush()
        self._drawn = True
        self._last_draw = time.monotonic() if now is None else now
