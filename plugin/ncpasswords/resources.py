"""Paths of the SQL files that ship with the package (`sql/`, `migrations/`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def resource_dir(name: str) -> Path:
    """The `sql` or `migrations` folder: inside the installed wheel, else at the source tree's root."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"ncpasswords is missing its {name}/ folder (looked in {_PACKAGE})")
