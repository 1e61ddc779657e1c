"""Database errors in the project's own terms. Each backend (db/backends/) maps its driver's errors
to these, so callers catch them without knowing the driver; the driver's exception is the cause.
"""

from __future__ import annotations


class DatabaseError(Exception):
    """A driver error a backend has classified; its message is the driver's."""


class DuplicateKeyError(DatabaseError):
    """A row broke a unique index."""


class ConnectionLostError(DatabaseError):
    """The session with the database server is gone (server shut down, session killed, network)."""


class LockTimeoutError(DatabaseError):
    """The database did not grant a lock in time (another session held it)."""


class PacketTooLargeError(DatabaseError):
    """A statement was larger than the server takes in one packet."""


class UnstorableValueError(ValueError):
    """A value the engine cannot store, found before it was sent (a NUL character in PostgreSQL
    text, a string that is not valid Unicode)."""


class ConflictError(DatabaseError):
    """The transaction lost against another one and was rolled back whole: a deadlock, or on a
    Galera cluster a certification conflict with a write committed on another node."""
