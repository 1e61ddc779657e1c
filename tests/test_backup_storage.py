"""Backup folders and files (docs/internals/backup-format.md#storage) of ncpasswords.backup.storage."""

from __future__ import annotations

import gzip
import json
import os
import stat
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import InstalledInstance
from ncpasswords.backup import export, jsontext, names, storage
from ncpasswords.backup.errors import (
    BackupError,
    BackupNameCollisionError,
    BackupNotFoundError,
    BackupStorageError,
    InvalidBackupFileTypeError,
    InvalidExportPathError,
    UnsafeBackupPathError,
)
from ncpasswords.backup.source import BackupSource
from ncpasswords.backup.storage import AUTO_BACKUPS, BACKUPS, BackupStorage
from ncpasswords.fsutil import TEMP_PREFIX
from ncpasswords.php import json as phpjson
from ncpasswords.php.casts import php_intval
from ncpasswords.php.compare import compare_keys

FIXTURE = Path(__file__).parent / "fixtures" / "worked-example-v106.json"
NOW = datetime(2024, 6, 1, 3, 15, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> BackupStorage:
    return BackupStorage(tmp_path / "data" / "appdata_oc123" / "passwords")


def _put(store: BackupStorage, folder: str, name: str, content: bytes = b"{}") -> Path:
    path = store.folder_path(folder) / name
    path.write_bytes(content)
    return path


def _gz(data: Any) -> bytes:
    return gzip.compress(data if isinstance(data, bytes) else json.dumps(data).encode())


def _all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# ----------------------------------------------------------------------------------------------
# folders and safety


def test_folders_are_created_private(store: BackupStorage) -> None:
    assert not store.root.exists()
    for folder in (BACKUPS, AUTO_BACKUPS):
        path = store.folder_path(folder)
        assert path == store.root / folder
        assert path.is_dir()
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert storage.appdata_root("/srv/data", "oc123") == Path("/srv/data/appdata_oc123/passwords")
    assert BackupStorage.for_instance("/srv/data", "oc123").root == Path("/srv/data/appdata_oc123/passwords")


@pytest.mark.parametrize("folder", ["../x", "passwordsCache", "", "backups/..", "/tmp"])
def test_unknown_folders_are_rejected(store: BackupStorage, folder: str) -> None:
    with pytest.raises(UnsafeBackupPathError):
        store.folder_path(folder)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../../x", "a\0b", "x" * 256, "é" * 128])
def test_check_file_name_rejects_hostile_names(name: str) -> None:
    with pytest.raises(UnsafeBackupPathError):
        names.check_file_name(name)


def test_check_file_name_accepts_plain_names() -> None:
    for name in ("x.json.gz", "...json.gz", ".hidden.json", "a b.json", "x" * 255):
        assert names.check_file_name(name) == name


@pytest.mark.parametrize("name", ["../../x", "a/b", "a\0b", "/etc/passwd"])
def test_create_rejects_names_that_are_not_one_path_component(store: BackupStorage, tmp_path: Path, name: str) -> None:
    store.folder_path(BACKUPS)
    store.folder_path(AUTO_BACKUPS)
    before = _all_files(tmp_path)
    with pytest.raises(UnsafeBackupPathError), store.create(name) as backup:
        backup.write(b"{}")
    assert _all_files(tmp_path) == before
    assert store.list_backups() == {}


def test_overlong_create_name_is_cut_to_20_bytes(store: BackupStorage) -> None:
    with store.create("x" * 300) as backup:
        backup.write(b"{}")
    assert backup.result is not None
    assert backup.result.name == "x" * 20 + ".json.gz"
    assert list(store.list_backups()) == ["x" * 20]


def test_symlinked_folder_pointing_outside_is_refused(store: BackupStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.json").write_text("{}")
    store.root.mkdir(parents=True)
    (store.root / BACKUPS).symlink_to(outside)
    with pytest.raises(UnsafeBackupPathError):
        store.list_backups()
    with pytest.raises(UnsafeBackupPathError), store.create("x") as backup:
        backup.write(b"{}")
    assert sorted(os.listdir(outside)) == ["stolen.json"]
    with pytest.raises(UnsafeBackupPathError):
        store.delete("stolen")
    assert (outside / "stolen.json").exists()


def test_symlinked_folder_inside_the_root_is_allowed(store: BackupStorage) -> None:
    store.root.mkdir(parents=True)
    (store.root / "elsewhere").mkdir()
    (store.root / AUTO_BACKUPS).symlink_to(store.root / "elsewhere")
    with store.create("inside", AUTO_BACKUPS) as backup:
        backup.write(b"{}")
    assert (store.root / "elsewhere" / "inside.json.gz").is_file()


def test_listing_skips_symlinks_and_directories(store: BackupStorage, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"version":106}')
    folder = store.folder_path(BACKUPS)
    (folder / "link.json").symlink_to(secret)
    (folder / "dir.json.gz").mkdir()
    _put(store, BACKUPS, "real.json")
    assert list(store.list_backups()) == ["real"]
    with pytest.raises(BackupNotFoundError):
        store.delete("link")
    assert secret.exists()


# ----------------------------------------------------------------------------------------------
# names and labels


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("migration", "migration"),
        ("my backup/../x!", "mybackup..x"),
        ("a_b-c.d", "a_b-c.d"),
        ("äöü€", None),
        ("", None),
        (None, None),
        ("0", "0"),
    ],
)
def test_sanitize_backup_name(given: str | None, expected: str | None) -> None:
    assert names.sanitize_backup_name(given) == expected


