"""The server backup format (docs/backups.md): the version written, the versions read, and the
document's sections in the order they are written."""

from __future__ import annotations

from typing import Final

#: The format version written; files of MINIMUM_VERSION up to it are read (older ones upgraded).
VERSION: Final = 106
#: Below this a file is a client (web interface) backup.
MINIMUM_VERSION: Final = 100

#: Sections holding models with their revisions, in document order, and the models' tables.
MODEL_SECTIONS: Final[dict[str, str]] = {
    "passwords": "passwords_password",
    "folders": "passwords_folder",
    "tags": "passwords_tag",
}
#: Sections holding plain rows, in document order, and their tables.
ROW_SECTIONS: Final[dict[str, str]] = {
    "shares": "passwords_share",
    "keychains": "passwords_keychain",
    "challenges": "passwords_challenge",
    "passwordTagRelations": "passwords_pw_tag_rel",
}
#: Every section after `version`, in document order.
SECTIONS: Final = (*MODEL_SECTIONS, *ROW_SECTIONS, "keys", "settings")
#: The sections that are lists of entities.
LIST_SECTIONS: Final = frozenset((*MODEL_SECTIONS, *ROW_SECTIONS))
