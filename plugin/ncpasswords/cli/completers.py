"""What `occ` completes from the instance (click `shell_complete` functions): backup names and
user ids. Completing only reads, waits at most a few seconds for a database server, and gives
nothing rather than an error when config.php, the database or a folder is missing."""

from __future__ import annotations

from dataclasses import replace

import click

from ..backup import service
from ..backup.storage import BACKUP_FOLDERS, BACKUPS
from ..db.connection import connect
from ..instance.instance import Instance
from ..php.compare import ksorted
from ..users.accounts import UserDirectory

#: How long completion waits for a database server to answer.
CONNECT_TIMEOUT = 3


def _installed() -> Instance | None:
    try:
        instance = Instance.load()
    except Exception:
        return None
    return instance if instance.installed else None


def _labels(folders: tuple[str, ...], prefix: str) -> list[str]:
    """The labels of the backups in `folders` that exist (none is created), sorted as listed."""
    instance = _installed()
    if instance is None:
        return []
    try:
        storage = service.storage_for(instance)
        labels: dict[str, None] = {}
        for folder in folders:
            if (storage.root / folder).is_dir():
                labels.update(dict.fromkeys(storage.list_backups(folder)))
    except Exception:
        return []
    return [label for label in ksorted(labels) if label.startswith(prefix)]


def backup_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The backups of both folders (restore, export)."""
    return _labels(BACKUP_FOLDERS, incomplete)


def manual_backup_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The manually created backups (delete)."""
    return _labels((BACKUPS,), incomplete)


def user_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The user ids of the app's tables, and Nextcloud's users where the database has them."""
    instance = _installed()
    if instance is None:
        return []
    try:
        settings = replace(instance.connection_settings(), connect_timeout=CONNECT_TIMEOUT)
        with connect(settings) as db:
            ids = UserDirectory(db).ids()
    except Exception:
        return []
    return [uid for uid in ids if uid.startswith(incomplete)]
