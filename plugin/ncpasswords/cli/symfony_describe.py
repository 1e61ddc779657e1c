"""`occ list` and `occ help` output in the layouts of Symfony's descriptors: txt, json, xml, md.

The txt layout marks its parts with Symfony's style tags (`<info>`, `<comment>`), turned into
ANSI colours when the output is decorated (`--ansi`, or a colour terminal) and dropped otherwise.
json is PHP's json_encode() of Symfony's structure, xml what PHP's DOMDocument writes with
formatOutput, md Symfony's Markdown; none of the three ends in a newline, as in Symfony.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..php.json import dumps as php_json
from ..php.var_export import var_export

if TYPE_CHECKING:
    from .symfony import Application, Argument, Command, Definition, Option

FORMATS = ("txt", "xml", "json", "md")
GLOBAL_NAMESPACE = "_global"

# Symfony's OutputFormatter styles: (set, unset) SGR codes.
_STYLES = {"info": ("32", "39"), "comment": ("33", "39"), "error": ("37;41", "39;49"), "question": ("30;46", "39;49")}
_TAG = re.compile(r"<(/?)(info|comment|error|question|)>")


def format_styles(text: str, decorated: bool) -> str:
    """Apply (or drop) the style tags: `<info>x</info>` is green on a decorated output."""
    stack: list[str] = []

    def replace(match: re.Match[str]) -> str:
        closing, name = match.group(1), match.group(2)
        if not closing:
            if not name:
                return match.group(0)
            stack.append(name)
            return f"\033[{_STYLES[name][0]}m" if decorated else ""
        if name and (not stack or stack[-1] != name):
            return match.group(0)
        if not stack:
            return match.group(0)
        style = stack.pop()
        return f"\033[{_STYLES[style][1]}m" if decorated else ""

    return _TAG.sub(replace, text)


def long_version(name: str, version: str, decorated: bool) -> str:
    """`Nextcloud 34.0.1`, the version in Symfony's info style."""
    return format_styles(f"{name} <info>{version}</info>", decorated)


# -- what is described --------------------------------------------------------------------------


def _namespace_of(name: str) -> str:
    return name.split(":", 1)[0] if ":" in name else ""


def application_namespaces(app: Application, namespace: str | None, show_hidden: bool) -> dict[str, list[Command]]:
    """Symfony's ApplicationDescription: the commands by top-level namespace, `_global` first,
    namespaces and names sorted."""
    commands = app.all(app.find_namespace(namespace) if namespace else None)
    global_commands: dict[str, Command] = {}
    grouped: dict[str, dict[str, Command]] = {}
    for name, command in commands.items():
        key = _namespace_of(name)
        if key in ("", GLOBAL_NAMESPACE):
            global_commands[name] = command
        else:
            grouped.setdefault(key, {})[name] = command
    ordered: list[tuple[str, dict[str, Command]]] = []
    if global_commands:
        ordered.append((GLOBAL_NAMESPACE, global_commands))
    ordered.extend((key, grouped[key]) for key in sorted(grouped))
    return {key: [group[n] for n in sorted(group) if show_hidden or not group[n].hidden] for key, group in ordered}


def _listed(namespaces: dict[str, list[Command]]) -> list[Command]:
    return [command for commands in namespaces.values() for command in commands]


# -- txt ----------------------------------------------------------------------------------------


