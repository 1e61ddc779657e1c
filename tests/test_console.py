"""occ's console conventions as Nextcloud's Symfony console has them: list and help in Symfony's
layouts and formats, abbreviated command names, global options, -V, and shell completion."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import click
import pytest

from conftest import InstalledInstance, run_occ
from ncpasswords.cli import symfony
from ncpasswords.cli.console import console
from ncpasswords.cli.main import application, occ
from ncpasswords.cli.symfony import Application, Command
from ncpasswords.instance import phpconfig
from ncpasswords.instance.install import InstallOptions, install
from ncpasswords.instance.version import versionstring
from test_user_cmds import add_nextcloud_tables, seed

VERSION = versionstring({})
OPTIONS_TABLE = (
    "Options:\n"
    "  -h, --help            Display help for the given command. When no command is given display help for the list "
    "command\n"
    "  -q, --quiet           Do not output any message\n"
    "  -V, --version         Display this application version\n"
    "      --ansi|--no-ansi  Force (or disable --no-ansi) ANSI output\n"
    "  -n, --no-interaction  Do not ask any interactive question\n"
    "      --no-warnings     Skip global warnings, show command output only\n"
    "  -v|vv|vvv, --verbose  Increase the verbosity of messages: 1 for normal output, 2 for more verbose output and 3 "
    "for debug\n"
)
GLOBAL_OPTIONS = ["help", "quiet", "verbose", "version", "ansi", "no-ansi", "no-interaction", "no-warnings"]


def visible_names() -> list[str]:
    """The visible command names in Symfony's list order: global ones, then by namespace."""
    names = [n for n, c in occ.commands.items() if not c.hidden]
    return sorted(n for n in names if ":" not in n) + sorted(n for n in names if ":" in n)


@pytest.fixture
def sqlite_instance(tmp_path: Path) -> Path:
    """The config folder of an installed SQLite instance (for commands that need no server)."""
    config = tmp_path / "config"
    install(InstallOptions(database="sqlite", data_dir=str(tmp_path / "data")), config / "config.php")
    return config


