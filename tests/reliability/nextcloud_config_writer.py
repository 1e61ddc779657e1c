"""Writes config.php the way Nextcloud's OC\\Config does, for the concurrency tests.

    python nextcloud_config_writer.py CONFIG_PHP KEY VALUE HOLD_SECONDS [--truncate-first]

Like Nextcloud: read config.php (under a shared flock) when the process starts, set KEY in that
copy, then open config.php for writing in place, take flock(LOCK_EX), truncate it, write the
whole array and release the lock. Prints "locked" once it holds the lock and keeps it for
HOLD_SECONDS before writing (with --truncate-first, after truncating: a write in progress).
"""

from __future__ import annotations

import fcntl
import os
import sys
import time

from ncpasswords.instance import phpconfig


def main(path: str, key: str, value: str, hold: float, truncate_first: bool) -> None:
    with open(path, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        config = phpconfig.parse(f.read(), path)
    config[key] = value
    content = phpconfig.dump(config).encode("utf-8", "surrogateescape")
    with open(path, "r+b") as f:
        os.chmod(path, 0o640)
        fcntl.flock(f, fcntl.LOCK_EX)
        if truncate_first:
            f.truncate(0)
            f.flush()
        print("locked", flush=True)
        time.sleep(hold)
        f.truncate(0)
        f.write(content)
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), "--truncate-first" in sys.argv[5:])
