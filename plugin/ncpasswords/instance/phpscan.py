"""What a ``*.config.php`` file sets, found without running PHP.

Nextcloud includes every ``*.config.php`` beside config.php as PHP code. Most are plain arrays,
read exactly by :func:`.phpconfig.parse`. The ones Nextcloud's Docker image ships compute their
values from environment variables (``if (getenv('REDIS_HOST')) { $CONFIG = array(...); }``).
Without a PHP interpreter (and without the web server's environment) their values cannot be
known, but which top-level keys they may set can:

* a ``$CONFIG = array(...)`` or ``$CONFIG['key'] = ...;`` statement at the top level of the file
  (not inside a block, not after a condition, a ``return``, ``exit``, ``throw`` or ``goto``) whose
  value is a literal sets that key to that value;
* any other assignment to ``$CONFIG``, or to ``$CONFIG['key']``, makes the key *computed*: it has
  a value only when PHP runs the file;
* anything that would hide which keys are set (``$CONFIG[$name] = ...``,
  ``$CONFIG = array_merge(...)``, references to ``$CONFIG``, ``include``, ``eval``, ``extract``,
  variable variables, ``$GLOBALS``) makes the file unreadable: :class:`.PhpConfigError`, naming
  the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..php.arrays import array_key
from .phpconfig import _NAME, LABEL_CHAR, PhpArray, PhpConfigError, PhpValue, _Lexer, _Token, parse, parse_literal

__all__ = ["ExtraConfig", "read_extra"]


@dataclass
class ExtraConfig:
    """The top-level keys one file sets: to a known value, or computed (key -> line)."""

    values: PhpArray = field(default_factory=dict)
    computed: dict[int | str, int] = field(default_factory=dict)


def read_extra(source: bytes, filename: str) -> ExtraConfig:
    """What the ``*.config.php`` file with this content sets (see the module docstring)."""
    text = source.decode("utf-8", "surrogateescape")
    if not text.strip():
        return ExtraConfig()
    try:
        return ExtraConfig(parse(text, filename))
    except PhpConfigError:
        pass  # code, or statements the strict parser does not take: scan it
    return _Scanner(text, filename).run()


# -- tokens ---------------------------------------------------------------------------------------
_HEREDOC_START = re.compile(r"[ \t]*([\"']?)(" + _NAME.pattern + r")\1\r?\n")


class _CodeLexer(_Lexer):
    """The strict lexer, taking what a literal cannot hold too: strings with variables in them,
    heredocs and backticks become "dyn" tokens (a value known only when PHP runs)."""

    def next(self) -> _Token:
        tok = super().next()
        if tok.kind == "op" and tok.value == "<<<":
            return self._heredoc(tok.pos)
        if tok.kind == "op" and tok.value == "`":
            end = self._skip_quoted(tok.pos, "`")
            self.pos = end
            return _Token("dyn", "", tok.pos, self.text[tok.pos : end])
        return tok

    def _double_quoted(self, start: int) -> _Token:
        try:
            return super()._double_quoted(start)
        except PhpConfigError:
            end = self._skip_quoted(start, '"')  # raises for an unterminated string
            self.pos = end
            return _Token("dyn", "", start, self.text[start:end])

    def _skip_quoted(self, start: int, quote: str) -> int:
        """The index after the string opened at `start`, stepping over `{$...}` and `${...}`."""
        text, i = self.text, start + 1
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 2
            elif c == quote:
                return i + 1
            elif text.startswith("{$", i):
                i = self._skip_braces(i)
            elif text.startswith("${", i):
                i = self._skip_braces(i + 1)
            else:
                i += 1
        self.error(start, "unterminated string")

    def _skip_braces(self, start: int) -> int:
        text, i, depth = self.text, start, 0
        while i < len(text):
            c = text[i]
            if c in "'\"":
                i = self._skip_quoted(i, c)
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        self.error(start, "unterminated string")

    def _heredoc(self, start: int) -> _Token:
        head = _HEREDOC_START.match(self.text, self.pos)
        if head is None:
            self.error(start, "invalid heredoc")
        closing = re.compile(r"^[ \t]*" + re.escape(head[2]) + "(?!" + LABEL_CHAR + ")", re.MULTILINE)
        end = closing.search(self.text, head.end())
        if end is None:
            self.error(start, "unterminated heredoc")
        self.pos = end.end()
        return _Token("dyn", "", start, self.text[start : self.pos])


# -- the scan -------------------------------------------------------------------------------------
_OPENERS = {"(": ")", "[": "]", "{": "}", "#[": "]"}
_CLOSERS = {")", "]", "}"}
_ENDS_FLOW = {"return", "exit", "die", "throw", "goto", "__halt_compiler"}
_ALTERNATIVE_SYNTAX = {"endif", "endwhile", "endfor", "endforeach", "endswitch", "enddeclare"}
_HIDES_KEYS = {"include", "include_once", "require", "require_once", "eval", "extract", "parse_str", "mb_parse_str"}
_LITERAL_NAMES = {"array", "true", "false", "null"}
_STATEMENT_START = {None, ";", "}", "?>"}


class _Computed:
    """A value that only PHP can compute."""


_COMPUTED = _Computed()


class _Scanner:
    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.lexer = _CodeLexer(text, filename)
        self.lexer.open_tag()
        self.tokens: list[_Token] = []
        while (tok := self.lexer.next()).kind != "eof":
            self.tokens.append(tok)
        self.tokens.append(tok)
        self.literals = _Lexer(text, filename)
        self.result = ExtraConfig()

    # -- helpers ------------------------------------------------------------------------------
    def line(self, i: int) -> int:
        return self.lexer.line_of(self.tokens[i].pos)

    def fail(self, i: int, reason: str) -> PhpConfigError:
        line = self.line(i)
        return PhpConfigError(
            f"Cannot read {self.filename} on line {line} without running PHP: {reason}",
            filename=self.filename,
            line=line,
        )

    def op(self, i: int, *values: str) -> bool:
        tok = self.tokens[i] if i < len(self.tokens) else self.tokens[-1]
        return tok.kind in ("op", "close") and tok.value in values

    def name(self, i: int, *values: str) -> bool:
        tok = self.tokens[i] if 0 <= i < len(self.tokens) else None
        return tok is not None and tok.kind == "name" and str(tok.value).lower() in values

    def statement_start(self, i: int) -> bool:
        if i == 0:
            return True
        prev = self.tokens[i - 1]
        return prev.kind in ("op", "close") and prev.value in _STATEMENT_START

    def matching(self, i: int) -> int:
        """The index of the bracket closing the one at `i`."""
        depth = 0
        for j in range(i, len(self.tokens)):
            tok = self.tokens[j]
            if tok.kind == "op" and tok.value in _OPENERS:
                depth += 1
            elif tok.kind == "op" and tok.value in _CLOSERS:
                depth -= 1
                if depth == 0:
                    return j
        raise self.fail(i, "unbalanced brackets")

    def statement_end(self, i: int) -> int:
        """The index of the `;` (or `?>`, or end of file) that ends the expression starting at `i`."""
        j = i
        while not self.op(j, ";", "?>") and self.tokens[j].kind != "eof":
            j = self.matching(j) + 1 if self.op(j, *_OPENERS) else j + 1
        return j

    def value(self, start: int, end: int) -> PhpValue | _Computed:
        """The literal that tokens[start:end] spell, or _COMPUTED when they are code."""
        for j in range(start, end):
            tok = self.tokens[j]
            if tok.kind in ("var", "dyn") or (tok.kind == "name" and str(tok.value).lower() not in _LITERAL_NAMES):
                return _COMPUTED
            if (
                tok.kind == "op"
                and tok.value not in ("[", "]", ",", "=>", ".", ")")
                and not (
                    (tok.value == "(" and self.name(j - 1, "array"))
                    or (tok.value in ("-", "+") and (j == start or self.op(j - 1, "=>", "(", "[", ",", "-", "+")))
                )
            ):
                return _COMPUTED  # operators, casts, parentheses: PHP evaluates them
        if start >= end:
            raise self.fail(start, "an assignment without a value")
        return parse_literal(self.literals, self.tokens[start].pos, self.tokens[end].pos)

    def key(self, i: int) -> int | str:
        """The literal key inside the brackets at tokens[i] (`[` key `]`)."""
        first = self.tokens[i + 1]
        if first.kind == "str" and self.op(i + 2, "]"):
            return array_key(str(first.value))
        if first.kind == "int" and self.op(i + 2, "]"):
            return int(first.value)
        if self.op(i + 1, "-") and self.tokens[i + 2].kind == "int" and self.op(i + 3, "]"):
            return -int(self.tokens[i + 2].value)
        raise self.fail(i, "$CONFIG is indexed by something other than a literal key")

    # -- what $CONFIG statements do ---------------------------------------------------------------
    def set_known(self, key: int | str, value: PhpValue) -> None:
        self.result.computed.pop(key, None)
        self.result.values[key] = value

    def set_computed(self, key: int | str, i: int) -> None:
        self.result.values.pop(key, None)
        self.result.computed[key] = self.line(i)

    def forget_all(self, i: int, known: bool) -> None:
        """`$CONFIG` replaced or unset: for sure (known) or maybe."""
        if known:
            self.result = ExtraConfig()
            return
        for key in list(self.result.values):
            self.set_computed(key, i)

    def run(self) -> ExtraConfig:
        tokens = self.tokens
        depth = 0
        stack: list[str] = []
        settled = not any(t.kind == "name" and str(t.value).lower() in _ALTERNATIVE_SYNTAX for t in tokens)
        for i, tok in enumerate(tokens):
            if tok.kind == "op" and tok.value in _OPENERS:
                stack.append(_OPENERS[str(tok.value)])
            elif tok.kind == "op" and tok.value in _CLOSERS:
                if not stack or stack.pop() != tok.value:
                    raise self.fail(i, "unbalanced brackets")
            elif tok.kind == "op" and tok.value == "$":
                raise self.fail(i, "variable variables")
            elif tok.kind == "name" and str(tok.value).lower() in _ENDS_FLOW:
                settled = False
            elif tok.kind == "name" and str(tok.value).lower() in _HIDES_KEYS:
                raise self.fail(i, f"'{tok.value}'")
            elif tok.kind == "var" and tok.value == "GLOBALS":
                raise self.fail(i, "$GLOBALS")
            elif tok.kind == "var" and tok.value == "CONFIG":
                depth = len(stack)
                self.config_use(i, settled and depth == 0)
        if stack:
            raise self.fail(len(tokens) - 1, "unbalanced brackets")
        return self.result

    def config_use(self, i: int, top_level: bool) -> None:
        """One occurrence of `$CONFIG` at tokens[i]."""
        if self.op(i - 1, "(") and self.name(i - 2, "isset", "empty"):
            return  # only reads
        if self.op(i - 1, "(") and self.name(i - 2, "unset"):
            self.config_unset(i, top_level and self.statement_start(i - 2))
            return
        unconditional = top_level and self.statement_start(i)
        if self.op(i + 1, "="):
            self.config_assign(i, unconditional)
            return
        if not self.op(i + 1, "["):
            raise self.fail(i, "$CONFIG is used as a whole")
        key = self.key(i + 1)
        after = self.matching(i + 1) + 1
        if unconditional and self.op(after, "="):
            end = self.statement_end(after + 1)
            value = self.value(after + 1, end)
            if not isinstance(value, _Computed):
                self.set_known(key, value)
                return
        self.set_computed(key, i)  # a computed value, a nested key, a condition, a compound assignment

    def config_assign(self, i: int, unconditional: bool) -> None:
        """`$CONFIG = array(...)`: every key named in the array (each value known or computed)."""
        start = i + 2
        if self.name(start, "array") and self.op(start + 1, "("):
            start += 1
        elif not self.op(start, "["):
            raise self.fail(i, "$CONFIG is assigned something other than an array")
        close = self.matching(start)
        if not (self.op(close + 1, ";", "?>") or self.tokens[close + 1].kind == "eof"):
            raise self.fail(i, "$CONFIG is assigned an expression")
        elements: list[tuple[int | str, PhpValue | _Computed, int]] = []
        j = start + 1
        while j < close:
            end, arrow = j, None
            while end < close and not self.op(end, ","):
                if self.op(end, "=>") and arrow is None:
                    arrow = end
                end = self.matching(end) + 1 if self.op(end, *_OPENERS) else end + 1
            if arrow is None:
                raise self.fail(j, "an array element without a key")
            first = self.tokens[j]
            if arrow - j != 1 or first.kind not in ("str", "int"):
                raise self.fail(j, "an array key that is not a literal")
            key = array_key(str(first.value)) if first.kind == "str" else int(first.value)
            elements.append((key, self.value(arrow + 1, end), j))
            j = end + 1
        self.forget_all(i, unconditional)
        for key, value, at in elements:
            if unconditional and not isinstance(value, _Computed):
                self.set_known(key, value)
            else:
                self.set_computed(key, at)

    def config_unset(self, i: int, unconditional: bool) -> None:
        if self.op(i + 1, ")", ","):
            self.forget_all(i, unconditional)
            return
        if not self.op(i + 1, "["):
            raise self.fail(i, "$CONFIG is used as a whole")
        key = self.key(i + 1)
        after = self.matching(i + 1) + 1
        if not self.op(after, ")", ","):
            self.set_computed(key, i)  # a nested key
        elif unconditional:
            self.result.values.pop(key, None)
            self.result.computed.pop(key, None)
        elif key in self.result.values:
            self.set_computed(key, i)
