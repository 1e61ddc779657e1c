"""passwords:backup:verify: one damaged file per kind of damage, keys that do not open the data,
the summary lines, JSON output and exit codes, and the scheduled job's check shown by
`backup:list --details`."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance
from ncpasswords.backup.sample import SampleSize, generate
from ncpasswords.crypto.ssev1 import SseKeys, decrypt_revision

pytestmark = pytest.mark.parametrize("engine", ["sqlite"])  # files are read; the database only records

EXAMPLE = Path(__file__).parent / "fixtures" / "worked-example-v106.json"
Doc = dict[str, Any]


def example() -> Doc:
    return json.loads(EXAMPLE.read_text())


def write(path: Path, doc: Doc) -> Path:
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    return path


def _password_revision(doc: Doc) -> Doc:
    return doc["passwords"][0]["revisions"][0]


def _long_uuid(doc: Doc) -> None:
    doc["folders"][0]["uuid"] = "x" * 37


def _label_list(doc: Doc) -> None:
    _password_revision(doc)["label"] = ["not", "a", "string"]


def _twice(doc: Doc) -> None:
    doc["keychains"][1]["uuid"] = doc["keychains"][0]["uuid"]
    doc["keychains"][1]["userId"] = doc["keychains"][0]["userId"]


def _no_keys(doc: Doc) -> None:
    del doc["keys"]


def _foreign_revision(doc: Doc) -> None:
    _password_revision(doc)["model"] = doc["passwords"][1]["uuid"]


def _current_missing(doc: Doc) -> None:
    doc["passwords"][0]["revision"] = "11111111-2222-4333-8444-555555555555"


def _folder_missing(doc: Doc) -> None:
    doc["folders"] = []


def _tag_missing(doc: Doc) -> None:
    doc["tags"] = []


def _shared_password_missing(doc: Doc) -> None:
    doc["shares"][0]["sourcePassword"] = "11111111-2222-4333-8444-555555555555"


DAMAGE: dict[str, tuple[Callable[[Doc], None], str]] = {
    "entity too long for its column": (_long_uuid, "Folder 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx': 'uuid' is longer"),
    "entity value of the wrong type": (_label_list, "'label'"),
    "uuid twice": (_twice, "two entities of one user with the same uuid"),
    "no keys": (_no_keys, "does not contain a valid server backup"),
    "revision of another model": (_foreign_revision, "belongs to another model"),
    "current revision missing": (_current_missing, "its current revision '11111111-2222-4333-8444-555555555555'"),
    "folder missing": (_folder_missing, "names Folder 'c2a7e9f1-5d3b-4e6c-8a1f-9b4d7e2c5a13', which the backup lacks"),
    "tag missing": (_tag_missing, "names Tag '6e1b9c4d-3a7f-4d2e-b5c8-1f9a6e3d7b25', which the backup lacks"),
    "shared password missing": (_shared_password_missing, "names Password '11111111-2222-4333-8444-555555555555'"),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_content_is_named(installed: InstalledInstance, tmp_path: Path, kind: str) -> None:
    damage, expected = DAMAGE[kind]
    doc = example()
    damage(doc)
    path = write(tmp_path / "damaged.json.gz", doc)
    result = installed.occ("passwords:backup:verify", f"--file={path}")
    assert result.returncode == 1, result.stdout + result.stderr
    line = result.stdout.strip()
    assert line.startswith(f"{path}: damaged: ") and expected in line, line


def _file_damage(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = gzip.compress(EXAMPLE.read_bytes())
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    cases = {
        "truncated gzip": (good[: len(good) - 20], "not a valid gzip file"),
        "changed byte in gzip": (bytes(flipped), "not a valid gzip file"),
        "gzip of something else": (gzip.compress(b"%PDF-1.4 not a backup"), "not valid JSON"),
        "cut JSON": (EXAMPLE.read_bytes()[:400], "JSON"),
        "version too new": (json.dumps({**example(), "version": 107}).encode(), "107"),
        "client backup": (json.dumps({**example(), "version": 42}).encode(), "client backup"),
    }
    out = {}
    for name, (data, expected) in cases.items():
        path = tmp_path / (name.replace(" ", "-") + (".json.gz" if data[:2] == b"\x1f\x8b" else ".json"))
        path.write_bytes(data)
        out[name] = (path, expected)
    return out


def test_damaged_files_are_named(installed: InstalledInstance, tmp_path: Path) -> None:
    cases = _file_damage(tmp_path)
    for name, (path, expected) in cases.items():
        result = installed.occ("passwords:backup:verify", f"--file={path}")
        assert result.returncode == 1, (name, result.stdout, result.stderr)
        assert result.stdout.startswith(f"{path}: damaged: ") and expected in result.stdout, (name, result.stdout)


def test_whole_backup_passes_with_counts(installed: InstalledInstance) -> None:
    result = installed.occ("passwords:backup:verify", f"--file={EXAMPLE}")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{EXAMPLE}: ok, version 106, 2 users, 2 passwords, 1 folders, 1 tags, 1 shares, 2 keychains, "
        "1 challenges, 1 passwordTagRelations\n"
    )


def test_keys_that_do_not_open_the_data_exit_2(installed: InstalledInstance, tmp_path: Path) -> None:
    doc = example()
    doc["keys"]["users"]["alice"]["SSEv1UserKey"] = "not-alice's-key"
    path = write(tmp_path / "wrong-key.json.gz", doc)
    result = installed.occ("passwords:backup:verify", f"--file={path}", "--output=json")
    assert result.returncode == 2, result.stderr
    [found] = json.loads(result.stdout)
    assert found["status"] == "cannot be opened here"
    assert found["unopenable_users"] == ["alice"]  # bob's revision is not encrypted
    assert "'alice'" in found["message"]
    # Without the server secret in the file, this instance's secret is what a restore keeps.
    del doc["keys"]["server"]["secret"]
    doc["keys"]["users"]["alice"]["SSEv1UserKey"] = example()["keys"]["users"]["alice"]["SSEv1UserKey"]
    result = installed.occ("passwords:backup:verify", f"--file={write(tmp_path / 'no-secret.json.gz', doc)}")
    assert result.returncode == 2 and "'alice'" in result.stdout


def test_several_backups_worst_exit_code_and_json(installed: InstalledInstance, tmp_path: Path) -> None:
    assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
    assert installed.occ("passwords:backup:create", "empty").returncode == 0
    broken = copy.deepcopy(example())
    _tag_missing(broken)
    path = write(tmp_path / "broken.json.gz", broken)
    result = installed.occ("passwords:backup:verify", "--all", f"--file={path}", "--output=json")
    assert result.returncode == 1
    found = json.loads(result.stdout)
    assert [(f["name"], f["status"]) for f in found] == [
        ("empty", "ok"),
        ("worked-example-v106", "ok"),
        (str(path), "damaged"),
    ]
    assert found[1]["entities"]["passwords"] == 2 and found[1]["users"] == ["alice", "bob"]
    details = installed.occ("passwords:backup:list", "--details").stdout
    assert details.count(": ok\n") == 2 and "    Checked " in details


def test_unknown_name_or_nothing_to_check(installed: InstalledInstance) -> None:
    result = installed.occ("passwords:backup:verify", "--all")
    assert (result.returncode, result.stdout) == (0, "No backups found\n")
    result = installed.occ("passwords:backup:verify", "nope")
    assert result.returncode == 1 and result.stderr.strip() == "Could not find backup 'nope'"
    result = installed.occ("passwords:backup:verify")
    assert result.returncode == 1 and "--all" in result.stderr and result.stdout == ""


def test_scheduled_job_checks_the_new_backup(installed: InstalledInstance) -> None:
    result = installed.occ("background-job:worker", "--once")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    created = next(i for i, line in enumerate(lines) if line.startswith("Created Backup "))
    assert lines[created + 1].startswith("Checked ")
    assert lines[created + 1].endswith(": ok, version 106, 0 users, 0 passwords, 0 folders, 0 tags")
    details = installed.occ("passwords:backup:list", "--details").stdout
    assert "    Checked " in details and details.rstrip().endswith(": ok")


def test_details_without_the_database_still_list_the_files(installed: InstalledInstance) -> None:
    assert installed.occ("passwords:backup:create", "x").returncode == 0
    assert installed.occ("passwords:backup:verify", "x").returncode == 0
    config = installed.config_dir / "config.php"
    text = config.read_text()
    config.write_text(
        text.replace("'dbtype' => 'sqlite3'", "'dbtype' => 'mysql'").replace(
            "'dbhost' => ''", "'dbhost' => '127.0.0.1:1'"
        )
    )
    result = installed.occ("passwords:backup:list", "--details")
    assert result.returncode == 0
    assert result.stderr.startswith("Checks and off-site copies are not shown: ")
    assert "  x " in result.stdout and "    Version 106" in result.stdout and "Checked" not in result.stdout


def test_a_backup_written_again_shows_no_old_check(installed: InstalledInstance) -> None:
    assert installed.occ("passwords:backup:create", "x").returncode == 0
    assert installed.occ("passwords:backup:verify", "x").returncode == 0
    assert "    Checked " in installed.occ("passwords:backup:list", "--details").stdout
    assert installed.occ("passwords:backup:create", "x").returncode == 0  # the same name, a new file
    assert "Checked" not in installed.occ("passwords:backup:list", "--details").stdout


def test_sample_backup_verifies_and_every_field_decrypts(installed: InstalledInstance, tmp_path: Path) -> None:
    sample = tmp_path / "sample.json.gz"
    result = installed.occ("dev:sample-backup", str(sample), "--passwords", "300", "--revisions", "2")
    assert result.returncode == 0, result.stderr
    checked = installed.occ("passwords:backup:verify", f"--file={sample}")
    assert checked.returncode == 0 and f"{sample}: ok, version 106, 3 users, 300 passwords" in checked.stdout
    doc = json.loads(gzip.decompress(sample.read_bytes()))
    # Encrypted with this instance's secret, so a restore leaves config.php's secret as it is.
    assert doc["keys"]["server"]["secret"] == installed.instance.server_secret
    keys = SseKeys.from_backup_keys(doc["keys"])
    opened = 0
    for section, kind in (("passwords", "password"), ("folders", "folder"), ("tags", "tag")):
        for model in doc[section]:
            for revision in model["revisions"]:
                if revision["sseType"] == "SSEv1r2":
                    plain = decrypt_revision(kind, revision, keys)
                    opened += 1
                    if kind == "password":
                        assert hashlib.sha1(plain["password"].encode()).hexdigest() == revision["hash"]
    assert opened > 500
    # Restored and backed up again, the data still verifies.
    assert installed.occ("passwords:backup:import", str(sample)).returncode == 0
    assert installed.occ("-n", "passwords:backup:restore", "sample").returncode == 0
    assert installed.occ("passwords:backup:create", "again").returncode == 0
    assert installed.occ("passwords:backup:verify", "again").returncode == 0


def test_sample_written_without_an_instance_verifies(installed: InstalledInstance, tmp_path: Path) -> None:
    sample = tmp_path / "bench.json"
    with sample.open("wb") as out:
        generate(out, SampleSize(passwords=100, revisions=1, users=2))
    # The command works without an instance too.
    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(tmp_path / "none")}
    command = [sys.executable, "-m", "ncpasswords", "dev:sample-backup", str(tmp_path / "cli.json"), "--passwords=100"]
    made = subprocess.run([*command, "--users=2"], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "cli.json").read_bytes() == sample.read_bytes()
    doc = json.loads(sample.read_bytes())
    assert doc["keys"]["server"]["secret"] != installed.instance.server_secret
    checked = installed.occ("passwords:backup:verify", f"--file={sample}")
    assert checked.returncode == 0 and f"{sample}: ok, version 106, 2 users, 100 passwords" in checked.stdout
