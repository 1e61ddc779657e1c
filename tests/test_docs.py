"""Every command in the documentation is run here.

Command blocks are fenced ```sh blocks whose info string says what happens to them:

    ```sh run                      run by this test, in order, must exit 0
    ```sh run expect-exit=N        run, must exit N
    ```sh run needs=pgsql,mysql    run; needs those servers (skipped without them, failed with CI=true)
    ```sh run-by-ci                CI runs it: .ci/run must contain each of its lines
    ```sh not-run: <reason>        never run (docker, systemctl, sudo …); the reason is required
    ```text output                 after a run block: lines its stdout must contain, in order
                                   (`...` in a line matches anything)
    ```crontab                     /etc/cron.d lines: their occ command is run against the instance
    ```ini unit=<name>             a systemd unit: its ExecStart occ command is run likewise

Blocks of one page run one after the other in bash (`set -euo pipefail`), each in the state the
previous ones left: exported variables and the current folder carry over. A page says how it
starts in an HTML comment, `<!-- docs-test: setup=... files=src:dst,... -->`:

    setup=empty       an empty folder
    setup=nextcloud   a Nextcloud-like folder: ./config/config.php of an installed SQLite instance,
                      data in ./data (as `occ` finds it from a Nextcloud folder)
    setup=repo-copy   a copy of this repository's sources, without .venv
    setup=repo        this repository itself (only for blocks that write nothing into it)

`occ` is on PATH (the project's .venv/bin) and NEXTCLOUD_CONFIG_DIR is unset unless a page sets it.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import IN_CI, _admin, _unavailable, run_occ
from ncpasswords.instance.install import InstallOptions, install

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
PAGES = sorted(
    [*ROOT.glob("docs/**/*.md"), ROOT / "compose" / "README.md", ROOT / "examples" / "ci-project" / "README.md"]
)
REQUIRED_PAGES = {"getting-started.md", "existing-nextcloud.md", "backups.md", "ci-fixtures.md", "scheduled-backups.md"}
COMMAND_LANGUAGES = {"sh", "bash", "shell", "console", "zsh"}
# What a not-run block may contain: commands that need Docker, systemd, root or a PHP Nextcloud.
NOT_RUN_PROGRAMS = {"docker", "systemctl", "journalctl", "sudo", "crontab", "php"}
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.M | re.S)
DIRECTIVE = re.compile(r"<!--\s*docs-test:(.*?)-->", re.S)
SOURCES = ("pyproject.toml", "README.md", "plugin", "sql", "migrations", "scripts")


@dataclass
class Block:
    language: str
    marks: list[str]
    text: str
    line: int
    output: str | None = None  # the ```text output block that follows

    @property
    def mark(self) -> str:
        return self.marks[0] if self.marks else ""

    def option(self, name: str) -> str | None:
        for mark in self.marks:
            if mark.startswith(f"{name}="):
                return mark.split("=", 1)[1]
        return None


@dataclass
class Page:
    path: Path
    setup: str = "empty"
    files: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.path.relative_to(ROOT)) if self.path.is_relative_to(ROOT) else str(self.path)


def parse(path: Path) -> Page:
    text = path.read_text()
    page = Page(path)
    for directive in DIRECTIVE.findall(text):
        for word in directive.split():
            key, _, value = word.partition("=")
            if key == "setup":
                page.setup = value
            elif key == "files":
                page.files = [tuple(pair.split(":", 1)) for pair in value.split(",")]  # type: ignore[misc]
            else:
                raise AssertionError(f"{path}: unknown docs-test directive {word!r}")
    for match in FENCE.finditer(text):
        info = match.group(1).strip()
        language, _, rest = info.partition(" ")
        line = text.count("\n", 0, match.start()) + 1
        if language == "text" and rest.strip() == "output":
            assert page.blocks and page.blocks[-1].mark.startswith("run"), f"{path}:{line}: output after no run block"
            page.blocks[-1].output = match.group(2)
            continue
        marks = rest.split() if not rest.startswith("not-run:") else ["not-run:", rest[len("not-run:") :].strip()]
        page.blocks.append(Block(language, marks, match.group(2), line))
    return page


def commands(block: Block) -> list[str]:
    """The commands of a shell block: comment lines dropped, backslash continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


# -- the structure of the pages --------------------------------------------------------------------


def test_the_pages_exist() -> None:
    assert {p.name for p in PAGES} >= REQUIRED_PAGES


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_block_is_marked(path: Path) -> None:
    check_marks(path)


def check_marks(path: Path) -> None:
    page = parse(path)
    for block in page.blocks:
        where = f"{page.name}:{block.line}"
        if block.language not in COMMAND_LANGUAGES:
            assert block.mark not in ("run", "run-by-ci") or block.language in COMMAND_LANGUAGES, where
            continue
        assert block.language == "sh", f"{where}: command blocks are ```sh"
        assert block.mark in ("run", "run-by-ci", "not-run:"), f"{where}: unmarked command block {block.marks}"
        if block.mark == "not-run:":
            assert len(block.marks) == 2 and len(block.marks[1]) > 10, f"{where}: not-run needs a reason"
            for command in commands(block):
                program = shlex.split(command)[0]
                while re.fullmatch(r"[A-Z_]+=.*", program):  # VAR=value prefixes
                    command = command.split(None, 1)[1]
                    program = shlex.split(command)[0]
                assert program in NOT_RUN_PROGRAMS, f"{where}: {program!r} could run here: mark it run"
    assert page.setup in ("empty", "nextcloud", "repo-copy", "repo"), page.setup


