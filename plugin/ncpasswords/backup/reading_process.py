"""Reading and checking a backup in a second process while this one writes its rows
(docs/internals/backup-format.md#restore).

Decoding the JSON and checking every value is Python work that holds the GIL, and so is handing
rows to the database driver: in one process the two take turns on one core. A forked child runs the
reader and the `Validator` and sends the checked rows back through a pipe, so both cores work (on
PostgreSQL and MariaDB the server takes its share beside them).

The child only reads: it never touches the parent's database connection (inherited with the fork)
and leaves with `os._exit`, so nothing of the parent's state is flushed or closed twice. Rows cross
the pipe in `marshal` frames (plain tuples of str, int, bool and None, written and read by the same
interpreter; or, for a table whose engine takes rows encoded ahead, their count and the bytes its
`RowEncoder` made of them, so the parent does not encode either); the end of the document carries
the keys and settings, a failure the exception to raise, both pickled. When the parent stops
reading (an error, a kill) the child's next write fails and it ends; the parent kills and reaps it
in any case.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import marshal
import os
import pickle
import queue
import signal
import struct
import sys
import threading
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import BinaryIO

from ..db.backends.base import Row
from ..db.connection import RowEncoder, RowLimit
from .errors import BackupError
from .reader import read_document
from .source import BackupSource
from .validation import Keys, Settings, Validator

_FRAME = struct.Struct("<cQ")
_ROWS, _END, _FAILED = b"R", b"E", b"F"
# Entities in the first frame; then as many as make about _FRAME_BYTES (frames of big entities
# hold fewer: memory is bounded by the size of the entities, not by their number).
_FIRST_FRAME = 16
_MOST_PER_FRAME = 256
_FRAME_BYTES = 2 << 20
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031
# Frames the child keeps ready beyond what the pipe holds, and how soon its sender thread gets the GIL.
_FRAMES_AHEAD = 4
_SWITCH_INTERVAL = 0.0005
# Signals held back while forking: the child must never run the parent's handlers or its code.
_HELD = {signal.SIGINT, signal.SIGTERM}
_PR_SET_PDEATHSIG = 1


class ReadingProcessError(BackupError):
    """The process reading the backup ended without a result (or with an error that is passed
    on as its message)."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _set_pipe_size(fd: int) -> None:
    with contextlib.suppress(OSError):  # a lower limit for unprivileged users: the default pipe works
        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)


def _die_with_parent(parent: int) -> None:
    """In the child: be killed when the parent dies (Linux), so that nothing inherited from it (its
    database socket, its lock files) stays open after it."""
    with contextlib.suppress(OSError, AttributeError, ImportError):
        import ctypes  # only here: it costs every command a few milliseconds to import

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that
        os._exit(1)


def _portable(exc: BaseException) -> bytes:
    """`exc` pickled for the parent; one that does not come back whole is passed on as its message."""
    try:
        payload = pickle.dumps(exc)
        pickle.loads(payload)
        return payload
    except Exception:
        message = str(exc) if isinstance(exc, BackupError) else f"Reading the backup failed: {exc!r}"
        return pickle.dumps(ReadingProcessError(message))


#: Rows of one table as they come out of `CheckedRows`: the insert tuples, or (in the reading
#: process, for a table with an encoder) how many rows and the bytes their `RowEncoder` made.
Batch = list[Row] | tuple[int, bytes]


