"""Nextcloud's configuration folder, read and changed as Nextcloud does (see
docs/existing-nextcloud.md, "Nextcloud's configuration files").

**Reading.** Nextcloud's `OC\\Config` reads config.php, then every other `*.config.php` of the
folder in PHP's natural order (`natsort` of `glob`'s list); each file's top-level keys replace
the ones read before (`array_merge`). A `NC_<key>` environment variable wins over every file.
Each file is read under a shared `flock`, as Nextcloud includes it, so a Nextcloud write in
progress is never read half done. Files with PHP code are read by `phpscan`: a key such a file
computes has no value here (`SystemConfig.computed`).

**Writing.** Only config.php is written, and only with the keys a command changes: under an
exclusive lock the folder is read again, the command decides its keys from what it finds there,
and config.php's own array with those keys is written atomically (temp file, fsync, mode 0640,
owner kept, rename). A change that another file or an environment variable would override, or a
folder with `config_is_read_only`, is refused before anything is written.

**The lock.** Nextcloud's writer opens config.php, takes `flock(LOCK_EX)` on it and rewrites it in
place; its readers take `LOCK_SH`. Ours replace the file by a rename, so the file (inode) that
config.php names changes with every write of ours. The lock therefore follows the name: open
config.php, take the lock, then check that config.php still names the locked file; if a writer
replaced it meanwhile the lock is on a dead file, so it is dropped and taken again on the new one.
A writer of ours holds LOCK_EX on the live config.php from before it reads the folder until after
its rename. Hence:

- two writers of ours never overlap: the second one gets the lock only after the first renamed,
  finds it on the dead file, retries on the new one and reads the first one's result;
- a Nextcloud writer holding LOCK_EX is waited for and its result is read; Nextcloud's readers
  (and ours) see the old file or the new one, never a part of one.

What no lock can prevent: Nextcloud writes back the whole array it read when its process
started, without reading the file again under its lock, so a Nextcloud process that read
config.php before our write and writes after it puts back its old copy (as it does with a change
made by another Nextcloud process); and one that opened config.php just before our rename and
locks it just after writes into the replaced file.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..php.arrays import array_key, array_merge
from ..php.casts import php_boolval
from ..php.compare import strnatcmp
from . import phpconfig
from .phpscan import ExtraConfig, read_extra

ENV_PREFIX = "NC_"
READ_ONLY_KEY = "config_is_read_only"
READ_ONLY = 'Config is set to be read-only via option "config_is_read_only".'

Decide = Callable[[Mapping[Any, Any]], tuple[Mapping[Any, Any], Iterable[Any]]]
"""Given the folder's current values, the keys to set and to delete in config.php."""


@dataclass(frozen=True)
class Source:
    """Where a value comes from: another config file (and the line of the code computing it), or
    an environment variable."""

    path: str = ""
    line: int | None = None
    env: str = ""

    def describe(self) -> str:
        if self.env:
            return f"the environment variable {self.env}"
        return f"{self.path} (line {self.line})" if self.line else self.path


@dataclass
class SystemConfig:
    """The configuration as Nextcloud sees it."""

    own: phpconfig.PhpArray  # config.php's own array
    values: dict[Any, Any]  # merged: what Nextcloud reads (computed keys left out)
    computed: dict[Any, Source] = field(default_factory=dict)  # keys only PHP can compute
    overrides: dict[Any, Source] = field(default_factory=dict)  # keys another file or NC_* sets


def computed_error(key: Any, source: Source) -> UserError:
    """The error for a value the tool needs but only PHP can compute."""
    return UserError(
        f"'{key}' is computed by PHP code in {source.describe()}, which this tool cannot run; "
        f"give it as a plain value there or as the environment variable {ENV_PREFIX}{key}"
    )


# -- reading ----------------------------------------------------------------------------------------
def read(path: Path, environ: Mapping[str, str] | None = None) -> SystemConfig:
    """config.php merged with the other config files and NC_* variables.

    Raises FileNotFoundError when there is no config.php, PhpConfigError for a file that cannot be
    read, OSError for one that cannot be opened.
    """
    with _locked(path, exclusive=False) as (fd, _):
        own = _parse_own(fd, path)
    return _merge(own, _read_extras(path), os.environ if environ is None else environ)


def extra_files(path: Path) -> list[Path]:
    """The other config files, in the order Nextcloud reads them: `glob('<folder>/*.config.php')`
    (no hidden files, sorted by bytes), then `natsort`."""
    suffix = "." + path.name
    try:
        names = [n for n in os.listdir(path.parent) if n.endswith(suffix) and not n.startswith(".")]
        names.sort(key=lambda name: os.fsencode(name))
    except FileNotFoundError:
        return []
    paths = [os.fsencode(path.parent / n) for n in names]
    paths.sort(key=functools.cmp_to_key(strnatcmp))  # stable, as PHP 8's sort
    return [Path(os.fsdecode(p)) for p in paths]


def _parse_own(fd: int, path: Path) -> phpconfig.PhpArray:
    data = _read_fd(fd)
    if not data:  # as Nextcloud includes it: an empty file (one being created) sets nothing
        return {}
    return phpconfig.parse(data, str(path))


