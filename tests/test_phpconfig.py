"""Tests for ncpasswords.instance.phpconfig: reading and writing Nextcloud's config.php."""

from __future__ import annotations

import math
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ncpasswords.instance.phpconfig import PhpArray, PhpConfigError, PhpValue, dump, parse, read, write

# A config.php as Nextcloud writes it (var_export layout), byte for byte.  var_export puts a
# space after every "=>" that ends a line; it is added by the replace() below.
NEXTCLOUD_WRITTEN = """\
<?php
$CONFIG = array (
  'instanceid' => 'oc8c0fd71e03',
  'passwordsalt' => 'x7Qm/8pQ+wR4nE3a1LkT9sZ0fYcBd2',
  'secret' => 'A\\\\b\\'c',
  'trusted_domains' =>
  array (
    0 => 'localhost',
    1 => 'cloud.example.com',
  ),
  'datadirectory' => '/var/www/nextcloud/data',
  'dbtype' => 'pgsql',
  'version' => '29.0.4.1',
  'overwrite.cli.url' => 'https://cloud.example.com',
  'dbname' => 'nextcloud',
  'dbhost' => 'localhost',
  'dbport' => '',
  'dbtableprefix' => 'oc_',
  'installed' => true,
  'maintenance' => false,
  'loglevel' => 2,
  'memcache.local' => '\\\\OC\\\\Memcache\\\\APCu',
  'memcache.locking' => '\\\\OC\\\\Memcache\\\\Redis',
  'redis' =>
  array (
    'host' => '/run/redis/redis-server.sock',
    'port' => 0,
    'timeout' => 1.5,
  ),
  'apps_paths' =>
  array (
    0 =>
    array (
      'path' => '/var/www/nextcloud/apps',
      'url' => '/apps',
      'writable' => false,
    ),
  ),
  'x' => NULL,
  'ratio' => 1.0,
  'big' => 1.0E+25,
  'negative' => -7,
  'empty' =>
  array (
  ),
  'motd' => 'line one
line two',
);
""".replace("=>\n", "=> \n")

NEXTCLOUD_WRITTEN_VALUE: PhpArray = {
    "instanceid": "oc8c0fd71e03",
    "passwordsalt": "x7Qm/8pQ+wR4nE3a1LkT9sZ0fYcBd2",
    "secret": "A\\b'c",
    "trusted_domains": {0: "localhost", 1: "cloud.example.com"},
    "datadirectory": "/var/www/nextcloud/data",
    "dbtype": "pgsql",
    "version": "29.0.4.1",
    "overwrite.cli.url": "https://cloud.example.com",
    "dbname": "nextcloud",
    "dbhost": "localhost",
    "dbport": "",
    "dbtableprefix": "oc_",
    "installed": True,
    "maintenance": False,
    "loglevel": 2,
    "memcache.local": "\\OC\\Memcache\\APCu",
    "memcache.locking": "\\OC\\Memcache\\Redis",
    "redis": {"host": "/run/redis/redis-server.sock", "port": 0, "timeout": 1.5},
    "apps_paths": {0: {"path": "/var/www/nextcloud/apps", "url": "/apps", "writable": False}},
    "x": None,
    "ratio": 1.0,
    "big": 1e25,
    "negative": -7,
    "empty": {},
    "motd": "line one\nline two",
}

# A hand-edited config.php: comments, both array syntaxes, double quotes, odd numbers.
HAND_EDITED = r"""<?php
/**
 * Edited by hand -- see https://docs.nextcloud.com/server/latest/admin_manual/
 */
$CONFIG = [
  # instance identity
  'instanceid' => "oc8c0fd71e03",
  'trusted_domains' => [
    'localhost',            // auto index 0
    "cloud.example.com",    // auto index 1
    5 => 'five',
    'six',                  # continues after the largest int key
  ],
  "memcache.local" => '\OC\Memcache\APCu',
  'memcache.distributed' => "\\OC\\Memcache\\Redis",
  'redis' => array(
    'host' => 'localhost',
    'port' => 6379,
    'dbindex' => 0x0,
    'timeout' => .5,
  ),
  'mail_smtpport' => 0b1_1,   /* 3 */
  'filelocking.ttl' => 3_600,
  'upload_max' => 1e3,
  'drift' => -2.0,
  'perms' => 0o640,
  'legacy_perms' => 0640,
  'hex' => 0XFF,
  'debug' => FALSE,
  'installed' => True,
  'proxy' => NULL,
  "escapes" => "tab\there\nnew \"q\" \$x \x41\101\u{e9} \q",
  'single' => 'it\'s a \\ and a \n',
  '42' => 'string key that PHP turns into an int',
  '042' => 'stays a string',
];
?>
"""

