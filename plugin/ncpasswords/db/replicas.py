"""Reading from a replica (config.php's `dbreplica`): a read-only copy of the database that has
caught up with the primary, or none (docs/clusters.md#postgresql-with-a-streaming-standby).

Only reads that may see the database as of a moment before they began go there (a backup's
snapshot); every write, and every lock, stays on the primary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from .connection import ConnectionSettings, Database, connect


def open_replica(primary: Database, replicas: Sequence[ConnectionSettings], max_lag: float) -> Database | None:
    """The first replica that answers and, within `max_lag` seconds, has applied everything the
    primary had committed when this was called; None when there is none (read the primary). The
    caller closes it."""
    for settings in replicas:
        try:
            replica = connect(settings)
        except Exception:  # a replica that is down is skipped, as Nextcloud skips it
            continue
        try:
            if primary.backend.replica_caught_up(primary, replica, max_lag):
                return replica
        except Exception:  # it went away while it was asked
            pass
        with contextlib.suppress(Exception):
            replica.close()
    return None
