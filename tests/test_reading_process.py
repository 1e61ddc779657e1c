"""A restore reads and checks the backup in a second process (backup/reading_process.py) and decodes
a list section's entities many at a time (`JsonText.items`): what reaches the database, and every
refusal, are those of reading one entity at a time."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance, database_state
from ncpasswords.backup import jsontext
from ncpasswords.backup import restore as restore_module
from ncpasswords.backup.errors import BackupError
from ncpasswords.backup.reader import read_document
from ncpasswords.backup.sample import SampleSize, generate
from ncpasswords.backup.validation import Validator
from ncpasswords.repositories.entity_repository import EntityRepository
from reliability.helpers import one_line_error, run_real_occ


def sample_document(passwords: int) -> dict[str, Any]:
    out = io.BytesIO()
    generate(out, SampleSize(passwords=passwords, revisions=3, users=2), server_secret="secret")
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def read_rows(path: Path, typed: bool) -> list[tuple[Any, ...]]:
    """Every entity as (table, row, revisions) after the checks; keys and settings last."""
    validator = Validator()
    rows: list[tuple[Any, ...]] = []
    for section, value in read_document(path, "secret", validator.item_types if typed else None).items:
        entity = validator.item(section, value)
        if entity is not None:
            rows.append((entity.table, entity.row, entity.revisions))
    rows.append(validator.finish())
    return rows


def one_by_one(monkeypatch: pytest.MonkeyPatch, read: Callable[[], Any]) -> Any:
    """`read()` with batching off: every item decoded on its own by `json`, as before batches."""
    with monkeypatch.context() as patched:
        patched.setattr(jsontext.JsonText, "_batch", lambda self, boundary, typed, depth: 1 << 62)
        return read()


def outcome(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except BackupError as exc:
        return f"refused: {exc}"


def edit(document: dict[str, Any], change: Callable[[dict[str, Any]], None], every: int = 97) -> None:
    for index, password in enumerate(document["passwords"]):
        if index % every == 5:
            change(password)


def _hostile_notes(password: dict[str, Any]) -> None:
    # Text that looks like the place between two entities, quotes and backslashes around it.
    password["revisions"][-1]["notes"] = ']},{"id":1,"revisions":[]},{"x":"\\"},{"\\\\'
    password["revisions"][0]["label"] = '},{"'


def _revisions_first(password: dict[str, Any]) -> None:
    revisions = password.pop("revisions")
    rest = dict(password)
    password.clear()
    password.update({"revisions": revisions, **rest})


def _numeric_strings(password: dict[str, Any]) -> None:
    password["revisions"][0]["status"] = "2"
    password["hidden"] = 0


def _unknown_member(password: dict[str, Any]) -> None:
    password["extra"] = {"nested": [1, 2, {"deeper": None}]}


COMPACT: dict[str, Any] = {"separators": (",", ":")}  # as PHP's json_encode writes
VARIANTS: dict[str, tuple[Callable[[dict[str, Any]], None] | None, dict[str, Any]]] = {
    "as the app writes it": (None, COMPACT),
    "entity boundaries inside strings": (_hostile_notes, COMPACT),
    "revisions before the other members": (_revisions_first, COMPACT),
    "values PHP casts": (_numeric_strings, COMPACT),
    "a member the app does not know": (_unknown_member, COMPACT),
    "spaces after commas": (_hostile_notes, {}),
    "indented": (_hostile_notes, {"indent": 2}),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_batches_give_the_rows_of_one_by_one_reading(
    variant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    change, style = VARIANTS[variant]
    document = sample_document(700)
    if change is not None:
        edit(document, change)
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(document, **style))
    assert path.stat().st_size > 2 * jsontext.WINDOW  # several windows, many batches
    expected = one_by_one(monkeypatch, lambda: read_rows(path, typed=False))
    batches: list[int] = []
    batch = jsontext.JsonText._batch

    def counted(self: jsontext.JsonText, *args: Any) -> Any:
        items = batch(self, *args)
        batches.append(len(items) if isinstance(items, list) else 0)
        return items

    monkeypatch.setattr(jsontext.JsonText, "_batch", counted)
    assert read_rows(path, typed=True) == expected
    assert read_rows(path, typed=False) == expected
    assert sum(batches) > 700  # most entities came in batches


REFUSALS: dict[str, tuple[str, str]] = {
    # what is put into a notes field: (JSON text, what the refusal says)
    "a NUL character": ('"a\\u0000b"', "contains a NUL byte"),
    "an unpaired surrogate": ('"\\ud83d"', "unpaired UTF-16 surrogate"),
    "a number beyond PHP's range": ("1e400", "beyond PHP's range"),
    "NaN": ("NaN", "not valid JSON"),
    "nesting deeper than PHP reads": ("[" * 600 + "]" * 600, "nested deeper than 512 levels"),
    "a list where text belongs": ("[1]", "notes"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_an_entity_deep_in_a_batch_is_refused_as_one_by_one(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, says = REFUSALS[case]
    document = sample_document(700)
    document["passwords"][600]["revisions"][1]["notes"] = "@@VALUE@@"
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(document, **COMPACT).replace('"@@VALUE@@"', text))
    expected = one_by_one(monkeypatch, lambda: outcome(lambda: read_rows(path, typed=False)))
    assert isinstance(expected, str) and says in expected
    assert outcome(lambda: read_rows(path, typed=True)) == expected
    assert outcome(lambda: read_rows(path, typed=False)) == expected


def test_the_restore_command_reads_in_a_second_process(installed: InstalledInstance) -> None:
    """`occ` restores through the reading process: the rows arrive, a refusal found late in the
    file is one line, and nothing changes."""
    backups = installed.instance.appdata_dir / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    document = sample_document(3000)
    (backups / "good.json.gz").write_bytes(gzip.compress(json.dumps(document, **COMPACT).encode()))
    restored = run_real_occ(installed.config_dir, "-n", "passwords:backup:restore", "good")
    assert restored.returncode == 0, restored.stderr
    with installed.connect() as db:
        state = database_state(db)
        assert db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('passwords_password')}") == 3000
        assert db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('passwords_password_rv')}") == 9000

    document["passwords"][2900]["revisions"][0]["label"] = "x\u0000y"
    (backups / "bad.json.gz").write_bytes(gzip.compress(json.dumps(document, **COMPACT).encode()))
    refused = run_real_occ(installed.config_dir, "-n", "passwords:backup:restore", "bad")
    assert refused.returncode != 0
    assert one_line_error(refused.stderr) and "contains a NUL byte" in refused.stderr, refused.stderr
    with installed.connect() as db:
        assert database_state(db) == state


_CHILD_KILLED = """
import os, signal, sys
from ncpasswords.backup.reading_process import CheckedRows, ReadingProcessError
from ncpasswords.backup.source import open_path