HAND_EDITED_VALUE: PhpArray = {
    "instanceid": "oc8c0fd71e03",
    "trusted_domains": {0: "localhost", 1: "cloud.example.com", 5: "five", 6: "six"},
    "memcache.local": "\\OC\\Memcache\\APCu",
    "memcache.distributed": "\\OC\\Memcache\\Redis",
    "redis": {"host": "localhost", "port": 6379, "dbindex": 0, "timeout": 0.5},
    "mail_smtpport": 3,
    "filelocking.ttl": 3600,
    "upload_max": 1000.0,
    "drift": -2.0,
    "perms": 0o640,
    "legacy_perms": 0o640,
    "hex": 255,
    "debug": False,
    "installed": True,
    "proxy": None,
    "escapes": 'tab\there\nnew "q" $x AA\u00e9 \\q',
    "single": "it's a \\ and a \\n",
    42: "string key that PHP turns into an int",
    "042": "stays a string",
}


def _write_text(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def test_parse_nextcloud_written_file() -> None:
    config = parse(NEXTCLOUD_WRITTEN)
    assert config == NEXTCLOUD_WRITTEN_VALUE
    assert list(config) == list(NEXTCLOUD_WRITTEN_VALUE)
    assert isinstance(config["loglevel"], int)
    assert isinstance(config["ratio"], float)


def test_parse_hand_edited_file(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "config.php", HAND_EDITED)
    config = read(path)
    assert config == HAND_EDITED_VALUE
    assert list(config) == list(HAND_EDITED_VALUE)
    assert type(config["upload_max"]) is float
    assert type(config["debug"]) is bool


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("0", 0),
        ("-0", 0),
        ("42", 42),
        ("-42", -42),
        ("+42", 42),
        ("- -42", 42),
        ("1_000_000", 1_000_000),
        ("0x1F", 31),
        ("0X1f", 31),
        ("-0x10", -16),
        ("0b101", 5),
        ("0B1_1", 3),
        ("0o17", 15),
        ("017", 15),
        ("00", 0),
        ("9223372036854775807", 9223372036854775807),
        ("-9223372036854775807", -9223372036854775807),
        # PHP turns an integer literal that overflows into a float
        ("9223372036854775808", 9.223372036854775808e18),
        ("-9223372036854775808", -9.223372036854775808e18),
        ("0xFFFFFFFFFFFFFFFF", 1.8446744073709552e19),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("1.5e+3", 1500.0),
        ("-2.0", -2.0),
        ("1_0.2_5", 10.25),
        ("1.0E+25", 1e25),
    ],
)
def test_parse_numbers(literal: str, expected: int | float) -> None:
    value = parse(f"<?php $CONFIG = array('v' => {literal});")["v"]
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("false", False),
        ("FALSE", False),
        ("null", None),
        ("NULL", None),
        ("NuLl", None),
    ],
)
def test_parse_keywords(literal: str, expected: bool | None) -> None:
    assert parse(f"<?php\n$CONFIG = [ 'v' => {literal} ];\n") == {"v": expected}


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (r"'plain'", "plain"),
        (r"'it\'s'", "it's"),
        (r"'a\\b'", "a\\b"),
        (r"'\OC\Memcache\APCu'", "\\OC\\Memcache\\APCu"),
        (r"'no \n escape'", "no \\n escape"),
        (r"'trailing \\'", "trailing \\"),
        ("'multi\nline'", "multi\nline"),
        (r"'$not_a_variable'", "$not_a_variable"),
        (r'"\n\t\r\v\e\f"', "\n\t\r\v\x1b\f"),
        (r'"\\ \$ \""', '\\ $ "'),
        (r'"\101\60\7"', "A0\x07"),
        (r'"\477"', "?"),  # PHP keeps the low byte of an overflowing octal escape
        (r'"\x41\x4a\x4"', "AJ\x04"),
        (r'"\xZ"', "\\xZ"),
        (r'"\u{41}\u{e9}\u{1F600}"', "A\u00e9\U0001f600"),
        (r'"\u"', "\\u"),
        (r'"\q \{ \' \""', "\\q \\{ \\' \""),
        (r'"a $ b { } $1 ]"', "a $ b { } $1 ]"),
        (r'"caf\xc3\xa9"', "caf\u00e9"),
        ('"r\u00e9sum\u00e9"', "r\u00e9sum\u00e9"),
    ],
)
def test_parse_strings(literal: str, expected: str) -> None:
    assert parse(f"<?php\n$CONFIG = array ('v' => {literal});")["v"] == expected