def test_backup_label_rules() -> None:
    assert names.backup_label(None, now=NOW) == "2024-06-01_03-15-00"
    assert names.backup_label("", now=NOW) == "2024-06-01_03-15-00"
    assert names.backup_label("0", now=NOW) == "2024-06-01_03-15-00"
    assert names.backup_label("00", now=NOW) == "00"
    assert names.backup_label("abcdefghijklmnopqrstuvwxyz") == "abcdefghijklmnopqrst"
    # 20 bytes, a 2-byte character would be split: it is dropped instead
    assert names.backup_label("a" * 19 + "é") == "a" * 19
    assert names.backup_label("a" * 18 + "é") == "a" * 18 + "é"
    cest = timezone(timedelta(hours=2))
    assert names.date_label(datetime(2024, 6, 1, 5, 15, 0, tzinfo=cest)) == "2024-06-01_03-15-00"
    assert names.auto_restore_label(NOW) == "AUTO_24-06-01_03-15"
    assert len(names.auto_restore_label(NOW)) <= names.MAX_LABEL_BYTES


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("x.json.gz", "x"),
        ("x.json", "x"),
        ("a.json.json.gz", "a.json"),
        ("notes.txt", ""),
        ("x.jsonl", "x"),
    ],
)
def test_label_of(name: str, label: str) -> None:
    assert names.label_of(name) == label


def test_import_names() -> None:
    assert names.check_import_name("x.json") is False
    assert names.check_import_name("x.json.gz") is True
    assert names.check_import_name("a b+.json") is False
    for bad in ("x.txt", ".json", " .json", "x.json.bz2", "x.json.gz.txt"):
        with pytest.raises(InvalidBackupFileTypeError, match=r"^Invalid file type$"):
            names.check_import_name(bad)
    assert names.import_label("abcdefghijklmnopqrstuvwxyz.json.gz") == "abcdefghijklmnopqrst"
    assert names.import_label("a.json.json") == "a.json"


# ----------------------------------------------------------------------------------------------
# listing


def test_listing_order_and_folder_merge(store: BackupStorage) -> None:
    for name in (
        "before-upgrade.json.gz",
        "2024-05-01_00-00-00.json.gz",
        "migration.json",
        "Zed.json.gz",
        "2024-06-01_03-15-00.json.gz",
    ):
        _put(store, BACKUPS, name)
    for name in ("2024-06-02_03-15-00.json.gz", "2024-06-01_03-15-00.json.gz", "AUTO_24-06-01_03-15.json.gz"):
        _put(store, AUTO_BACKUPS, name)
    backups = store.list_backups()
    assert list(backups) == [
        "2024-05-01_00-00-00",
        "2024-06-01_03-15-00",
        "2024-06-02_03-15-00",
        "AUTO_24-06-01_03-15",
        "Zed",
        "before-upgrade",
        "migration",
    ]
    assert backups["2024-06-01_03-15-00"].folder == AUTO_BACKUPS  # the later folder wins
    assert list(store.list_backups(BACKUPS)) == [
        "2024-05-01_00-00-00",
        "2024-06-01_03-15-00",
        "Zed",
        "before-upgrade",
        "migration",
    ]
    assert store.list_backups(BACKUPS)["2024-06-01_03-15-00"].folder == BACKUPS
    assert list(store.list_backups("nonsense")) == list(backups)


def test_numeric_labels_sort_like_php_ksort(store: BackupStorage) -> None:
    for name in ("a.json", "10.json", "9.json"):
        _put(store, BACKUPS, name)
    assert list(store.list_backups()) == ["9", "10", "a"]