def backups_of(config: Path) -> Path:
    """The app's manual backups folder, created with one file in each of both folders."""
    values = phpconfig.read(config / "config.php")
    root = Path(str(values["datadirectory"])) / f"appdata_{values['instanceid']}" / "passwords"
    for folder, name in (("backups", "first.json.gz"), ("backups", "second.json"), ("autoBackups", "auto-1.json.gz")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_bytes(b"{}")
    return root


# -- list -------------------------------------------------------------------------------------------


def test_bare_occ_prints_the_list_and_exits_0(tmp_path: Path) -> None:
    bare = run_occ(tmp_path / "none")
    assert bare.returncode == 0 and bare.stderr == ""
    assert bare.stdout == run_occ(tmp_path / "none", "list").stdout
    head = f"Nextcloud {VERSION}\n\nUsage:\n  command [options] [arguments]\n\n{OPTIONS_TABLE}\nAvailable commands:\n"
    assert bare.stdout.startswith(head)
    body = bare.stdout[len(head) :].splitlines()
    listed = [line.split()[0] for line in body if line.startswith("  ")]
    assert listed == visible_names() and "_complete" not in listed
    # A header per namespace (one space in), before its commands; the global commands have none.
    headers = [line.strip() for line in body if re.fullmatch(r" \S+", line)]
    assert headers == sorted({n.split(":")[0] for n in listed if ":" in n})
    assert body.index(" passwords") < body.index(next(b for b in body if b.startswith("  passwords:")))
    width = max(len(n) for n in listed) + 2
    assert "  " + "passwords:backup:list".ljust(width) + "Print a list of the available backups" in body


def test_list_of_a_namespace_raw_and_errors(tmp_path: Path) -> None:
    result = run_occ(tmp_path, "list", "passwords:backup")
    assert result.returncode == 0
    tail = result.stdout.split('Available commands for the "passwords:backup" namespace:\n')[1]
    assert [line.split()[0] for line in tail.splitlines()] == [
        "passwords:backup:create",
        "passwords:backup:delete",
        "passwords:backup:export",
        "passwords:backup:import",
        "passwords:backup:list",
        "passwords:backup:restore",
        "passwords:backup:verify",
    ]
    raw = run_occ(tmp_path, "list", "--raw")
    width = max(len(n) for n in visible_names()) + 2
    assert raw.stdout.splitlines() == [
        f"{n.ljust(width)} {Command.of(n, occ.commands[n]).description}" for n in visible_names()
    ]
    missing = run_occ(tmp_path, "list", "passwords:bakup")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith(
        'There are no commands defined in the "passwords:bakup" namespace.\n\n'
        "Did you mean one of these?\n    passwords\n    passwords:backup\n"
    )
    # Symfony's namespace search is a prefix search over every (sub-)namespace.
    ambiguous = run_occ(tmp_path, "list", "pass")
    assert ambiguous.returncode == 1
    assert ambiguous.stderr.startswith(
        'The namespace "pass" is ambiguous.\nDid you mean one of these?\n    passwords\n'
    )
    unsupported = run_occ(tmp_path, "list", "--format=yaml")
    assert (unsupported.returncode, unsupported.stderr) == (1, 'Unsupported format "yaml".\n')


def test_list_json_has_symfonys_structure(tmp_path: Path) -> None:
    result = run_occ(tmp_path, "list", "--format=json")
    assert result.returncode == 0 and not result.stdout.endswith("\n")  # Symfony writes no newline
    data = json.loads(result.stdout)
    assert list(data) == ["application", "commands", "namespaces"]
    assert data["application"] == {"name": "Nextcloud", "version": VERSION}
    # Hidden commands too (as JsonDescriptor lists them), global ones first, then by namespace.
    names = [c["name"] for c in data["commands"]]
    assert names == sorted(n for n in occ.commands if ":" not in n) + sorted(n for n in occ.commands if ":" in n)
    assert data["namespaces"][0] == {"id": "_global", "commands": [n for n in names if ":" not in n]}
    assert [n["id"] for n in data["namespaces"][1:]] == sorted({n.split(":")[0] for n in names if ":" in n})
    for command in data["commands"]:
        assert list(command) == ["name", "description", "usage", "help", "definition", "hidden"]
        assert command["description"], command["name"]  # every command has a description line
        assert list(command["definition"]) == ["arguments", "options"]
        assert list(command["definition"]["options"])[-len(GLOBAL_OPTIONS) :] == GLOBAL_OPTIONS
        for argument in (command["definition"]["arguments"] or {}).values():
            assert list(argument) == ["name", "is_required", "is_array", "description", "default"]
            assert argument["description"], (command["name"], argument["name"])
        for option in command["definition"]["options"].values():
            assert list(option) == [
                "name",
                "shortcut",
                "accept_value",
                "is_value_required",
                "is_multiple",
                "description",
                "default",
            ]
            assert option["description"], (command["name"], option["name"])
    restore = next(c for c in data["commands"] if c["name"] == "passwords:backup:restore")
    flag = {"accept_value": False, "is_value_required": False, "is_multiple": False, "default": False}
    assert restore["usage"] == [
        "passwords:backup:restore [-u|--user [USER]] [--no-data] [--no-user-settings] [--no-app-settings] "
        "[--repair] [--dry-run] [--output [OUTPUT]] [--] <name>"
    ]
    assert restore["help"] == "Restores a backup" and restore["hidden"] is False
    assert restore["definition"]["arguments"] == {
        "name": {
            "name": "name",
            "is_required": True,
            "is_array": False,
            "description": "The name of the backup",
            "default": None,
        }
    }
    options = restore["definition"]["options"]
    assert options["user"] == {
        "name": "--user",
        "shortcut": "-u",
        "accept_value": True,
        "is_value_required": False,
        "is_multiple": False,
        "description": "Restore data only for this user",
        "default": None,
    }
    assert options["no-data"] == {
        "name": "--no-data",
        "shortcut": "",
        "description": "Do not restore user data and encryption keys",
        **flag,
    }
    assert options["verbose"]["shortcut"] == "-v|-vv|-vvv"
    assert options["ansi"] == {
        "name": "--ansi",
        "shortcut": "",
        "accept_value": False,
        "is_value_required": False,
        "is_multiple": False,
        "description": "Force (or disable --no-ansi) ANSI output",
        "default": None,
    }
    assert options["no-ansi"] == {
        "name": "--no-ansi",
        "shortcut": "",
        "description": 'Negate the "--ansi" option',
        **flag,
    }
    assert options["help"]["description"].endswith("display help for the <info>list</info> command")
    hidden = next(c for c in data["commands"] if c["name"] == "_complete")
    assert hidden["hidden"] is True and "input" in hidden["definition"]["options"]
    assert hidden["definition"]["options"]["input"]["is_multiple"] is True
    # PHP's json_encode: `[]` for no arguments, escaped slashes.
    assert '"name":"passwords:backup:list","description":"Print a list of the available backups"' in result.stdout
    assert '"definition":{"arguments":[],"options":{"details":' in result.stdout
    assert "\\/etc\\/bash_completion.d\\/occ" in result.stdout
    one = json.loads(run_occ(tmp_path, "list", "passwords:user", "--format=json", "--short").stdout)
    assert one["namespace"] == "passwords:user" and "namespaces" not in one
    assert one["commands"] == [
        {
            "name": "passwords:user:delete",
            "description": "Deletes the passwords app data of a user",
            "usage": [],
            "hidden": False,
        },
        {
            "name": "passwords:user:move",
            "description": "Moves all data from one user account to another",
            "usage": [],
            "hidden": False,
        },
    ]


def test_list_xml_and_md(tmp_path: Path) -> None:
    xml = run_occ(tmp_path, "list", "--format=xml").stdout
    assert xml.startswith(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<symfony name="Nextcloud" version="{VERSION}">\n'
        '  <commands>\n    <command id="_complete" name="_complete" hidden="1">\n      <usages>\n'
        "        <usage>_complete [-s|--shell SHELL] [-i|--input INPUT] [-c|--current CURRENT] "
        "[-a|--api-version API-VERSION] [-S|--symfony SYMFONY]</usage>\n      </usages>\n"
    )
    root = ET.fromstring(xml)
    commands = root.find("commands")
    assert commands is not None
    restore = next(c for c in commands if c.get("id") == "passwords:backup:restore")
    assert [child.tag for child in restore] == ["usages", "description", "help", "arguments", "options"]
    assert restore.get("hidden") == "0" and restore.findtext("description") == "Restores a backup"
    options = {o.get("name"): o for o in restore.iter("option")}
    user = options["--user"]
    assert dict(user.attrib) == {
        "name": "--user",
        "shortcut": "-u",
        "accept_value": "1",
        "is_value_required": "0",
        "is_multiple": "0",
    }
    assert [child.tag for child in user] == ["description", "defaults"] and len(user.find("defaults") or []) == 0
    assert options["--verbose"].get("shortcut") == "-v" and options["--verbose"].get("shortcuts") == "-v|-vv|-vvv"
    names = [o.get("name") for o in restore.iter("option")]
    assert names[names.index("--ansi") + 1] == "--no-ansi"
    assert "\n      <arguments/>\n" in xml  # an empty element closes itself
    assert (
        "<description>Display help for the given command. When no command is given display help for the "
        "&lt;info&gt;list&lt;/info&gt; command</description>" in xml
    )
    namespaces = root.find("namespaces")
    assert namespaces is not None and next(n.get("id") for n in namespaces) == "_global"

    md = run_occ(tmp_path, "list", "--format=md").stdout
    title = f"Nextcloud {VERSION}"
    assert md.startswith(f"{title}\n{'=' * len(title)}\n\n* [`completion`](#completion)\n* [`help`](#help)\n")
    assert "\n\n**passwords:**\n\n* [`passwords:backup:create`](#passwordsbackupcreate)\n" in md
    assert (
        "`passwords:backup:restore`\n--------------------------\n\nRestores a backup\n\n### Usage\n\n"
        "* `passwords:backup:restore [-u|--user [USER]] [--no-data] [--no-user-settings] [--no-app-settings] "
        "[--repair] [--dry-run] [--output [OUTPUT]] [--] <name>`\n\nRestores a backup\n\n### Arguments\n\n"
        "#### `name`\n\nThe name of the backup\n\n"
        "* Is required: yes\n* Is array: no\n* Default: `NULL`\n\n### Options\n\n#### `--user|-u`\n\n"
        "Restore data only for this user\n\n* Accept value: yes\n* Is value required: no\n* Is multiple: no\n"
        "* Is negatable: no\n* Default: `NULL`"
    ) in md
    assert "#### `--ansi|--no-ansi`\n\nForce (or disable --no-ansi) ANSI output\n\n" in md
    assert "_complete" not in md


# -- help -------------------------------------------------------------------------------------------


DELETE_HELP = f"""Description:
  Delete a manually created backup file

Usage:
  passwords:backup:delete <name>

Arguments:
  name                  The backup to delete

{OPTIONS_TABLE}"""


def test_help_in_symfonys_layout(tmp_path: Path) -> None:
    result = run_occ(tmp_path, "help", "passwords:backup:delete")
    assert (result.returncode, result.stdout, result.stderr) == (0, DELETE_HELP, "")
    assert run_occ(tmp_path, "passwords:backup:delete", "--help").stdout == DELETE_HELP
    assert run_occ(tmp_path, "-h", "pass:backup:del").stdout == DELETE_HELP
    # Options before the global ones, `[default: ...]` for values, a Help section for the rest.
    listing = run_occ(tmp_path, "help", "list").stdout
    assert listing.startswith(
        "Description:\n  List commands\n\nUsage:\n  list [options] [--] [<namespace>]\n\n"
        "Arguments:\n  namespace             The namespace name\n\nOptions:\n"
        "      --raw             To output raw command list\n"
        '      --format=FORMAT   The output format (txt, xml, json, or md) [default: "txt"]\n'
        "      --short           To skip describing commands' arguments\n"
        "  -h, --help            Display help"
    )
    assert "\nHelp:\n  Lists every command, grouped by namespace;" in listing
    assert "\n  (`occ list passwords:backup`)." in listing
    assert run_occ(tmp_path, "--help").stdout == listing  # no command: the help of list
    assert run_occ(tmp_path, "help").stdout.startswith(
        "Description:\n  Display help for a command\n\nUsage:\n  help [options] [--] [<command_name>]\n"
    )
    report = run_occ(tmp_path, "help", "passwords:system:report").stdout
    assert "\n  sections" + " " * 15 + "Only print the given section(s)\n" in report
    assert (
        "      --output[=OUTPUT]  Output format (plain, json or json_pretty, default is plain) "
        '[default: "json_pretty"]\n' in report
    )
    as_json = json.loads(run_occ(tmp_path, "status", "--help", "--format=json").stdout)
    assert as_json["name"] == "status" and as_json["usage"] == ["status [--output [OUTPUT]] [-e|--exit-code]"]
    # --help ignores whatever else the line holds, as Symfony's help command does.
    assert run_occ(tmp_path, "passwords:backup:delete", "--bogus", "-h").stdout == DELETE_HELP


def test_every_command_describes_itself() -> None:
    for name, command in application().commands.items():
        assert command.description and "\n" not in command.description, name
        for argument in command.definition.arguments:
            assert argument.description, (name, argument.name)
        for option in command.definition.visible().options:
            assert option.description, (name, option.name)


# -- finding commands -------------------------------------------------------------------------------


def test_abbreviated_names_run_the_command(sqlite_instance: Path) -> None:
    full = run_occ(sqlite_instance, "config:system:get", "datadirectory")
    assert full.returncode == 0 and full.stdout.strip().endswith("data")
    for abbreviation in ("conf:sys:get", "c:s:g", "CONF:SYS:GET"):
        assert run_occ(sqlite_instance, abbreviation, "datadirectory").stdout == full.stdout, abbreviation
    backups_of(sqlite_instance)
    listed = run_occ(sqlite_instance, "pass:backup:li")
    assert listed.returncode == 0 and "first" in listed.stdout and "auto-1" in listed.stdout
    assert run_occ(sqlite_instance, "help", "pass:backup:li").stdout.startswith(
        "Description:\n  Print a list of the available backups\n"
    )


def test_ambiguous_and_unknown_names(tmp_path: Path) -> None:
    ambiguous = run_occ(tmp_path, "pass:backup:")
    assert ambiguous.returncode == 1 and ambiguous.stdout == ""
    lines = ambiguous.stderr.splitlines()
    assert lines[:2] == ['Command "pass:backup:" is ambiguous.', "Did you mean one of these?"]
    assert [line.split()[0] for line in lines[2:]] == [  # in registration order, as Symfony lists them
        "passwords:backup:create",
        "passwords:backup:list",
        "passwords:backup:restore",
        "passwords:backup:export",
        "passwords:backup:import",
        "passwords:backup:delete",
        "passwords:backup:verify",
    ]
    assert lines[2] == "    passwords:backup:create  Create a new backup of the password database"
    assert lines[-2] == "    passwords:backup:delete  Delete a manually created backup file"

    unknown = run_occ(tmp_path, "stauts")
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr == 'Command "stauts" is not defined.\n\nDid you mean this?\n    status\n'
    nothing_close = run_occ(tmp_path, "xyzzy")
    assert nothing_close.stderr == 'Command "xyzzy" is not defined.\n'
    namespace = run_occ(tmp_path, "passwords:bakup:list")
    assert namespace.returncode == 1
    assert namespace.stderr.startswith(
        'There are no commands defined in the "passwords:bakup" namespace.\n\nDid you mean one of these?\n'
    )
    # A namespace is not a command: Symfony shows the namespace's list on stderr and exits 1.
    only_namespace = run_occ(tmp_path, "passwords:user")
    assert (only_namespace.returncode, only_namespace.stdout) == (1, "")
    assert 'Available commands for the "passwords:user" namespace:' in only_namespace.stderr
    assert "  passwords:user:move" in only_namespace.stderr
    hidden = run_occ(tmp_path, "_compl")
    assert (hidden.returncode, hidden.stderr) == (1, 'The command "_compl" does not exist.\n')


def test_one_close_name_is_offered_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(symfony, "_stdin_is_terminal", lambda: True)
    yes = run_occ(tmp_path / "none", "stauts", "--output=json", input="y\n")
    assert yes.returncode == 0 and '"installed":false' in yes.stdout
    assert yes.stderr.startswith('Command "stauts" is not defined.')
    no = run_occ(tmp_path / "none", "stauts", input="\n")
    assert no.returncode == 1 and "installed" not in no.stdout
    quiet = run_occ(tmp_path / "none", "stauts", "-n", input="y\n")  # no questions with -n
    assert quiet.returncode == 1 and "Did you mean this?" in quiet.stderr


# -- options ----------------------------------------------------------------------------------------


def probe_application() -> tuple[Application, list[dict[str, Any]]]:
    """An application with one command that records what the global options set."""
    seen: list[dict[str, Any]] = []

    @click.command("probe")
    @click.option("-d", "--details", is_flag=True, help="A flag")
    @click.option("-u", "--user", is_flag=False, flag_value="", default=None, help="An optional value")
    @click.argument("names", nargs=-1, help="Names")
    def probe(details: bool, user: str | None, names: tuple[str, ...]) -> None:
        """Record the console"""
        con = console()
        seen.append(
            {
                "quiet": con.quiet,
                "no_interaction": con.no_interaction,
                "verbosity": con.verbosity,
                "decorated": con.decorated,
                "details": details,
                "user": user,
                "names": list(names),
            }
        )

    return Application({"probe": probe}, version=lambda: "1.2.3"), seen


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("-nq", {"quiet": True, "no_interaction": True}),
        ("-qn", {"quiet": True, "no_interaction": True}),
        ("-vvv", {"verbosity": 3}),
        ("-vv -n", {"verbosity": 2, "no_interaction": True}),
        ("-v --no-ansi", {"verbosity": 1}),
        ("--ansi", {"decorated": True}),
        ("-dn", {"details": True, "no_interaction": True}),
        ("-nd -ualice", {"details": True, "no_interaction": True, "user": "alice"}),
        ("-u -- -n x", {"user": "", "names": ["-n", "x"]}),
        ("-u bob x", {"user": "bob", "names": ["x"]}),
        ("x --user= y", {"user": "", "names": ["x", "y"]}),
    ],
)
def test_short_options_combine_and_options_go_anywhere(line: str, expected: dict[str, Any]) -> None:
    from ncpasswords.cli.console import Console

    app, seen = probe_application()
    assert app.run(["probe", *line.split()], Console()) == 0
    defaults = {
        "quiet": False,
        "no_interaction": False,
        "verbosity": 0,
        "decorated": False,
        "details": False,
        "user": None,
        "names": [],
    }
    assert seen == [defaults | expected]