def test_parse_keys_and_auto_index() -> None:
    source = """<?php
$CONFIG = [
  'a',                 // 0
  'b',                 // 1
  '5' => 'five',       // normalized to the int 5
  'c',                 // 6
  '-3' => 'minus',     // int -3
  '-0' => 'str -0',    // stays a string
  '07' => 'str 07',    // stays a string
  '9223372036854775808' => 'too big: stays a string',
  1 => 'B',            // overwrites 'b' in place
  'd',                 // 7
  "x" => 1,
  'x' => 2,            // a repeated key overwrites, keeping the first position
];
"""
    config = parse(source)
    assert config == {
        0: "a",
        1: "B",
        5: "five",
        6: "c",
        -3: "minus",
        "-0": "str -0",
        "07": "str 07",
        "9223372036854775808": "too big: stays a string",
        7: "d",
        "x": 2,
    }
    assert list(config) == [0, 1, 5, 6, -3, "-0", "07", "9223372036854775808", 7, "x"]


def test_auto_index_after_negative_keys() -> None:
    # PHP >= 8.3 (and what the 8.2 build used here does): the next key follows the largest int key.
    assert parse("<?php $CONFIG = [-5 => 'a', 'b'];") == {-5: "a", -4: "b"}
    assert parse("<?php $CONFIG = ['k' => 'a', 'b'];") == {"k": "a", 0: "b"}


@pytest.mark.parametrize(
    "source",
    [
        "<?php\n$CONFIG = array();",
        "<?php\n$CONFIG = array ( );\n?>",
        "<?php\n$CONFIG=[];",
        "<?PHP\n$CONFIG = [] ?>\n\n",
        "<?php\n;$CONFIG = [];;\n",
        "<?php $CONFIG = [] // a comment ?>\n",
        "<?php\r\n$CONFIG = array (\r\n);\r\n",
        "<?php\n$CONFIG = array('old' => 1);\n$CONFIG = array();\n",
    ],
)
def test_parse_empty_config_variants(source: str) -> None:
    assert parse(source) == {}


def test_parse_nested_mixed_syntax_and_trailing_commas() -> None:
    source = "<?php $CONFIG = array('a' => ['b' => array('c' => [1, 2,],),], 'd' => [[]],);"
    assert parse(source) == {"a": {"b": {"c": {0: 1, 1: 2}}}, "d": {0: {}}}


def test_parse_bytes_and_str_agree() -> None:
    assert parse(HAND_EDITED.encode("utf-8")) == parse(HAND_EDITED)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