@pytest.mark.parametrize(
    ("left", "right", "result"),
    [
        ("10", "9", 1),
        ("1e3", "999", 1),
        ("01", "1", 0),
        ("1.5", "1.25", 1),
        ("10", "2023-01-01_00-00-00", -1),
        ("abc", "abd", -1),
        ("B", "a", -1),
        (" 5", "10", -1),
    ],
)
def test_compare_labels(left: str, right: str, result: int) -> None:
    assert compare_keys(left, right) == result
    assert compare_keys(right, left) == -result


def test_same_label_in_one_folder_and_files_without_json(store: BackupStorage) -> None:
    _put(store, BACKUPS, "x.json", b"plain")
    _put(store, BACKUPS, "x.json.gz", _gz({}))
    _put(store, BACKUPS, "readme.txt")
    backups = store.list_backups()
    assert list(backups) == ["", "x"]
    assert backups["x"].name == "x.json.gz"
    assert backups[""].name == "readme.txt"


def test_find_and_get(store: BackupStorage) -> None:
    _put(store, AUTO_BACKUPS, "auto.json.gz")
    assert store.find("auto") is not None
    assert store.find("auto", BACKUPS) is None
    with pytest.raises(BackupNotFoundError) as caught:
        store.get("missing")
    assert str(caught.value) == "Could not find backup 'missing'"
    assert isinstance(caught.value, BackupError)


# ----------------------------------------------------------------------------------------------
# temp files


def test_temp_files_are_ignored_and_cleaned(store: BackupStorage) -> None:
    old = _put(store, BACKUPS, TEMP_PREFIX + "abc123")
    fresh = _put(store, AUTO_BACKUPS, TEMP_PREFIX + "def456")
    past = time.time() - 7200
    os.utime(old, (past, past))
    _put(store, BACKUPS, ".visible.json")
    assert list(store.list_backups()) == [".visible"]
    assert store.cleanup_temp_files() == [old]
    assert not old.exists()
    assert fresh.exists()
    assert store.cleanup_temp_files(older_than=0) == [fresh]
    assert not fresh.exists()
    assert (store.folder_path(BACKUPS) / ".visible.json").exists()


# ----------------------------------------------------------------------------------------------
# atomic writing


def test_atomic_write_success(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with storage.write_backup_file(target) as stream:
        stream.write(b"hello")
        assert not target.exists()
    assert target.read_bytes() == b"hello"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["out.json"]
    with storage.write_backup_file(target, mode=0o640) as stream:
        stream.write(b"again")
    assert target.read_bytes() == b"again"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_atomic_write_gzip_is_php_gzencode_compatible(tmp_path: Path) -> None:
    target = tmp_path / "out.json.gz"
    payload = FIXTURE.read_bytes() * 20  # large enough for memLevel 9 and 8 to give different bytes
    with storage.write_backup_file(target) as stream:
        for index in range(0, len(payload), 7001):
            stream.write(payload[index : index + 7001])
    data = target.read_bytes()
    assert data[:10] == bytes.fromhex("1f8b0800000000000003")
    assert gzip.decompress(data) == payload
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31, 9)
    assert data == compressor.compress(payload) + compressor.flush()
    plain = tmp_path / "raw.json.gz"
    with storage.write_backup_file(plain, compress=False) as stream:
        stream.write(b"not gzip")
    assert plain.read_bytes() == b"not gzip"


def test_atomic_write_leaves_nothing_on_exception(tmp_path: Path) -> None:
    target = tmp_path / "out.json.gz"
    with pytest.raises(RuntimeError), storage.write_backup_file(target) as stream:
        stream.write(b"partial")
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), storage.write_backup_file(target) as stream:
        stream.write(b"new")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ["out.json.gz"]
    assert target.read_bytes() == b"old"


def test_atomic_write_needs_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(BackupStorageError), storage.write_backup_file(tmp_path / "missing" / "x.json"):
        pass
    assert not (tmp_path / "missing").exists()


# ----------------------------------------------------------------------------------------------
# create


def test_create_writes_php_bytes(store: BackupStorage) -> None:
    data = json.loads(FIXTURE.read_bytes())
    with store.create("migration") as backup:
        assert backup.label == "migration"
        phpjson.dump(data, backup)
    assert backup.result is not None
    assert backup.result == storage.BackupFile(BACKUPS, "migration.json.gz", backup.path)
    raw = backup.result.path.read_bytes()
    assert gzip.decompress(raw) == phpjson.dumps(data).encode()
    assert stat.S_IMODE(backup.result.path.stat().st_mode) == 0o600
    assert list(store.list_backups()) == ["migration"]