@pytest.mark.parametrize(
    ("args", "message", "synopsis"),
    [
        (["status", "--bogus"], 'The "--bogus" option does not exist.', "status [--output [OUTPUT]] [-e|--exit-code]"),
        (["status", "-x"], 'The "-x" option does not exist.', "status [--output [OUTPUT]] [-e|--exit-code]"),
        (["passwords:backup:list", "-dx"], 'The "-x" option does not exist.', "passwords:backup:list [-d|--details]"),
        (
            ["passwords:backup:list", "--details=1"],
            'The "--details" option does not accept a value.',
            "passwords:backup:list [-d|--details]",
        ),
        (
            ["passwords:backup:list", "extra"],
            'No arguments expected for "passwords:backup:list" command, got "extra".',
            "passwords:backup:list [-d|--details]",
        ),
        (["passwords:user:delete"], 'Not enough arguments (missing: "user").', "passwords:user:delete <user>"),
        (
            ["passwords:user:move", "a", "b", "c"],
            'Too many arguments to "passwords:user:move" command, expected arguments "source_user" "target_user".',
            "passwords:user:move <source_user> <target_user>",
        ),
        (["config:app:set", "passwords", "key", "--value"], 'The "--value" option requires a value.', None),
        (["status", "--verbose=2"], 'The "--verbose" option does not accept a value.', None),
    ],
)
def test_invalid_lines_fail_with_symfonys_message(
    tmp_path: Path, args: list[str], message: str, synopsis: str | None
) -> None:
    result = run_occ(tmp_path, *args)
    assert (result.returncode, result.stdout) == (1, "")
    lines = result.stderr.splitlines()
    assert lines[0] == message and "Traceback" not in result.stderr
    if synopsis is not None:
        assert lines[1:] == ["", synopsis]