def _default_text(value: Any) -> str:
    """Symfony's formatDefaultValue(): JSON without escaped slashes or Unicode."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("\\\\", "\\")


def _has_default(value: Any) -> bool:
    return value is not None and (not isinstance(value, list) or bool(value))


def _indent_lines(text: str, width: int) -> str:
    return re.sub(r"\s*[\r\n]\s*", "\n" + " " * width, text)


def _options_width(options: Iterable[Option]) -> int:
    total = 0
    for option in options:
        length = 1 + max(len(option.shortcut or ""), 1) + 4 + len(option.name)
        if option.negatable:
            length += 6 + len(option.name)
        elif option.accept_value:
            length += 1 + len(option.name) + (2 if option.value_optional else 0)
        total = max(total, length)
    return total


def _text_argument(argument: Argument, width: int) -> str:
    default = (
        f"<comment> [default: {_default_text(argument.default)}]</comment>" if _has_default(argument.default) else ""
    )
    spacing = " " * (width - len(argument.name))
    return f"  <info>{argument.name}</info>  {spacing}{_indent_lines(argument.description, width + 4)}{default}"


def _text_option(option: Option, width: int) -> str:
    default = ""
    if option.accept_value and _has_default(option.default):
        default = f"<comment> [default: {_default_text(option.default)}]</comment>"
    value = ""
    if option.accept_value:
        value = "=" + option.name.upper()
        if option.value_optional:
            value = f"[{value}]"
    names = f"--{option.name}|--no-{option.name}" if option.negatable else f"--{option.name}{value}"
    synopsis = (f"-{option.shortcut}, " if option.shortcut else "    ") + names
    multiple = "<comment> (multiple values allowed)</comment>" if option.is_array else ""
    description = _indent_lines(option.description, width + 4)
    return f"  <info>{synopsis}</info>  {' ' * (width - len(synopsis))}{description}{default}{multiple}"


def _text_definition(arguments: Sequence[Argument], options: Sequence[Option]) -> str:
    width = _options_width(options)
    for argument in arguments:
        width = max(width, len(argument.name))
    out = ""
    if arguments:
        out += "<comment>Arguments:</comment>\n"
        out += "".join(_text_argument(a, width) + "\n" for a in arguments)
    if arguments and options:
        out += "\n"
    if options:
        out += "<comment>Options:</comment>"
        # Options whose shortcut is longer than a letter (`-v|vv|vvv`) come last.
        first = [o for o in options if len(o.shortcut or "") <= 1]
        later = [o for o in options if len(o.shortcut or "") > 1]
        out += "".join("\n" + _text_option(o, width) for o in (*first, *later))
    return out


def _text_command(command: Command) -> str:
    definition = command.full_definition().visible()
    out = ""
    if command.description:
        out += f"<comment>Description:</comment>\n  {command.description}\n\n"
    out += f"<comment>Usage:</comment>\n  {command.synopsis(short=True)}\n"
    if definition.options or definition.arguments:
        out += "\n" + _text_definition(definition.arguments, definition.options) + "\n"
    help_text = command.processed_help
    if help_text and help_text != command.description:
        out += "\n<comment>Help:</comment>\n  " + help_text.replace("\n", "\n  ") + "\n"
    return out


def _text_application(app: Application, namespace: str | None, raw: bool) -> str:
    namespaces = application_namespaces(app, namespace, show_hidden=False)
    commands = _listed(namespaces)
    width = max((len(c.name) for c in commands), default=-2) + 2
    if raw:
        return "".join(f"{c.name.ljust(width)} {c.description}\n" for c in commands)
    out = f"{app.name} <info>{app.version}</info>\n\n"
    out += "<comment>Usage:</comment>\n  command [options] [arguments]\n\n"
    out += _text_definition((), app.definition.visible().options) + "\n\n"
    if namespace:
        out += f'<comment>Available commands for the "{namespace}" namespace:</comment>'
    else:
        out += "<comment>Available commands:</comment>"
    for key, listed in namespaces.items():
        if not listed:
            continue
        if not namespace and key != GLOBAL_NAMESPACE:
            out += f"\n <comment>{key}</comment>"
        for command in listed:
            out += f"\n  <info>{command.name}</info>{' ' * (width - len(command.name))}{command.description}"
    return out + "\n"


# -- json ---------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]\s*", " ", text)


def _json_argument(argument: Argument) -> dict[str, Any]:
    return {
        "name": argument.name,
        "is_required": argument.required,
        "is_array": argument.is_array,
        "description": _one_line(argument.description),
        "default": argument.default,
    }


def _json_options(option: Option) -> dict[str, dict[str, Any]]:
    data = {
        option.name: {
            "name": f"--{option.name}",
            "shortcut": "-" + option.shortcut.replace("|", "|-") if option.shortcut else "",
            "accept_value": option.accept_value,
            "is_value_required": option.value_required,
            "is_multiple": option.is_array,
            "description": _one_line(option.description),
            "default": option.default,
        }
    }
    if option.negatable:
        data[f"no-{option.name}"] = {
            "name": f"--no-{option.name}",
            "shortcut": "",
            "accept_value": False,
            "is_value_required": False,
            "is_multiple": False,
            "description": f'Negate the "--{option.name}" option',
            "default": False,
        }
    return data


def _json_definition(definition: Definition) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for option in definition.options:
        options.update(_json_options(option))
    return {"arguments": {a.name: _json_argument(a) for a in definition.arguments}, "options": options}


def _json_command(command: Command, short: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"name": command.name, "description": command.description}
    if short:
        data["usage"] = []
    else:
        data["usage"] = [command.synopsis()]
        data["help"] = command.processed_help
        data["definition"] = _json_definition(command.full_definition().visible())
    data["hidden"] = command.hidden
    return data


def _json_application(app: Application, namespace: str | None, short: bool) -> dict[str, Any]:
    namespaces = application_namespaces(app, namespace, show_hidden=True)
    data: dict[str, Any] = {
        "application": {"name": app.name, "version": app.version},
        "commands": [_json_command(c, short) for c in _listed(namespaces)],
    }
    if namespace:
        data["namespace"] = namespace
    else:
        data["namespaces"] = [{"id": key, "commands": [c.name for c in listed]} for key, listed in namespaces.items()]
    return data


# -- xml ----------------------------------------------------------------------------------------


@dataclass
class _Element:
    tag: str
    attributes: list[tuple[str, str]] = field(default_factory=list)
    children: list[_Element] = field(default_factory=list)
    text: str | None = None


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _escape_attribute(text: str) -> str:
    return _escape_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def _serialize(element: _Element, level: int = 0) -> str:
    """libxml2's formatted output: two spaces per level, text-only elements on one line."""
    indent = "  " * level
    attributes = "".join(f' {k}="{_escape_attribute(v)}"' for k, v in element.attributes)
    if element.text is not None:
        return f"{indent}<{element.tag}{attributes}>{_escape_text(element.text)}</{element.tag}>\n"
    if not element.children:
        return f"{indent}<{element.tag}{attributes}/>\n"
    inner = "".join(_serialize(child, level + 1) for child in element.children)
    return f"{indent}<{element.tag}{attributes}>\n{inner}{indent}</{element.tag}>\n"