SYNTAX_ERRORS = [
    # (source, line, reason)
    ("<?php\n$CONFIG = array(\n  'a' => getenv('X'),\n);\n", 3, "function calls are not supported"),
    ("<?php\n$CONFIG = array(\n  'a' => PHP_EOL,\n);\n", 3, "constants are not supported: 'PHP_EOL'"),
    ("<?php\n$CONFIG = array(\n  'a' => 'b' . 1,\n);\n", 3, "unexpected '1'"),
    ("<?php\n$CONFIG = array(\n  'a' => 1 + 2,\n);\n", 3, "unexpected '+'"),
    ("<?php\n$CONFIG = array();\n$CONFIG['x'] = 1;\n", 3, "unexpected '['"),
    ("<?php\n$CONFIG = array();\n\n$foo = 1;\n", 4, "only $CONFIG may be assigned, found '$foo'"),
    ("<?php\n$CONFIG = array();\necho 'hi';\n", 3, "unexpected 'echo'"),
    ("<?php\n$CONFIG = array(\n  'a' => \"x $y\",\n);\n", 3, "variables in double-quoted strings"),
    ("<?php\n$CONFIG = array(\n  'a' => \"x {$y}\",\n);\n", 3, "variables in double-quoted strings"),
    ("<?php\n$CONFIG = array(\n  'a' => 'abc,\n);\n", 3, "unterminated string"),
    ("<?php\n$CONFIG = array(\n\n  'a' => 08,\n);\n", 4, "invalid numeric literal '08'"),
    ("<?php\n$CONFIG = array(\n  'a' => 1abc,\n);\n", 3, "invalid numeric literal '1abc'"),
    ("<?php\n$CONFIG = array(\n  'a' => \"\\u{zz}\",\n);\n", 3, "invalid UTF-8 codepoint escape"),
    ("<?php\n$CONFIG = array(\n  'a' => \"\\u{110000}\",\n);\n", 3, "codepoint too large"),
    ("<?php\n#[Attribute]\n$CONFIG = array();\n", 2, "unexpected '#['"),
    ("<?php\n$CONFIG = [1,,2];\n", 2, "unexpected ','"),
    ("<?php\n$CONFIG = array(\n  'a' => 1\n  'b' => 2,\n);\n", 4, "unexpected string 'b'"),
    ("<?php\n$CONFIG = array(\n  'a' => 1,\n  'b' => 2,\n);\n'c' => 3,\n);\n", 6, "unexpected string 'c'"),
    ("<?php\n$CONFIG = array(\n  'a' => 1,\n)\n", 5, "unexpected end of file"),
    ("<?php\n$CONFIG = array(\n  'a' => 1,\n", 4, "unexpected end of file"),
    ("<?php\n$CONFIG = array(\n  'a' => 1,\n];\n", 4, "unexpected ']'"),
    ("<?php\n$CONFIG = [\n  'a' => 1,\n);\n", 4, "unexpected ')'"),
    ("<?php\n$CONFIG = [1.5 => 'x'];\n", 2, "array keys must be strings or integers"),
    ("<?php\n$CONFIG = [true => 'x'];\n", 2, "array keys must be strings or integers"),
    ("<?php\n$CONFIG = [\n  [] => 'x'];\n", 3, "array keys must be strings or integers"),
    ("<?php\n/* open\n$CONFIG = [];\n", 2, "unterminated comment"),
    ("<?php$CONFIG = [];", 1, "'<?php' must be followed by whitespace"),
    ("\n<?php\n$CONFIG = [];\n", 1, "unexpected content before '<?php'"),
    ("\ufeff<?php\n$CONFIG = [];\n", 1, "byte order mark"),
    ("", 1, "does not start with '<?php'"),
    ("<?\n$CONFIG = [];\n", 1, "does not start with '<?php'"),
    ("<?php\n$CONFIG = [];\n?>\nhello\n", 4, "unexpected content after '?>'"),
    ("<?php\n$CONFIG = [-'a'];\n", 2, "unexpected string 'a'"),
    ("<?php\n$CONFIG = [(1)];\n", 2, "unexpected '('"),
    ("<?php\n$CONFIG = [<<<EOT\nx\nEOT\n];\n", 2, "unexpected '<<<'"),
    ("<?php\n$CONFIG = [9223372036854775807 => 1, 2];\n", 2, "next array index is already occupied"),
    ("<?php\n$CONFIG = " + "[" * 300 + "]" * 300 + ";\n", 2, "nested too deeply"),
    ("<?php\r\n$CONFIG = array (\r\n  'a' => 1,\r\n  'b' => FOO,\r\n);\r\n", 4, "'FOO'"),
    ("<?php\r$CONFIG = array (\r  'b' => FOO,\r);\r", 3, "'FOO'"),
]


@pytest.mark.parametrize(("source", "line", "reason"), SYNTAX_ERRORS)
def test_syntax_errors_name_file_and_line(tmp_path: Path, source: str, line: int, reason: str) -> None:
    path = _write_text(tmp_path / "config.php", source)
    with pytest.raises(PhpConfigError) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(f"Syntax error in {path} on line {line}: "), message
    assert reason in message
    assert "\n" not in message
    assert info.value.filename == str(path)
    assert info.value.line == line


def test_bytes_that_are_not_utf8_read_and_write_back_unchanged(tmp_path: Path) -> None:
    """PHP strings are bytes: Nextcloud writes a Latin-1 value as it is, and so must we."""
    path = tmp_path / "config.php"
    source = b"<?php\n$CONFIG = array (\n  'a' => 'caf\xe9',\n  'caf\xe9' => 1,\n);\n"
    path.write_bytes(source)
    config = read(path)
    assert config == {"a": "caf\udce9", "caf\udce9": 1}
    write(path, config)
    assert path.read_bytes() == source


