"""One background thread that writes to a database while the caller prepares the next batch.

Restore and convert hand it their bulk writes where the engine works in its own process
(`Backend.background_writes`): parsing or reading the next rows overlaps with the server's work on
the previous batch. The thread is the only user of the connection between the first `submit` and
the return of `close`. Jobs run in order; the first error is raised by the next `submit` or by
`finish`, and the jobs after it are dropped (the caller's transaction is rolled back anyway).
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from types import TracebackType

# While the thread runs: how soon the caller's thread hands it the GIL (Python's default is 5 ms).
# The writer wakes up for every few hundred kilobytes sent; making it wait 5 ms each time left the
# database idle (PostgreSQL restores ~15% slower).
SWITCH_INTERVAL = 0.0002


class Writer:
    """`with Writer(background, name) as w: w.submit(job)`; without `background` each job runs at
    once in the caller's thread."""

    def __init__(self, background: bool, name: str, depth: int = 2) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._switch_interval = sys.getswitchinterval()
        if background:
            sys.setswitchinterval(min(SWITCH_INTERVAL, self._switch_interval))
            self._thread = threading.Thread(target=self._work, name=name, daemon=True)
            self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` (in the thread, or now without one)."""
        if self._thread is None:
            job()
        else:
            self._check()
            self._jobs.put(job)

    def _work(self) -> None:
        # Takes every job until told to stop, so that `put` never blocks on a dead writer.
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    job()
                except BaseException as exc:
                    self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        """Wait until every job has run; raise the first error."""
        self.close()
        self._check()

    def close(self) -> None:
        """Stop the thread once the jobs handed to it are done (or dropped after an error)."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None
            sys.setswitchinterval(self._switch_interval)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.finish()
        else:
            self.close()
