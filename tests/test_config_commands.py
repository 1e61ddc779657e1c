"""config:system:set and config:app:set: values cast as Nextcloud's commands do, and every value
they cannot store refused with one line (nothing changed, no "Unexpected error")."""

from __future__ import annotations

import json

import pytest

from conftest import InstalledInstance
from ncpasswords.instance import phpconfig
from ncpasswords.repositories.config_values import AppConfig


def one_line(stderr: str) -> bool:
    return stderr.count("\n") == 1 and "Unexpected error" not in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("engine", ["sqlite"])
def test_system_set_json_stores_any_json_value(installed: InstalledInstance) -> None:
    path = installed.config_dir / "config.php"
    result = installed.occ(
        "config:system:set", "trusted_domains", "--type=json", '--value=["cloud.example.com","10.0.0.1"]'
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'System config value trusted_domains set to json ["cloud.example.com","10.0.0.1"]\n'
    assert phpconfig.read(path)["trusted_domains"] == {0: "cloud.example.com", 1: "10.0.0.1"}
    assert installed.occ("config:system:get", "trusted_domains").stdout == "cloud.example.com\n10.0.0.1\n"

    result = installed.occ(
        "config:system:set", "redis", "--type=json", '--value={"host":"/run/redis.sock","port":0,"dbindex":[1,{"2":3}]}'
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        'System config value redis set to json {"host":"\\/run\\/redis.sock","port":0,"dbindex":[1,{"2":3}]}\n'
    )
    assert phpconfig.read(path)["redis"] == {"host": "/run/redis.sock", "port": 0, "dbindex": {0: 1, 1: {2: 3}}}
    result = installed.occ("config:system:get", "redis", "--output=json")
    assert json.loads(result.stdout) == {"host": "/run/redis.sock", "port": 0, "dbindex": [1, {"2": 3}]}

    # json_decode gives a float for an integer beyond 64 bits, as PHP does.
    result = installed.occ("config:system:set", "big", "--type=json", "--value=99999999999999999999")
    assert result.stdout == "System config value big set to json 1.0e+20\n"
    assert phpconfig.read(path)["big"] == 1e20


@pytest.mark.parametrize("engine", ["sqlite"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type=integer", "--value=1e400"], "Value is out of range for an integer: 1e400"),
        (["--type=integer", "--value=-1e19"], "Value is out of range for an integer: -1e19"),
        (["--type=integer", "--value=nan"], "Non-numeric value specified"),
        (["--type=integer", "--value=0x1A"], "Non-numeric value specified"),
        (["--type=integer", "--value=1_000"], "Non-numeric value specified"),
        (["--type=double", "--value=nan"], "Non-numeric value specified"),
        (["--type=double", "--value=inf"], "Non-numeric value specified"),
        (["--type=double", "--value=1e400"], "Value is out of range for a double: 1e400"),
        (["--type=json", "--value=NaN"], "Unable to parse value as json"),
        (["--type=json", '--value={"a":'], "Unable to parse value as json"),
        (["--type=json", "--value=" + "[" * 5000 + "]" * 5000], "Unable to parse value as json"),
        (
            ["--type=json", '--value={"a":1e400}'],
            "Value cannot be stored in config.php: $CONFIG['x']['a']: inf is not a finite number",
        ),
        (["--type=json", "--value=" + "[" * 300 + "]" * 300], "arrays are nested too deeply"),
    ],
)
def test_system_set_refuses_what_config_php_cannot_hold(
    installed: InstalledInstance, args: list[str], message: str
) -> None:
    path = installed.config_dir / "config.php"
    before = path.read_bytes()
    result = installed.occ("config:system:set", "x", *args)
    assert result.returncode == 1
    assert one_line(result.stderr), result.stderr
    assert message in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("engine", ["sqlite"])
@pytest.mark.parametrize(
    ("args", "readable", "stored"),
    [
        (["--type=integer", "--value=12.9"], "integer 12", 12),
        (["--type=integer", "--value= 1e3"], "integer 1000", 1000),
        (["--type=double", "--value=1.50"], "double 1.5", 1.5),
        (["--type=double", "--value=1e25"], "double 1.0E+25", 1e25),
        (["--type=boolean", "--value=TRUE"], "boolean true", True),
    ],
)
def test_system_set_casts_like_php(
    installed: InstalledInstance, args: list[str], readable: str, stored: object
) -> None:
    result = installed.occ("config:system:set", "x", *args)
    assert result.stdout == f"System config value x set to {readable}\n"
    assert phpconfig.read(installed.config_dir / "config.php")["x"] == stored


def test_app_set_refuses_bad_values_with_one_line(installed: InstalledInstance) -> None:
    with installed.connect() as db:
        before = AppConfig(db).all()
    for args, message in [
        (["x", "--type=integer", "--value=²"], "Value is not an integer"),
        (["x", "--type=integer", "--value=007"], "Value is not an integer"),
        (["x", "--type=integer", "--value=9223372036854775808"], "Value is not an integer"),
        (["x", "--type=float", "--value=nan"], "Value is not a float"),
        (["x", "--type=float", "--value=1e400"], "Value is not a float"),
        (["x", "--type=float", "--value=1.0"], "Value is not a float"),
        (["x", "--type=array", "--value=7"], "Value is not an array"),
        (["x", "--type=array", '--value={"a":1e400}'], "Value cannot be stored as JSON"),
        (["k" * 65, "--value=1"], f"Value ({'k' * 65}) for key is too long (64)"),
        (["k\udcff", "--value=1"], "Not valid UTF-8: b'k\\xff'"),
        (["k", "--value=a\udcffb"], "Not valid UTF-8: b'a\\xffb'"),
    ]:
        result = installed.occ("config:app:set", "passwords", *args)
        assert result.returncode == 1, args
        assert one_line(result.stderr) and message in result.stderr, (args, result.stderr)
    for command in ("config:app:get", "config:app:delete"):
        result = installed.occ(command, "passwords", "é" * 33)
        assert result.returncode == 1 and result.stderr == f"Value ({'é' * 33}) for key is too long (64)\n"
    result = installed.occ("config:app:get", "a" * 33, "x")
    assert result.returncode == 1 and result.stderr == f"Value ({'a' * 33}) for app is too long (32)\n"
    with installed.connect() as db:
        assert AppConfig(db).all() == before


def test_app_set_stores_what_nextcloud_stores(installed: InstalledInstance) -> None:
    for args, shown in [
        (["i", "--type=integer", "--value=-42"], "'-42', stored as integer"),
        (["f", "--type=float", "--value=1.5"], "'1.5', stored as float"),
        (["a", "--type=array", '--value={"1":2, "0":1}'], '\'{"1":2,"0":1}\', stored as array'),
        (["l", "--type=array", '--value=[1, "a/b"]'], "'[1,\"a\\/b\"]', stored as array"),
        (["k" * 64, "--value=1"], "'1', stored as mixed"),
    ]:
        result = installed.occ("config:app:set", "passwords", *args)
        assert result.returncode == 0, (args, result.stderr)
        assert shown in result.stdout, (args, result.stdout)
    with installed.connect() as db:
        app = AppConfig(db)
        assert [app.get(k) for k in ("i", "f", "a", "l", "k" * 64)] == [
            "-42",
            "1.5",
            '{"1":2,"0":1}',
            '[1,"a\\/b"]',
            "1",
        ]
