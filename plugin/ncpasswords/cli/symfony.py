"""Nextcloud's occ is a Symfony Console application: its conventions, once for every command.

* Global options anywhere before `--`, short options combined (`-nq`, `-vvv`), `-V` printing
  `Nextcloud <versionstring>`, `--ansi/--no-ansi`, `--no-warnings`.
* Command names abbreviated per `:`-separated segment (`pass:backup:li`); an ambiguous or unknown
  name is refused with Symfony's candidates or suggestions (exit 1).
* `list`, `help` and `<command> --help` in Symfony's layouts (symfony_describe.py); `completion`
  and the hidden `_complete` (symfony_completion.py).

The commands stay plain click commands: the first line of a docstring is the description, the rest
the help; click's params are the arguments and options. This module parses the command line the
way Symfony's ArgvInput does and hands click a normalized argument list (docs/console.md).
"""

from __future__ import annotations

import enum
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import click

from ..errors import UserError
from ..instance.instance import Instance
from ..instance.version import versionstring
from .console import Console, console
from .symfony_describe import FORMATS, describe_application, describe_command, long_version

APPLICATION_NAME = "Nextcloud"


# -- definitions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Argument:
    """An InputArgument: a positional value of a command."""

    name: str
    required: bool = False
    is_array: bool = False
    description: str = ""
    default: Any = None
    param: click.Argument | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Option:
    """An InputOption: `--name`, its shortcuts (`v|vv|vvv`) and what value it takes."""

    name: str
    shortcut: str | None = None
    accept_value: bool = False
    value_required: bool = False
    is_array: bool = False
    negatable: bool = False
    description: str = ""
    default: Any = False
    hidden: bool = False
    param: click.Option | None = field(default=None, compare=False, repr=False)

    @property
    def value_optional(self) -> bool:
        return self.accept_value and not self.value_required

    @property
    def shortcuts(self) -> list[str]:
        return self.shortcut.split("|") if self.shortcut else []


@dataclass(frozen=True)
class Definition:
    """An InputDefinition: the arguments and options a command line is parsed against."""

    arguments: tuple[Argument, ...] = ()
    options: tuple[Option, ...] = ()

    @cached_property
    def _by_name(self) -> dict[str, Option]:
        return {o.name: o for o in self.options}

    @cached_property
    def _by_shortcut(self) -> dict[str, Option]:
        return {s: o for o in self.options for s in o.shortcuts}

    def option(self, name: str) -> Option | None:
        return self._by_name.get(name)

    def shortcut(self, char: str) -> Option | None:
        return self._by_shortcut.get(char)

    def negation(self, name: str) -> Option | None:
        """The negatable option that `--<name>` negates (`no-ansi` -> `ansi`)."""
        option = self._by_name.get(name[3:]) if name.startswith("no-") else None
        return option if option is not None and option.negatable else None

    def argument(self, name: str) -> Argument | None:
        return next((a for a in self.arguments if a.name == name), None)

    def visible(self) -> Definition:
        """Without the hidden options (what help, list and completion show)."""
        return Definition(self.arguments, tuple(o for o in self.options if not o.hidden))

    def merged(self, other: Definition, arguments: bool) -> Definition:
        """This definition's options then `other`'s; `other`'s arguments first when `arguments`."""
        args = (*other.arguments, *self.arguments) if arguments else self.arguments
        return Definition(args, (*self.options, *(o for o in other.options if o.name not in self._by_name)))

    def synopsis(self, short: bool = False) -> str:
        """`[-d|--details] [--] <name>`, or `[options] [--] <name>` when short."""
        elements: list[str] = []
        options = [o for o in self.options if not o.hidden]
        if short and options:
            elements.append("[options]")
        elif not short:
            for option in options:
                value = ""
                if option.accept_value:
                    upper = option.name.upper()
                    value = f" [{upper}]" if option.value_optional else f" {upper}"
                shortcut = f"-{option.shortcut}|" if option.shortcut else ""
                negation = f"|--no-{option.name}" if option.negatable else ""
                elements.append(f"[{shortcut}--{option.name}{value}{negation}]")
        if elements and self.arguments:
            elements.append("[--]")
        tail = ""
        for argument in self.arguments:
            element = f"<{argument.name}>" + ("..." if argument.is_array else "")
            if not argument.required:
                element = "[" + element
                tail += "]"
            elements.append(element)
        return " ".join(elements) + tail


