"""The canonical queries translated ahead of time (sql/translated/): current, used, and never
trusted once their canonical text has changed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import InstalledInstance
from ncpasswords.db import backends, pretranslation, queries
from ncpasswords.db.dialects import substitute
from ncpasswords.db.translation import translate

ENGINES = backends.names()


@pytest.mark.parametrize("engine", ENGINES)
def test_every_translatable_query_has_a_current_entry(engine: str) -> None:
    stale = []
    for name, canonical in queries.canonical_queries(engine).items():
        if pretranslation.lookup(name, engine, canonical) is None and pretranslation.pretranslate(canonical, engine):
            stale.append(name)
    assert not stale, f"run `python -m ncpasswords.db.pretranslation`: {stale}"


@pytest.mark.parametrize("engine", ENGINES)
def test_entries_give_what_translating_gives(engine: str) -> None:
    backend = backends.get(engine)
    fragments = (
        ("TABLE", "passwords_folder"),
        ("REVISIONS", "passwords_folder_rv"),
        ("NEWNAME", "passwords_folder_old"),
        ("COLUMNS", '"id", "uuid"'),
        ("COLUMN", '"edited"'),
    )
    compared = 0
    for name, canonical in queries.canonical_queries(engine).items():
        used = tuple((k, v) for k, v in fragments if f"*{k}*" in canonical)
        if pretranslation.lookup(name, engine, canonical) is None:
            continue
        direct = translate(substitute(queries.fill(canonical, used), "nc_"), backend)
        assert queries.get(name, engine, "nc_", used) == direct, name
        compared += 1
    assert compared > 100


@pytest.mark.parametrize("engine", ENGINES)
def test_a_table_named_by_a_reserved_word_without_a_prefix_is_quoted_as_translating_quotes_it(engine: str) -> None:
    """Nextcloud's `groups` table is a reserved word on MySQL 8: with an empty prefix the query
    must quote it as the translation does."""
    backend = backends.get(engine)
    fragments = (("TABLE", "groups"), ("REVISIONS", "groups"), ("NEWNAME", "groups"), ("COLUMNS", '"gid"'))
    for name, canonical in queries.canonical_queries(engine).items():
        if "*TABLE*" not in canonical or pretranslation.lookup(name, engine, canonical) is None:
            continue
        used = tuple((k, v) for k, v in fragments if f"*{k}*" in canonical)
        assert queries.get(name, engine, "", used) == translate(substitute(queries.fill(canonical, used), ""), backend)


def test_an_entry_made_from_other_canonical_text_is_not_used() -> None:
    name = "appconfig.get"
    canonical = queries.canonical_queries("pgsql")[name]
    assert pretranslation.lookup(name, "pgsql", canonical) is not None
    assert pretranslation.lookup(name, "pgsql", canonical + " LIMIT 1") is None


def test_queries_with_fragments_that_are_not_identifiers_are_left_to_run_time() -> None:
    assert pretranslation.pretranslate("SELECT *COLUMNS* FROM *PREFIX**TABLE* WHERE *WHERE*", "mysql") is None
    assert pretranslation.pretranslate("SELECT *COLUMNS* FROM *PREFIX**TABLE*", "mysql") == (
        "SELECT *COLUMNS* FROM *PREFIX**TABLE*"
    )


def test_a_restore_does_not_import_the_translator(installed: InstalledInstance) -> None:
    """sqlglot costs a tenth of a second and ~16 MB at start-up: the queries a backup and a
    restore run come pre-translated."""
    installed.occ("passwords:backup:create", "probe").check()
    probe = (
        "import sys; from ncpasswords.cli.main import main;"
        "code = main(['-n', 'passwords:backup:restore', 'probe']);"
        "print(code, 'sqlglot' in sys.modules)"
    )
    env = {**os.environ, "NEXTCLOUD_CONFIG_DIR": str(installed.config_dir)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    assert out.stdout.strip().splitlines()[-1] == "0 False", out.stderr
