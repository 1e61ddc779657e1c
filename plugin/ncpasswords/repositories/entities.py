"""The twelve tables of the Passwords app: columns, types and each entity's `toArray()` key order.

This is the one place that knows how a row maps to the app's entities (docs/internals/schema.md#the-apps-tables).
Column order is the physical order of a fresh install; key order is the reference's `toArray()`
order. Property names follow the reference's rule: `user_id` <-> `userId`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

ColumnType = Literal["int", "str", "bool"]


def to_property(column: str) -> str:
    """Column name to the entity property name (`custom_fields` -> `customFields`)."""
    first, *rest = column.split("_")
    return first + "".join(part.capitalize() for part in rest)


def to_column(prop: str) -> str:
    """Entity property name to column name (`customFields` -> `custom_fields`)."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), prop)


@dataclass(frozen=True)
class Column:
    """One physical column of an app table."""

    name: str
    type: ColumnType
    nullable: bool = False
    """True where real data may hold NULL, not where the DDL merely allows it (docs/internals/schema.md)."""
    max_length: int | None = None

    @cached_property
    def prop(self) -> str:
        return to_property(self.name)


@dataclass(frozen=True)
class Table:
    """An app table (without prefix) and the entity it stores."""

    name: str
    entity: str
    columns: tuple[Column, ...]
    key_order: tuple[str, ...]
    """`toArray()` keys in the reference's order."""
    by_prop: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_prop", {c.prop: c for c in self.columns})
        assert set(self.by_prop) == set(self.key_order), self.name

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def bool_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.type == "bool")

    @property
    def array_columns(self) -> tuple[Column, ...]:
        """Columns in `toArray()` order."""
        return tuple(self.by_prop[k] for k in self.key_order)


def _cols(spec: str) -> tuple[Column, ...]:
    """Parse `name:type[?][(len)]` items, `?` marking columns that may hold NULL."""
    out = []
    for item in spec.split():
        m = re.fullmatch(r"(\w+):(int|str|bool)(\?)?(?:\((\d+)\))?", item)
        assert m, item
        out.append(Column(m[1], m[2], bool(m[3]), int(m[4]) if m[4] else None))  # type: ignore[arg-type]
    return tuple(out)