APPLICATION_DEFINITION = Definition(
    (Argument("command", required=True, description="The command to execute"),),
    (
        Option(
            "help",
            "h",
            description="Display help for the given command. When no command is given display "
            "help for the <info>list</info> command",
        ),
        Option("quiet", "q", description="Do not output any message"),
        Option(
            "verbose",
            "v|vv|vvv",
            description="Increase the verbosity of messages: 1 for normal output, 2 for "
            "more verbose output and 3 for debug",
        ),
        Option("version", "V", description="Display this application version"),
        Option("ansi", negatable=True, default=None, description="Force (or disable --no-ansi) ANSI output"),
        Option("no-interaction", "n", description="Do not ask any interactive question"),
        # Nextcloud's own addition (lib/private/Console/Application.php).
        Option("no-warnings", description="Skip global warnings, show command output only"),
    ),
)


# -- commands -----------------------------------------------------------------------------------


def _unset(value: Any) -> bool:
    """No default to show: none, click's UNSET marker, or one computed when the command runs."""
    return value is None or (isinstance(value, enum.Enum) and value.name == "UNSET") or callable(value)


def _argument_of(param: click.Argument) -> Argument:
    is_array = param.nargs == -1 or param.nargs > 1
    default: Any = None if _unset(param.default) else param.default
    if is_array:
        default = list(default or ())
    return Argument(str(param.name), bool(param.required), is_array, param.help or "", default, param)


def _option_of(param: click.Option) -> Option:
    longs = [o[2:] for o in param.opts if o.startswith("--")]
    shorts = [o[1:] for o in param.opts if not o.startswith("--")]
    name = longs[0] if longs else shorts[0]
    shortcut = "|".join(shorts) or None
    default: Any = None if _unset(param.default) else param.default
    common: dict[str, Any] = {"description": param.help or "", "hidden": param.hidden, "param": param}
    if param.is_flag and not getattr(param, "_flag_needs_value", False):
        if param.secondary_opts:
            return Option(name, shortcut, negatable=True, default=default, **common)
        return Option(name, shortcut, default=False, **common)
    if param.multiple:
        return Option(
            name, shortcut, accept_value=True, value_required=True, is_array=True, default=list(default or ()), **common
        )
    optional = bool(getattr(param, "_flag_needs_value", False))
    return Option(name, shortcut, accept_value=True, value_required=not optional, default=default, **common)


@dataclass(frozen=True)
class Command:
    """A click command as Symfony describes it: name, description, help and definition."""

    name: str
    click_command: click.Command = field(compare=False, repr=False)
    description: str = ""
    help_text: str = ""
    hidden: bool = False
    definition: Definition = Definition()

    @classmethod
    def of(cls, name: str, command: click.Command) -> Command:
        doc = inspect.cleandoc(command.help or "").split("\f")[0]
        lines = [line for line in doc.splitlines() if line.strip() != "\b"]
        description = (command.short_help or (lines[0] if lines else "")).strip()
        help_text = inspect.cleandoc("\n".join(lines[1:])).strip()
        arguments = tuple(_argument_of(p) for p in command.params if isinstance(p, click.Argument))
        options = tuple(_option_of(p) for p in command.params if isinstance(p, click.Option))
        return cls(name, command, description, help_text, bool(command.hidden), Definition(arguments, options))

    def synopsis(self, short: bool = False) -> str:
        return f"{self.name} {self.definition.synopsis(short)}".strip()

    @property
    def processed_help(self) -> str:
        """The help (the description when there is none), `%command.name%` filled in."""
        text = self.help_text or self.description
        return text.replace("%command.full_name%", f"occ {self.name}").replace("%command.name%", self.name)

    def full_definition(self, arguments: bool = False) -> Definition:
        """Symfony's mergeApplicationDefinition(): the global options after the command's own."""
        return self.definition.merged(APPLICATION_DEFINITION, arguments)


# -- errors -------------------------------------------------------------------------------------


class InputError(UserError):
    """A command line that does not fit the command's definition (Symfony's RuntimeException)."""


