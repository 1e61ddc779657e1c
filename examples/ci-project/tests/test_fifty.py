"""Fifty tests start from the same fixture backup, which is restored once.

The plugin restores a fixture into a session template the first time a test asks for it; every
test then gets a copy of the template (a database cloned from it and a copy of its data folder).
`passwords_session.restores_of(...)` counts the restores that really ran.
"""

from contextlib import closing
from typing import Any

import pytest

BACKUP = "fixtures/worked-example-v106.json.gz"
SEEN: set[str] = set()


@pytest.mark.passwords_backup(BACKUP)
@pytest.mark.parametrize("n", range(50))
def test_each_test_gets_the_restored_fixture(passwords_instance: Any, passwords_session: Any, n: int) -> None:
    with closing(passwords_instance.connect()) as connection:
        cursor = connection.cursor()
        cursor.execute(f"SELECT COUNT(*) FROM {passwords_instance.table('passwords_password')}")
        assert cursor.fetchone()[0] == 2
        # Each test may change its copy freely.
        cursor.execute(f"DELETE FROM {passwords_instance.table('passwords_tag')}")
    SEEN.add(str(passwords_instance.config_dir))
    assert passwords_session.restores_of(BACKUP) == 1


def test_fifty_tests_cost_one_restore(passwords_session: Any) -> None:
    assert len(SEEN) == 50  # fifty distinct instances ...
    assert passwords_session.copies_of(BACKUP) >= 50  # ... all copied from the fixture's template ...
    assert passwords_session.restores_of(BACKUP) == 1  # ... which was restored once
