"""`passwords:pwned-list:process` and `passwords:security:check-hash`: the reference's cut-off rule,
the exact cache layout a real server reads, the update ZIPs, bad input, bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from conftest import InstalledInstance, run_occ
from ncpasswords.repositories.config_values import AppConfig
from ncpasswords.security import pwned

TAG = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by Passwords for Nextcloud."
)
_MULT = 0x9E3779B97F4A7C15


def sha1_of(i: int, n: int) -> int:
    """The i-th of n distinct hashes, ascending and spread over all 4096 prefixes."""
    step = (1 << 160) // n
    return i * step + (i * _MULT + 17) % step


def count_of(i: int) -> int:
    """Counts 1..600 in a scrambled order: about n/600 hashes share each count (ties)."""
    return (i * 7919 + 3) % 600 + 1


def generate(path: Path, n: int) -> None:
    """A sorted HIBP-style list `<SHA-1>:<count>` with CRLF line ends, fast and deterministic."""
    with open(path, "w", newline="") as handle:
        for start in range(0, n, 200_000):
            handle.write(
                "".join(f"{sha1_of(i, n):040X}:{count_of(i)}\r\n" for i in range(start, min(n, start + 200_000)))
            )


def expected_selection(n: int, quota: int) -> tuple[set[str], int, list[int], list[int]]:
    """The reference's rule, computed independently: (taken hashes, cut-off count, indexes taken
    at the cut-off, indexes dropped at the cut-off)."""
    histogram: dict[int, int] = {}
    for i in range(n):
        histogram[count_of(i)] = histogram.get(count_of(i), 0) + 1
    left, minimum, slots = quota, 0, 0
    for count in sorted(histogram, reverse=True):
        if histogram[count] >= left:
            minimum, slots = count, left
            break
        minimum, left = count, left - histogram[count]
    else:
        slots = histogram[minimum]
    taken: set[str] = set()
    tie_taken: list[int] = []
    tie_dropped: list[int] = []
    for i in range(n):
        count = count_of(i)
        if count > minimum:
            taken.add(f"{sha1_of(i, n):040x}")
        elif count == minimum:
            if slots > 0:
                slots -= 1
                taken.add(f"{sha1_of(i, n):040x}")
                tie_taken.append(i)
            else:
                tie_dropped.append(i)
    return taken, minimum, tie_taken, tie_dropped


# The child's own peak RSS: VmHWM belongs to the new address space (ru_maxrss would carry the
# forked pytest process's peak across exec).
CHILD = """
import re, sys
from ncpasswords.cli.main import main
code = main(sys.argv[1:])
try:
    with open("/proc/self/status") as status:
        peak = re.search(r"VmHWM:\\s+(\\d+)", status.read())[1]
except OSError:  # not Linux: no measurement
    peak = "-1"
