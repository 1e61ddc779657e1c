"""Shell completion as Symfony's console does it: `occ completion bash|zsh|fish` prints a script
that calls the hidden `occ _complete -s<shell> -c<cursor> -a<api> -i<word>...` on every Tab.

`_complete` finds the command (abbreviations included), works out whether the cursor is on a
command name, an option name, an option value or an argument, and prints the suggestions: command
names, the command's options, or what the click param completes (its `shell_complete`, or the
choices of a click.Choice). It never fails loudly: an error means no suggestions and exit 2.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import click

from .console import console
from .symfony import Application, Command, CommandNotFoundError, Definition, Option, first_argument, parse, running

API_VERSION = "1"
SHELLS = ("bash", "fish", "zsh")


@dataclass
class Suggestions:
    """Values (with an optional description) or option names to offer."""

    values: list[tuple[str, str]] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)

    def render(self, shell: str) -> str:
        """What the shell's script reads: one suggestion a line (zsh: `value<TAB>description`)."""
        if shell == "zsh":
            lines = [f"{v}\t{d}" if d else v for v, d in self.values]
            for option in self.options:
                described = f"\t{option.description}" if option.description else ""
                lines.append(f"--{option.name}{described}")
                if option.negatable:
                    lines.append(f"--no-{option.name}{described}")
            return "\n".join(lines) + "\n"
        lines = [v for v, _ in self.values]
        for option in self.options:
            lines.append(f"--{option.name}")
            if option.negatable:
                lines.append(f"--no-{option.name}")
        return "\n".join(lines) + ("\n" if shell == "bash" else "")


@dataclass(frozen=True)
class Cursor:
    """What the cursor is on (Symfony's CompletionInput): `kind` is argument_value, option_value,
    option_name or none; `name` the argument or option; `value` what is typed so far."""

    kind: str
    name: str | None = None
    value: str = ""


def _option_from_token(token: str, definition: Definition) -> Option | None:
    name = token.lstrip("-")
    if not name:
        return None
    if token[1:2] == "-":
        return definition.option(name)
    return definition.shortcut(name[0])


def cursor(tokens: list[str], current: int, definition: Definition) -> Cursor:
    """Where `current` (an index of `tokens`, the program name first) is in the command line."""
    if current > len(tokens):
        raise ValueError("Current index is invalid, it must be the number of input tokens or one more.")
    given = parse(tokens[1:], definition, lenient=True)
    free = current >= len(tokens)
    relevant = tokens[current - 1 if free else current]
    if relevant.startswith("-"):
        option_token, _, option_value = relevant.partition("=")
        option = _option_from_token(option_token, definition)
        if option is None and not free:
            return Cursor("option_name", None, relevant)
        if option is not None and option.accept_value:
            short_value = "" if option_token.startswith("--") else option_token[2:]
            return Cursor("option_value", option.name, option_value or short_value)
    previous = tokens[current - 1]
    if previous.startswith("-") and previous.strip("-"):
        option = _option_from_token(previous, definition)
        if option is not None and option.accept_value:
            return Cursor("option_value", option.name, relevant)
    name: str | None = None
    value = ""
    last = None
    for argument in definition.arguments:
        last = argument
        if argument.name not in given.arguments:
            break
        typed = given.arguments[argument.name]
        name = argument.name
        value = (typed[-1] if typed else "") if isinstance(typed, list) else typed
    if free:
        if last is not None and (last.name not in given.arguments or last.is_array):
            return Cursor("argument_value", last.name, "")
        return Cursor("none")
    return Cursor("argument_value", name, value)


def _param_values(command: Command, param: click.Parameter, typed: str) -> list[tuple[str, str]]:
    """What the click param completes for `typed` (its shell_complete, a Choice's choices)."""
    ctx = click.Context(command.click_command, info_name=command.name, obj=console())
    items = param.shell_complete(ctx, typed)
    return [(str(item.value), item.help or "") for item in items if item.type == "plain"]


