"""Security: private files, inert SQL injection attempts, and no secrets in any output.

* Backups (create, import, the scheduled job), exports and dumps are 0600 and the backup folders
  0700, even under `umask 000`.
* Every string a user controls - backup names, user ids of user:move/user:delete and
  `restore --user`, app and system config keys and values, the table prefix - is stored or refused
  literally: the database stays intact and no other user's data is touched.
* `passwords:system:report` (all sections, every format) and the error messages of failing
  commands never show the database password, the server secrets or any key.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import MY_HOST, MY_PORT, InstalledInstance, _admin
from ncpasswords.backup.restore import RestoreOptions, restore_backup
from ncpasswords.instance import phpconfig
from ncpasswords.instance.instance import Instance

from .corpus import EXAMPLE, example
from .helpers import COUNTERS, StateReader, diff, one_line_error, without

INJECTIONS = (
    "x'; DROP TABLE oc_passwords_password; --",
    "' OR '1'='1",
    'a" OR "1"="1',
    "alice' --",
    "`; DROP TABLE `oc_appconfig`; --",
    "1); DELETE FROM oc_preferences; --",
    "%s%s%(x)s?",
    "\\'; SELECT pg_sleep(5); --",
    "$$; DROP TABLE oc_passwords_tag; $$",
    "o'brien\"\\",
)


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def restore_example(installed: InstalledInstance) -> None:
    instance = installed.instance
    with instance.connect() as db:
        restore_backup(instance, db, EXAMPLE, RestoreOptions())


def mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


def test_files_are_private_even_with_umask_000(installed: InstalledInstance, engine: str, tmp_path: Path) -> None:
    restore_example(installed)
    appdata = installed.instance.appdata_dir
    os.chdir(tmp_path)
    with umask(0):
        assert installed.occ("passwords:backup:create", "manual").returncode == 0
        assert installed.occ("passwords:backup:import", str(EXAMPLE)).returncode == 0
        assert installed.occ("config:app:set", "passwords", "backup/interval", "--value=1").returncode == 0
        result = installed.occ("background-job:worker", "--once")
        assert result.returncode == 0, result.stderr
        assert installed.occ("passwords:backup:export", "manual", str(tmp_path)).returncode == 0
        assert installed.occ("passwords:db:dump", str(tmp_path / "dump.sql")).returncode == 0
    files = {
        "backup": appdata / "backups" / "manual.json.gz",
        "import": appdata / "backups" / "worked-example-v106.json.gz",
        "export": tmp_path / "manual.json.gz",
        "dump": tmp_path / "dump.sql",
    }
    automatic = list((appdata / "autoBackups").iterdir())
    assert len(automatic) == 1, automatic
    files["scheduled backup"] = automatic[0]
    problems = [f"{what} {path} is {mode(path)}" for what, path in files.items() if mode(path) != "0o600"]
    for folder in (appdata / "backups", appdata / "autoBackups"):
        if mode(folder) != "0o700":
            problems.append(f"folder {folder} is {mode(folder)}")
    COUNTERS.add("security: file and folder modes checked", engine, len(files) + 2)
    assert not problems, problems


def all_rows(reader: StateReader) -> Any:
    return reader.state()


def test_sql_injection_attempts_are_inert(installed: InstalledInstance, engine: str, tmp_path: Path) -> None:
    # The data has a user whose id is itself an injection attempt.
    doc = example()
    odd = INJECTIONS[-1]
    bob = doc["passwords"][1]
    assert bob["userId"] == "bob"
    for section in ("passwords", "folders", "tags", "shares", "keychains", "challenges", "passwordTagRelations"):
        for item in doc[section]:
            if item["userId"] == "bob":
                item["userId"] = odd
                for revision in item.get("revisions", []):
                    revision["userId"] = odd
    doc["keys"]["users"][odd] = doc["keys"]["users"].pop("bob")
    for part in ("users", "clients"):
        doc["settings"][part][odd] = doc["settings"][part].pop("bob")
    source = tmp_path / "odd.json"
    import json

    source.write_text(json.dumps(doc))
    assert installed.occ("passwords:backup:import", str(source)).returncode == 0
    assert installed.occ("-n", "passwords:backup:restore", "odd").returncode == 0
    reader = StateReader(installed.instance.connection_settings())
    before = reader.state()
    tried = 0
    problems: list[str] = []

    def unchanged(what: str) -> None:
        nonlocal before
        after = reader.state()
        if after != before:
            problems.append(f"{what}: {diff(before, after)}")

    for text in INJECTIONS[:-1]:
        for args in (
            ["passwords:backup:create", text],
            ["-n", "passwords:backup:restore", text],
            ["passwords:backup:delete", text],
            ["passwords:backup:export", text],
            ["-n", "passwords:user:delete", text],
            ["-n", "passwords:user:move", text, "alice"],
            ["-n", "passwords:backup:restore", "odd", f"--user={text}"],
        ):
            result = installed.occ(*args)
            tried += 1
            if "Unexpected error" in result.stderr or "Traceback" in result.stderr:
                problems.append(f"{args!r}: {result.stderr.strip()[:200]}")
            if args[0] == "passwords:backup:create":
                continue  # writes a backup file (name cleaned), nothing in the database
            if args[1:3] == ["passwords:user:move", text] and result.returncode == 0:
                problems.append(f"{args!r} moved data of a user that has none")
            unchanged(repr(args))
        # Moving alice's data to a user with that id stores the id literally, and nothing else changes.
        result = installed.occ("-n", "passwords:user:move", "alice", text)
        after = reader.state()
        owners = {
            table: sorted(row[cols.index("user_id")] for row in rows)
            for table, (cols, rows) in after.items()
            if "user_id" in cols
        }
        expected = {
            table: sorted(
                repr(text) if row[cols.index("user_id")] == "'alice'" else row[cols.index("user_id")] for row in rows
            )
            for table, (cols, rows) in before.items()
            if "user_id" in cols
        }
        if result.returncode != 0 or owners != expected:
            problems.append(f"move alice -> {text!r}: {result.returncode} {result.stderr.strip()[:120]}")
        if installed.occ("-n", "passwords:user:move", text, "alice").returncode != 0:
            problems.append(f"move {text!r} -> alice failed")
        after = reader.state()
        if without(after, ("updated",)) != without(before, ("updated",)):
            problems.append(f"moving alice to {text!r} and back changed more: {diff(before, after)}")
        before = after
        tried += 2
        # Config keys and values are stored literally and read back the same.
        key = f"k{tried}{text}"
        result = installed.occ("config:app:set", "passwords", key, f"--value={text}")
        got = installed.occ("config:app:get", "passwords", key)
        if result.returncode != 0 or got.stdout != text + "\n":
            problems.append(f"config:app:set {text!r}: {result.stderr.strip()} / {got.stdout!r}")
        assert installed.occ("config:app:delete", "passwords", key).returncode == 0
        result = installed.occ("config:system:set", f"custom{tried}", f"--value={text}")
        config = Instance.load(installed.config_dir / "config.php").config
        if result.returncode != 0 or config.get(f"custom{tried}") != text:
            problems.append(f"config:system:set {text!r}: {result.stderr.strip()} / {config.get(f'custom{tried}')!r}")
        result = installed.occ("config:system:set", text, "--value=x")
        config = Instance.load(installed.config_dir / "config.php").config
        if result.returncode != 0 or config.get(text) != "x":
            problems.append(f"config:system:set key {text!r}: {result.stderr.strip()}")
        tried += 3
        unchanged(f"config {text!r}")

    # The user whose id is an injection attempt is handled like any other, and alone.
    result = installed.occ("-n", "passwords:user:move", odd, "carol")
    tried += 1
    after = reader.state()
    moved = [r for r in after["passwords_password"][1] if "'carol'" in r]
    if result.returncode != 0 or len(moved) != 1:
        problems.append(f"move of {odd!r}: {result.returncode} {result.stderr.strip()} {len(moved)} rows for carol")
    alice_rows = [r for r in after["passwords_password"][1] if "'alice'" in r]
    if alice_rows != [r for r in before["passwords_password"][1] if "'alice'" in r]:
        problems.append("moving the odd user touched alice's passwords")
    reader.close()
    COUNTERS.add("security: injection attempts", engine, tried)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("prefix", ["oc_'; DROP TABLE oc_appconfig; --", "oc`x", 'oc"x', "oc x", "oc;"])
def test_table_prefix_injection_is_refused(installed: InstalledInstance, engine: str, prefix: str) -> None:
    reader = StateReader(installed.instance.connection_settings())
    before = reader.state()
    path = installed.config_dir / "config.php"
    config = phpconfig.read(path)
    config["dbtableprefix"] = prefix
    phpconfig.write(path, config)
    for args in (
        ["passwords:backup:create"],
        ["passwords:system:report"],
        ["status"],
        ["migrations:migrate", "passwords"],
        ["config:app:get", "passwords", "x"],
    ):
        result = installed.occ(*args)
        if args == ["status"] and result.returncode == 0:
            continue
        assert result.returncode != 0, args
        assert one_line_error(result.stderr) and "Invalid table prefix" in result.stderr, (args, result.stderr)
    assert reader.state() == before
    reader.close()
    COUNTERS.add("security: injection attempts", engine, 5)


# -- no secrets in output ------------------------------------------------------------------------
DB_PASSWORD = "Db-Pa55-never-shown-7f3a"
SECRET = "Server-Secret-never-shown-91c2"
APP_SECRET = "App-Secret-never-shown-5d0e"
SALT = "Salt-never-shown-44ab"


@pytest.fixture
def secret_instance(installed: InstalledInstance, engine: str) -> Iterator[InstalledInstance]:
    """The instance with known secrets everywhere (for MariaDB a user with that password)."""
    restore_example(installed)
    path = installed.config_dir / "config.php"
    config = phpconfig.read(path)
    config.update({"secret": SECRET, "passwords.secret": APP_SECRET, "passwordsalt": SALT, "dbpassword": DB_PASSWORD})
    user = None
    if engine == "mysql":
        user = f"ncp_{installed.scratch.name[-8:]}"
        admin = _admin("mysql")
        with admin.cursor() as cur:
            cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{DB_PASSWORD}'")
            cur.execute(f"GRANT ALL ON `{installed.scratch.name}`.* TO '{user}'@'%'")
        admin.close()
        config["dbuser"] = user
        config["dbhost"] = f"{MY_HOST}:{MY_PORT}"
    phpconfig.write(path, config)
    yield installed
    if user:
        admin = _admin("mysql")
        with admin.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        admin.close()


def secrets_in(installed: InstalledInstance) -> list[str]:
    instance = installed.instance
    found = [DB_PASSWORD, SECRET, APP_SECRET, SALT]
    with instance.connect() as db:
        for table, column in (("appconfig", "configvalue"), ("preferences", "configvalue")):
            cur = db.execute_sql(
                f"SELECT {column} FROM {db.table(table)} WHERE configkey IN "
                "('SSEv1ServerKey', 'SSEv1UserKey', 'user/challenge/id')"
            )
            found += [str(r[0]) for r in cur.fetchall() if r[0]]
            cur.close()
    doc = example()
    found += [doc["keys"]["server"]["SSEv1ServerKey"], doc["keys"]["server"]["secret"]]
    found += [u["SSEv1UserKey"] for u in doc["keys"]["users"].values()]
    return [s for s in found if len(s) >= 8]


def test_no_secrets_in_reports_or_errors(secret_instance: InstalledInstance, engine: str, tmp_path: Path) -> None:
    installed = secret_instance
    secrets = secrets_in(installed)
    assert len(secrets) >= 7
    outputs: dict[str, str] = {}

    def run(*args: str) -> None:
        result = installed.occ(*args)
        outputs[" ".join(args)] = result.stdout + result.stderr

    assert installed.occ("passwords:backup:create", "s").returncode == 0
    for output in ("json_pretty", "json", "plain"):
        run("passwords:system:report", f"--output={output}")
    run("passwords:system:report", "debug")
    run("passwords:system:report", "--basic")
    run("status")
    run("config:system:get", "dbtype")
    run("migrations:status", "passwords")
    run("passwords:backup:list", "--details")
    run("passwords:db:checksum")

    # Errors: a corrupt backup, unknown names, a refused move, a convert to an unreachable server
    # given the password, a dump to a missing folder.
    (installed.instance.appdata_dir / "backups" / "bad.json").write_text('{"version":106,"keys":')
    run("-n", "passwords:backup:restore", "bad")
    run("-v", "-n", "passwords:backup:restore", "missing")
    run("-n", "passwords:user:move", "alice", "alice")
    run(
        "db:convert-type",
        f"--password={DB_PASSWORD}",
        "pgsql" if engine != "pgsql" else "mysql",
        "u",
        "127.0.0.1:1",
        "nowhere",
    )
    run(
        "-v",
        "db:convert-type",
        f"--password={DB_PASSWORD}",
        "mysql" if engine != "mysql" else "pgsql",
        "root",
        "127.0.0.1:1",
        "nowhere",
    )
    run("passwords:db:dump", str(tmp_path / "missing" / "dump.sql"))
    run("passwords:backup:import", str(tmp_path / "nothing.json"))

    # The database refuses the login (a wrong password in config.php), also with -v.
    path = installed.config_dir / "config.php"
    config = phpconfig.read(path)
    config["dbpassword"] = DB_PASSWORD + "-wrong"
    if engine == "pgsql":
        config["dbhost"] = "127.0.0.1:1"  # trust authentication ignores passwords: an unreachable port instead
    phpconfig.write(path, config)
    for args in (
        ["status"],
        ["-v", "passwords:backup:create"],
        ["-vvv", "passwords:system:report"],
        ["-n", "passwords:backup:restore", "s"],
        ["-n", "passwords:user:delete", "alice"],
    ):
        run(*args)
        if engine != "sqlite" and args != ["status"]:  # status does not open the database
            assert "Cannot connect" in outputs[" ".join(args)], outputs[" ".join(args)]

    leaks = [
        f"{command!r} shows {secret[:6]}…" for command, text in outputs.items() for secret in secrets if secret in text
    ]
    COUNTERS.add("security: outputs checked for secrets", engine, len(outputs))
    assert not leaks, "\n".join(leaks)