def test_create_default_label_and_uncompressed(store: BackupStorage) -> None:
    with store.create(None, AUTO_BACKUPS, compress=False, now=NOW) as backup:
        backup.write(b"{}")
    assert backup.result is not None
    assert backup.result.folder == AUTO_BACKUPS
    assert backup.result.name == "2024-06-01_03-15-00.json"
    assert backup.result.path.read_bytes() == b"{}"


def test_create_replaces_the_same_label_in_either_folder(store: BackupStorage) -> None:
    _put(store, AUTO_BACKUPS, "x.json", b"auto")
    _put(store, BACKUPS, "y.json.gz", b"old")
    with store.create("x") as backup:
        backup.write(b"{}")
    assert [(b.folder, b.name) for b in store.list_backups().values()] == [
        (BACKUPS, "x.json.gz"),
        (BACKUPS, "y.json.gz"),
    ]
    assert not (store.folder_path(AUTO_BACKUPS) / "x.json").exists()
    with store.create("y") as backup:
        backup.write(b"new")
    assert gzip.decompress((store.folder_path(BACKUPS) / "y.json.gz").read_bytes()) == b"new"
    with store.create("x", AUTO_BACKUPS) as backup:
        backup.write(b"{}")
    assert [(b.folder, b.name) for b in store.list_backups().values()] == [
        (AUTO_BACKUPS, "x.json.gz"),
        (BACKUPS, "y.json.gz"),
    ]


def test_failed_create_keeps_the_previous_backup(store: BackupStorage) -> None:
    _put(store, AUTO_BACKUPS, "x.json.gz", b"precious")
    with pytest.raises(ValueError), store.create("x") as backup:
        backup.write(b"half")
        raise ValueError("encoder failed")
    assert (store.folder_path(AUTO_BACKUPS) / "x.json.gz").read_bytes() == b"precious"
    assert os.listdir(store.folder_path(BACKUPS)) == []
    assert backup.result is None


# ----------------------------------------------------------------------------------------------
# info


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (-1, "?"),
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1 KB"),
        (1535, "1 KB"),
        (1536, "2 KB"),
        (1048575, "1 MB"),
        (1572864, "1.5 MB"),
        (5000000, "4.8 MB"),
        (123_400_000, "117.7 MB"),
        (1073741824, "1 GB"),
        (1024**4, "1 TB"),
        (1024**5, "1 PB"),
        (3 * 1024**6, "3072 PB"),
    ],
)
def test_human_file_size(size: int, text: str) -> None:
    assert names.human_file_size(size) == text


@pytest.mark.parametrize(
    ("name", "label", "fmt"),
    [
        ("x.json.gz", "x", "compressed"),
        ("x.json", "x", "json"),
        ("a.b.json.gz", "a.b", "compressed"),
        ("with space.json.gz", None, "json"),
        ("readme.txt", None, "json"),
        ("2024-06-01_03-15-00.json.gz", "2024-06-01_03-15-00", "compressed"),
    ],
)
def test_info_without_details(store: BackupStorage, name: str, label: str | None, fmt: str) -> None:
    _put(store, BACKUPS, name, b"x" * 1536)
    backup = storage.BackupFile(BACKUPS, name, store.folder_path(BACKUPS) / name)
    assert store.info(backup) == {"label": label, "name": name, "size": "2 KB", "format": fmt}


def _details(store: BackupStorage, name: str, content: bytes) -> dict[str, Any]:
    _put(store, BACKUPS, name, content)
    info = store.info(store.get(names.label_of(name)), details=True)
    return {key: value for key, value in info.items() if key in ("version", "users", "entities", "error")}


ZERO = {"passwords": 0, "folders": 0, "tags": 0, "shares": 0, "keychains": 0, "challenges": 0}