sys.stderr.write("MAXRSS %s\\n" % peak)
sys.exit(code)
"""


@pytest.mark.parametrize("engine", ["sqlite"])
def test_two_million_lines_size_one(installed: InstalledInstance, tmp_path: Path) -> None:
    n = 2_000_000
    source = tmp_path / "pwnedpasswords.txt"
    generate(source, n)
    env = dict(os.environ, NEXTCLOUD_CONFIG_DIR=str(installed.config_dir))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, "passwords:pwned-list:process", str(source), "--size=1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        f"Importing 1 million entries from {source} in import mode.\n"
        "Reading prevalence…\n\nReading hashes…\n\nImporting hashes…\n\nPassword database updated to v16\n"
    )
    peak_kib = int(proc.stderr.split("MAXRSS ")[1])
    # 1M selected hashes held in Python lists alone would take ~100 MiB on top of the interpreter
    assert peak_kib < 120 * 1024, f"peak RSS {peak_kib} KiB"  # measured: about 75 MiB

    expected, minimum, tie_taken, tie_dropped = expected_selection(n, 1_000_000)
    assert len(expected) == 1_000_000 and tie_taken and tie_dropped  # the cut-off splits a tie
    cache = installed.instance.appdata_dir / "passwordsCache"
    names = sorted(p.name for p in cache.iterdir())
    assert len(names) == 4097 and names[0] == "000.json.gz" and "CACHEDIR.TAG" in names
    assert (cache / "CACHEDIR.TAG").read_bytes() == TAG
    found: list[str] = []
    for name in names:
        if name == "CACHEDIR.TAG":
            continue
        raw = zlib.decompress((cache / name).read_bytes())  # zlib format, not gzip
        assert raw.startswith(b'["') and raw.endswith(b'"]') and b" " not in raw
        hashes = json.loads(raw)
        assert hashes == sorted(hashes) and all(h.startswith(name[:3]) for h in hashes)
        found.extend(hashes)
    assert len(found) == len(expected) and set(found) == expected
    with installed.connect() as db:
        app = AppConfig(db)
        assert app.get("passwords/localdb/version") == "16"
        assert app.get("passwords/localdb/type") is None  # service/security is hibp

    def check(value: str) -> str:
        result = installed.occ("passwords:security:check-hash", value)
        assert result.returncode == 0 and result.stderr == ""
        return result.stdout

    taken_at_cutoff = f"{sha1_of(tie_taken[-1], n):040x}"
    dropped_at_cutoff = f"{sha1_of(tie_dropped[0], n):040x}"
    assert check(taken_at_cutoff.upper()) == f"{taken_at_cutoff} is breached: it is in the local password database\n"
    assert check(dropped_at_cutoff) == f"{dropped_at_cutoff} is not in the local password database\n"
    assert "is breached" in check(taken_at_cutoff[:20])  # a stored 20-character hash matches by prefix
    low = f"{sha1_of(next(i for i in range(n) if count_of(i) < minimum), n):040x}"
    assert "is not in" in check(low)
    assert json.loads(installed.occ("passwords:security:check-hash", taken_at_cutoff, "--output=json").stdout) == {
        "hash": taken_at_cutoff,
        "breached": True,
        "file": f"{taken_at_cutoff[:3]}.json.gz",
    }


def test_cutoff_rule_with_ties() -> None:
    assert pwned.cutoff({9: 2, 5: 3, 3: 4, 1: 10}, 7) == (3, 2)  # 2 + 3 above, 2 of the 4 at count 3
    assert pwned.cutoff({9: 2, 5: 3}, 5) == (5, 3)  # exactly filled: all of count 5
    assert pwned.cutoff({9: 2, 5: 3}, 2) == (9, 2)
    assert pwned.cutoff({9: 2, 5: 3, 1: 4}, 100) == (1, 4)  # the list runs out: everything


def test_unsorted_input_duplicates_and_ties(tmp_path: Path) -> None:
    """The spill path keeps file order per prefix, drops duplicates, takes ties in file order."""
    lines = [
        "F" * 40 + ":9",
        "a" * 40 + ":3",
        "AB" + "0" * 38 + ":3",
        "ab" + "1" * 38 + ":3",
        "a" * 40 + ":9",
        "0" * 40 + ":1",
        "ab" + "2" * 38 + ":007",
    ]
    source = tmp_path / "list.txt"
    source.write_text("\n".join(lines))  # no newline after the last line
    prevalence = pwned.read_prevalence(source)
    minimum, slots = pwned.cutoff(pwned.histogram(prevalence), 5)
    assert (minimum, slots) == (3, 2)  # counts 9, 9, 7 above; 2 of the three hashes counted 3
    (tmp_path / "spill").mkdir()
    spill = pwned.SpillStore(tmp_path / "spill")
    assert pwned.collect(source, prevalence, minimum, slots, spill) == 5
    assert {p: [h.decode() for h in hs] for p, hs in spill.groups()} == {
        "fff": ["f" * 40],
        "aaa": ["a" * 40],  # taken twice (count 3, then 9): one entry
        "ab0": ["ab" + "0" * 38],  # the first two counted 3 in file order; "ab111…" is dropped
        "ab2": ["ab" + "2" * 38],  # count "007" is 7
    }


@pytest.mark.parametrize(
    "mode,entry_suffix,zip_name",
    [
        ("gzip", ".json.gz", "1m-v16-gzip.zip"),
        ("file", ".json.gz", "1m-v16-gzip.zip"),
        ("json", ".json", "1m-v16-json.zip"),
    ],
)
def test_zip_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, entry_suffix: str, zip_name: str
) -> None:
    n = 300
    generate(tmp_path / "list.txt", n)
    monkeypatch.chdir(tmp_path)
    (tmp_path / zip_name).write_bytes(b"old")
    result = run_occ(tmp_path / "no-instance", "passwords:pwned-list:process", "list.txt", f"--mode={mode}", "-s", "1")
    assert result.returncode == 0, result.stderr
    real = "gzip" if mode == "file" else mode
    assert result.stdout == (
        f"Processing 1 million entries from {tmp_path / 'list.txt'} in {real} mode.\n"
        f"Reading prevalence…\n\nReading hashes…\n\nCreating export file…\n\nCreated {zip_name}\n"
    )
    with zipfile.ZipFile(tmp_path / zip_name) as archive:
        names = archive.namelist()
        assert names == sorted(names) and all(name.endswith(entry_suffix) for name in names)
        found = set()
        for name in names:
            data = archive.read(name)
            hashes = json.loads(zlib.decompress(data) if entry_suffix == ".json.gz" else data)
            assert all(h.startswith(name[:3]) for h in hashes)
            found.update(hashes)
    assert found == {f"{sha1_of(i, n):040x}" for i in range(n)}  # fewer than 1M lines: all taken
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["list.txt", zip_name])  # no scratch left


@pytest.mark.parametrize("engine", ["sqlite"])
def test_small_import_replaces_the_cache_and_sets_the_type(installed: InstalledInstance, tmp_path: Path) -> None:
    cache = installed.instance.appdata_dir / "passwordsCache"
    cache.mkdir()
    (cache / "old.json.gz").write_bytes(b"old")
    generate(tmp_path / "list.txt", 40)
    with installed.connect() as db:
        AppConfig(db).set("service/security", "bigdb")
    result = installed.occ("passwords:pwned-list:process", str(tmp_path / "list.txt"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Importing 25 million entries from")
    assert "holds 41 files; the app treats fewer than 64 as a missing database" in result.stderr
    assert not (cache / "old.json.gz").exists() and len(list(cache.iterdir())) == 41
    assert [p.name for p in cache.parent.iterdir() if p.name.startswith(".")] == []  # no scratch left
    with installed.connect() as db:
        assert AppConfig(db).get("passwords/localdb/type") == "bigdb"
    result = installed.occ("passwords:security:check-hash", f"{sha1_of(7, 40):040x}")
    assert "is breached" in result.stdout
    assert "passwordsCache holds 41 files, fewer than 64" in result.stderr


def _long_list(path: Path, bad_line: str | None, at: int) -> None:
    lines = [f"{sha1_of(i, 60_000):040X}:{count_of(i)}" for i in range(60_000)]
    if bad_line is not None:
        lines[at - 1] = bad_line
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("engine", ["sqlite"])
@pytest.mark.parametrize(
    "case,args,message",
    [
        ("missing", ["{tmp}/nope.txt"], "File not found or not readable: {tmp}/nope.txt"),
        ("empty", ["{tmp}/empty.txt"], "File contains invalid lines"),
        ("not-a-hash", ["{tmp}/bad-hash.txt"], "Invalid SHA-1 hash encountered."),
        ("short-hash", ["{tmp}/short.txt"], "Invalid SHA-1 hash encountered."),
        ("no-count", ["{tmp}/no-count.txt"], "File contains invalid lines"),
        ("size-zero", ["{tmp}/good.txt", "--size=0"], "Invalid size specified: 0"),
        ("size-text", ["{tmp}/good.txt", "-s", "many"], "Invalid size specified: 0"),
        ("mode", ["{tmp}/good.txt", "--mode=tar"], "Invalid mode specified: tar"),
    ],
)
def test_bad_input_writes_nothing(
    installed: InstalledInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    args: list[str],
    message: str,
) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    _long_list(tmp_path / "bad-hash.txt", "Z" * 40 + ":12", 50_000)  # past the first block
    _long_list(tmp_path / "short.txt", "ABCDEF:3", 3)
    _long_list(tmp_path / "no-count.txt", "A" * 40, 59_999)
    _long_list(tmp_path / "good.txt", None, 0)
    cache = installed.instance.appdata_dir / "passwordsCache"
    cache.mkdir()
    (cache / "000.json.gz").write_bytes(zlib.compress(b'["000"]'))
    before = sorted(p.name for p in installed.instance.appdata_dir.rglob("*"))
    monkeypatch.chdir(tmp_path)
    result = installed.occ("passwords:pwned-list:process", *[a.format(tmp=tmp_path) for a in args])
    assert (result.returncode, result.stderr) == (1, message.format(tmp=tmp_path) + "\n")
    assert sorted(p.name for p in installed.instance.appdata_dir.rglob("*")) == before
    assert not list(tmp_path.glob("*.zip")) and not list(tmp_path.glob(".*"))
    with installed.connect() as db:
        assert AppConfig(db).get("passwords/localdb/version") is None
    if case == "not-a-hash":
        verbose = installed.occ("-v", "passwords:pwned-list:process", str(tmp_path / "bad-hash.txt"))
        assert verbose.stderr == f"Line 50000 of {tmp_path / 'bad-hash.txt'}\n{message}\n"


@pytest.mark.parametrize("engine", ["sqlite"])
def test_check_hash_input_and_missing_database(installed: InstalledInstance) -> None:
    result = installed.occ("passwords:security:check-hash", "xyz")
    assert (result.returncode, result.stderr) == (1, "Invalid SHA-1 hash or hash prefix: xyz\n")
    result = installed.occ("passwords:security:check-hash", "ab")
    assert result.returncode == 1
    result = installed.occ("passwords:security:check-hash", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8")
    assert result.returncode == 0
    assert result.stdout == "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8 is not in the local password database\n"
    assert "passwords/localdb/version is not set, not 16" in result.stderr


def test_progress_bar_looks_like_symfony(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from ncpasswords.cli.console import Console
    from ncpasswords.cli.symfony_progress import ProgressBar, render_bar

    assert render_bar(0, 4096) == "    0/4096 [>---------------------------]   0%"
    assert render_bar(1024, 4096) == " 1024/4096 [=======>--------------------]  25%"
    assert render_bar(4096, 4096) == " 4096/4096 [============================] 100%"
    assert render_bar(3, 0) == " 3 [===>------------------------]"
    stream = io.StringIO()
    assert ProgressBar(Console(), stream).enabled is False  # stderr is not a terminal under pytest
    monkeypatch.setattr(Console, "progress_enabled", lambda self: True)
    bar = ProgressBar(Console(), stream)
    bar.start(10)
    bar.advance(10)
    bar.finish()
    frames = stream.getvalue().split("\r\x1b[2K")
    assert frames[0] == "  0/10 [>---------------------------]   0%"
    assert frames[-1] == " 10/10 [============================] 100%"