def test_version_ansi_and_no_warnings(tmp_path: Path, sqlite_instance: Path) -> None:
    for flag in ("-V", "--version"):
        result = run_occ(tmp_path / "none", flag)
        assert (result.returncode, result.stdout) == (0, f"Nextcloud {VERSION}\n")
    # -V wins over the command, as in Symfony; with a config.php, its version.
    path = sqlite_instance / "config.php"
    values = phpconfig.read(path)
    values["version"] = "33.0.2.1"
    phpconfig.write(path, values)
    assert run_occ(sqlite_instance, "status", "-V").stdout == "Nextcloud 33.0.2\n"
    assert run_occ(sqlite_instance, "-V", "--ansi").stdout == "Nextcloud \x1b[32m33.0.2\x1b[39m\n"
    assert json.loads(run_occ(sqlite_instance, "list", "--format=json").stdout)["application"]["version"] == "33.0.2"
    coloured = run_occ(tmp_path, "list", "--ansi").stdout
    assert coloured.startswith("Nextcloud \x1b[32m") and "\x1b[33mUsage:\x1b[39m" in coloured
    assert "\n  \x1b[32m-h, --help\x1b[39m            Display help" in coloured
    assert "\x1b[" not in run_occ(tmp_path, "list", "--no-ansi").stdout
    assert "\x1b[" not in run_occ(tmp_path, "list").stdout  # not a terminal: no colours
    assert run_occ(sqlite_instance, "--no-warnings", "config:system:get", "dbtype").stdout == "sqlite3\n"