with open_path(sys.argv[1]) as source, CheckedRows(source, "secret", None) as checked:
    rows = iter(checked)
    next(rows)
    child = checked._pid
    os.kill(child, signal.SIGKILL)
    try:
        for _ in rows:
            pass
    except ReadingProcessError as exc:
        print("refused:", exc)
try:
    os.waitpid(child, 0)
except ChildProcessError:
    print("reaped")
"""


def test_a_reading_process_that_dies_is_an_error_and_is_reaped(tmp_path: Path) -> None:
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(sample_document(5000)))  # far more than the pipe and the frames ahead hold
    run = subprocess.run([sys.executable, "-c", _CHILD_KILLED, str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["refused: The process reading the backup ended unexpectedly", "reaped"]


@pytest.mark.parametrize("damage", ["invalid UTF-8", "a gzip stream cut short"])
@pytest.mark.parametrize("distance", [200_000, 600_000, 1_100_000])
def test_a_damaged_stream_after_a_refused_entity_is_met_as_one_by_one(
    damage: str, distance: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches read no further ahead than one-by-one reading does before each entity, so of a
    refused entity and damage further on in the file, the same one is reported first."""
    document = sample_document(700)
    document["passwords"][100]["uuid"] = " bad"
    text = json.dumps(document, **COMPACT).encode()
    at = text.index(b'"uuid":" bad"') + distance
    path = tmp_path / "backup.json.gz"
    if damage == "invalid UTF-8":
        path.write_bytes(gzip.compress(text[:at] + b"\xff" + text[at:]))
    else:
        whole = gzip.compress(text)
        path.write_bytes(whole[: len(whole) * at // len(text)])
    expected = one_by_one(monkeypatch, lambda: outcome(lambda: read_rows(path, typed=False)))
    assert isinstance(expected, str)
    assert outcome(lambda: read_rows(path, typed=True)) == expected


def test_rows_go_to_the_database_in_whole_batches(
    installed: InstalledInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames of any size become batches of exactly BATCH rows but the last of each table (SQLite
    keeps a prepared statement per shape: rows in odd numbers made a new one each time); rows the
    reading process encodes (PostgreSQL's binary COPY) go in batches of at least BATCH rows."""
    backups = installed.instance.appdata_dir / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    (backups / "sample.json").write_text(json.dumps(sample_document(1500), **COMPACT))
    written: dict[str, list[int]] = {}
    insert_many = EntityRepository.insert_many

    def counted(self: EntityRepository, batch: Any) -> int:
        written.setdefault(self.table.name, []).append(batch.count)
        return insert_many(self, batch)

    monkeypatch.setattr(EntityRepository, "insert_many", counted)
    monkeypatch.setattr(restore_module, "BATCH", 700)
    assert installed.occ("-n", "passwords:backup:restore", "sample").check()
    assert sum(written["passwords_password_rv"]) == 4500
    db = installed.connect()
    try:
        encoded = {name for name in written if EntityRepository(db, name).row_encoder() is not None}
    finally:
        db.close()
    assert bool(encoded) == (installed.scratch.engine == "pgsql")
    for name, counts in written.items():
        if name in encoded:
            assert all(count >= 700 for count in counts[:-1]) and counts[-1] > 0 and len(counts) < 4500 / 700 + 1
        else:
            assert all(count == 700 for count in counts[:-1]) and 0 < counts[-1] <= 700


_IN_ONE_PROCESS = """
import sys, threading
threading.Thread(target=threading.Event().wait, daemon=True).start()  # no fork with a second thread
from ncpasswords.cli.main import main
sys.exit(main(["-n", "passwords:backup:restore", sys.argv[1]]))
"""


def _rows_without_ids(installed: InstalledInstance) -> dict[str, list[str]]:
    from ncpasswords.repositories.entities import TABLES

    with installed.connect() as db:
        return {
            name: sorted(repr(row[1:]) for row in db.execute_sql(f"SELECT * FROM {db.table(name)}").fetchall())
            for name in TABLES
        }


def test_rows_encoded_by_the_reading_process_are_stored_as_when_read_in_one_process(
    installed: InstalledInstance,
) -> None:
    """On PostgreSQL the reading process makes the binary COPY tuples itself (psycopg's row
    formatter, no connection): the tables hold what the driver stores when it formats the rows."""
    backups = installed.instance.appdata_dir / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    document = sample_document(700)
    document["passwords"][5]["revisions"][0]["label"] = "Ünïcödé \U0001f511 label"
    document["passwords"][6]["revisions"][0]["notes"] = ""
    (backups / "sample.json.gz").write_bytes(gzip.compress(json.dumps(document, **COMPACT).encode()))
    with installed.connect() as db:
        encoded = EntityRepository(db, "passwords_password_rv").row_encoder() is not None
    assert encoded == (installed.scratch.engine == "pgsql")

    forked = run_real_occ(installed.config_dir, "-n", "passwords:backup:restore", "sample")
    assert forked.returncode == 0, forked.stderr
    through_the_child = _rows_without_ids(installed)
    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(installed.config_dir)}
    here = subprocess.run([sys.executable, "-c", _IN_ONE_PROCESS, "sample"], env=env, capture_output=True, text=True)
    assert here.returncode == 0, here.stderr
    assert _rows_without_ids(installed) == through_the_child
    assert len(through_the_child["passwords_password_rv"]) == 2100
    assert any("\U0001f511" in row for row in through_the_child["passwords_password_rv"])
