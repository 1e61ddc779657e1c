"""PHP's value rules (ncpasswords.php) where the project's output depends on them: casts of entity
values, intval of config values, occ's JSON output, the version of a backup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ncpasswords.backup.reader import read_document
from ncpasswords.backup.validation import RowBuilder
from ncpasswords.cli.console import render
from ncpasswords.php.casts import php_intval
from ncpasswords.php.compare import compare
from ncpasswords.repositories.entities import TABLES

EXAMPLE = Path(__file__).parent / "fixtures" / "worked-example-v106.json"


@pytest.mark.parametrize(("value", "expected"), [("+.9", 0), (".5e1", 5), ("-.5e1 apples", -5), (" .25", 0)])
def test_intval_of_a_number_starting_with_its_point(value: str, expected: int) -> None:
    assert php_intval(value) == expected


def test_entity_strings_given_as_floats_are_cast_as_php_casts_them() -> None:
    tag = json.loads(EXAMPLE.read_text())["tags"][0]
    revision = {**tag["revisions"][0], "label": 1e25, "color": 0.1 + 0.2}
    builder = RowBuilder(TABLES["passwords_tag_rv"])
    row = dict(
        zip((c.prop for c in builder.table.columns if c.name != "id"), builder.row(revision, "tags"), strict=True)
    )
    assert (row["label"], row["color"]) == ("1.0E+25", "0.3")


def test_json_output_is_phps_json_encode() -> None:
    assert render({"f": 1e25, "d": "\x7f/", "n": 10.0}, "json") == '{"f":1.0e+25,"d":"\x7f\\/","n":10}'
    assert render({"0": "a", "1": "b"}, "json") == '["a","b"]'


@pytest.mark.parametrize(
    ("left", "right", "result"), [("106 ", 106, 0), ("1e2", 100, 0), ("abc", 106, 1), (None, 0, 0)]
)
def test_comparison_as_php_8(left: object, right: object, result: int) -> None:
    assert compare(left, right) == result


def test_a_version_with_a_fraction_is_read_as_php_compares_it(tmp_path: Path) -> None:
    document = json.loads(EXAMPLE.read_text())
    document["version"] = "105.5"  # PHP: between 100 and 106, so only the step to 106 runs
    path = tmp_path / "fraction.json"
    path.write_text(json.dumps(document))
    items = list(read_document(path, "secret").items)
    assert [name for name, _ in items if name == "passwords"] == ["passwords"] * len(document["passwords"])
