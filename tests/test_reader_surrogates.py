"""Unpaired UTF-16 surrogate escapes are refused as PHP's json_decode refuses them, read from the
escapes of the JSON text; pairs, escaped backslashes before a `u` and every other escape pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ncpasswords.backup.errors import BackupFormatError
from ncpasswords.backup.reader import read_document

PIECES = ["a", "u", "d83d", "\\\\", "\\n", "\\/", "\\u00e9", "\\ud83d", "\\uD83D", "\\ude00", "\\uDC00", "\\udbff"]


def unpaired(text: str) -> bool:
    """What PHP refuses: a string that decodes to a lone surrogate."""
    try:
        json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def refused(path: Path, label: str) -> bool:
    document = {"version": 106, "passwords": [{"uuid": "u1", "userId": "alice", "label": "x"}], "keys": {}}
    text = json.dumps(document).replace('"label": "x"', f'"label": {label}')
    path.write_text(text, encoding="utf-8")
    try:
        list(read_document(path, "secret").items)
    except BackupFormatError as exc:
        assert str(exc) == "The backup file is not valid JSON (a single unpaired UTF-16 surrogate)"
        return True
    return False


@pytest.mark.parametrize(
    ("label", "lone"),
    [
        ('"\\ud83d\\ude00"', False),
        ('"\\ud83d"', True),
        ('"\\ude00"', True),
        ('"\\ude00\\ud83d"', True),
        ('"\\ud83d\\ud83d\\ude00"', True),
        ('"\\\\ud83d"', False),  # a backslash, then the text ud83d
        ('"\\\\\\ud83d"', True),
        ('"\\\\ud83d\\ude00"', True),  # the escape after the text is on its own
        ('"\\ud83d\\\\ude00"', True),
        ('{"\\udc00": 1}', True),  # in a member name
    ],
)
def test_unpaired_surrogate_escapes(tmp_path: Path, label: str, lone: bool) -> None:
    assert unpaired(label) is lone
    assert refused(tmp_path / "backup.json", label) is lone


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_refused_exactly_when_json_decodes_an_unpaired_surrogate(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str]
) -> None:
    label = '"' + "".join(pieces) + '"'
    assert refused(tmp_path_factory.mktemp("surrogates") / "backup.json", label) is unpaired(label)