class CommandNotFoundError(UserError):
    """An unknown or ambiguous command name; `alternatives` are the names it could mean."""

    def __init__(self, message: str, alternatives: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.alternatives = list(alternatives)


class NamespaceNotFoundError(CommandNotFoundError):
    """An unknown or ambiguous namespace."""


# -- parsing (Symfony's ArgvInput) -------------------------------------------------------------


@dataclass
class Input:
    """A parsed command line: the arguments and options given (not their defaults)."""

    definition: Definition
    arguments: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    verbosity: int = 0
    """The most `v`s of one short option token (`-vvv` is 3)."""

    def option(self, name: str) -> Any:
        if name in self.options:
            return self.options[name]
        option = self.definition.option(name)
        return option.default if option is not None else None

    def argument(self, name: str) -> Any:
        if name in self.arguments:
            return self.arguments[name]
        argument = self.definition.argument(name)
        return argument.default if argument is not None else None

    def validate(self) -> None:
        """Symfony's Input::validate(): every required argument is there."""
        missing = [a.name for a in self.definition.arguments if a.required and a.name not in self.arguments]
        if missing:
            raise InputError(f'Not enough arguments (missing: "{", ".join(missing)}").')


class _Parser:
    def __init__(self, tokens: Sequence[str], definition: Definition, lenient: bool) -> None:
        self.pending = list(tokens)
        self.input = Input(definition)
        self.definition = definition
        self.lenient = lenient

    def parse(self) -> Input:
        parse_options = True
        while self.pending:
            token = self.pending.pop(0)
            try:
                if parse_options and token == "--":
                    parse_options = False
                elif parse_options and token.startswith("--"):
                    self._long(token[2:])
                elif parse_options and token.startswith("-") and token != "-":
                    self._short(token[1:])
                else:
                    self._argument(token)
            except InputError:
                if not self.lenient:
                    raise
        return self.input

    def _long(self, name: str) -> None:
        if "=" in name:
            name, value = name.split("=", 1)
            if value == "":
                self.pending.insert(0, value)
            self._add(name, value)
        else:
            self._add(name, None)

    def _short(self, name: str) -> None:
        first = self.definition.shortcut(name[0])
        if len(name) > 1 and not (first is not None and first.accept_value):
            self._short_set(name)
            return
        if first is None:
            raise InputError(f'The "-{name[0] if len(name) > 1 else name}" option does not exist.')
        self._add(first.name, name[1:] if len(name) > 1 else None)

    def _short_set(self, name: str) -> None:
        self.input.verbosity = max(self.input.verbosity, min(3, name.count("v")))
        for i, char in enumerate(name):
            option = self.definition.shortcut(char)
            if option is None:
                raise InputError(f'The "-{char}" option does not exist.')
            if option.accept_value:
                self._add(option.name, None if i == len(name) - 1 else name[i + 1 :])
                return
            self._add(option.name, None)

    def _add(self, name: str, value: str | None) -> None:
        option = self.definition.option(name)
        if option is None:
            negated = self.definition.negation(name)
            if negated is None:
                raise InputError(f'The "--{name}" option does not exist.')
            if value is not None:
                raise InputError(f'The "--{name}" option does not accept a value.')
            self.input.options[negated.name] = False
            return
        if value is not None and not option.accept_value:
            raise InputError(f'The "--{name}" option does not accept a value.')
        if value in ("", None) and option.accept_value and self.pending:
            following = self.pending.pop(0)
            if following == "" or not following.startswith("-"):
                value = following
            else:
                self.pending.insert(0, following)
        stored: Any = value
        if value is None:
            if option.value_required:
                raise InputError(f'The "--{name}" option requires a value.')
            if not option.is_array and not option.value_optional:
                stored = True
        if name == "verbose" and stored is True:
            self.input.verbosity = max(self.input.verbosity, 1)
        if option.is_array:
            self.input.options.setdefault(name, []).append(stored)
        else:
            self.input.options[name] = stored

    def _argument(self, token: str) -> None:
        arguments = self.definition.arguments
        count = len(self.input.arguments)
        if count < len(arguments):
            argument = arguments[count]
            self.input.arguments[argument.name] = [token] if argument.is_array else token
            return
        if arguments and count - 1 < len(arguments) and arguments[count - 1].is_array:
            self.input.arguments[arguments[count - 1].name].append(token)
            return
        expected = list(arguments)
        command = None
        if expected and expected[0].name == "command":
            command = self.input.arguments.get("command")
            expected = expected[1:]
        names = '" "'.join(a.name for a in expected)
        if expected:
            where = f' to "{command}" command' if command else ""
            raise InputError(f'Too many arguments{where}, expected arguments "{names}".')
        where = f' for "{command}" command' if command else ""
        raise InputError(f'No arguments expected{where}, got "{token}".')


def parse(tokens: Sequence[str], definition: Definition, lenient: bool = False) -> Input:
    """Parse a command line (without the program name) as Symfony's ArgvInput binds it.

    `lenient` skips the tokens that do not fit instead of failing (what completion needs).
    """
    return _Parser(tokens, definition, lenient).parse()


def has_parameter_option(tokens: Sequence[str], values: Sequence[str]) -> bool:
    """Symfony's hasParameterOption(onlyParams): a token before `--` is or starts with the option
    (`--name` exactly or `--name=...`, `-x` as a prefix, so `-Vq` counts for `-V`)."""
    for token in tokens:
        if token == "--":
            return False
        for value in values:
            leading = value + "=" if value.startswith("--") else value
            if token == value or token.startswith(leading):
                return True
    return False


def first_argument(tokens: Sequence[str]) -> str | None:
    """The first token that is not an option: the command name (no global option takes a value)."""
    return next((t for t in tokens if not t.startswith("-")), None)


# -- the application ----------------------------------------------------------------------------


def _levenshtein(left: str, right: str) -> int:
    previous = list(range(len(right) + 1))
    for i, a in enumerate(left, 1):
        current = [i]
        for j, b in enumerate(right, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


def _natural(text: str) -> list[tuple[int, int | str]]:
    """PHP's SORT_NATURAL | SORT_FLAG_CASE key."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text.lower()) if part]


def find_alternatives(name: str, collection: Sequence[str]) -> list[str]:
    """Symfony's findAlternatives(): names close to `name`, segment by segment, naturally sorted."""
    threshold = 1000
    scores: dict[str, int] = {}
    parts_of = {item: item.split(":") for item in collection}
    for i, subname in enumerate(name.split(":")):
        for item, parts in parts_of.items():
            exists = item in scores
            if i >= len(parts):
                if exists:
                    scores[item] += threshold
                continue
            distance = _levenshtein(subname, parts[i])
            if distance <= len(subname) / 3 or (subname != "" and subname in parts[i]):
                scores[item] = scores[item] + distance if exists else distance
            elif exists:
                scores[item] += threshold
    for item in collection:
        distance = _levenshtein(name, item)
        if distance <= len(name) / 3 or name in item:
            scores[item] = scores[item] - distance if item in scores else distance
    return sorted((k for k, v in scores.items() if v < 2 * threshold), key=_natural)


def _segments_pattern(name: str, flags: int = 0) -> re.Pattern[str]:
    """`pa:ba:li` -> `^pa[^:]*:ba[^:]*:li[^:]*`: every segment a prefix."""
    return re.compile("^" + "[^:]*:".join(re.escape(part) for part in name.split(":")) + "[^:]*", flags)


def _terminal_width() -> int:
    columns = os.environ.get("COLUMNS", "")
    if columns.strip().isdigit():
        return int(columns)
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return 80


def _config() -> Mapping[Any, Any]:
    """config.php's values, or nothing when there is no readable config.php."""
    try:
        return Instance.load().config
    except (UserError, OSError):
        return {}


def color_support(stream: Any) -> bool:
    """Symfony's StreamOutput::hasColorSupport() for a stream."""
    if "NO_COLOR" in os.environ:
        return False
    try:
        if not stream.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    if os.environ.get("TERM_PROGRAM") == "Hyper" or "COLORTERM" in os.environ or "ANSICON" in os.environ:
        return True
    term = os.environ.get("TERM", "")
    if term == "dumb":
        return False
    return bool(
        re.match(r"^((screen|xterm|vt100|vt220|putty|rxvt|ansi|cygwin|linux).*)|(.*-256(color)?(-bce)?)$", term)
    )


_RUNNING: ContextVar[Application] = ContextVar("ncpasswords_symfony_application")


def running() -> Application:
    """The application whose command is running (for `list`, `help` and completion)."""
    return _RUNNING.get()


@contextmanager
def _running(app: Application) -> Iterator[None]:
    token = _RUNNING.set(app)
    try:
        yield
    finally:
        _RUNNING.reset(token)


class _Described(Mapping[str, "Command"]):
    """The application's commands in their order, each described (`Command.of`) when first asked
    for: running one command does not load the others."""

    def __init__(self, commands: Mapping[str, click.Command], order: Sequence[str]) -> None:
        self._commands = commands
        self._order = list(order)
        self._described: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._described:
            if name not in self._commands:
                raise KeyError(name)
            self._described[name] = Command.of(name, self._commands[name])
        return self._described[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._commands


# Symfony registers its own commands first; the order shows where an ambiguous name is listed.
_BUILT_IN = ("help", "list", "_complete", "completion")


class Application:
    """The occ application over a set of click commands (kept in their registration order)."""

    definition = APPLICATION_DEFINITION

    def __init__(
        self,
        commands: Mapping[str, click.Command],
        name: str = APPLICATION_NAME,
        version: Callable[[], str] | None = None,
        prog: str = "occ",
    ) -> None:
        order = [n for n in _BUILT_IN if n in commands] + [n for n in commands if n not in _BUILT_IN]
        self.commands: Mapping[str, Command] = _Described(commands, order)
        self.name = name
        self._version = version or (lambda: versionstring(_config()))
        self.prog = prog

    @cached_property
    def version(self) -> str:
        """The versionstring: config.php's, else the reproduced release's."""
        return self._version()

    # -- names --------------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        """Every namespace and sub-namespace of the visible commands (`passwords`, `passwords:backup`)."""
        found: list[str] = []
        for command in self.commands.values():
            if command.hidden:
                continue
            parts = command.name.split(":")[:-1]
            for i in range(len(parts)):
                namespace = ":".join(parts[: i + 1])
                if namespace not in found:
                    found.append(namespace)
        return found

    def find_namespace(self, namespace: str) -> str:
        """The namespace `namespace` abbreviates; NamespaceNotFoundError when none or several."""
        all_namespaces = self.namespaces()
        pattern = _segments_pattern(namespace)
        matches = [n for n in all_namespaces if pattern.match(n)]
        if not matches:
            message = f'There are no commands defined in the "{namespace}" namespace.'
            alternatives = find_alternatives(namespace, all_namespaces)
            raise NamespaceNotFoundError(message + _did_you_mean(alternatives), alternatives)
        exact = namespace in matches
        if len(matches) > 1 and not exact:
            raise NamespaceNotFoundError(
                f'The namespace "{namespace}" is ambiguous.\nDid you mean one of these?\n'
                + "\n".join(f"    {n}" for n in matches)
                + ".",
                matches,
            )
        return namespace if exact else matches[0]

    def find(self, name: str) -> Command:
        """The command `name` names or abbreviates (Symfony's Application::find())."""
        if name in self.commands:
            return self.commands[name]
        names = list(self.commands)
        pattern = _segments_pattern(name)
        matches = [n for n in names if pattern.match(n)]
        if not matches:
            matches = [n for n in names if _segments_pattern(name, re.I).match(n)]
        whole = re.compile(pattern.pattern + "$", re.I)
        if not matches or not any(whole.match(n) for n in matches):
            if ":" in name:
                self.find_namespace(name.rsplit(":", 1)[0])
            alternatives = [n for n in find_alternatives(name, names) if not self.commands[n].hidden]
            raise CommandNotFoundError(f'Command "{name}" is not defined.' + _did_you_mean(alternatives), alternatives)
        if len(matches) > 1:
            visible = [n for n in matches if not self.commands[n].hidden]
            if len(visible) > 1:
                usable = _terminal_width() - 10
                width = max(len(n) for n in matches)
                lines = []
                for n in visible:
                    line = f"{n.ljust(width)} {self.commands[n].description}"
                    lines.append(line[: usable - 3] + "..." if len(line) > usable else line)
                raise CommandNotFoundError(
                    f'Command "{name}" is ambiguous.\nDid you mean one of these?\n'
                    + "\n".join(f"    {line}" for line in lines)
                    + ".",
                    visible,
                )
            matches = visible
        command = self.commands[matches[0]]
        if command.hidden:
            raise CommandNotFoundError(f'The command "{name}" does not exist.')
        return command

    def all(self, namespace: str | None = None) -> dict[str, Command]:
        """The commands, or those of one (sub-)namespace."""
        if namespace is None:
            return dict(self.commands)
        depth = namespace.count(":") + 1
        return {n: c for n, c in self.commands.items() if ":".join(n.split(":")[:-1][:depth]) == namespace}

    def long_version(self, decorated: bool) -> str:
        return long_version(self.name, self.version, decorated)

    # -- running ------------------------------------------------------------------------------

    def run(self, argv: Sequence[str], con: Console) -> int:
        """Run a command line (without the program name) as Symfony's Application::run() does."""
        tokens = list(argv)
        configure(con, tokens)
        with _running(self):
            if has_parameter_option(tokens, ("--version", "-V")):
                con.line(self.long_version(con.decorated))
                return 0
            name = first_argument(tokens)
            if has_parameter_option(tokens, ("--help", "-h")):
                command = self._find_or_offer(name, con) if name else self.find("list")
                return self._describe(command, tokens, con)
            command = self._find_or_offer(name or "list", con)
            return self.execute(command, tokens, con)

    def parse_line(self, argv: Sequence[str]) -> tuple[Command, Input]:
        """The command a line names and the line parsed against it, without running anything;
        raises CommandNotFoundError, or InputError for an unknown option or a value too many
        (missing arguments are allowed: a caller may add them)."""
        command = self.find(first_argument(argv) or "list")
        return command, self._parse(command, argv, validate=False)

    def execute(self, command: Command, tokens: Sequence[str], con: Console) -> int:
        """Parse `tokens` against the command's definition and run its click command."""
        given = self._parse(command, tokens)
        configure(con, tokens, given)
        args = _click_args(command, given)
        result = command.click_command.main(args=args, prog_name=command.name, standalone_mode=False, obj=con)
        return int(result or 0)

    @staticmethod
    def _parse(command: Command, tokens: Sequence[str], validate: bool = True) -> Input:
        try:
            given = parse(tokens, command.full_definition(arguments=True))
            given.arguments.setdefault("command", command.name)  # a bare `occ` runs `list`
            if validate:
                given.validate()
        except InputError as exc:
            raise InputError(f"{exc}\n\n{command.synopsis()}") from None
        return given

    def _describe(self, command: Command, tokens: Sequence[str], con: Console) -> int:
        """`<command> --help`: the help command's output; its --format and --raw count, every
        other token is ignored (as Symfony's help command ignores validation errors)."""
        help_command = self.find("help")
        given = parse(tokens, help_command.full_definition(arguments=True), lenient=True)
        format_name = str(given.option("format"))
        _check_format(format_name)
        con.write(describe_command(command, format_name, raw=bool(given.option("raw")), decorated=con.decorated))
        return 0

    def _find_or_offer(self, name: str, con: Console) -> Command:
        """find(), or for an unknown namespace its list on stderr (exit 1), or on a terminal the
        offer to run the one close name instead."""
        try:
            return self.find(name)
        except NamespaceNotFoundError:
            raise
        except CommandNotFoundError as exc:
            if len(exc.alternatives) == 1 and con.interactive and _stdin_is_terminal():
                alternative = exc.alternatives[0]
                con.error(f'Command "{name}" is not defined.')
                if click.confirm(f'Do you want to run "{alternative}" instead?', default=False, err=True):
                    return self.find(alternative)
                raise click.exceptions.Exit(1) from None
            try:
                namespace = self.find_namespace(name)
            except NamespaceNotFoundError:
                raise exc from None
            con.error(describe_application(self, "txt", namespace=namespace, decorated=False).rstrip("\n"))
            raise click.exceptions.Exit(1) from None


def _did_you_mean(alternatives: Sequence[str]) -> str:
    if not alternatives:
        return ""
    head = "Did you mean this?" if len(alternatives) == 1 else "Did you mean one of these?"
    return f"\n\n{head}\n" + "\n".join(f"    {a}" for a in alternatives)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def configure(con: Console, tokens: Sequence[str], given: Input | None = None) -> None:
    """What the global options ask for (Symfony's configureIO), from the raw tokens and, once the
    command is known, from the parsed line: there every letter of `-nq` counts."""
    if has_parameter_option(tokens, ("--ansi",)):
        con.decorated = True
    elif has_parameter_option(tokens, ("--no-ansi",)):
        con.decorated = False
    else:
        con.decorated = color_support(sys.stdout)
    if has_parameter_option(tokens, ("--no-interaction", "-n")):
        con.no_interaction = True
    if has_parameter_option(tokens, ("--no-warnings",)):
        con.no_warnings = True
    shell = os.environ.get("SHELL_VERBOSITY", "").strip()
    if shell == "-1":
        con.quiet = True
    elif shell in ("1", "2", "3"):
        con.verbosity = max(con.verbosity, int(shell))
    if has_parameter_option(tokens, ("--quiet", "-q")):
        con.quiet = True
    for level, values in (
        (3, ("-vvv", "--verbose=3")),
        (2, ("-vv", "--verbose=2")),
        (1, ("-v", "--verbose=1", "--verbose")),
    ):
        if has_parameter_option(tokens, values):
            con.verbosity = max(con.verbosity, level)
            break
    if given is not None:
        con.quiet = con.quiet or bool(given.options.get("quiet"))
        con.no_interaction = con.no_interaction or bool(given.options.get("no-interaction"))
        con.no_warnings = con.no_warnings or bool(given.options.get("no-warnings"))
        con.verbosity = max(con.verbosity, given.verbosity)
        if "ansi" in given.options:
            con.decorated = bool(given.options["ansi"])


def _click_args(command: Command, given: Input) -> list[str]:
    """The parsed line as a click argument list: options in long form, then `--`, the arguments."""
    args: list[str] = []
    for option in command.definition.options:
        if option.name not in given.options or option.param is None:
            continue
        param = option.param
        flag = next((o for o in param.opts if o.startswith("--")), param.opts[0])
        value = given.options[option.name]
        if option.negatable:
            args.append(flag if value else param.secondary_opts[0])
        elif not option.accept_value:
            args.append(flag)
        else:
            for item in value if option.is_array else [value]:
                if item is None:
                    args.append(flag)
                elif flag.startswith("--"):
                    args.append(f"{flag}={item}")
                else:
                    args.append(f"{flag}{item}")
    args.append("--")
    for argument in command.definition.arguments:
        if argument.name in given.arguments:
            value = given.arguments[argument.name]
            args.extend(value if argument.is_array else [value])
    return args


# -- the built-in commands ----------------------------------------------------------------------


def _formats(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return list(FORMATS)


def _namespace_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return running().namespaces()


def _command_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return [n for n, c in running().commands.items() if not c.hidden]


def _check_format(format_name: str) -> None:
    if format_name not in FORMATS:
        raise UserError(f'Unsupported format "{format_name}".')


@click.command("list")
@click.argument("namespace", required=False, help="The namespace name", shell_complete=_namespace_names)
@click.option("--raw", is_flag=True, help="To output raw command list")
@click.option(
    "--format", "format_name", default="txt", help="The output format (txt, xml, json, or md)", shell_complete=_formats
)
@click.option("--short", is_flag=True, help="To skip describing commands' arguments")
def list_command(namespace: str | None, raw: bool, format_name: str, short: bool) -> None:
    """List commands

    Lists every command, grouped by namespace; a namespace lists only its commands
    (`%command.full_name% passwords:backup`). --raw prints one `name description` line per
    command, and --format=json, xml or md describes every command with its arguments and options.
    """
    _check_format(format_name)
    app = running()
    con = console()
    con.write(
        describe_application(
            app, format_name, namespace=namespace or None, raw=raw, short=short, decorated=con.decorated
        )
    )


@click.command("help")
@click.argument("command_name", required=False, default="help", help="The command name", shell_complete=_command_names)
@click.option(
    "--format", "format_name", default="txt", help="The output format (txt, xml, json, or md)", shell_complete=_formats
)
@click.option("--raw", is_flag=True, help="To output raw command help")
def help_command(command_name: str, format_name: str, raw: bool) -> None:
    """Display help for a command

    Shows a command's usage, arguments, options and help; the name may be abbreviated as
    everywhere (`%command.full_name% pass:backup:li`). `occ <command> --help` shows the same.
    --format=json, xml or md gives it in that format; `occ list` names every command.
    """
    _check_format(format_name)
    app = running()
    con = console()
    con.write(describe_command(app.find(command_name), format_name, raw=raw, decorated=con.decorated))


COMMANDS = [list_command, help_command]
