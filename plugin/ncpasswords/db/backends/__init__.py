"""One backend per database engine (docs/internals/backends.md): `sqlite`, `pgsql`, `mysql`.

Callers look a backend up here (by the engine's name or by config.php's `dbtype`) and ask it;
nothing outside this package compares engine names.
"""

from __future__ import annotations

from ..errors import DatabaseError
from . import mysql, pgsql, sqlite
from .base import Backend

BACKENDS: tuple[Backend, ...] = (sqlite.BACKEND, pgsql.BACKEND, mysql.BACKEND)
_BY_NAME = {backend.name: backend for backend in BACKENDS}
_BY_DBTYPE = {dbtype: backend for backend in BACKENDS for dbtype in (backend.dbtype, *backend.dbtype_aliases)}


def names() -> tuple[str, ...]:
    """The engines' names."""
    return tuple(_BY_NAME)


def get(name: str) -> Backend:
    """The backend of an engine by its name (`sqlite`, `pgsql`, `mysql`); KeyError for others."""
    return _BY_NAME[name]


def for_dbtype(dbtype: str) -> Backend | None:
    """The backend of a config.php `dbtype` (Nextcloud's values and aliases), or None."""
    return _BY_DBTYPE.get(dbtype)


def classify(exc: BaseException) -> DatabaseError | None:
    """The project's exception for a driver error (or the error itself when already one)."""
    if isinstance(exc, DatabaseError):
        return exc
    for backend in BACKENDS:
        if (mapped := backend.classify(exc)) is not None:
            return mapped
    return None


def error_detail(exc: BaseException) -> str:
    """An error on one line, as its driver's backend tells it without the values it may quote."""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) and exc.__cause__ is not None else exc
    for backend in BACKENDS:
        if (detail := backend.error_detail(cause)) is not None:
            return detail
    return " ".join(str(exc).split()) or type(exc).__name__