def test_escapes_producing_bytes_that_are_not_utf8() -> None:
    config = parse("<?php\n$CONFIG = ['a' => \"\\xff\\xc3\\xa9\"];", "config.php")
    assert config == {"a": "\udcffé"}
    written = dump(config).encode("utf-8", "surrogateescape")
    assert written == b"<?php\n$CONFIG = array (\n  'a' => '\xff\xc3\xa9',\n);\n"


def test_nul_bytes_are_written_as_var_export_writes_them_and_read_back(tmp_path: Path) -> None:
    config: PhpArray = {"a\0b": "x\0\0y", "n": "\0", "q": "it's \\ \0"}
    text = dump(config)
    assert "  'a' . \"\\0\" . 'b' => 'x' . \"\\0\" . '' . \"\\0\" . 'y',\n" in text
    assert "  'n' => '' . \"\\0\" . '',\n" in text
    write(tmp_path / "config.php", config)
    assert read(tmp_path / "config.php") == config


def test_config_must_be_assigned_an_array(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "config.php", "<?php\n// nothing\n\n$CONFIG =\n  'not an array';\n")
    with pytest.raises(PhpConfigError) as info:
        read(path)
    assert str(info.value) == f"Invalid config in {path} on line 5: $CONFIG is not an array"

    path = _write_text(tmp_path / "config.php", "<?php\n// only a comment\n")
    with pytest.raises(PhpConfigError, match=r"on line 3: the file does not assign \$CONFIG$"):
        read(path)


def test_parse_uses_filename_in_messages() -> None:
    with pytest.raises(PhpConfigError, match=r"^Syntax error in <string> on line 1: "):
        parse("<?php $CONFIG = [;")
    with pytest.raises(PhpConfigError, match=r"^Syntax error in /etc/nc/config\.php on line 1: "):
        parse("<?php $CONFIG = [;", "/etc/nc/config.php")


def test_read_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read(tmp_path / "nope.php")


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def test_dump_is_byte_exact_nextcloud_layout() -> None:
    assert dump(NEXTCLOUD_WRITTEN_VALUE) == NEXTCLOUD_WRITTEN


def test_dump_brief_example() -> None:
    config: PhpArray = {
        "instanceid": "oc8c0fd71e03",
        "trusted_domains": {0: "localhost", 1: "cloud.example.com"},
        "dbport": "",
        "installed": True,
        "maintenance": False,
        "loglevel": 2,
        "x": None,
        "ratio": 1.5,
    }
    assert dump(config) == (
        "<?php\n"
        "$CONFIG = array (\n"
        "  'instanceid' => 'oc8c0fd71e03',\n"
        "  'trusted_domains' => \n"
        "  array (\n"
        "    0 => 'localhost',\n"
        "    1 => 'cloud.example.com',\n"
        "  ),\n"
        "  'dbport' => '',\n"
        "  'installed' => true,\n"
        "  'maintenance' => false,\n"
        "  'loglevel' => 2,\n"
        "  'x' => NULL,\n"
        "  'ratio' => 1.5,\n"
        ");\n"
    )


