"""A named lock held by a replicated row, for clusters where every node takes writes (Galera).

A server's own named locks (GET_LOCK) hold on the node that granted them only. This lock is a
row of `appconfig` (appid `ncpasswords`, key `lock/<name>`) whose value names the holder and when
the lock expires (server time). It is taken by inserting the row: of two nodes inserting it at
once, one commit fails certification, so exactly one holder wins cluster-wide. While held, a
thread on a connection of its own moves the expiry forward; a holder that crashed stops doing so
and its row may be taken over once expired. Every change compares and swaps the whole value, so a
holder never removes or extends a lock that was taken over from it (docs/clusters.md#configphp-on-galera).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING

from ..errors import ConflictError, DuplicateKeyError, LockTimeoutError

if TYPE_CHECKING:
    from ..connection import Database
    from .base import Release

APPID = "ncpasswords"
TTL_SECONDS = 30
"""How long a lock outlives its holder's last sign of life."""
RENEW_SECONDS = 5.0
LOCK_WAIT_TIMEOUT = 5
"""Seconds a statement of the lock's connection waits for a row lock before it counts as busy."""


def _key(name: str) -> str:
    return f"lock/{name}"[:64]


def holder_id() -> str:
    """Who holds a lock: host, process and a random part (unique per acquisition)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def try_row_lock(db: Database, name: str) -> Release | None:
    """Take lock `name` through the lock row without waiting; its release, or None while someone
    else holds it (a live holder, or a competing insert that won certification)."""
    from ..connection import connect

    conn = connect(db.settings)
    try:
        conn.execute_sql(f"SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT_TIMEOUT}").close()
        lock = _RowLock(conn, _key(name))
        acquired = lock.acquire()
    except BaseException:  # a lost node is an error of its own, not a busy lock
        conn.close()
        raise
    if not acquired:
        conn.close()
        return None
    return lock.release


class _RowLock:
    def __init__(self, db: Database, key: str) -> None:
        self.db = db
        self.key = key
        self.holder = holder_id()
        self.value = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _params(self, **more: str) -> dict[str, str]:
        return {"appid": APPID, "configkey": self.key, **more}

    def _value(self) -> str:
        expires = int(self.db.scalar("locks.now")) + TTL_SECONDS
        return json.dumps({"holder": self.holder, "expires": expires}, separators=(",", ":"))

    def acquire(self) -> bool:
        value = self._value()
        try:
            try:
                self.db.execute("locks.insert", self._params(configvalue=value)).close()
            except DuplicateKeyError:
                if not self._take_over(value):
                    return False
        except (ConflictError, LockTimeoutError):  # another node took it at the same time and won
            return False
        self.value = value
        self._thread = threading.Thread(target=self._renew, name="lock-renewal", daemon=True)
        self._thread.start()
        return True

    def _take_over(self, value: str) -> bool:
        """Replace the row of a holder whose lock has expired (it crashed, or lost its node)."""
        current = self.db.scalar("locks.get", self._params())
        if current is None:
            return False  # released meanwhile: the next attempt inserts it
        try:
            expires = int(json.loads(current)["expires"])
        except (ValueError, KeyError, TypeError):
            expires = 0  # not a value this tool wrote: treat it as stale
        if expires > int(self.db.scalar("locks.now")):
            return False
        cur = self.db.execute("locks.swap", self._params(new=value, old=current))
        taken = bool(cur.rowcount == 1)
        cur.close()
        return taken

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            with contextlib.suppress(Exception):  # the next round tries again; expiry is the backstop
                value = self._value()
                cur = self.db.execute("locks.swap", self._params(new=value, old=self.value))
                if cur.rowcount == 1:
                    self.value = value
                cur.close()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(Exception):  # the node may be gone: the row then expires
            self.db.execute("locks.delete", self._params(value=self.value)).close()
        self.db.close()