def test_quiet_and_no_interaction_reach_the_command(tmp_path: Path) -> None:
    loud = run_occ(tmp_path / "none", "passwords:user:delete", "bob", "-n")
    assert loud.stdout == '"--no-interaction" is set, will assume yes for all questions.\n\n'
    assert loud.returncode == 1 and loud.stderr.startswith("Nextcloud is not installed")
    for combined in ("-nq", "-qn"):
        quiet = run_occ(tmp_path / "none", "passwords:user:delete", combined, "bob")
        assert quiet.stdout == "" and quiet.returncode == 1, combined


# -- completion -------------------------------------------------------------------------------------


def complete(config: Path, *words: str, shell: str = "bash", current: int | None = None) -> tuple[int, str]:
    """`occ _complete` as the scripts call it, for the words of a command line (`occ` first)."""
    index = len(words) - 1 if current is None else current
    args = ["_complete", "--no-interaction", f"-s{shell}", f"-c{index}", "-a1", *(f"-i{w}" for w in words if w)]
    result = run_occ(config, *args)
    assert "Traceback" not in result.stderr and result.stderr == "", result.stderr
    return result.returncode, result.stdout


def test_complete_command_names_options_and_values(tmp_path: Path) -> None:
    config = tmp_path / "none"
    code, out = complete(config, "occ", "")
    # In the order the commands are registered (Symfony's own first), as Symfony suggests them.
    assert code == 0 and out.splitlines() == [n for n, c in application().commands.items() if not c.hidden]
    assert complete(config, "occ", "pass:backup:li") == (0, "passwords:backup:list\n")  # the full name
    assert complete(config, "occ", "pass") == complete(config, "occ", "")  # ambiguous: every name
    code, out = complete(config, "occ", "passwords:backup:list", "--")
    assert out.splitlines() == [
        "--details",
        "--help",
        "--quiet",
        "--verbose",
        "--version",
        "--ansi",
        "--no-ansi",
        "--no-interaction",
        "--no-warnings",
    ]
    assert complete(config, "occ", "status", "--output=")[1].splitlines() == ["plain", "json", "json_pretty"]
    assert complete(config, "occ", "status", "--output", "")[1].splitlines() == ["plain", "json", "json_pretty"]
    assert complete(config, "occ", "status", "--output=js")[1].splitlines() == ["json", "json_pretty"]
    assert complete(config, "occ", "list", "--format", "")[1].splitlines() == ["txt", "xml", "json", "md"]
    assert "passwords:backup" in complete(config, "occ", "list", "")[1].splitlines()
    assert complete(config, "occ", "help", "")[1] == complete(config, "occ", "")[1]
    assert complete(config, "occ", "completion", "")[1].splitlines() == ["bash", "fish", "zsh"]
    # zsh gets descriptions after a tab, fish no final newline.
    zsh = complete(config, "occ", "sta", shell="zsh")[1]
    assert zsh == "status\tshow some status information\n"
    assert (
        "--details\tInspect backup files and list contents\n"
        in complete(config, "occ", "passwords:backup:list", "--d", shell="zsh")[1]
    )
    assert complete(config, "occ", "sta", shell="fish")[1] == "status"


