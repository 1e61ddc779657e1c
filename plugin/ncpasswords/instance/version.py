"""The Nextcloud version an instance reports (`occ status`, `occ -V`).

On a real Nextcloud, config.php's `version` is the four-part version the instance was last
upgraded to; it is reported as is. A standalone instance reports the Nextcloud release whose
schema this tool reproduces (see docs/existing-nextcloud.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The Nextcloud release whose schema and commands this tool reproduces.
NEXTCLOUD_VERSION = "34.0.1.2"


def version(config: Mapping[Any, Any]) -> str:
    """The four-part version: config.php's `version`, else the reproduced release's."""
    value = config.get("version")
    return str(value) if isinstance(value, (str, int, float)) and value else NEXTCLOUD_VERSION


def versionstring(config: Mapping[Any, Any]) -> str:
    """The human version (`34.0.1`): the first three parts of `version`."""
    return ".".join(version(config).split(".")[:3])
