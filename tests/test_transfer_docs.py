"""docs/moving-between-engines.md, command by command: the page's commands are exactly the ones
below, and running them in order moves the data as the page says (checked after every block).

tests/test_docs.py runs the page too, checking exit codes and the output it shows; this test
mirrors the commands one to one and checks the databases and config.php in between.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
from pathlib import Path

from conftest import _admin, _unavailable
from ncpasswords.db.connection import ConnectionSettings, connect
from ncpasswords.instance.install import InstallOptions, install
from ncpasswords.instance.instance import Instance
from transfer_helpers import checksums

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "moving-between-engines.md"
VENV_BIN = ROOT / ".venv" / "bin"

SAMPLE = [
    "occ dev:sample-backup sample.json --passwords 200",
    "occ passwords:backup:import sample.json",
    "occ -n passwords:backup:restore sample",
]
BACKUP = ["occ passwords:backup:create before-the-move"]
DATABASES = [
    'export DBHOST=127.0.0.1 PGUSER=postgres MYUSER=root DBPASS="" PGPASSWORD=""',
    'export NEWDB="passwords_$(date +%s)_$$"',
    'createdb -h "$DBHOST" -U "$PGUSER" "$NEWDB"',
    'mariadb -h "$DBHOST" -u "$MYUSER" --password="$DBPASS" -e "CREATE DATABASE $NEWDB CHARACTER SET utf8mb4 '
    'COLLATE utf8mb4_bin"',
]
TO_PGSQL = ['occ db:convert-type --port=5432 --password="$DBPASS" pgsql "$PGUSER" "$DBHOST" "$NEWDB"']
CHECK = ["occ config:system:get dbtype", "occ status", "occ passwords:backup:list"]
TO_MYSQL = ['echo "$DBPASS" | occ db:convert-type --port=3306 mysql "$MYUSER" "$DBHOST" "$NEWDB"']
TO_SQLITE = [
    'occ db:convert-type --only-app --output=json_pretty sqlite3 "" "" passwords-moved > convert-summary.json',
    "occ passwords:db:checksum --compare=convert-summary.json",
]
REFUSED = ['occ db:convert-type --port=5432 --password="$DBPASS" pgsql "$PGUSER" "$DBHOST" "$NEWDB"']
CLEAR = ['occ db:convert-type --clear-schema --port=5432 --password="$DBPASS" pgsql "$PGUSER" "$DBHOST" "$NEWDB"']
DUMPS = [
    "occ passwords:db:dump --dialect=mysql --output=json passwords.mysql.sql > passwords.mysql.json",
    "occ passwords:db:dump --dialect=sqlite passwords.sqlite.sql",
    "occ passwords:db:dump --dialect=pgsql passwords.pgsql.sql",
    "occ passwords:db:dump --schema-only --dialect=mysql schema.mysql.sql",
    "occ passwords:db:dump --data-only --dialect=mysql data.mysql.sql",
    "occ passwords:db:dump --data-only | gzip > data.pgsql.sql.gz",
]
LOADS = [
    'mariadb -h "$DBHOST" -u "$MYUSER" --password="$DBPASS" -e "CREATE DATABASE ${NEWDB}_dump CHARACTER SET '
    'utf8mb4 COLLATE utf8mb4_bin"',
    'mariadb -h "$DBHOST" -u "$MYUSER" --password="$DBPASS" "${NEWDB}_dump" < passwords.mysql.sql',
    "sqlite3 data/passwords-loaded.db < passwords.sqlite.sql",
    'createdb -h "$DBHOST" -U "$PGUSER" "${NEWDB}_dump"',
    'psql -q -h "$DBHOST" -U "$PGUSER" -d "${NEWDB}_dump" -f passwords.pgsql.sql',
]
POINT = [
    "occ config:system:set dbtype --value=mysql",
    'occ config:system:set dbhost --value="$DBHOST:3306"',
    'occ config:system:set dbname --value="${NEWDB}_dump"',
    'occ config:system:set dbuser --value="$MYUSER"',
    'occ config:system:set dbpassword --value="$DBPASS"',
    "occ config:system:set mysql.utf8mb4 --type=boolean --value=true",
    "occ passwords:db:checksum --compare=passwords.mysql.json",
    "occ passwords:backup:list",
]
CLEANUP = [
    'dropdb -h "$DBHOST" -U "$PGUSER" "$NEWDB"',
    'dropdb -h "$DBHOST" -U "$PGUSER" "${NEWDB}_dump"',
    'mariadb -h "$DBHOST" -u "$MYUSER" --password="$DBPASS" -e "DROP DATABASE $NEWDB; DROP DATABASE ${NEWDB}_dump"',
]
BLOCKS = [SAMPLE, BACKUP, DATABASES, TO_PGSQL, CHECK, TO_MYSQL, TO_SQLITE, REFUSED, CLEAR, DUMPS, LOADS, POINT, CLEANUP]

FENCE = re.compile(r"^```sh run[^\n]*\n(.*?)^```\s*$", re.M | re.S)


def page_blocks() -> list[list[str]]:
    """The commands of the page's ```sh run blocks (comments and blank lines dropped)."""
    return [
        [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
        for block in FENCE.findall(PAGE.read_text())
    ]


def test_the_page_has_exactly_these_commands() -> None:
    assert page_blocks() == BLOCKS


class Shell:
    """Runs blocks of commands in bash one after the other, keeping exported variables."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env_file = cwd.parent / "env.sh"
        self.env_file.write_text("")
        self.env = {k: v for k, v in os.environ.items() if k not in ("NEXTCLOUD_CONFIG_DIR", "PYTEST_CURRENT_TEST")}
        self.env["PATH"] = f"{VENV_BIN}{os.pathsep}{self.env.get('PATH', '')}"

    def run(self, commands: list[str]) -> subprocess.CompletedProcess[str]:
        script = (
            f'set -euo pipefail\nsource "{self.env_file}"\n'
            f"trap 'export -p > \"{self.env_file}\"' EXIT\n" + "\n".join(commands)
        )
        return subprocess.run(
            ["bash", "-c", script], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=300, check=False
        )

    def ok(self, commands: list[str]) -> str:
        result = self.run(commands)
        assert result.returncode == 0, f"{commands}\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def var(self, name: str) -> str:
        return self.ok([f'printf %s "${name}"'])


def test_the_page_walkthrough(tmp_path: Path) -> None:
    for engine in ("pgsql", "mysql"):
        try:
            _admin(engine).close()
        except Exception as exc:
            _unavailable(engine, exc)
    cwd = tmp_path / "work"
    config = cwd / "config" / "config.php"
    install(InstallOptions(database="sqlite", data_dir=str(cwd / "data")), config)
    shell = Shell(cwd)

    def instance() -> Instance:
        return Instance.load(config)

    shell.ok(SAMPLE)
    shell.ok(BACKUP)
    original = checksums(instance().connect())
    assert original["passwords_password"]["rows"] == 200 and original["preferences"]["rows"] > 0

    shell.ok(DATABASES)
    newdb = shell.var("NEWDB")
    pgsql = ConnectionSettings("pgsql", newdb, host="127.0.0.1", port=5432, user="postgres")
    mysql = ConnectionSettings("mysql", newdb, host="127.0.0.1", port=3306, user="root")
    try:
        shell.ok(TO_PGSQL)
        assert (instance().get("dbtype"), instance().get("dbname")) == ("pgsql", newdb)
        assert checksums(connect(pgsql)) == original
        assert shell.ok(CHECK).startswith("pgsql\n  - installed: true\n")

        shell.ok(TO_MYSQL)
        assert (instance().get("dbtype"), instance().get("dbhost")) == ("mysql", "127.0.0.1:3306")
        assert checksums(connect(mysql)) == original

        shell.ok(TO_SQLITE)
        assert instance().connection_settings().sqlite_path == cwd / "data" / "passwords-moved.db"
        summary = json.loads((cwd / "convert-summary.json").read_text())
        assert {k: {"rows": v["rows"], "checksum": v["checksum"]} for k, v in summary["tables"].items()} == original

        before = config.read_bytes()
        refused = shell.run(REFUSED)
        assert refused.returncode == 1 and "use --clear-schema to replace them" in refused.stderr
        assert config.read_bytes() == before

        assert shell.ok(CLEAR).startswith("Clearing schema in new database\n")
        assert instance().get("dbtype") == "pgsql"
        assert checksums(connect(pgsql)) == original

        shell.ok(DUMPS)
        dumped = json.loads((cwd / "passwords.mysql.json").read_text())["tables"]
        assert {k: {"rows": v["rows"], "checksum": v["checksum"]} for k, v in dumped.items()} == original
        assert gzip.decompress((cwd / "data.pgsql.sql.gz").read_bytes()).startswith(
            b"-- Passwords app data for PostgreSQL"
        )

        shell.ok(LOADS)
        for settings in (
            ConnectionSettings("pgsql", f"{newdb}_dump", host="127.0.0.1", port=5432, user="postgres"),
            ConnectionSettings("mysql", f"{newdb}_dump", host="127.0.0.1", port=3306, user="root"),
            ConnectionSettings("sqlite", "passwords-loaded", sqlite_path=cwd / "data" / "passwords-loaded.db"),
        ):
            assert checksums(connect(settings)) == original, settings.dialect

        pointed = shell.ok(POINT)
        assert "All 15 tables of passwords.mysql.json match" in pointed and "before-the-move" in pointed
        assert instance().connection_settings().dbname == f"{newdb}_dump"
        assert checksums(instance().connect()) == original

        shell.ok(CLEANUP)
        listed = shell.ok(
            [
                'psql -h "$DBHOST" -U "$PGUSER" -d postgres -Atc "SELECT datname FROM pg_database"',
                'mariadb -h "$DBHOST" -u "$MYUSER" --password="$DBPASS" -N -e "SHOW DATABASES"',
            ]
        )
        assert newdb not in listed
    finally:
        _drop(newdb)  # when a step failed half-way


def _drop(newdb: str) -> None:
    """What the page's clean-up block drops (IF EXISTS: nothing when the block ran)."""
    for engine in ("pgsql", "mysql"):
        admin = _admin(engine)
        with admin.cursor() as cur:
            for name in (newdb, f"{newdb}_dump"):
                if engine == "pgsql":
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                else:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