def test_dump_empty_and_deeply_indented_arrays() -> None:
    assert dump({}) == "<?php\n$CONFIG = array (\n);\n"
    assert dump({"a": {"b": {}}, -1: {5: "x"}, "k'\\": 0}) == (
        "<?php\n"
        "$CONFIG = array (\n"
        "  'a' => \n"
        "  array (\n"
        "    'b' => \n"
        "    array (\n"
        "    ),\n"
        "  ),\n"
        "  -1 => \n"
        "  array (\n"
        "    5 => 'x',\n"
        "  ),\n"
        "  'k\\'\\\\' => 0,\n"
        ");\n"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    # Each checked against PHP 8.2's var_export.
    [
        (1.0, "1.0"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.5, "1.5"),
        (-2.5, "-2.5"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (100000.0, "100000.0"),
        (1e15, "1000000000000000.0"),
        (1e17, "1.0E+17"),
        (1e25, "1.0E+25"),
        (123456789012345678.0, "1.2345678901234568E+17"),
        (0.0001, "0.0001"),
        (1e-5, "1.0E-5"),
        (-1.5e-7, "-1.5E-7"),
        (2.5e-300, "2.5E-300"),
        (9.223372036854775808e18, "9.223372036854776E+18"),
    ],
)
def test_dump_floats_like_php8(value: float, text: str) -> None:
    assert dump({"f": value}) == f"<?php\n$CONFIG = array (\n  'f' => {text},\n);\n"
    assert parse(dump({"f": value}))["f"] == value


def test_dump_integers_at_the_limits() -> None:
    text = dump({"max": 2**63 - 1, "min": -(2**63) + 1})
    assert "'max' => 9223372036854775807," in text
    assert "'min' => -9223372036854775807," in text


def test_dump_normalizes_integer_like_string_keys() -> None:
    assert dump({"5": "a", "05": "b"}) == "<?php\n$CONFIG = array (\n  5 => 'a',\n  '05' => 'b',\n);\n"


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"a": {"b": [1, 2]}}, r"\$CONFIG\['a'\]\['b'\]: values of type list are not supported"),
        ({"a": {1, 2}}, "values of type set are not supported"),
        ({"a": b"bytes"}, "values of type bytes are not supported"),
        ({"a": object()}, "values of type object are not supported"),
        ({"a": math.inf}, "is not a finite number"),
        ({"a": math.nan}, "is not a finite number"),
        ({"a": 2**63}, "out of PHP's integer range"),
        ({"a": -(2**63)}, "out of PHP's integer range"),
        ({2**64: 1}, "out of PHP's integer range"),
        ({5: "a", "5": "b"}, "are the same in PHP"),
        ({True: "a"}, "is not a string or an integer"),
        ({1.5: "a"}, "is not a string or an integer"),
        ({"a": "\ud800"}, "not valid Unicode"),
    ],
)
def test_dump_rejects_values_php_cannot_hold(config: dict[Any, Any], reason: str) -> None:
    with pytest.raises(PhpConfigError, match=reason):
        dump(config)


def test_dump_rejects_cycles_and_non_arrays() -> None:
    config: dict[Any, Any] = {"a": {}}
    config["a"]["self"] = config
    with pytest.raises(PhpConfigError, match="contains itself"):
        dump(config)
    with pytest.raises(PhpConfigError, match="must be an array"):
        dump(["not", "a", "dict"])  # type: ignore[arg-type]


def test_dump_shared_subarray_is_not_a_cycle() -> None:
    shared: PhpArray = {"x": 1}
    assert parse(dump({"a": shared, "b": shared})) == {"a": {"x": 1}, "b": {"x": 1}}


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------


@pytest.mark.parametrize("config", [NEXTCLOUD_WRITTEN_VALUE, HAND_EDITED_VALUE, {}])
def test_round_trip(config: PhpArray) -> None:
    text = dump(config)
    assert parse(text) == config
    assert dump(parse(text)) == text


def test_hand_edited_file_is_rewritten_in_nextcloud_layout() -> None:
    text = dump(parse(HAND_EDITED))
    assert "#" not in text and "[" not in text.replace("\\[", "")
    assert "  'redis' => \n  array (\n    'host' => 'localhost',\n" in text
    assert "  42 => 'string key that PHP turns into an int',\n" in text
    assert "  'memcache.local' => '\\\\OC\\\\Memcache\\\\APCu',\n" in text


# PHP strings are bytes: text, and any bytes at all (kept as surrogateescape does).
_strings = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.binary(max_size=12).map(lambda data: data.decode("utf-8", "surrogateescape")),
)
_keys = st.one_of(
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
    _strings.filter(lambda key: re.fullmatch(r"-?[1-9][0-9]*|0", key) is None),  # PHP would make these int keys
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    _strings,
)
_values: st.SearchStrategy[PhpValue] = st.recursive(
    _scalars, lambda children: st.dictionaries(_keys, children, max_size=5), max_leaves=30
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=8))
def test_round_trip_property(config: PhpArray) -> None:
    text = dump(config)
    parsed = parse(text)
    assert parsed == config
    assert dump(parsed) == text