def test_details_of_the_worked_example(store: BackupStorage) -> None:
    content = FIXTURE.read_bytes()
    assert _details(store, "w.json.gz", gzip.compress(content)) == {
        "version": 106,
        "users": 2,
        "entities": {"passwords": 2, "folders": 1, "tags": 1, "shares": 1, "keychains": 2, "challenges": 1},
    }


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not json", {"version": 0, "users": 0, "entities": ZERO}),
        (b"", {"version": 0, "users": 0, "entities": ZERO}),
        (b'{"version":106,"passwords":[1,2]} trailing', {"version": 0, "users": 0, "entities": ZERO}),
        (b'{"version":106,"passwords":[NaN]}', {"version": 0, "users": 0, "entities": ZERO}),
        (b'{"version":106,"passwords":[1,2,]}', {"version": 0, "users": 0, "entities": ZERO}),
        (b'{"version":106,"passwords":["\xff"]}', {"version": 0, "users": 0, "entities": ZERO}),
        (b"[1,2,3]", {"version": 0, "users": 0, "entities": ZERO}),
        (b'"string"', {"version": 0, "users": 0, "entities": ZERO}),
        (b"{}", {"version": 0, "users": 0, "entities": ZERO}),
        (b'{"version":null,"settings":{"users":null}}', {"version": 0, "users": 0, "entities": ZERO}),
        (b'{"version":"106","settings":[1]}', {"version": "106", "users": 0, "entities": ZERO}),
        (
            b' {"passwords":{"a":1,"b":2},"tags":[[1,2],{"x":[]}],"version":105,"passwords":[1,2,3],'
            b'"settings":{"users":{"a":{},"b":{},"c":{}}},"folders":null} ',
            {"version": 105, "users": 3, "entities": {**ZERO, "passwords": 3, "tags": 2}},
        ),
        (
            b'{"version":106,"users":1,"passwords":5}',
            {"error": "count(): Argument #1 ($value) must be of type Countable|array, int given"},
        ),
        (
            b'{"version":106,"settings":{"users":"x"},"passwords":5}',
            {"error": "count(): Argument #1 ($value) must be of type Countable|array, string given"},
        ),
    ],
)
def test_details_edge_cases(store: BackupStorage, content: bytes, expected: dict[str, Any]) -> None:
    assert _details(store, "x.json", content) == expected


