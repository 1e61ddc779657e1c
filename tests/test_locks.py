"""The advisory lock serialises processes using the same database, on every engine."""

from __future__ import annotations

import pytest

from conftest import InstalledInstance
from ncpasswords.db.connection import LockBusyError


def test_second_holder_waits_or_is_refused(installed: InstalledInstance) -> None:
    with installed.connect() as first, installed.connect() as second:
        with first.advisory_lock("backup"):
            with (
                pytest.raises(LockBusyError, match="busy here"),
                second.advisory_lock("backup", wait=0.3, busy_message="busy here"),
            ):
                pass
            with second.advisory_lock("other-name"):
                pass
        with second.advisory_lock("backup", wait=0.3):
            pass


@pytest.mark.parametrize("engine", ["pgsql", "mysql"], indirect=True)
def test_lock_is_scoped_to_the_table_prefix(installed: InstalledInstance) -> None:
    """Two instances sharing one database with different prefixes do not block each other."""
    with (
        installed.connect() as first,
        installed.scratch.connect(prefix="other_") as other,
        first.advisory_lock("backup"),
        other.advisory_lock("backup"),
    ):
        pass
