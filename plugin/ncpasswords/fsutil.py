"""File-system durability helpers shared by every atomic writer."""

from __future__ import annotations

import contextlib
import os
from typing import Final

#: Prefix of the hidden temporary names of the atomic writers (and of entries set aside while a
#: replacement is registered); names ending in ``.part`` are also skipped by Nextcloud's scanner.
TEMP_PREFIX: Final = ".ncpasswords-tmp-"


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a rename or unlink inside `directory` durable (best effort where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