def test_details_of_corrupt_or_truncated_gzip_read_as_null(store: BackupStorage) -> None:
    good = _gz({"version": 106, "passwords": [1]})
    assert _details(store, "a.json.gz", good)["entities"]["passwords"] == 1
    assert _details(store, "b.json.gz", good[: len(good) // 2]) == {"version": 0, "users": 0, "entities": ZERO}
    assert _details(store, "c.json.gz", b"\x1f\x8b garbage") == {"version": 0, "users": 0, "entities": ZERO}
    # plain JSON in a file whose name ends in gz is still gunzipped (and fails)
    assert _details(store, "d.json.gz", b'{"version":106}') == {"version": 0, "users": 0, "entities": ZERO}


def test_details_of_an_unreadable_file_report_an_error(store: BackupStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    _put(store, BACKUPS, "x.json", b"{}")

    def refuse(cls: Any, path: Path, **options: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(BackupSource, "open", classmethod(refuse))
    info = store.info(store.get("x"), details=True)
    assert "Permission denied" in info["error"]
    assert "version" not in info
    assert "entities" not in info


def test_details_stream_across_chunk_boundaries(store: BackupStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsontext, "CHUNK", 5)
    document = {
        "version": 106,
        "passwords": [{"id": 12345678, "revisions": [{"n": 1.5e10, "s": 'é😀/\\"'}]} for _ in range(7)],
        "folders": [123456789, 987654321, True, None, "x"],
        "tags": [],
        "keys": {"users": {"a": 1}},
        "settings": {"users": {"alice": {"a.b": None}, "bob": {}}},
    }
    encoded = phpjson.dumps(document).encode()
    expected = {"version": 106, "users": 2, "entities": {**ZERO, "passwords": 7, "folders": 5}}
    assert _details(store, "p.json", encoded) == expected
    assert _details(store, "g.json.gz", _gz(encoded)) == expected
    spaced = phpjson.dumps(document, pretty=True).encode()
    assert _details(store, "s.json", spaced) == expected


def test_details_of_a_large_backup_stream(store: BackupStorage) -> None:
    revision = {f"k{i}": "x" * 40 for i in range(26)}
    rows = phpjson.JsonStream({"id": i, "revisions": [revision]} for i in range(20000))
    with store.create("big") as backup:
        phpjson.dump({"version": 106, "passwords": rows, "settings": {"users": {"a": {}}}}, backup)
    assert backup.result is not None
    info = store.info(backup.result, details=True)
    assert info["entities"]["passwords"] == 20000
    assert info["users"] == 1


# ----------------------------------------------------------------------------------------------
# rotation


def _auto(store: BackupStorage, *labels: str) -> None:
    for label in labels:
        _put(store, AUTO_BACKUPS, label + ".json.gz")


def test_rotation_deletes_the_lowest_auto_labels(store: BackupStorage) -> None:
    _auto(
        store,
        "2024-06-03_00-00-00",
        "2024-06-01_00-00-00",
        "AUTO_24-06-01_03-15",
        "2024-06-02_00-00-00",
        "2024-05-30_00-00-00",
    )
    _put(store, BACKUPS, "2020-01-01_00-00-00.json.gz")
    deleted = store.remove_old_backups(3)
    assert [b.label for b in deleted] == ["2024-05-30_00-00-00", "2024-06-01_00-00-00"]
    assert list(store.list_backups(AUTO_BACKUPS)) == [
        "2024-06-02_00-00-00",
        "2024-06-03_00-00-00",
        "AUTO_24-06-01_03-15",
    ]
    assert "2020-01-01_00-00-00" in store.list_backups(BACKUPS)
    assert store.remove_old_backups(1) != []
    assert list(store.list_backups(AUTO_BACKUPS)) == ["AUTO_24-06-01_03-15"]


@pytest.mark.parametrize(
    ("maximum", "left"),
    [(0, 5), ("0", 5), ("abc", 5), ("", 5), ("2", 2), (" 3 apples", 3), ("1e0", 1), (None, 5), (4.9, 4), (-1, 5)],
)
def test_rotation_maximum_is_php_intval(store: BackupStorage, maximum: object, left: int) -> None:
    _auto(store, *(f"2024-06-0{day}_00-00-00" for day in range(1, 6)))
    store.remove_old_backups(maximum)
    assert len(store.list_backups(AUTO_BACKUPS)) == left


def test_rotation_default_keeps_28(store: BackupStorage) -> None:
    _auto(store, *(f"2024-06-{day:02d}_00-00-00" for day in range(1, 31)))
    deleted = store.remove_old_backups()
    assert [b.label for b in deleted] == ["2024-06-01_00-00-00", "2024-06-02_00-00-00"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        ("12abc", 12),
        ("abc", 0),
        (" -3", -3),
        ("1.9", 1),
        ("1e3", 1000),
        (None, 0),
        (True, 1),
        (7, 7),
        ("99999999999999999999", 2**63 - 1),
        ("1e400", 0),
        ("-1e400", 0),
    ],
)
def test_php_intval(value: object, expected: int) -> None:
    assert php_intval(value) == expected


# ----------------------------------------------------------------------------------------------
# export / import / delete


def test_export_copies_the_stored_bytes(store: BackupStorage, tmp_path: Path) -> None:
    content = _gz({"version": 106})
    _put(store, AUTO_BACKUPS, "x.json.gz", content)
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.json.gz").write_bytes(b"old")
    target = store.export(store.get("x"), out / "x.json.gz")
    assert target.read_bytes() == content
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(out) == ["x.json.gz"]
    with pytest.raises(BackupStorageError):
        store.export(store.get("x"), tmp_path / "missing" / "x.json.gz")
    assert not (tmp_path / "missing").exists()
    (out / "dir.json.gz").mkdir()
    with pytest.raises(InvalidExportPathError, match=r"^Invalid export file path$"):
        store.export(store.get("x"), out / "dir.json.gz")


def test_resolve_export_path(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    assert export.resolve_export_path("x.json.gz", None, cwd) == cwd / "x.json.gz"
    assert export.resolve_export_path("x.json.gz", "", cwd) == cwd / "x.json.gz"
    assert export.resolve_export_path("x.json.gz", "out/y.json.gz", cwd) == cwd / "out" / "y.json.gz"
    assert (cwd / "out").is_dir()
    # quirk: a .json target for a compressed backup is a folder
    assert export.resolve_export_path("x.json.gz", "o2/y.json", cwd) == cwd / "o2" / "y.json" / "x.json.gz"
    assert (cwd / "o2" / "y.json").is_dir()
    assert export.resolve_export_path("x.json", "./a/../b/./", cwd) == cwd / "b" / "x.json"
    assert export.resolve_export_path("x.json", str(tmp_path / "abs"), cwd) == tmp_path / "abs" / "x.json"
    (cwd / "file").write_text("")
    with pytest.raises(InvalidExportPathError):
        export.resolve_export_path("x.json.gz", "file", cwd)
    (cwd / "d.json.gz").mkdir()
    with pytest.raises(InvalidExportPathError):
        export.resolve_export_path("x.json.gz", "d.json.gz", cwd)


def test_import_writer_replaces_only_in_backups(store: BackupStorage) -> None:
    _put(store, BACKUPS, "abcdefghijklmnopqrst.json.gz", b"old")
    _put(store, AUTO_BACKUPS, "abcdefghijklmnopqrst.json.gz", b"auto")
    with store.import_writer("/some/where/abcdefghijklmnopqrst.json") as backup:
        backup.write(b"{}")
    assert backup.result is not None
    assert backup.result.name == "abcdefghijklmnopqrst.json.gz"
    assert gzip.decompress(backup.result.path.read_bytes()) == b"{}"
    assert (store.folder_path(AUTO_BACKUPS) / "abcdefghijklmnopqrst.json.gz").read_bytes() == b"auto"
    with store.import_writer("../../evil.json") as backup:
        backup.write(b"{}")
    assert backup.result is not None
    assert backup.result.path == store.folder_path(BACKUPS) / "evil.json.gz"


def test_import_file_copies_bytes(store: BackupStorage, tmp_path: Path) -> None:
    source = tmp_path / "upload.json.gz"
    source.write_bytes(_gz({"version": 106}))
    imported = store.import_file(source)
    assert imported.name == "upload.json.gz"
    assert imported.path.read_bytes() == source.read_bytes()
    plain = tmp_path / "p.json"
    plain.write_bytes(b"{}")
    assert store.import_file(plain, label="x" * 30).name == "x" * 20 + ".json"


def test_delete_only_from_backups(store: BackupStorage) -> None:
    _put(store, BACKUPS, "manual.json.gz")
    _put(store, AUTO_BACKUPS, "auto.json.gz")
    deleted = store.delete("manual")
    assert deleted.name == "manual.json.gz"
    assert not deleted.path.exists()
    with pytest.raises(BackupNotFoundError) as caught:
        store.delete("auto")
    assert str(caught.value) == ""
    assert (store.folder_path(AUTO_BACKUPS) / "auto.json.gz").exists()
    with pytest.raises(BackupNotFoundError):
        store.delete("../autoBackups/auto")


# ----------------------------------------------------------------------------------------------
# labels cut to 20 bytes: the full name is recorded, another full name is not replaced silently


def _made(store: BackupStorage, name: str | None, content: bytes, **options: Any) -> storage.BackupFile:
    with store.create(name, **options) as backup:
        backup.write(content)
    assert backup.result is not None
    return backup.result


def test_a_cut_name_does_not_replace_a_backup_made_under_another_name(store: BackupStorage) -> None:
    first = _made(store, "before-upgrade-2024-01-01", b'{"first":1}')
    assert first.name == "before-upgrade-2024-.json.gz"
    assert store.full_name(first) == "before-upgrade-2024-01-01"
    assert gzip.decompress(first.path.read_bytes()) == b'{"first":1}'  # the content stays the app's
    stored = first.path.read_bytes()
    for other in ("before-upgrade-2024-01-02", "before-upgrade-2024-"):
        with pytest.raises(BackupNameCollisionError, match="made as 'before-upgrade-2024-01-01'"):
            _made(store, other, b"{}")
    assert first.path.read_bytes() == stored
    assert _all_files(store.root) == {"backups", "autoBackups", "backups/before-upgrade-2024-.json.gz"}
    # the same full name replaces, as the app does; --force replaces another one
    assert (
        gzip.decompress(_made(store, "before-upgrade-2024-01-01", b'{"again":1}').path.read_bytes()) == b'{"again":1}'
    )
    forced = _made(store, "before-upgrade-2024-01-02", b'{"forced":1}', force=True)
    assert store.full_name(forced) == "before-upgrade-2024-01-02"
    assert gzip.decompress(forced.path.read_bytes()) == b'{"forced":1}'


def test_names_that_are_not_cut_replace_as_the_app_does(store: BackupStorage) -> None:
    _made(store, "nightly", b"{}")
    replaced = _made(store, "nightly", b'{"new":1}')
    assert replaced.path.read_bytes()[:10] == bytes.fromhex("1f8b0800000000000003")  # no name recorded
    assert gzip.decompress(replaced.path.read_bytes()) == b'{"new":1}'
    now = datetime(2024, 6, 1, 3, 15, tzinfo=UTC)
    _made(store, None, b"{}", folder=AUTO_BACKUPS, now=now)
    _made(store, None, b"{}", folder=AUTO_BACKUPS, now=now)  # the scheduled job's date labels


def test_a_cut_label_without_a_record_is_not_replaced_by_a_long_name(store: BackupStorage) -> None:
    # made by the app (or copied in): its full name is unknown, so only its exact label replaces it
    _put(store, BACKUPS, "before-upgrade-2024-.json.gz", _gz({"version": 106}))
    with pytest.raises(BackupNameCollisionError):
        _made(store, "before-upgrade-2024-01-02", b"{}")
    _made(store, "before-upgrade-2024-", b"{}")


def test_import_refuses_a_cut_name_made_under_another_name(store: BackupStorage) -> None:
    with store.import_writer("/x/before-upgrade-2024-01-01.json.gz") as backup:
        backup.write(b"{}")
    assert backup.result is not None and store.full_name(backup.result) == "before-upgrade-2024-01-01"
    with pytest.raises(BackupNameCollisionError), store.import_writer("before-upgrade-2024-01-02.json") as other:
        other.write(b"{}")
    with store.import_writer("before-upgrade-2024-01-02.json", force=True) as other:
        other.write(b"{}")
    assert other.result is not None and store.full_name(other.result) == "before-upgrade-2024-01-02"


# ----------------------------------------------------------------------------------------------
# --details in bounded memory


def test_details_hold_no_value_whole(store: BackupStorage) -> None:
    big = "x" * (16 << 20)  # 128 MiB inflated: below the floor of the bomb limit
    document = {
        "version": 106,
        "passwords": [{"notes": big, "revisions": [{"a": big}]}, {"b": [big, {"c": big}]}],
        "tags": big,
        "settings": {"users": {"alice": {"k": big}}, "clients": {"alice": big}},
    }
    _put(store, BACKUPS, "huge.json.gz", _gz(json.dumps(document).encode()))
    del document
    tracemalloc.start()
    try:
        info = store.info(store.get("huge"), details=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info["error"] == "count(): Argument #1 ($value) must be of type Countable|array, string given"
    assert peak < 12 << 20, f"--details held {peak >> 20} MiB for values of 16 MiB"
    del big


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # PHP's json_decode refuses more than 512 levels: the document is level 1
        (
            b'{"version":106,"passwords":[' + b"[" * 510 + b"]" * 510 + b"]}",
            {"version": 106, "users": 0, "entities": {**ZERO, "passwords": 1}},
        ),
        (
            b'{"version":106,"passwords":[' + b"[" * 511 + b"]" * 511 + b"]}",
            {"version": 0, "users": 0, "entities": ZERO},
        ),
        # long strings are checked as PHP checks them: escapes, surrogate pairs, control characters
        (
            b'{"version":106,"x":"' + b"a" * (3 << 20) + b'\\ud83d\\ude00\\n","passwords":[1]}',
            {"version": 106, "users": 0, "entities": {**ZERO, "passwords": 1}},
        ),
        (
            b'{"version":106,"x":"' + b"a" * (3 << 20) + b'\\ud83d","passwords":[1]}',
            {"version": 0, "users": 0, "entities": ZERO},
        ),
        (
            b'{"version":106,"x":"' + b"a" * (3 << 20) + b'\n","passwords":[1]}',
            {"version": 0, "users": 0, "entities": ZERO},
        ),
        (
            b'{"version":106,"x":[' + b"1," * (2 << 20) + b'-0.5e+7],"passwords":[1]}',
            {"version": 106, "users": 0, "entities": {**ZERO, "passwords": 1}},
        ),
        (
            b'{"version":106,"x":[' + b"1," * (2 << 20) + b'01],"passwords":[1]}',
            {"version": 0, "users": 0, "entities": ZERO},
        ),
        (
            b'{"version":106,"x":1e400,"passwords":{"a":1,"a":2,"b":3}}',  # INF is a float to PHP
            {"version": 106, "users": 0, "entities": {**ZERO, "passwords": 2}},
        ),
    ],
)
def test_details_read_like_json_decode(store: BackupStorage, content: bytes, expected: dict[str, Any]) -> None:
    assert _details(store, "x.json.gz", _gz(content)) == expected


def test_details_of_a_gzip_bomb_report_it(store: BackupStorage) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = (
        compressor.compress(b'{"version":106,"passwords":["')
        + b"".join(compressor.compress(b"a" * (1 << 20)) for _ in range(300))
        + compressor.compress(b'"]}')
        + compressor.flush()
    )
    assert _details(store, "bomb.json.gz", bomb) == {
        "error": "The backup file inflates far beyond its size; refusing to read it"
    }


@pytest.mark.parametrize("engine", ["sqlite"])
def test_create_refuses_a_cut_name_made_under_another_name_unless_forced(installed: InstalledInstance) -> None:
    assert installed.occ("passwords:backup:create", "before-upgrade-2024-01-01").returncode == 0
    folder = installed.instance.appdata_dir / "backups"
    stored = (folder / "before-upgrade-2024-.json.gz").read_bytes()
    refused = installed.occ("passwords:backup:create", "before-upgrade-2024-01-02")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "made as 'before-upgrade-2024-01-01'" in refused.stderr and "--force" in refused.stderr
    assert (folder / "before-upgrade-2024-.json.gz").read_bytes() == stored
    assert installed.occ("passwords:backup:create", "before-upgrade-2024-01-02", "--force").returncode == 0
    assert (folder / "before-upgrade-2024-.json.gz").read_bytes() != stored
    assert sorted(p.name for p in folder.iterdir()) == ["before-upgrade-2024-.json.gz"]