def test_complete_backup_names(sqlite_instance: Path) -> None:
    backups_of(sqlite_instance)
    assert complete(sqlite_instance, "occ", "passwords:backup:restore", "")[1].splitlines() == [
        "auto-1",
        "first",
        "second",
    ]
    assert complete(sqlite_instance, "occ", "passwords:backup:export", "f")[1].splitlines() == ["first"]
    assert complete(sqlite_instance, "occ", "pass:backup:exp", "first", "")[1] == "\n"  # the file argument: none
    # delete removes manual backups only
    assert complete(sqlite_instance, "occ", "passwords:backup:delete", "")[1].splitlines() == ["first", "second"]


def test_complete_never_fails_without_an_instance_or_folders(tmp_path: Path, sqlite_instance: Path) -> None:
    for config in (tmp_path / "none", sqlite_instance):
        assert complete(config, "occ", "passwords:backup:restore", "") == (0, "\n")
        assert complete(config, "occ", "passwords:user:delete", "") == (0, "\n")
    appdata = next((tmp_path / "data").glob("appdata_*"))
    assert not (appdata / "passwords" / "backups").exists()  # completing created nothing
    # A database server that is not there: nothing, quickly, no error.
    path = sqlite_instance / "config.php"
    values = phpconfig.read(path)
    values.update(dbtype="pgsql", dbhost="127.0.0.1:1", dbname="nowhere", dbuser="nobody")
    phpconfig.write(path, values)
    assert complete(sqlite_instance, "occ", "passwords:user:move", "a", "") == (0, "\n")
    (sqlite_instance / "config.php").write_text("<?php this is not a config file")
    assert complete(sqlite_instance, "occ", "passwords:backup:restore", "") == (0, "\n")