def test_ci_runs_the_run_by_ci_blocks() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    found = 0
    for path in PAGES:
        for block in parse(path).blocks:
            if block.mark == "run-by-ci":
                for command in commands(block):
                    assert command in (line.strip() for line in ci), f"{path}: .ci/run does not run {command!r}"
                    found += 1
    assert found >= 1


_OPTIONS_WITH_VALUES = {"-u", "--user", "-e", "--env", "-w", "--workdir", "--entrypoint", "--name"}


def _after_options(words: list[str]) -> list[str]:
    """The words after a compose verb's own options: the service and its command."""
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in _OPTIONS_WITH_VALUES else 1
    return words[i:]


def test_not_run_compose_commands_name_real_files_services_and_profiles() -> None:
    import yaml

    from ncpasswords.cli.main import application

    checked = 0
    for path in PAGES:
        for block in parse(path).blocks:
            if block.mark != "not-run:":
                continue
            for command in commands(block):
                words = shlex.split(command)
                if words[:2] != ["docker", "compose"]:
                    continue
                assert "-f" in words, f"{path}: {command}"
                compose_file = ROOT / words[words.index("-f") + 1]
                assert compose_file.is_file(), f"{path}: {command}"
                services = yaml.safe_load(compose_file.read_text())["services"]
                verbs = [w for w in ("run", "exec", "logs") if w in words]
                if verbs:
                    rest = _after_options(words[words.index(verbs[0]) + 1 :])
                    service = rest[0]
                    assert service in services, f"{path}: {command}"
                    if "--profile" in words:
                        assert services[service].get("profiles") == [words[words.index("--profile") + 1]]
                    if service.startswith("passwords-") and verbs[0] == "run":
                        entry = services[service].get("entrypoint") or ["occ"]
                        args = [*entry[1:], *rest[1:]]
                        if not any("<" in a for a in args):  # placeholders such as <backup>
                            application().parse_line(args)  # parses as occ would run it
                checked += 1
    assert checked >= 3


# -- running them ----------------------------------------------------------------------------------


def prepare(page: Page, base: Path) -> Path:
    """The folder a page's commands start in."""
    if page.setup == "repo":
        return ROOT
    cwd = base / "work"
    cwd.mkdir()
    if page.setup == "nextcloud":
        install(InstallOptions(database="sqlite", data_dir=str(cwd / "data")), cwd / "config" / "config.php")
    elif page.setup == "repo-copy":
        for name in SOURCES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, cwd / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, cwd / name)
    for source, target in page.files:
        shutil.copy2(ROOT / source, cwd / target)
    return cwd


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NEXTCLOUD_CONFIG_DIR", "PYTEST_CURRENT_TEST")}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    env.pop("VIRTUAL_ENV", None)
    return env


SCRIPT = """set -euo pipefail
source "$NCP_DOCS_STATE/env"
cd "$(cat "$NCP_DOCS_STATE/cwd")"
trap 'rc=$?; export -p > "$NCP_DOCS_STATE/env.next"; pwd > "$NCP_DOCS_STATE/cwd.next"; exit $rc' EXIT
"""


def expect_output(expected: str, actual: str, where: str) -> None:
    lines = actual.splitlines()
    position = 0
    for wanted in (line.rstrip() for line in expected.splitlines() if line.strip()):
        pattern = re.compile(".*".join(re.escape(part) for part in wanted.split("...")) + r"\s*")
        while position < len(lines) and not pattern.fullmatch(lines[position]):
            position += 1
        assert position < len(lines), f"{where}: expected output line {wanted!r} not found in order in:\n{actual}"
        position += 1


def require(servers: str) -> None:
    for engine in servers.split(","):
        try:
            _admin(engine).close()
        except Exception as exc:
            _unavailable(engine, exc)


def run_page(page: Page, base: Path) -> None:
    cwd = prepare(page, base)
    state = base / "state"
    state.mkdir()
    (state / "env").write_text("")
    (state / "cwd").write_text(str(cwd))
    env = environment(base)
    env["NCP_DOCS_STATE"] = str(state)
    for block in page.blocks:
        where = f"{page.name}:{block.line}"
        if block.language == "crontab":
            run_cron_lines(block, where, cwd)
            continue
        if block.language == "ini" and block.option("unit"):
            run_unit(block, where, cwd)
            continue
        if block.mark != "run":
            continue
        if block.option("needs"):
            require(str(block.option("needs")))
        # stdout and stderr in one stream, in the order they were written, as on a terminal.
        result = subprocess.run(
            ["bash", "-c", SCRIPT + block.text],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=900,
            check=False,
        )
        expected = int(block.option("expect-exit") or 0)
        assert result.returncode == expected, (
            f"{where}: exit {result.returncode}, expected {expected}\n--- output\n{result.stdout}"
        )
        (state / "env.next").replace(state / "env")
        (state / "cwd.next").replace(state / "cwd")
        if block.output is not None:
            expect_output(block.output, result.stdout, where)


