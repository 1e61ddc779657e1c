"""A raw stream whose bytes a background thread makes (inflating, decrypting) while the reader
parses the previous ones, through a bounded queue: memory stays flat whatever the file's size."""

from __future__ import annotations

import io
import queue
import threading
from typing import Any


class ThreadedReader(io.RawIOBase):
    """Subclasses implement `_work` (run in the thread: `put` bytes, then None at the end, or an
    exception to raise in the reader) and call `start()` once set up."""

    def __init__(self, name: str, depth: int = 4) -> None:
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._current = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _work(self) -> None:
        raise NotImplementedError

    def put(self, item: bytes | BaseException | None) -> bool:
        """Hand the reader the next bytes (None: the end; an exception: raised there); False once the
        reader has been closed (the thread should stop)."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            if self._done:
                return 0
            item = self._queue.get()
            if item is None:
                self._done = True
                return 0
            if isinstance(item, BaseException):
                self._done = True
                raise item
            self._current = memoryview(item)
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            if self._thread.ident is not None:  # started
                self._thread.join()
        super().close()
