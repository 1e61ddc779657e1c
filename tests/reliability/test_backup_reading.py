"""Every command that opens a backup, against files made to hurt: gzip bombs (a huge string, a sea
of whitespace) on every read path with the peak memory of the real `occ` process measured, a backup
swapped for a symlink while the restore's "yes" prompt waits, and an import through a symlink."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pytest

from conftest import InstalledInstance
from ncpasswords.backup import service

from .corpus import EXAMPLE
from .helpers import COUNTERS, checksum, one_line_error
from .test_hostile_input import instance_state, restore_example

BOMB_MESSAGE = "inflates far beyond its size"
# The inflated size of the bombs: past the 256 MiB floor of the ratio limit.
INFLATED = 300 << 20
# What an occ process may peak at while reading a bomb (it starts near 60 MB): list --details and
# the automatic restore hold no value whole; restore and import hold the value they would insert,
# up to the limit (a string that long is legal in a file that small), never more.
MAX_RSS_DETAILS = 200 << 20
MAX_RSS_VALUE = 1 << 30


def _deflate(parts: list[bytes], repeat: bytes, times: int, tail: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [compressor.compress(part) for part in parts]
    out += [compressor.compress(repeat) for _ in range(times)]
    out += [compressor.compress(tail), compressor.flush()]
    return b"".join(out)


def string_bomb() -> bytes:
    """A backup whose one password note is a 300 MiB string (a few hundred KB on disk)."""
    return _deflate(
        [b'{"version":106,"passwords":[{"uuid":"u","userId":"alice","revisions":[{"notes":"'],
        b"a" * (1 << 20),
        INFLATED >> 20,
        b'"}]}],"keys":{}}',
    )


def whitespace_bomb() -> bytes:
    """300 MiB of whitespace between two entities."""
    return _deflate([b'{"version":106,"passwords":['], b" " * (1 << 20), INFLATED >> 20, b"]}")


# Runs occ and writes the peak RSS of its own process image (VmHWM; the rusage of a child would
# include the pytest process it was forked from), or of the process it forked to read a backup
# if that one's was higher, to the file named by the first argument.
_MEASURED_OCC = """
import atexit, resource, runpy, sys
report = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status, open(report, "w") as out:
        own = int(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
        out.write(str(max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)))
