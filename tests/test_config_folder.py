"""Nextcloud's configuration folder: config.php merged with the other `*.config.php` files and
`NC_*` variables as Nextcloud reads them, config.php changed only with a command's own keys,
`config_is_read_only`, and values that are not plain UTF-8 text."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import InstalledInstance, run_occ, scratch_database
from ncpasswords.backup import service
from ncpasswords.instance import phpconfig
from ncpasswords.instance.configfiles import extra_files, read
from ncpasswords.instance.install import install
from ncpasswords.instance.instance import Instance
from transfer_helpers import EXAMPLE, convert_args, target_database

PHP = shutil.which("php")
READ_ONLY = 'Config is set to be read-only via option "config_is_read_only".'
OTHER_ENGINE = {"sqlite": "pgsql", "pgsql": "mysql", "mysql": "sqlite"}


@pytest.fixture
def local(tmp_path: Path) -> Iterator[InstalledInstance]:
    """An instance on SQLite (these tests are about files, not databases)."""
    with scratch_database("sqlite", tmp_path / "data") as scratch:
        install(scratch.install_options(), tmp_path / "config" / "config.php")
        yield InstalledInstance(scratch, tmp_path / "config")


def put(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text if text.startswith("<?php") else "<?php\n" + text)
    return path


def one_line(stderr: str) -> str:
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr.strip()


# -- reading ----------------------------------------------------------------------------------------
NAMES = [
    "config.php",
    "10.config.php",
    "2.config.php",
    "b.config.php",
    "B.config.php",
    "a10.config.php",
    "a9.config.php",
    "a09.config.php",
    "x 1.config.php",
    ".hidden.config.php",
    "config.php.bak",
    "autoconfig.php",
    "x.config.php~",
    "CONFIG.PHP",
]
EXPECTED_ORDER = [
    "2.config.php",
    "10.config.php",
    "B.config.php",
    "a09.config.php",
    "a9.config.php",
    "a10.config.php",
    "b.config.php",
    "x 1.config.php",
]


def test_other_config_files_are_read_in_nextcloud_order(tmp_path: Path) -> None:
    for name in NAMES:
        put(tmp_path, name, "")
    assert [p.name for p in extra_files(tmp_path / "config.php")] == EXPECTED_ORDER


@pytest.mark.skipif(PHP is None, reason="php is not installed")
def test_order_and_merge_match_php(tmp_path: Path) -> None:
    """The same folder read by PHP as Nextcloud's OC\\Config reads it (glob, natsort, include,
    array_merge) and by this tool."""
    assert PHP is not None
    for name in NAMES:
        put(tmp_path, name, f"$CONFIG = array('order' => array('{name}'), '{name}' => 1);\n")
    put(
        tmp_path,
        "config.php",
        "$CONFIG = array('a' => 1, 'nested' => array('x' => 1, 'y' => 2), 5 => 'five', 'null' => 'set');\n",
    )
    put(tmp_path, "m.config.php", "$CONFIG = array('nested' => array('x' => 3), 'null' => null, 7 => 'seven');\n")
    put(
        tmp_path,
        "s.config.php",
        "$CONFIG['a'] = 'statements';\n$CONFIG['gone'] = 1;\nunset($CONFIG['gone']);\n"
        "$CONFIG['nul'] = 'a' . \"\\0\" . 'b';\n",
    )
    put(tmp_path, "n.config.php", "// sets nothing\n$x = 1;\n")
    script = (
        '$dir = $argv[1] . "/"; $files = [$dir . "config.php"]; $extra = glob($dir . "*.config.php");'
        "natsort($extra); $cache = [];"
        "foreach (array_merge($files, $extra) as $file) { unset($CONFIG); include $file;"
        "  if (isset($CONFIG) && is_array($CONFIG)) { $cache = array_merge($cache, $CONFIG); } }"
        'echo "<?php\\n\\$CONFIG = " . var_export($cache, true) . ";\\n";'
    )
    php = subprocess.run([PHP, "-r", script, str(tmp_path)], capture_output=True, check=True)
    assert php.stderr == b""
    assert phpconfig.dump(read(tmp_path / "config.php", environ={}).values).encode() == php.stdout


def test_values_from_other_config_files_are_used(local: InstalledInstance, tmp_path: Path) -> None:
    """A datadirectory or passwords.secret set in another file is the one Nextcloud uses."""
    moved = tmp_path / "moved-data"
    shutil.copytree(local.instance.data_dir, moved)
    put(
        local.config_dir,
        "storage.config.php",
        f"$CONFIG = array('datadirectory' => '{moved}', 'passwords.secret' => 'from-a-file');\n",
    )
    instance = local.instance
    assert instance.data_dir == moved and instance.server_secret == "from-a-file"
    assert local.occ("config:system:get", "datadirectory").stdout == f"{moved}\n"
    created = local.occ("passwords:backup:create", "here")
    assert created.returncode == 0, created.stderr
    assert (moved / f"appdata_{instance.instance_id}" / "passwords" / "backups" / "here.json.gz").is_file()


def test_environment_variables_win_over_every_file(local: InstalledInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    put(local.config_dir, "z.config.php", "$CONFIG = array('loglevel' => 1);\n")
    assert local.occ("config:system:get", "loglevel").stdout == "1\n"
    monkeypatch.setenv("NC_loglevel", "3")
    assert local.occ("config:system:get", "loglevel").stdout == "3\n"
    refused = local.occ("config:system:set", "loglevel", "--value", "2")
    assert refused.returncode == 1
    assert "the environment variable NC_loglevel sets it" in one_line(refused.stderr)


DOCKER_STYLE = {  # written like the files of Nextcloud's Docker image: values from its environment
    "apps.config.php": "$CONFIG = array('apps_paths' => array(0 => array('path' => OC::$SERVERROOT . '/apps',"
    " 'url' => '/apps', 'writable' => false)));\n",
    "redis.config.php": "if (getenv('REDIS_HOST')) {\n  $CONFIG = array(\n"
    "    'memcache.locking' => '\\OC\\Memcache\\Redis',\n"
    "    'redis' => array('host' => getenv('REDIS_HOST')),\n  );\n"
    "  if (getenv('REDIS_HOST_PORT') !== false) {\n"
    "    $CONFIG['redis']['port'] = (int) getenv('REDIS_HOST_PORT');\n  }\n}\n",
    "reverse-proxy.config.php": "$host = getenv('OVERWRITEHOST');\n"
    "if ($host) {\n  $CONFIG['overwritehost'] = $host;\n}\n"
    "if (getenv('OVERWRITEPROTOCOL')) {\n"
    "  $CONFIG['overwriteprotocol'] = getenv('OVERWRITEPROTOCOL');\n}\n"
    "$CONFIG['trusted_proxies'] = array_filter(explode(' ', (string) getenv('X')));\n",
    "smtp.config.php": "if (getenv('SMTP_HOST')) {\n  $CONFIG = array(\n    'mail_smtpmode' => 'smtp',\n"
    "    'mail_smtphost' => getenv('SMTP_HOST'),\n    'mail_smtpname' => <<<EOT\n"
    "      {$name}\n      EOT,\n  );\n}\n",
    "apcu.config.php": "$CONFIG = array (\n  'memcache.local' => '\\OC\\Memcache\\APCu',\n);\n",
}


def test_config_files_with_php_code_are_read_without_php(local: InstalledInstance) -> None:
    for name, text in DOCKER_STYLE.items():
        put(local.config_dir, name, text)
    status = local.occ("status")
    assert status.returncode == 0 and status.stderr == ""
    assert local.occ("config:system:get", "memcache.local").stdout == "\\OC\\Memcache\\APCu\n"
    assert local.occ("passwords:backup:create", "works").returncode == 0
    report = local.occ("passwords:system:report", "environment")  # shows what it can know
    assert report.returncode == 0 and json.loads(report.stdout)["environment"]["sslProxy"] is False, report.stderr
    computed = local.occ("config:system:get", "redis")
    assert computed.returncode == 1
    assert one_line(computed.stderr) == (
        f"'redis' is computed by PHP code in {local.config_dir / 'redis.config.php'} (line 8), which this tool "
        "cannot run; give it as a plain value there or as the environment variable NC_redis"
    )


def test_database_settings_computed_by_php_are_refused(local: InstalledInstance) -> None:
    put(
        local.config_dir,
        "db.config.php",
        "if (getenv('MYSQL_HOST')) {\n  $CONFIG['dbhost'] = getenv('MYSQL_HOST');\n}\n",
    )
    result = local.occ("passwords:backup:create")
    assert result.returncode == 1
    assert one_line(result.stderr).startswith(
        f"'dbhost' is computed by PHP code in {local.config_dir}/db.config.php (line 3)"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "foreach (array('a' => 1) as $k => $v) {\n  $CONFIG[$k] = $v;\n}\n",
            "line 3 without running PHP: $CONFIG is indexed by something other than a literal key",
        ),
        (
            "$CONFIG = array_merge($CONFIG ?? [], ['a' => 1]);\n",
            "line 2 without running PHP: $CONFIG is assigned something other than an array",
        ),
        ("include '/etc/more-config.php';\n", "line 2 without running PHP: 'include'"),
        ("$name = 'CONFIG';\n$$name = array('a' => 1);\n", "line 3 without running PHP: variable variables"),
    ],
)
def test_config_files_that_hide_their_keys_are_refused(local: InstalledInstance, text: str, reason: str) -> None:
    put(local.config_dir, "hidden.config.php", text)
    result = local.occ("passwords:backup:list")
    assert result.returncode == 1
    assert one_line(result.stderr) == f"Cannot read {local.config_dir}/hidden.config.php on {reason}"


# -- writing ----------------------------------------------------------------------------------------
def test_a_change_another_file_overrides_is_refused(local: InstalledInstance) -> None:
    path = local.config_dir / "config.php"
    put(local.config_dir, "z.config.php", "$CONFIG = array('loglevel' => 1, 'trusted_proxies' => array('10.0.0.1'));\n")
    before = path.read_bytes()
    refused = local.occ("config:system:set", "loglevel", "--value", "3", "--type", "integer")
    assert refused.returncode == 1
    assert one_line(refused.stderr) == (
        f"Cannot change 'loglevel' in {path}: {local.config_dir}/z.config.php sets it "
        "and overrides config.php; change it there"
    )
    deleted = local.occ("config:system:delete", "trusted_proxies")
    assert deleted.returncode == 1 and "z.config.php sets it" in one_line(deleted.stderr)
    nested = local.occ("config:system:set", "trusted_proxies", "1", "--value", "10.0.0.2")
    assert nested.returncode == 1 and "z.config.php sets it" in one_line(nested.stderr)
    assert path.read_bytes() == before
    same = local.occ("config:system:set", "loglevel", "--value", "1", "--type", "integer")  # what is in effect
    assert same.returncode == 0, same.stderr
    # Nextcloud would copy every merged key into config.php; only the command's key is written here,
    # so the other file keeps its say (docs/compatibility.md).
    assert phpconfig.read(path) == {**phpconfig.parse(before), "loglevel": 1}


@pytest.mark.parametrize("where", ["config.php", "ro.config.php"])
def test_read_only_config_refuses_every_write(local: InstalledInstance, where: str) -> None:
    path = local.config_dir / "config.php"
    if where == "config.php":
        config = phpconfig.read(path)
        phpconfig.write(path, {**config, "config_is_read_only": True})
    else:
        put(local.config_dir, where, "$CONFIG = array('config_is_read_only' => true);\n")
    before = path.read_bytes()
    for args in (
        ["config:system:set", "loglevel", "--value", "1"],
        ["config:system:delete", "dbtype"],
        ["config:system:delete", "config_is_read_only"],
    ):
        result = local.occ(*args)
        assert result.returncode == 1
        assert one_line(result.stderr) == READ_ONLY
    assert path.read_bytes() == before


def test_read_only_config_refuses_restore_and_convert_before_changing_anything(
    installed: InstalledInstance, engine: str, tmp_path: Path
) -> None:
    """A restore that brings another server secret and a conversion change config.php: both are
    refused with one line, the database and the target as they were."""
    path = installed.config_dir / "config.php"
    storage = service.storage_for(installed.instance)
    shutil.copy(EXAMPLE, storage.folder_path() / "example.json")
    phpconfig.write(path, {**phpconfig.read(path), "config_is_read_only": True})
    before = path.read_bytes()
    with installed.connect() as db:
        rows = db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('passwords_password')}")
    restored = installed.occ("-n", "passwords:backup:restore", "example")
    assert restored.returncode == 1 and one_line(restored.stderr) == READ_ONLY
    with installed.connect() as db:
        assert db.scalar_sql(f"SELECT COUNT(*) FROM {db.table('passwords_password')}") == rows
    with target_database(OTHER_ENGINE[engine], installed, tmp_path / "target") as target:
        converted = installed.occ(*convert_args(target))
        assert converted.returncode == 1 and one_line(converted.stderr) == READ_ONLY
        settings = target.settings()
        assert settings.sqlite_path is None or not settings.sqlite_path.exists()
    assert path.read_bytes() == before


def test_nul_and_bytes_that_are_not_utf8_leave_config_php_readable_and_writable(local: InstalledInstance) -> None:
    path = local.config_dir / "config.php"
    assert local.occ("config:system:set", "nul", "--type", "json", "--value", '"a\\u0000b"').returncode == 0
    assert local.occ("config:system:set", "latin", "--value", "caf\udce9").returncode == 0  # argv byte 0xE9
    assert local.occ("config:system:set", "after", "--value", "x").returncode == 0
    got = local.occ("config:system:get", "nul", "--output=json")
    assert got.returncode == 0 and json.loads(got.stdout) == "a\0b"
    assert phpconfig.read(path)["latin"] == "caf\udce9"
    assert b"  'nul' => 'a' . \"\\0\" . 'b',\n  'latin' => 'caf\xe9',\n" in path.read_bytes()
    if PHP is not None:
        php = subprocess.run(
            [PHP, "-r", 'include $argv[1]; echo $CONFIG["nul"], "|", $CONFIG["latin"];', str(path)],
            capture_output=True,
            check=True,
        )
        assert php.stdout == b"a\0b|caf\xe9"


def test_an_empty_config_php_is_one_being_created(tmp_path: Path) -> None:
    """Nextcloud's writer creates config.php empty before it locks and fills it."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.php").write_bytes(b"")
    assert run_occ(tmp_path / "config", "status").stdout.startswith("  - installed: false\n")
    assert Instance.load(tmp_path / "config" / "config.php").config == {}