class CheckedRows:
    """The rows of a backup's entities, read and checked as `Validator.item` checks them (in a
    child process where this process has no other thread, else here): `(table, batch)` in
    document order, then `finish()` for the keys and settings.

    With `user`, only that user's rows; without `rows`, none (the whole file is still checked).
    A table with one of `encoders` has its rows encoded in the child (the work of the engine's
    bulk path, off this process); they come as `(count, bytes)`, else as a list of rows.

    `with CheckedRows(source, secret, limit) as checked: for table, rows in checked: ...`
    """

    def __init__(
        self,
        source: BackupSource,
        server_secret: str,
        row_limit: RowLimit | None,
        *,
        duplicates: bool = True,
        user: str | None = None,
        rows: bool = True,
        encoders: Mapping[str, RowEncoder] | None = None,
    ) -> None:
        self._source = source
        self._encoders = dict(encoders or {})
        self._secret = server_secret
        self._validator = Validator(row_limit, duplicates=duplicates)
        self._user = user
        self._rows = rows
        self._result: tuple[Keys, Settings] | None = None
        self._frame_entities = _FIRST_FRAME
        self._pid = 0
        self._pipe: BinaryIO | None = None
        if threading.active_count() == 1:
            self._fork()

    def _frames(self) -> Iterator[dict[str, list[Row]]]:
        """The rows by table, a frame every `_frame_entities` entities (read and checked here)."""
        frame: dict[str, list[Row]] = {}
        count = 0
        for section, value in read_document(self._source, self._secret, self._validator.item_types).items:
            entity = self._validator.item(section, value)
            if entity is None or not self._rows or (self._user is not None and entity.user != self._user):
                continue
            if entity.revision_table is not None and entity.revisions:
                frame.setdefault(entity.revision_table, []).extend(entity.revisions)
            frame.setdefault(entity.table, []).append(entity.row)
            count += 1
            if count >= self._frame_entities:
                yield frame
                frame, count = {}, 0
        if frame:
            yield frame

    # -- the child -----------------------------------------------------------------------------
    def _fork(self) -> None:
        read_fd, write_fd = os.pipe()
        parent = os.getpid()
        signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            pid = os.fork()
        except OSError:  # no process to be had (memory, a process limit): read here instead
            os.close(read_fd)
            os.close(write_fd)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
            return
        if pid == 0:  # the child: never returns
            status = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it kills us
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
                _die_with_parent(parent)
                # What the parent made stays untouched (not copied page by page), and the rows made
                # here hold no reference cycles for the collector to look for.
                gc.freeze()
                gc.disable()
                os.close(read_fd)
                _set_pipe_size(write_fd)
                self._produce(write_fd)
                status = 0
            finally:
                os._exit(status)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
        os.close(write_fd)
        self._pid = pid
        self._pipe = os.fdopen(read_fd, "rb", buffering=_PIPE_SIZE)

    def _produce(self, fd: int) -> None:
        """Read and check the backup, sending frames through `fd` (in the child)."""
        # The pipe holds 1 MiB at most; the parent takes rows in bursts (a batch to the database):
        # a sender thread keeps a few frames ready so that reading goes on meanwhile.
        sys.setswitchinterval(_SWITCH_INTERVAL)
        ahead: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue(_FRAMES_AHEAD)
        broken = threading.Event()

        def sender() -> None:
            while (frame := ahead.get()) is not None:
                if not broken.is_set():
                    try:
                        for data in frame:
                            _write_all(fd, data)
                    except BaseException:  # the parent has stopped reading
                        broken.set()

        thread = threading.Thread(target=sender, name="backup-frames", daemon=True)
        thread.start()

        def send(kind: bytes, payload: bytes) -> None:
            if broken.is_set():
                raise BrokenPipeError
            ahead.put((_FRAME.pack(kind, len(payload)), payload))

        try:
            for frame in self._frames():
                data = marshal.dumps(self._encoded(frame))
                entities = self._frame_entities * _FRAME_BYTES // len(data)
                self._frame_entities = max(1, min(_MOST_PER_FRAME, entities))
                send(_ROWS, data)
            send(_END, pickle.dumps(self._validator.finish()))
        except BrokenPipeError:
            pass
        except BaseException as exc:  # handed to the parent, which raises it
            with contextlib.suppress(BrokenPipeError):
                send(_FAILED, _portable(exc))
        finally:
            ahead.put(None)
            thread.join()

    def _encoded(self, frame: dict[str, list[Row]]) -> dict[str, Batch]:
        encoded: dict[str, Batch] = {}
        for table, rows in frame.items():
            encoder = self._encoders.get(table)
            encoded[table] = rows if encoder is None else (len(rows), encoder.encode(rows))
        return encoded

    # -- the parent ----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[str, Batch]]:
        if self._pipe is not None:
            for frame in self._received():
                yield from frame.items()
            return
        for rows_by_table in self._frames():
            yield from rows_by_table.items()
        self._result = self._validator.finish()

    def _received(self) -> Iterator[dict[str, Batch]]:
        assert self._pipe is not None
        pipe = self._pipe
        while True:
            head = pipe.read(_FRAME.size)
            kind, size = _FRAME.unpack(head) if len(head) == _FRAME.size else (b"", 0)
            payload = pipe.read(size)
            if not kind or len(payload) < size:
                raise ReadingProcessError("The process reading the backup ended unexpectedly")
            if kind == _ROWS:
                yield marshal.loads(payload)
            elif kind == _END:
                self._result = pickle.loads(payload)
                self.close()  # the child has nothing left to do: reaped before the caller goes on
                return
            else:
                raise pickle.loads(payload)

    def finish(self) -> tuple[Keys, Settings]:
        """The checked keys and settings, once every row was taken."""
        if self._result is None:
            raise RuntimeError("finish() before every row was taken")
        return self._result

    def close(self) -> None:
        """Stop and reap the child (if any)."""
        if self._pipe is not None:
            self._pipe.close()
        if self._pid:
            pid, self._pid = self._pid, 0
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):  # already reaped (SIGCHLD ignored)
                os.waitpid(pid, 0)

    def __enter__(self) -> CheckedRows:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