def suggest(app: Application, tokens: list[str], current: int) -> Suggestions:
    """Symfony's CompleteCommand: the suggestions for the cursor at `current` in `tokens`."""
    suggestions = Suggestions()
    at = cursor(tokens, current, app.definition)
    name = first_argument(tokens[1:])
    command: Command | None = None
    if name is not None:
        try:
            command = app.find(name)
        except CommandNotFoundError:  # unknown or ambiguous: complete the name
            command = None
    if command is None:
        if at.kind == "argument_value" and at.name == "command":
            suggestions.values = [(c.name, c.description) for c in app.commands.values() if not c.hidden]
        elif at.kind == "option_name":
            suggestions.options = list(app.definition.visible().options)
        return suggestions
    if at.kind == "argument_value" and at.name == "command" and command.name != at.value:
        suggestions.values = [(command.name, command.description)]  # `pass:backup:li` -> the full name
        return suggestions
    definition = command.full_definition(arguments=True)
    at = cursor(tokens, current, definition)
    if at.kind == "option_name":
        suggestions.options = list(definition.visible().options)
    elif at.kind == "option_value" and at.name is not None:
        option = definition.option(at.name)
        if option is not None and option.param is not None and not option.hidden:
            suggestions.values = _param_values(command, option.param, at.value)
    elif at.kind == "argument_value" and at.name is not None:
        argument = definition.argument(at.name)
        if argument is not None and argument.param is not None:
            suggestions.values = _param_values(command, argument.param, at.value)
    return suggestions


def _version_below(given: str, required: str) -> bool:
    def parts(text: str) -> list[int]:
        return [int(p) for p in re.findall(r"\d+", text)] or [0]

    return parts(given) < parts(required)


@click.command("_complete", hidden=True)
@click.option("-s", "--shell", help='The shell type ("bash", "fish", "zsh")')
@click.option("-i", "--input", "tokens", multiple=True, help="An array of input tokens (e.g. COMP_WORDS or argv)")
@click.option("-c", "--current", help='The index of the "input" array that the cursor is in (e.g. COMP_CWORD)')
@click.option("-a", "--api-version", help="The API version of the completion script")
@click.option("-S", "--symfony", help="deprecated")
def complete_command(
    shell: str | None, tokens: tuple[str, ...], current: str | None, api_version: str | None, symfony: str | None
) -> None:
    """Internal command to provide shell completion suggestions

    Called by the scripts of `occ completion`: -s names the shell, each -i is one word of the
    command line (the program first), -c the index of the word the cursor is in.
    """
    con = console()
    version = "1" if symfony else api_version
    if version and _version_below(version, API_VERSION):
        con.line(
            f'Completion script version is not supported ("{version}" given, ">={API_VERSION}" required). '
            f'Install the completion script again by using the "completion" command.'
        )
        raise click.exceptions.Exit(126)
    try:
        if shell not in SHELLS or not current or not current.isdigit() or int(current) == 0:
            raise ValueError("a shell and a cursor index are needed")
        output = suggest(running(), list(tokens), int(current)).render(shell)
    except Exception:  # completing must never show an error or a traceback
        raise click.exceptions.Exit(2) from None
    con.write(output)


def _function_name(prog: str) -> str:
    return "_ncpasswords_" + re.sub(r"[^A-Za-z0-9_]", "_", prog)


def script(shell: str, prog: str) -> str:
    """The completion script of a shell of SHELLS for the program `prog`."""
    template = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}[shell]
    return template.replace("@PROG@", prog).replace("@FUNCTION@", _function_name(prog)).replace("@API@", API_VERSION)


