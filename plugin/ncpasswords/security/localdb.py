"""Reading the local breached-password database as the app's lookup does (docs/internals/breached-passwords.md#lookups).

A hash is looked up in `passwordsCache/<first 3 hex>.json.gz` (zlib-compressed JSON, the file a
server with PHP zlib reads): a full 40-character hash must be in the list, a shorter stored hash
(the app can keep 20 or 30 characters) matches any entry that starts with it.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..php.casts import php_intval
from ..repositories.config_values import AppConfig
from .pwned import (
    CACHE_FOLDER,
    CONFIG_DB_TYPE,
    CONFIG_DB_VERSION,
    HASH_FILE_KEY_LENGTH,
    MIN_CACHE_FILES,
    PASSWORD_VERSION,
    file_name,
)

_HASH = re.compile(r"[0-9a-f]{3,40}")


def normalize_hash(value: str) -> str:
    """A SHA-1 hex hash or hash prefix (3 to 40 characters), lower-cased; raises UserError."""
    text = value.strip().lower()
    if not _HASH.fullmatch(text):
        raise UserError(f"Invalid SHA-1 hash or hash prefix: {value}")
    return text


def read_hashes(cache: Path, prefix: str) -> list[str]:
    """The entries of one prefix file; an unreadable or missing file reads as empty, as in the app."""
    path = cache / file_name(prefix[:HASH_FILE_KEY_LENGTH])
    try:
        data: Any = json.loads(zlib.decompress(path.read_bytes()))
    except (OSError, zlib.error, ValueError):
        return []
    values = data.values() if isinstance(data, dict) else data if isinstance(data, list) else []
    return [v for v in values if isinstance(v, str)]


def is_breached(cache: Path, sha1: str) -> bool:
    """Whether the hash (or hash prefix) is in the local database."""
    hashes = read_hashes(cache, sha1)
    if len(sha1) == 40:
        return sha1 in hashes
    return any(entry.startswith(sha1) for entry in hashes)


@dataclass(frozen=True)
class LocalDbStatus:
    """What the app's validity test (docs/internals/breached-passwords.md#files) would see."""

    version: str | None
    type: str | None
    files: int

    def problems(self) -> list[str]:
        out = []
        if php_intval(self.version or "0") != PASSWORD_VERSION:
            out.append(f"{CONFIG_DB_VERSION} is {self.version or 'not set'}, not {PASSWORD_VERSION}")
        if self.files < MIN_CACHE_FILES:
            out.append(f"{CACHE_FOLDER} holds {self.files} files, fewer than {MIN_CACHE_FILES}")
        return out


def status(cache: Path, app: AppConfig) -> LocalDbStatus:
    files = sum(1 for p in cache.iterdir() if p.is_file()) if cache.is_dir() else 0
    return LocalDbStatus(app.get(CONFIG_DB_VERSION) or None, app.get(CONFIG_DB_TYPE) or None, files)