# --------------------------------------------------------------------------
# File I/O
# --------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_creates_file_with_mode_0640(tmp_path: Path) -> None:
    path = tmp_path / "config.php"
    old_umask = os.umask(0o077)
    try:
        write(path, NEXTCLOUD_WRITTEN_VALUE)
    finally:
        os.umask(old_umask)
    assert path.read_text("utf-8") == NEXTCLOUD_WRITTEN
    assert _mode(path) == 0o640
    assert read(path) == NEXTCLOUD_WRITTEN_VALUE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.php"]


def test_write_replaces_existing_file_and_resets_mode(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "config.php", HAND_EDITED)
    path.chmod(0o666)
    inode = path.stat().st_ino
    write(path, {"installed": True})
    assert path.read_text("utf-8") == "<?php\n$CONFIG = array (\n  'installed' => true,\n);\n"
    assert _mode(path) == 0o640
    assert path.stat().st_ino != inode  # replaced by rename, not rewritten in place


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_write_as_root_keeps_owner_and_group(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "config.php", NEXTCLOUD_WRITTEN)
    os.chown(path, 33, 4321)
    write(path, {"installed": True})
    info = path.stat()
    assert (info.st_uid, info.st_gid) == (33, 4321)
    assert _mode(path) == 0o640


def test_write_follows_symlink(tmp_path: Path) -> None:
    real_dir = tmp_path / "etc"
    real_dir.mkdir()
    real = _write_text(real_dir / "config.php", NEXTCLOUD_WRITTEN)
    link = tmp_path / "config.php"
    link.symlink_to(real)
    write(link, {"a": 1})
    assert link.is_symlink()
    assert read(real) == {"a": 1}
    assert sorted(p.name for p in real_dir.iterdir()) == ["config.php"]


@pytest.mark.parametrize(
    "bad_value",
    [
        "lone surrogate \ud800",
        ["a", "list"],
        object(),
        float("nan"),
    ],
)
def test_write_failure_in_dump_leaves_original_untouched(tmp_path: Path, bad_value: object) -> None:
    path = _write_text(tmp_path / "config.php", NEXTCLOUD_WRITTEN)
    path.chmod(0o600)
    config: dict[Any, Any] = dict(NEXTCLOUD_WRITTEN_VALUE)
    config["redis"] = {"host": bad_value}
    with pytest.raises(PhpConfigError, match=r"\$CONFIG\['redis'\]\['host'\]"):
        write(path, config)
    assert path.read_text("utf-8") == NEXTCLOUD_WRITTEN
    assert _mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.php"]


@pytest.mark.parametrize("failing", ["replace", "fsync", "fchmod"])
def test_write_failure_on_disk_leaves_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = _write_text(tmp_path / "config.php", NEXTCLOUD_WRITTEN)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        write(path, {"installed": False})
    monkeypatch.undo()
    assert path.read_text("utf-8") == NEXTCLOUD_WRITTEN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.php"]


def test_write_fsyncs_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write(tmp_path / "config.php", {"a": 1})
    assert synced == ["file", "dir"]


def test_unknown_keys_survive_a_read_modify_write(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "config.php", HAND_EDITED)
    config = read(path)
    config["maintenance"] = True
    redis = config["redis"]
    assert isinstance(redis, dict)
    redis["password"] = "s3cr'et"
    write(path, config)

    again = read(path)
    expected = dict(HAND_EDITED_VALUE)
    expected["maintenance"] = True
    expected["redis"] = {**HAND_EDITED_VALUE["redis"], "password": "s3cr'et"}  # type: ignore[dict-item]
    assert again == expected
    assert list(again) == [*HAND_EDITED_VALUE, "maintenance"]
    assert path.read_text("utf-8") == dump(expected)


# --------------------------------------------------------------------------
# Cross-check against a real PHP, where one is installed
# --------------------------------------------------------------------------

PHP = shutil.which("php")

_PHP_EXPORT = 'include $argv[1]; echo "<?php\\n\\$CONFIG = " . var_export($CONFIG, true) . ";\\n";'


@pytest.mark.skipif(PHP is None, reason="php is not installed")
@pytest.mark.parametrize("source", [NEXTCLOUD_WRITTEN, HAND_EDITED])
def test_matches_php_var_export(tmp_path: Path, source: str) -> None:
    assert PHP is not None
    path = _write_text(tmp_path / "config.php", source)
    result = subprocess.run([PHP, "-r", _PHP_EXPORT, str(path)], capture_output=True, check=True)
    assert result.stderr == b""
    assert dump(read(path)).encode("utf-8") == result.stdout
