"""Encoded batches written to a database by a background thread, one batch behind the caller.

The caller reads and encodes the next batch while the server works on the previous one; the
thread is the only user of the connection between `submit` and the end of the `with` block. An
error in the thread is raised by the next `submit` or at the end, and the batches after it are
dropped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from types import TracebackType

from ..db.connection import Database, EncodedRows


class BatchWriter:
    """`with BatchWriter(db, background) as w: w.submit(table, columns, encoded)`; `w.written`
    counts the rows written. Without `background` each batch is written at once."""

    def __init__(self, db: Database, background: bool) -> None:
        self.db = db
        self.written = 0
        self._error: BaseException | None = None
        self._jobs: queue.Queue[tuple[str, Sequence[str], EncodedRows] | None] = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._work, name="convert-writer", daemon=True) if background else None

    def __enter__(self) -> BatchWriter:
        if self._thread is not None:
            self._thread.start()
        return self

    def submit(self, table: str, columns: Sequence[str], encoded: EncodedRows) -> None:
        if self._thread is None:
            self.written += self.db.insert_many(table, columns, encoded)
            return
        self._check()
        self._jobs.put((table, columns, encoded))

    def _work(self) -> None:
        # Takes every job until told to stop, so that `put` never blocks on a dead writer.
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    self.written += self.db.insert_many(*job)
                except BaseException as exc:
                    self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None
        if kind is None:
            self._check()
