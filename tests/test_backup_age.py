"""Encrypted copies in the age format, checked both ways against Debian's `age` tool: our exports
open with `age -d` (X25519, SSH and passphrase), files `age` made import and verify here, the
backup folder's file stays as it was, and wrong keys or damaged files change nothing."""

from __future__ import annotations

import gzip
import os
import pty
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import IN_CI, InstalledInstance

pytestmark = pytest.mark.parametrize("engine", ["sqlite"])  # files only; the database is not involved

EXAMPLE = Path(__file__).parent / "fixtures" / "worked-example-v106.json"
TOOLS = ("age", "age-keygen", "ssh-keygen")


@pytest.fixture(autouse=True)
def tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        (pytest.fail if IN_CI else pytest.skip)(f"not installed: {', '.join(missing)}")


def run(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(a) for a in args], capture_output=True, check=True)


def age_key(folder: Path, name: str = "key.txt") -> tuple[Path, str]:
    """A new age identity file and its recipient."""
    path = folder / name
    run("age-keygen", "-o", path)
    return path, run("age-keygen", "-y", path).stdout.decode().strip()


def ssh_key(folder: Path) -> tuple[Path, str]:
    path = folder / "id_ed25519"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path)
    return path, path.with_suffix(".pub").read_text().strip()


def on_a_terminal(
    argv: list[str], prompt: bytes, answers: list[str], env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run `argv` with a terminal that answers each `prompt` it shows with the next of `answers`;
    the exit code and what it showed."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.environ.update(env or {})
        os.execvp(argv[0], argv)
    seen = b""
    asked = 0
    while True:
        try:
            data = os.read(fd, 1024)
        except OSError:
            break
        if not data:
            break
        seen += data
        if seen.count(prompt) > asked and asked < len(answers):
            os.write(fd, answers[asked].encode() + b"\n")
            asked += 1
    os.close(fd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), seen.decode(errors="replace")


def age_on_a_terminal(passphrase: str, *args: str | Path) -> int:
    """Run `age` with a terminal that answers every passphrase question (asked at most twice)."""
    return on_a_terminal(["age", *map(str, args)], b"passphrase", [passphrase, passphrase])[0]


@pytest.fixture
def stored(installed: InstalledInstance) -> Path:
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    return installed.instance.appdata_dir / "backups" / "worked-example-v106.json.gz"


def test_export_to_recipients_opens_with_age(installed: InstalledInstance, stored: Path, tmp_path: Path) -> None:
    before = stored.read_bytes()
    key, recipient = age_key(tmp_path)
    other_key, other = age_key(tmp_path, "other.txt")
    ssh_private, ssh_public = ssh_key(tmp_path)
    listed = tmp_path / "recipients.txt"
    listed.write_text(f"# the off-site team\n{other}\n\n{ssh_public}\n")
    os.chdir(tmp_path)
    result = installed.occ(
        "passwords:backup:export",
        "worked-example-v106",
        "out/",
        f"--encrypt-to={recipient}",
        "--recipients-file",
        str(listed),
    )
    assert result.returncode == 0, result.stderr
    target = tmp_path / "out" / "worked-example-v106.json.gz.age"
    assert result.stdout == f"Exported backup to {target}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes().startswith(b"age-encryption.org/v1\n")
    for identity in (key, other_key, ssh_private):
        assert run("age", "-d", "-i", identity, target).stdout == before
    assert stored.read_bytes() == before  # the backup folder's file is the app's, unchanged


def test_export_with_a_passphrase_opens_with_age(installed: InstalledInstance, stored: Path, tmp_path: Path) -> None:
    os.environ["NCP_BACKUP_PASSPHRASE"] = "correct horse"
    try:
        result = installed.occ(
            "-n", "passwords:backup:export", "worked-example-v106", str(tmp_path / "c.json.gz.age"), "--passphrase"
        )
    finally:
        del os.environ["NCP_BACKUP_PASSPHRASE"]
    assert result.returncode == 0, result.stderr
    opened = tmp_path / "opened.json.gz"
    assert age_on_a_terminal("correct horse", "-d", "-o", opened, tmp_path / "c.json.gz.age") == 0
    assert opened.read_bytes() == stored.read_bytes()
    # Without the variable and without a terminal there is no passphrase: nothing is written.
    result = installed.occ(
        "-n", "passwords:backup:export", "worked-example-v106", str(tmp_path / "d.json.gz.age"), "--passphrase"
    )
    assert result.returncode == 1 and "NCP_BACKUP_PASSPHRASE" in result.stderr
    assert not (tmp_path / "d.json.gz.age").exists()


def test_files_age_made_import_and_verify(installed: InstalledInstance, tmp_path: Path) -> None:
    key, recipient = age_key(tmp_path)
    ssh_private, _ = ssh_key(tmp_path)
    plain = tmp_path / "plain.json.gz"
    plain.write_bytes(gzip.compress(EXAMPLE.read_bytes()))
    by_key = tmp_path / "from-age.json.gz.age"
    run("age", "-r", recipient, "-o", by_key, plain)
    by_ssh = tmp_path / "from-ssh.json.age"
    run("age", "-R", tmp_path / "id_ed25519.pub", "-o", by_ssh, EXAMPLE)
    by_passphrase = tmp_path / "from-passphrase.json.gz.age"
    assert age_on_a_terminal("s3cret", "-p", "-o", by_passphrase, plain) == 0

    result = installed.occ("passwords:backup:import", str(by_key), f"--identity={key}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Imported backup: from-age, ")
    result = installed.occ("passwords:backup:import", str(by_ssh), "-i", str(ssh_private))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Imported backup: from-ssh, ")
    os.environ["NCP_BACKUP_PASSPHRASE"] = "s3cret"
    try:
        result = installed.occ("-n", "passwords:backup:import", str(by_passphrase), "--passphrase")
        assert result.returncode == 0, result.stderr
        checked = installed.occ("-n", "passwords:backup:verify", f"--file={by_passphrase}", "--passphrase")
    finally:
        del os.environ["NCP_BACKUP_PASSPHRASE"]
    assert checked.returncode == 0 and ": ok, version 106, 2 users, 2 passwords" in checked.stdout
    listed = installed.occ("passwords:backup:list").stdout
    assert all(name in listed for name in ("from-age", "from-ssh", "from-passphrase"))
    result = installed.occ("passwords:backup:verify", f"--file={by_key}", f"--identity={key}")
    assert result.returncode == 0 and result.stdout.startswith(f"{by_key}: ok, version 106, 2 users")
    # What was imported is the plain backup, as the app stores it.
    stored = installed.instance.appdata_dir / "backups" / "from-age.json.gz"
    assert gzip.decompress(stored.read_bytes()).startswith(b'{"version":106,"passwords":[')


def test_wrong_key_or_damaged_file_changes_nothing(installed: InstalledInstance, tmp_path: Path) -> None:
    _, recipient = age_key(tmp_path)
    wrong, _ = age_key(tmp_path, "wrong.txt")
    encrypted = tmp_path / "x.json.age"
    run("age", "-r", recipient, "-o", encrypted, EXAMPLE)
    result = installed.occ("passwords:backup:import", str(encrypted), f"--identity={wrong}")
    assert result.returncode == 1 and result.stderr.startswith("Cannot decrypt the backup: ")
    assert result.stderr.count("\n") == 1
    result = installed.occ("passwords:backup:import", str(encrypted))
    assert result.returncode == 1 and result.stderr == "The backup is encrypted: give --identity=FILE or --passphrase\n"
    key, _ = age_key(tmp_path, "right.txt")
    run("age", "-r", run("age-keygen", "-y", key).stdout.decode().strip(), "-o", encrypted, EXAMPLE)
    data = bytearray(encrypted.read_bytes())
    data[-10] ^= 0x01  # the last chunk's tag no longer matches
    encrypted.write_bytes(bytes(data))
    result = installed.occ("passwords:backup:verify", f"--file={encrypted}", f"--identity={key}")
    assert result.returncode == 1 and f"{encrypted}: damaged: The encrypted backup is damaged" in result.stdout
    result = installed.occ("passwords:backup:import", str(encrypted), f"--identity={key}")
    assert result.returncode == 1 and "damaged" in result.stderr
    assert installed.occ("passwords:backup:list").stdout == "No backups found\n"


def test_bad_encryption_options_write_nothing(installed: InstalledInstance, stored: Path, tmp_path: Path) -> None:
    _, recipient = age_key(tmp_path)
    os.chdir(tmp_path)
    for options, message in (
        ([f"--encrypt-to={recipient}", "--passphrase"], "either to recipients or with a passphrase"),
        (["--encrypt-to=age1notakey"], "Invalid recipient 'age1notakey'"),
        (["--encrypt-to=ssh-dss AAAA"], "Invalid recipient 'ssh-dss AAAA'"),
        ([f"--recipients-file={tmp_path / 'missing.txt'}"], "Cannot read the recipients file"),
    ):
        result = installed.occ("-n", "passwords:backup:export", "worked-example-v106", "out/", *options)
        assert result.returncode == 1 and message in result.stderr, (options, result.stderr)
        assert result.stderr.count("\n") == 1
        assert not (tmp_path / "out").exists()


def occ_on_a_terminal(installed: InstalledInstance, answers: list[str], *args: str) -> tuple[int, str]:
    """Run `occ` in a terminal that answers the passphrase questions with `answers`, in turn."""
    argv = [sys.executable, "-m", "ncpasswords", *args]
    return on_a_terminal(argv, b"Passphrase", answers, {"NEXTCLOUD_CONFIG_DIR": str(installed.config_dir)})


def test_passphrase_is_asked_twice_on_a_terminal(installed: InstalledInstance, stored: Path, tmp_path: Path) -> None:
    target = tmp_path / "t.json.gz.age"
    code, shown = occ_on_a_terminal(
        installed, ["one", "two"], "passwords:backup:export", "worked-example-v106", str(target), "--passphrase"
    )
    assert code == 1 and "The passphrases differ" in shown and not target.exists()
    code, shown = occ_on_a_terminal(
        installed,
        ["tty secret", "tty secret"],
        "passwords:backup:export",
        "worked-example-v106",
        str(target),
        "--passphrase",
    )
    assert code == 0, shown
    assert shown.count("Passphrase") == 2 and "tty secret" not in shown  # hidden input
    opened = tmp_path / "opened.json.gz"
    assert age_on_a_terminal("tty secret", "-d", "-o", opened, target) == 0
    assert opened.read_bytes() == stored.read_bytes()


def test_wrong_passphrase_or_damaged_passphrase_file_changes_nothing(
    installed: InstalledInstance, stored: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "p.json.gz.age"
    os.environ["NCP_BACKUP_PASSPHRASE"] = "right"
    try:
        assert (
            installed.occ("-n", "passwords:backup:export", "worked-example-v106", str(copy), "--passphrase").returncode
            == 0
        )
        stored.unlink()
        os.environ["NCP_BACKUP_PASSPHRASE"] = "wrong"
        result = installed.occ("-n", "passwords:backup:import", str(copy), "--passphrase")
        assert result.returncode == 1
        assert result.stderr == "Cannot decrypt the backup with a passphrase: wrong passphrase\n"
        os.environ["NCP_BACKUP_PASSPHRASE"] = "right"
        data = bytearray(copy.read_bytes())
        data[-3] ^= 0x01
        copy.write_bytes(bytes(data))
        result = installed.occ("-n", "passwords:backup:verify", f"--file={copy}", "--passphrase")
        assert result.returncode == 1 and f"{copy}: damaged: The encrypted backup is damaged: chunk 0" in result.stdout
        result = installed.occ("-n", "passwords:backup:import", str(copy), "--passphrase")
    finally:
        del os.environ["NCP_BACKUP_PASSPHRASE"]
    assert result.returncode == 1 and result.stderr.startswith("The encrypted backup is damaged: chunk 0")
    assert installed.occ("passwords:backup:list").stdout == "No backups found\n"