def _xml_document(root: _Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _serialize(root)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _php_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_defaults(default: Any) -> list[_Element]:
    """PHP: an array gives its items, a bool its var_export(), any other truthy value itself."""
    if isinstance(default, list):
        values = default
    elif isinstance(default, bool):
        values = [default]
    else:
        values = [default] if default not in (None, "", "0", 0) else []
    return [_Element("default", text=_php_string(v)) for v in values]


def _xml_argument(argument: Argument) -> _Element:
    return _Element(
        "argument",
        [("name", argument.name), ("is_required", _flag(argument.required)), ("is_array", _flag(argument.is_array))],
        [
            _Element("description", text=argument.description),
            _Element("defaults", children=_xml_defaults(argument.default)),
        ],
    )


def _xml_options(option: Option) -> list[_Element]:
    attributes = [("name", f"--{option.name}")]
    shortcut = option.shortcut or ""
    if "|" in shortcut:
        attributes += [("shortcut", "-" + shortcut.split("|")[0]), ("shortcuts", "-" + shortcut.replace("|", "|-"))]
    else:
        attributes.append(("shortcut", f"-{shortcut}" if shortcut else ""))
    attributes += [
        ("accept_value", _flag(option.accept_value)),
        ("is_value_required", _flag(option.value_required)),
        ("is_multiple", _flag(option.is_array)),
    ]
    children = [_Element("description", text=option.description)]
    if option.accept_value:
        children.append(_Element("defaults", children=_xml_defaults(option.default)))
    elements = [_Element("option", attributes, children)]
    if option.negatable:
        elements.append(
            _Element(
                "option",
                [
                    ("name", f"--no-{option.name}"),
                    ("shortcut", ""),
                    ("accept_value", "0"),
                    ("is_value_required", "0"),
                    ("is_multiple", "0"),
                ],
                [_Element("description", text=f'Negate the "--{option.name}" option')],
            )
        )
    return elements


def _xml_command(command: Command, short: bool) -> _Element:
    element = _Element("command", [("id", command.name), ("name", command.name), ("hidden", _flag(command.hidden))])
    usages = [] if short else [_Element("usage", text=command.synopsis())]
    element.children.append(_Element("usages", children=usages))
    element.children.append(_Element("description", text=command.description.replace("\n", "\n ")))
    if not short:
        element.children.append(_Element("help", text=command.processed_help.replace("\n", "\n ")))
        definition = command.full_definition().visible()
        element.children.append(_Element("arguments", children=[_xml_argument(a) for a in definition.arguments]))
        element.children.append(_Element("options", children=[e for o in definition.options for e in _xml_options(o)]))
    return element


def _xml_application(app: Application, namespace: str | None, short: bool) -> _Element:
    root = _Element("symfony", [("name", app.name), ("version", app.version)])
    namespaces = application_namespaces(app, namespace, show_hidden=True)
    commands = _Element(
        "commands",
        [("namespace", namespace)] if namespace else [],
        [_xml_command(c, short) for c in _listed(namespaces)],
    )
    root.children.append(commands)
    if not namespace:
        root.children.append(
            _Element(
                "namespaces",
                children=[
                    _Element("namespace", [("id", key)], [_Element("command", text=c.name) for c in listed])
                    for key, listed in namespaces.items()
                ],
            )
        )
    return root


# -- md -----------------------------------------------------------------------------------------


def _default(value: Any) -> str:
    """A default as Symfony's Markdown shows it: PHP's var_export() on one line."""
    if isinstance(value, list | tuple):
        value = dict(enumerate(value))
    elif not isinstance(value, str | int | float | None):
        value = str(value)
    return var_export(value).replace("\n", "")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _md_argument(argument: Argument) -> str:
    description = re.sub(r"\s*[\r\n]\s*", "\n", argument.description) + "\n\n" if argument.description else ""
    return (
        f"#### `{argument.name or '<none>'}`\n\n{description}"
        f"* Is required: {_yes(argument.required)}\n* Is array: {_yes(argument.is_array)}\n"
        f"* Default: `{_default(argument.default)}`"
    )


def _md_option(option: Option) -> str:
    name = f"--{option.name}"
    if option.negatable:
        name += f"|--no-{option.name}"
    if option.shortcut:
        name += "|-" + option.shortcut.replace("|", "|-")
    description = re.sub(r"\s*[\r\n]\s*", "\n", option.description) + "\n\n" if option.description else ""
    return (
        f"#### `{name}`\n\n{description}"
        f"* Accept value: {_yes(option.accept_value)}\n* Is value required: {_yes(option.value_required)}\n"
        f"* Is multiple: {_yes(option.is_array)}\n* Is negatable: {_yes(option.negatable)}\n"
        f"* Default: `{_default(option.default)}`"
    )


def _md_definition(definition: Definition) -> str:
    out = ""
    if definition.arguments:
        out += "### Arguments" + "".join("\n\n" + _md_argument(a) for a in definition.arguments)
    if definition.options:
        if definition.arguments:
            out += "\n\n"
        out += "### Options" + "".join("\n\n" + _md_option(o) for o in definition.options)
    return out


def _md_command(command: Command, short: bool) -> str:
    head = f"`{command.name}`\n{'-' * (len(command.name) + 2)}\n\n"
    head += f"{command.description}\n\n" if command.description else ""
    if short:
        return head + "### Usage\n\n"
    out = head + f"### Usage\n\n* `{command.synopsis()}`\n"
    if command.processed_help:
        out += "\n" + command.processed_help
    definition = command.full_definition().visible()
    if definition.options or definition.arguments:
        out += "\n\n" + _md_definition(definition)
    return out


def _md_application(app: Application, namespace: str | None, short: bool) -> str:
    namespaces = application_namespaces(app, namespace, show_hidden=False)
    title = f"{app.name} {app.version}"
    out = f"{title}\n{'=' * len(title)}"
    for key, listed in namespaces.items():
        if key != GLOBAL_NAMESPACE:
            out += f"\n\n**{key}:**"
        out += "\n\n" + "\n".join(f"* [`{c.name}`](#{c.name.replace(':', '')})" for c in listed)
    for command in _listed(namespaces):
        out += "\n\n" + _md_command(command, short)
    return out


# -- entry points -------------------------------------------------------------------------------


def describe_application(
    app: Application,
    format_name: str,
    namespace: str | None = None,
    raw: bool = False,
    short: bool = False,
    decorated: bool = False,
) -> str:
    """`occ list [namespace]` in a format of FORMATS."""
    if format_name == "json":
        return php_json(_json_application(app, namespace, short))
    if format_name == "xml":
        return _xml_document(_xml_application(app, namespace, short))
    if format_name == "md":
        return format_styles(_md_application(app, namespace, short), False)
    return format_styles(_text_application(app, namespace, raw), decorated and not raw)


def describe_command(
    command: Command, format_name: str, raw: bool = False, short: bool = False, decorated: bool = False
) -> str:
    """`occ help <command>` (and `occ <command> --help`) in a format of FORMATS."""
    if format_name == "json":
        return php_json(_json_command(command, short))
    if format_name == "xml":
        return _xml_document(_xml_command(command, short))
    if format_name == "md":
        return format_styles(_md_command(command, short), False)
    return format_styles(_text_command(command), decorated and not raw)