_ENTITY_TAIL = "uuid userId deleted created updated"
_REVISION_TAIL = "sseType sseKey cseType cseKey model client edited hidden trashed favorite " + _ENTITY_TAIL

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "passwords_password",
            "Password",
            _cols(
                "id:int user_id:str(64) uuid:str(36) revision:str(36) share_id:str?(36) has_shares:bool "
                "editable:bool suspended:bool deleted:bool created:int updated:int"
            ),
            tuple(f"id shareId editable suspended hasShares revision {_ENTITY_TAIL}".split()),
        ),
        Table(
            "passwords_password_rv",
            "PasswordRevision",
            _cols(
                "id:int user_id:str(64) uuid:str(36) model:str(36) folder:str(36) hidden:bool trashed:bool "
                "cse_type:str(10) cse_key:str(36) sse_type:str(10) sse_key:str? username:str password:str "
                "label:str url:str notes:str custom_fields:str? hash:str(64) favorite:bool status:int "
                "status_code:str(12) deleted:bool edited:int created:int updated:int client:str(256)"
            ),
            tuple(
                f"id url hash notes label folder username password statusCode customFields status "
                f"{_REVISION_TAIL}".split()
            ),
        ),
        Table(
            "passwords_folder",
            "Folder",
            _cols(
                "id:int user_id:str(64) uuid:str(36) revision:str(36) suspended:bool deleted:bool "
                "created:int updated:int"
            ),
            tuple(f"id suspended revision {_ENTITY_TAIL}".split()),
        ),
        Table(
            "passwords_folder_rv",
            "FolderRevision",
            _cols(
                "id:int user_id:str(64) uuid:str(36) model:str(36) parent:str(36) label:str "
                "cse_type:str(10) cse_key:str(36) sse_type:str(10) sse_key:str? favorite:bool hidden:bool "
                "trashed:bool deleted:bool edited:int created:int updated:int client:str(256)"
            ),
            tuple(f"id label parent {_REVISION_TAIL}".split()),
        ),
        Table(
            "passwords_tag",
            "Tag",
            _cols("id:int user_id:str(64) uuid:str(36) revision:str(36) deleted:bool created:int updated:int"),
            tuple(f"id revision {_ENTITY_TAIL}".split()),
        ),
        Table(
            "passwords_tag_rv",
            "TagRevision",
            _cols(
                "id:int user_id:str(64) uuid:str(36) model:str(36) cse_type:str(10) cse_key:str(36) "
                "sse_type:str(10) sse_key:str? label:str color:str favorite:bool hidden:bool trashed:bool "
                "deleted:bool edited:int created:int updated:int client:str(256)"
            ),
            tuple(f"id label color {_REVISION_TAIL}".split()),
        ),
        Table(
            "passwords_pw_tag_rel",
            "PasswordTagRelation",
            _cols(
                "id:int user_id:str(64) uuid:str(36) password:str(36) password_revision:str(36) "
                "tag:str(36) tag_revision:str(36) hidden:bool deleted:bool created:int updated:int "
                "client:str(256)"
            ),
            tuple(f"id tag client password tagRevision passwordRevision hidden {_ENTITY_TAIL}".split()),
        ),
        Table(
            "passwords_share",
            "Share",
            _cols(
                "id:int user_id:str(64) uuid:str(36) receiver:str(64) source_password:str(36) "
                "target_password:str?(36) source_updated:bool target_updated:bool type:str(12) "
                "editable:bool shareable:bool expires:int? deleted:bool created:int updated:int "
                "client:str(256)"
            ),
            tuple(
                f"id type client receiver sourcePassword targetPassword expires editable shareable "
                f"sourceUpdated targetUpdated {_ENTITY_TAIL}".split()
            ),
        ),
        Table(
            "passwords_session",
            "Session",
            _cols(
                "id:int user_id:str(64) uuid:str(36) login_type:str(12) created:int updated:int "
                "deleted:bool authorized:bool data:str shadow_data:str client:str(256)"
            ),
            tuple(f"id data client loginType shadowData authorized {_ENTITY_TAIL}".split()),
        ),
        Table(
            "passwords_keychain",
            "Keychain",
            _cols(
                "id:int user_id:str(64) uuid:str(36) type:str(36) scope:str(12) data:str created:int "
                "updated:int deleted:bool"
            ),
            tuple(f"id data type scope {_ENTITY_TAIL}".split()),
        ),
        Table(
            "passwords_challenge",
            "Challenge",
            _cols(
                "id:int user_id:str(64) uuid:str(36) type:str(36) secret:str server_data:str "
                "client_data:str created:int updated:int deleted:bool"
            ),
            tuple(f"id type secret clientData serverData {_ENTITY_TAIL}".split()),
        ),
        Table(
            "passwords_registration",
            "Registration",
            _cols(
                "id:int user_id:str(64) uuid:str(36) label:str?(256) code:str?(128) login:str?(128) "
                "token:str?(128) limit:int? status:int created:int updated:int deleted:bool"
            ),
            tuple(f"id code label login token limit status {_ENTITY_TAIL}".split()),
        ),
    )
}

#: The data tables in the order the app's restore clears them (deleteData) and its cleanup job
#: purges them.
DATA_TABLES: tuple[str, ...] = (
    "passwords_tag",
    "passwords_share",
    "passwords_folder",
    "passwords_password",
    "passwords_keychain",
    "passwords_challenge",
    "passwords_tag_rv",
    "passwords_folder_rv",
    "passwords_password_rv",
    "passwords_pw_tag_rel",
)

MODEL_REVISION_TABLES: dict[str, str] = {
    "passwords_password": "passwords_password_rv",
    "passwords_folder": "passwords_folder_rv",
    "passwords_tag": "passwords_tag_rv",
}