def occ_args(command: str, where: str) -> list[str]:
    """The occ arguments of a documented command line such as `/opt/ncpasswords/bin/occ x --once`."""
    words = shlex.split(command)
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        words = words[1:]
    assert words and Path(words[0]).name == "occ", f"{where}: not an occ command: {command!r}"
    return words[1:]


def instance_config_dir(cwd: Path) -> Path:
    """The config folder the page's instance uses (the page's NEXTCLOUD_CONFIG_DIR or ./config)."""
    config = cwd / "config"
    assert (config / "config.php").is_file(), "crontab/unit blocks need setup=nextcloud"
    return config


def run_cron_lines(block: Block, where: str, cwd: Path) -> None:
    lines = [line for line in block.text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines, where
    for line in lines:
        fields = line.split(None, 6)
        assert len(fields) == 7, f"{where}: /etc/cron.d lines have 5 time fields, a user and a command"
        for value in fields[:5]:
            assert re.fullmatch(r"[0-9*/,-]+", value), f"{where}: time field {value!r}"
        assert fields[5] == "www-data", f"{where}: run it as the web server user"
        command = fields[6]
        assert "NEXTCLOUD_CONFIG_DIR=" in command, f"{where}: cron has no NEXTCLOUD_CONFIG_DIR"
        result = run_occ(instance_config_dir(cwd), *occ_args(command, where))
        assert result.returncode == 0, f"{where}: {result.stderr}"


def run_unit(block: Block, where: str, cwd: Path) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(block.text)
    name = str(block.option("unit"))
    if name.endswith(".timer"):
        assert unit.has_option("Timer", "OnCalendar") or unit.has_option("Timer", "OnUnitActiveSec"), where
        assert unit.get("Install", "WantedBy") == "timers.target", where
        return
    assert name.endswith(".service"), where
    assert unit.get("Service", "User") == "www-data", f"{where}: run it as the web server user"
    assert unit.get("Service", "Environment").startswith("NEXTCLOUD_CONFIG_DIR="), where
    result = run_occ(instance_config_dir(cwd), *occ_args(unit.get("Service", "ExecStart"), where))
    assert result.returncode == 0, f"{where}: {result.stderr}"


def runnable(path: Path) -> bool:
    page = parse(path)
    return any(b.mark == "run" or b.language == "crontab" or b.option("unit") for b in page.blocks)


@pytest.mark.parametrize("path", [p for p in PAGES if runnable(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_page_commands_run(path: Path, tmp_path: Path) -> None:
    if not VENV_BIN.joinpath("occ").exists():
        message = f"{VENV_BIN / 'occ'} is missing: install the project (bash scripts/test.sh does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    run_page(parse(path), tmp_path)


def test_timer_units_start_a_documented_service() -> None:
    units: dict[str, configparser.ConfigParser] = {}
    for path in PAGES:
        for block in parse(path).blocks:
            if block.language == "ini" and block.option("unit"):
                unit = configparser.ConfigParser(strict=False, interpolation=None)
                unit.optionxform = str  # type: ignore[assignment,method-assign]
                unit.read_string(block.text)
                units[str(block.option("unit"))] = unit
    timers = [name for name in units if name.endswith(".timer")]
    assert timers
    for timer in timers:
        target = units[timer].get("Timer", "Unit", fallback=timer.replace(".timer", ".service"))
        assert target in units, f"{timer} starts {target}, which the docs do not define"


# -- the harness itself ----------------------------------------------------------------------------


def test_the_harness_notices_missing_output_and_unmarked_blocks(tmp_path: Path) -> None:
    expect_output("b\nc...", "a\nb\nc d\n", "here")
    with pytest.raises(AssertionError, match="not found in order"):
        expect_output("c\nb", "a\nb\nc\n", "here")
    page = tmp_path / "page.md"
    page.write_text("```sh\nocc status\n```\n\n```sh not-run: needs Docker here\nocc status\n```\n")
    blocks = parse(page).blocks
    assert [b.marks for b in blocks] == [[], ["not-run:", "needs Docker here"]]
    with pytest.raises(AssertionError, match="unmarked command block"):
        check_marks(page)
    page.write_text("```sh not-run: because it is slow\nocc status\n```\n")
    with pytest.raises(AssertionError, match="could run here"):
        check_marks(page)


def test_a_failing_block_fails_its_page(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    page = tmp_path / "page.md"
    page.write_text("<!-- docs-test: setup=nextcloud -->\n```sh run\nocc passwords:backup:restore nope -n\n```\n")
    with pytest.raises(AssertionError, match="exit 1, expected 0"):
        run_page(parse(page), tmp_path / "run")