def _read_fd(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _read_extras(path: Path) -> list[tuple[Path, ExtraConfig]]:
    extras = []
    for extra in extra_files(path):
        try:
            fd = os.open(extra, os.O_RDONLY | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                data = _read_fd(fd)
            finally:
                os.close(fd)
        except OSError as exc:  # Nextcloud stops too: "Could not open the config file"
            raise UserError(f"Cannot read {extra}: {exc.strerror}") from None
        extras.append((extra, read_extra(data, str(extra))))
    return extras


def _merge(own: phpconfig.PhpArray, extras: list[tuple[Path, ExtraConfig]], environ: Mapping[str, str]) -> SystemConfig:
    system = SystemConfig(own, array_merge({}, own))
    for path, extra in extras:
        system.values = array_merge(system.values, extra.values)
        for key in extra.values:
            if isinstance(key, str):
                system.computed.pop(key, None)
                system.overrides[key] = Source(str(path))
        for key, line in extra.computed.items():
            if isinstance(key, str):  # (an integer key is appended by array_merge: it overrides nothing)
                system.values.pop(key, None)
                system.computed[key] = system.overrides[key] = Source(str(path), line)
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            key = name[len(ENV_PREFIX) :]
            system.values[key] = value
            system.computed.pop(key, None)
            system.overrides[key] = Source(env=name)
    return system


# -- writing ----------------------------------------------------------------------------------------
def update(path: Path, decide: Decide, environ: Mapping[str, str] | None = None) -> SystemConfig:
    """Change config.php under the exclusive lock (see the module docstring): read the folder,
    let `decide` name the keys to set and delete, write config.php if that changes it.

    Returns the configuration as written. Raises UserError (nothing written) for a read-only
    configuration, a change that another file or NC_* variable would override, or what `decide`
    raises; PhpConfigError and OSError as `read` and `phpconfig.write` do.
    """
    env = os.environ if environ is None else environ
    with _locked(path, exclusive=True) as (fd, _):
        own = _parse_own(fd, path)
        extras = _read_extras(path)
        current = _merge(own, extras, env)
        _check_not_read_only(current)
        set_values, unset_keys = decide(current.values)
        unset = list(unset_keys)
        new_own = _applied(own, set_values, unset)
        after = _merge(new_own, extras, env)
        _check_effective(path, after, set_values, unset)
        if not _identical(new_own, own):  # (as Nextcloud: an unchanged file is not written)
            phpconfig.write(path, new_own)
        return after


def check_update(
    path: Path, set_values: Mapping[Any, Any], unset: Iterable[Any] = (), environ: Mapping[str, str] | None = None
) -> None:
    """Raise the UserError `update` would raise for this change, also when config.php's folder
    takes no new file; writes nothing."""
    env = os.environ if environ is None else environ
    keys = list(unset)
    with _locked(path, exclusive=False) as (fd, _):
        own = _parse_own(fd, path)
    extras = _read_extras(path)
    _check_not_read_only(_merge(own, extras, env))
    new_own = _applied(own, set_values, keys)
    _check_effective(path, _merge(new_own, extras, env), set_values, keys)
    probe = Path(os.path.realpath(path)).with_name(f".ncpasswords-config-probe-{secrets.token_hex(4)}.php")
    try:
        phpconfig.write(probe, new_own)  # as config.php will be written: temp file, owner, mode, rename
    finally:
        probe.unlink(missing_ok=True)


def _check_not_read_only(system: SystemConfig) -> None:
    if READ_ONLY_KEY in system.computed:
        raise computed_error(READ_ONLY_KEY, system.computed[READ_ONLY_KEY])
    if php_boolval(system.values.get(READ_ONLY_KEY, False)):
        raise UserError(READ_ONLY)


def _applied(own: phpconfig.PhpArray, set_values: Mapping[Any, Any], unset: list[Any]) -> phpconfig.PhpArray:
    new = dict(own)
    for key, value in set_values.items():
        new[array_key(key)] = value
    for key in unset:
        new.pop(array_key(key), None)
    return new


def _check_effective(path: Path, after: SystemConfig, set_values: Mapping[Any, Any], unset: list[Any]) -> None:
    """Refuse a change that another config file or an NC_* variable would hide."""
    missing = object()
    for key in [*set_values, *unset]:
        if not isinstance(key, str) or key not in after.overrides:
            continue
        wanted = set_values.get(key, missing)
        if key not in after.computed and _identical(after.values.get(key, missing), wanted):
            continue
        raise UserError(
            f"Cannot change '{key}' in {path}: {after.overrides[key].describe()} sets it and "
            "overrides config.php; change it there"
        )


def _identical(a: Any, b: Any) -> bool:
    """PHP's `===`: same types, same values, arrays in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_identical(v, b[k]) for k, v in a.items())
    return bool(a == b)


# -- the lock ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[tuple[int, bool]]:
    """An open descriptor of the file config.php names, locked shared or exclusive, and whether it
    was created for the lock (an exclusive lock on a config.php that does not exist yet creates it
    empty, as Nextcloud's writer does; it is removed again unless written)."""
    target = os.path.realpath(path)
    while True:
        created = False
        try:
            fd = _open(target, exclusive)
        except FileNotFoundError:
            if not exclusive:
                raise
            try:
                fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, phpconfig.CONFIG_FILE_MODE)
            except FileExistsError:
                continue
            created = True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            if _names(target, fd):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # replaced (or removed) while we waited: lock the file it names now
    try:
        yield fd, created
    finally:
        try:
            if created and _names(target, fd) and os.fstat(fd).st_size == 0:
                os.unlink(target)
        finally:
            os.close(fd)


def _open(target: str, exclusive: bool) -> int:
    if exclusive:
        with contextlib.suppress(PermissionError):
            return os.open(target, os.O_RDWR | os.O_CLOEXEC)
    return os.open(target, os.O_RDONLY | os.O_CLOEXEC)


def _names(target: str, fd: int) -> bool:
    """Whether `target` still names the file open as `fd`."""
    try:
        now = os.stat(target)
    except FileNotFoundError:
        return False
    locked = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (locked.st_dev, locked.st_ino)