def _shells(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return list(SHELLS)


@click.command("completion")
@click.argument(
    "shell",
    required=False,
    shell_complete=_shells,
    help='The shell type (e.g. "bash"), the value of the "$SHELL" env var will be used if this is not given',
)
def completion_command(shell: str | None) -> None:
    """Dump the shell completion script

    Prints the completion script of a shell (bash, zsh or fish; without an argument the one of
    $SHELL). Install it once for everyone, e.g. for bash:

      %command.full_name% bash | sudo tee /etc/bash_completion.d/occ

    or load it from the shell's start file, e.g. in ~/.bashrc:

      eval "$(%command.full_name% bash)"
    """
    con = console()
    chosen = shell or os.path.basename(os.environ.get("SHELL", ""))
    if chosen not in SHELLS:
        supported = '", "'.join(SHELLS)
        if chosen:
            con.error(
                f'Detected shell "{chosen}", which is not supported by shell completion '
                f'(supported shells: "{supported}").'
            )
        else:
            con.error(f'Shell not detected, shell completion only supports "{supported}".')
        raise click.exceptions.Exit(2)
    con.write(script(chosen, running().prog))


COMMANDS = [completion_command, complete_command]


# The scripts speak Symfony's `_complete` protocol. Words bash splits at `:` and `=` are joined
# again (`passwords:backup:li`, `--output=js`); an option value typed after `=` is completed with
# its option in front; suggestions are quoted for the shell.

_BASH = r"""# bash completion for @PROG@ (Nextcloud occ), printed by `@PROG@ completion bash`.
# Install: `@PROG@ completion bash | sudo tee /etc/bash_completion.d/@PROG@`,
# or add `eval "$(@PROG@ completion bash)"` to ~/.bashrc.

@FUNCTION@() {
    local IFS=$' \t\n' program=${COMP_WORDS[0]}
    local -a command=("$program")
    if [[ $(type -t -- "$program") == alias ]]; then
        read -r -a command <<< "${BASH_ALIASES[$program]}"
    fi

    # Join the words bash split at `:` or `=`: those with no blank before them.
    local line=${COMP_LINE:0:COMP_POINT} word gap i
    local -a words=()
    for (( i = 0; i <= COMP_CWORD; i++ )); do
        word=${COMP_WORDS[i]}
        gap=${line%%[![:space:]]*}
        line=${line#"$gap"}
        if (( i == 0 )) || [[ -n $gap ]]; then
            words+=("$word")
        else
            words[${#words[@]}-1]+=$word
        fi
        line=${line#"$word"}
    done
    local current=${words[${#words[@]}-1]}

    local -a request=("${command[@]}" _complete --no-interaction -sbash "-c$(( ${#words[@]} - 1 ))" -a@API@)
    for word in "${words[@]}"; do
        if [[ $word == \'*\' || $word == \"*\" ]]; then
            word=${word:1:${#word}-2}
        fi
        if [[ -n $word ]]; then
            request+=("-i$word")
        fi
    done

    local output suggestion
    output=$("${request[@]}" 2>/dev/null) || return 0
    # Readline replaces only what follows the last `:` or `=`: drop what comes before.
    local tail=${current##*[:=]}
    local skip=$(( ${#current} - ${#tail} ))
    COMPREPLY=()
    while IFS= read -r suggestion; do
        [[ -n $suggestion ]] || continue
        if [[ $current == -*=* && $suggestion != -* ]]; then
            suggestion=${current%%=*}=$suggestion
        fi
        if [[ $suggestion == "$current"* ]]; then
            COMPREPLY+=("$(printf '%q' "${suggestion:skip}")")
        fi
    done <<< "$output"
}

complete -o default -F @FUNCTION@ @PROG@
"""

_ZSH = r"""#compdef @PROG@
# zsh completion for @PROG@ (Nextcloud occ), printed by `@PROG@ completion zsh`.
# Install: `@PROG@ completion zsh > "${fpath[1]}/_@PROG@"`,
# or add `eval "$(@PROG@ completion zsh)"` to ~/.zshrc (after compinit).

@FUNCTION@() {
    local -a command request suggestions
    local word output suggestion current=${(Q)words[CURRENT]}
    command=(${(z)${aliases[${words[1]}]:-${words[1]}}})
    request=("${command[@]}" _complete --no-interaction -szsh -a@API@ "-c$(( CURRENT - 1 ))")
    for word in "${(@)words[1,CURRENT]}"; do
        word=${(Q)word}
        if [[ -n $word ]]; then
            request+=("-i$word")
        fi
    done
    output=$("${request[@]}" 2>/dev/null) || return 1
    for suggestion in "${(@f)output}"; do
        [[ -n $suggestion ]] || continue
        if [[ $current == -*=* && $suggestion != -* ]]; then
            suggestion=${current%%=*}=$suggestion
        fi
        # _describe takes `value:description`; a colon in the value is escaped.
        suggestion=${suggestion//:/\\:}
        suggestions+=("${suggestion/$'\t'/:}")
    done
    _describe -t occ '@PROG@' suggestions
}

compdef @FUNCTION@ @PROG@
"""

_FISH = r"""# fish completion for @PROG@ (Nextcloud occ), printed by `@PROG@ completion fish`.
# Install: `@PROG@ completion fish > ~/.config/fish/completions/@PROG@.fish`.

function @FUNCTION@
    set -l tokens (commandline -opc) (commandline -ct)
    set -l current (commandline -ct)
    set -l request $tokens[1] _complete --no-interaction -sfish -a@API@ -c(math (count $tokens) - 1)
    for token in $tokens
        if test -n "$token"
            set -a request "-i$token"
        end
    end
    for suggestion in ($request 2>/dev/null)
        if string match -qr -- '^-[^=]*=' $current; and not string match -q -- '-*' $suggestion
            echo (string replace -r -- '=.*$' '=' $current)$suggestion
        else
            echo $suggestion
        end
    end
end

complete -c @PROG@ -f -a '(@FUNCTION@)'
"""