def test_complete_protocol_errors(tmp_path: Path) -> None:
    result = run_occ(tmp_path, "_complete", "-c1", "-iocc")
    assert (result.returncode, result.stdout, result.stderr) == (2, "", "")  # no shell
    result = run_occ(tmp_path, "_complete", "-sbash", "-iocc")
    assert (result.returncode, result.stdout) == (2, "")  # no cursor
    result = run_occ(tmp_path, "_complete", "-stcsh", "-c1", "-iocc")
    assert (result.returncode, result.stdout) == (2, "")
    result = run_occ(tmp_path, "_complete", "-sbash", "-c1", "-a0", "-iocc")
    assert result.returncode == 126 and result.stdout.startswith('Completion script version is not supported ("0"')


def test_complete_user_ids(installed: InstalledInstance) -> None:
    config = installed.config_dir
    assert complete(config, "occ", "passwords:user:delete", "") == (0, "\n")
    with installed.connect() as db:
        seed(db)
    assert complete(config, "occ", "passwords:user:delete", "")[1].splitlines() == ["alice", "bob", "carol"]
    assert complete(config, "occ", "passwords:user:move", "alice", "c")[1].splitlines() == ["carol"]
    assert complete(config, "occ", "passwords:backup:restore", "x", "--user=")[1].splitlines() == [
        "alice",
        "bob",
        "carol",
    ]
    with installed.connect() as db:
        add_nextcloud_tables(db, {"dave": "Dave", "alice": "Alice"})
    assert complete(config, "occ", "passwords:user:move", "")[1].splitlines() == ["alice", "bob", "carol", "dave"]


def test_completion_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bash = run_occ(tmp_path, "completion", "bash")
    assert bash.returncode == 0
    assert (
        "_complete --no-interaction -sbash" in bash.stdout
        and "complete -o default -F _ncpasswords_occ occ\n" in bash.stdout
    )
    monkeypatch.setenv("SHELL", "/usr/bin/zsh")
    assert run_occ(tmp_path, "completion").stdout.startswith("#compdef occ\n")
    monkeypatch.setenv("SHELL", "/bin/tcsh")
    result = run_occ(tmp_path, "completion")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        'Detected shell "tcsh", which is not supported by shell completion (supported shells: "bash", "fish", "zsh").\n'
    )


# -- the scripts in real shells, with occ on PATH ---------------------------------------------------


@pytest.fixture
def shell_env(sqlite_instance: Path, tmp_path: Path) -> dict[str, str]:
    """PATH with an `occ` that runs this checkout, and an instance with three backups."""
    backups_of(sqlite_instance)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "occ"
    stub.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ncpasswords "$@"\n')
    stub.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "NEXTCLOUD_CONFIG_DIR": str(sqlite_instance),
    }


def bash_words(line: str) -> list[str]:
    """COMP_WORDS as bash splits a line: at blanks, and `:` and `=` (COMP_WORDBREAKS) as own words."""
    words: list[str] = []
    for blank_separated in line.split(" "):
        words.extend(part for part in re.split(r"([:=]+)", blank_separated) if part)
        if blank_separated == "":
            words.append("")
    return words