atexit.register(peak)
runpy.run_module("ncpasswords", run_name="__main__", alter_sys=True)
"""


def real_occ(config_dir: Path, *argv: str) -> tuple[int, str, str, int]:
    """Run occ in its own interpreter: exit code, stdout, stderr and its peak RSS in bytes."""
    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(config_dir)}
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "peak"
        result = subprocess.run(
            [sys.executable, "-c", _MEASURED_OCC, str(report), *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return result.returncode, result.stdout, result.stderr, int(report.read_text()) * 1024


@pytest.mark.parametrize("kind", ["string", "whitespace"])
def test_gzip_bomb_on_every_read_path(installed: InstalledInstance, engine: str, tmp_path: Path, kind: str) -> None:
    restore_example(installed)
    bomb = string_bomb() if kind == "string" else whitespace_bomb()
    assert len(bomb) < 1 << 20
    backups = service.storage_for(installed.instance).folder_path()
    (backups / "bomb.json.gz").write_bytes(bomb)
    upload = tmp_path / "upload.json.gz"
    upload.write_bytes(bomb)
    before = instance_state(installed)
    problems = []
    peaks = []

    # list --details reports the bomb on its line and goes on with the other backups
    code, out, err, rss = real_occ(installed.config_dir, "passwords:backup:list", "--details")
    peaks.append(("list --details", rss, MAX_RSS_DETAILS))
    if code != 0 or f"Error The backup file {BOMB_MESSAGE}" not in out or err:
        problems.append(f"list --details: {code} {out[-300:]!r} {err[-300:]!r}")

    # restore (all data, one user, settings only) and import refuse it with one line
    for argv in (
        ["-n", "passwords:backup:restore", "bomb"],
        ["-n", "passwords:backup:restore", "bomb", "-u", "alice"],
        ["-n", "passwords:backup:restore", "bomb", "--no-data"],
        ["passwords:backup:import", str(upload)],
    ):
        code, out, err, rss = real_occ(installed.config_dir, *argv)
        peaks.append((" ".join(argv[-3:]), rss, MAX_RSS_VALUE))
        if code == 0 or not one_line_error(err) or not err.startswith(f"The backup file {BOMB_MESSAGE}"):
            problems.append(f"{argv}: {code} {err[-300:]!r}")
    assert checksum(instance_state(installed)[0]) == checksum(before[0])

    # the automatic restore of migrations:migrate looks at every backup in detail: it skips the bomb
    with installed.connect() as db:
        db.execute_sql(f"DELETE FROM {db.table('passwords_password_rv')}")
        db.execute_sql(f"DELETE FROM {db.table('passwords_folder_rv')}")
        db.execute_sql(f"DELETE FROM {db.table('passwords_tag_rv')}")
    code, out, err, rss = real_occ(installed.config_dir, "migrations:migrate", "passwords")
    peaks.append(("migrations:migrate", rss, MAX_RSS_DETAILS))
    if code != 0 or err:
        problems.append(f"migrations:migrate: {code} {out[-300:]!r} {err[-300:]!r}")
    for what, peak, limit in peaks:
        if peak > limit:
            problems.append(f"{what} peaked at {peak >> 20} MiB reading a {len(bomb) >> 10} KiB bomb")
    COUNTERS.add("bounded reading: read paths given a gzip bomb", engine, len(peaks))
    assert not problems, "\n".join(problems)


class _SwapWhileAsked(io.StringIO):
    """Standard input that replaces the backup by a symlink when the prompt reads the answer."""

    def __init__(self, backup: Path, target: Path) -> None:
        super().__init__("yes\n")
        self.backup = backup
        self.target = target
        self.swapped = False

    def readline(self, size: int | None = -1) -> str:
        if not self.swapped:
            self.backup.unlink()
            self.backup.symlink_to(self.target)
            self.swapped = True
        return super().readline(size)


def test_symlink_swapped_in_while_the_prompt_waits(
    installed: InstalledInstance, engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    restore_example(installed)
    assert installed.occ("passwords:backup:create", "confirmed").returncode == 0
    backup = service.storage_for(installed.instance).folder_path() / "confirmed.json.gz"
    outside = tmp_path / "outside.json"
    outside.write_text('{"version":106,"keys":{"server":{}},"settings":{}}')  # an empty instance
    with installed.connect() as db:
        passwords = db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('passwords_password')}")
    assert passwords == 2
    stdin = _SwapWhileAsked(backup, outside)
    monkeypatch.setattr(sys, "stdin", stdin)
    result = installed.occ("passwords:backup:restore", "confirmed")
    assert stdin.swapped and backup.is_symlink()
    assert result.returncode == 0, result.stderr
    with installed.connect() as db:  # the confirmed backup was restored, not the file swapped in
        assert db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('passwords_password')}") == passwords
    COUNTERS.add("bounded reading: symlink swaps during the prompt", engine)


def test_import_through_a_symlink_takes_the_links_name(installed: InstalledInstance, tmp_path: Path) -> None:
    target = tmp_path / "renamed.json"
    shutil.copyfile(EXAMPLE, target)
    link = tmp_path / "from-link.json"
    link.symlink_to(target)
    result = installed.occ("passwords:backup:import", str(link))
    assert result.returncode == 0 and result.stdout.startswith("Imported backup: from-link,"), result
    bad = tmp_path / "no-extension"
    bad.symlink_to(target)
    result = installed.occ("passwords:backup:import", str(bad))
    assert result.returncode == 1 and result.stderr == "Invalid file type\n"