BASH_DRIVER = """source "$1"; shift
COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; shift
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
_ncpasswords_occ
printf '%s\\n' "${COMPREPLY[@]}"
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize(
    ("line", "replies"),
    [
        ("occ passwords:backup:re", ["restore"]),
        (
            "occ passwords:",
            [
                "backup:create",
                "backup:list",
                "backup:restore",
                "backup:export",
                "backup:import",
                "backup:delete",
                "backup:verify",
            ],
        ),
        ("occ passwords:backup:restore ", ["auto-1", "first", "second"]),
        ("occ passwords:backup:delete s", ["second"]),
        ("occ status --output=js", ["json", "json_pretty"]),
        ("occ status --output=", ["plain", "json", "json_pretty"]),
        ("occ passwords:backup:list --de", ["--details"]),
        ("occ sta", ["status"]),
    ],
)
def test_bash_script(shell_env: dict[str, str], tmp_path: Path, line: str, replies: list[str]) -> None:
    script = tmp_path / "occ.bash"
    script.write_text(
        subprocess.run(["occ", "completion", "bash"], env=shell_env, capture_output=True, text=True, check=True).stdout
    )
    words = bash_words(line)
    result = subprocess.run(
        ["bash", "-c", BASH_DRIVER, "driver", str(script), line, *words],
        env=shell_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    got = [r for r in result.stdout.splitlines() if r]
    if line == "occ passwords:":  # every passwords:* command; the backup ones in this order
        assert [r for r in got if r.startswith("backup:")] == replies and "user:move" in got
    else:
        assert got == replies


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh")
def test_zsh_script(shell_env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "_occ"
    script.write_text(
        subprocess.run(["occ", "completion", "zsh"], env=shell_env, capture_output=True, text=True, check=True).stdout
    )
    # _describe and compdef belong to zsh's completion system: stand-ins print what they are given.
    driver = f"""compdef() {{ : }}
_describe() {{ print -rl -- "${{(@P)4}}" }}
source {script}
words=(occ passwords:backup:restore ''); CURRENT=3; _ncpasswords_occ; print -- ---
words=(occ status --output=js); CURRENT=3; _ncpasswords_occ
"""
    result = subprocess.run(
        ["zsh", "-f", "-c", driver], env=shell_env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("---\n") == ["auto-1\nfirst\nsecond\n", "--output=json\n--output=json_pretty\n"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="no fish")
def test_fish_script(shell_env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "occ.fish"
    script.write_text(
        subprocess.run(["occ", "completion", "fish"], env=shell_env, capture_output=True, text=True, check=True).stdout
    )
    driver = (
        f"source {script}; complete -C 'occ passwords:backup:restore '; echo ---; complete -C 'occ status --output=js'"
    )
    result = subprocess.run(
        ["fish", "--no-config", "-c", driver], env=shell_env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("---\n") == ["auto-1\nfirst\nsecond\n", "--output=json\n--output=json_pretty\n"]


def test_the_command_table_names_every_command_of_every_module() -> None:
    """occ imports a command's module only when the command runs: its table must list exactly the
    commands the modules define, in the order they are registered (module by module)."""
    import importlib
    import pkgutil

    from ncpasswords import cli
    from ncpasswords.cli.main import COMMAND_MODULES

    defined: dict[str, str] = {}
    for info in pkgutil.iter_modules(cli.__path__):
        for command in getattr(importlib.import_module(f"ncpasswords.cli.{info.name}"), "COMMANDS", ()):
            defined[command.name] = info.name
    assert list(COMMAND_MODULES.items()) == list(defined.items())


def test_a_command_put_in_by_hand_stays_when_its_module_loads() -> None:
    from ncpasswords.cli.main import LazyCommands

    commands = LazyCommands({"passwords:backup:list": "backup_cmds", "passwords:backup:create": "backup_cmds"})
    replacement = click.Command("passwords:backup:list")
    commands["passwords:backup:list"] = replacement
    assert commands["passwords:backup:create"].name == "passwords:backup:create"
    assert commands["passwords:backup:list"] is replacement
    del commands["passwords:backup:create"]
    assert "passwords:backup:create" not in commands and list(commands) == ["passwords:backup:list"]


def test_running_a_command_loads_only_its_own_module(sqlite_instance: Path) -> None:
    probe = (
        "import sys; from ncpasswords.cli.main import main; code = main(['config:system:get', 'dbtype']);"
        "print(code, sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('ncpasswords.cli.')))"
    )
    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(sqlite_instance)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    code, modules = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert code == "0", out.stderr
    assert "transfer_cmds" not in modules and "backup_cmds" not in modules and "config_cmds" in modules
