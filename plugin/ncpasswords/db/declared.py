"""What Nextcloud 34 declares in its migrations that not every engine keeps: the facts
`portable.restore_lost_facts` puts back (docs/internals/portable-schema.md#lost-facts).

Taken from the schema a real Nextcloud 34.0.1 creates with its default apps and the Passwords app;
tests/test_portable_schema.py checks them against that schema on every engine.
"""

from __future__ import annotations

# Integer columns declared unsigned, per table (PostgreSQL keeps none, SQLite none of its
# auto-increment columns).
UNSIGNED: dict[str, tuple[str, ...]] = {
    "addressbookchanges": ("id", "synctoken"),
    "addressbooks": ("id", "synctoken"),
    "appconfig": ("type", "lazy"),
    "authtoken": ("id", "type", "remember", "last_activity", "last_check", "expires", "version"),
    "bruteforce_attempts": ("id", "occurred"),
    "calendar_invitations": ("id", "sequence", "expiration"),
    "calendar_reminders": ("id", "recurrence_id", "notification_date"),
    "calendar_resources": ("id",),
    "calendar_resources_md": ("id", "resource_id"),
    "calendar_rooms": ("id",),
    "calendar_rooms_md": ("id", "room_id"),
    "calendarchanges": ("id", "synctoken"),
    "calendarobjects": ("id", "calendarid", "lastmodified", "size", "firstoccurence", "lastoccurence", "deleted_at"),
    "calendarobjects_props": ("id", "objectid"),
    "calendars": ("id", "synctoken", "calendarorder", "deleted_at"),
    "calendars_federated": ("id", "sync_token", "last_sync"),
    "calendarsubscriptions": ("id", "calendarorder", "lastmodified", "synctoken"),
    "cards": ("id", "lastmodified", "size"),
    "cards_properties": ("id", "cardid"),
    "circles_circle": ("id", "config", "source", "contact_addressbook"),
    "circles_member": ("id",),
    "circles_membership": ("level", "inheritance_depth"),
    "circles_mount": ("id", "remote_id"),
    "circles_mountpoint": ("id",),
    "circles_remote": ("id",),
    "circles_share_lock": ("id",),
    "circles_token": ("id",),
    "comments": ("id", "parent_id", "topmost_parent_id", "children_count"),
    "dav_cal_proxy": ("id", "permissions"),
    "dav_shares": ("id", "resourceid"),
    "direct_edit": ("timestamp",),
    "directlink": ("id", "file_id", "expiration"),
    "ex_apps": ("port", "created_time"),
    "federated_invites": ("id",),
    "file_locks": ("id",),
    "filecache_extended": ("fileid",),
    "files_lock": ("id", "file_id", "creation", "type", "scope"),
    "files_reminders": ("id", "file_id"),
    "job_classes_registry": ("class_id",),
    "job_runs": ("run_id",),
    "jobs": ("id",),
    "login_flow_v2": ("id", "timestamp", "started"),
    "oauth2_access_tokens": ("id", "code_created_at", "token_count"),
    "oauth2_clients": ("id",),
    "open_local_editor": ("id", "expiration_time"),
    "passwords_challenge": ("id",),
    "passwords_folder": ("id",),
    "passwords_folder_rv": ("id",),
    "passwords_keychain": ("id",),
    "passwords_password": ("id",),
    "passwords_password_rv": ("id",),
    "passwords_pw_tag_rel": ("id",),
    "passwords_registration": ("id",),
    "passwords_session": ("id",),
    "passwords_share": ("id",),
    "passwords_tag": ("id",),
    "passwords_tag_rv": ("id",),
    "preferences": ("lazy", "type", "flags"),
    "preview_locations": ("id",),
    "preview_versions": ("id", "file_id"),
    "previews": ("id", "file_id", "storage_id", "old_file_id", "location_id", "width", "height", "mtime", "size"),
    "reactions": ("id", "parent_id", "message_id"),
    "schedulingobjects": ("id", "lastmodified", "size"),
    "sec_signatory": ("id", "creation", "last_updated"),
    "systemtag": ("id",),
    "systemtag_group": ("systemtagid",),
    "systemtag_object_mapping": ("systemtagid",),
    "taskprocessing_tasks": (
        "last_updated",
        "scheduled_at",
        "started_at",
        "ended_at",
        "allow_cleanup",
        "include_watermark",
    ),
    "text_documents": ("id", "current_version", "last_saved_version", "last_saved_version_time"),
    "text_sessions": ("id", "last_contact"),
    "text_steps": ("id", "document_id", "session_id", "version"),
    "textprocessing_tasks": ("last_updated",),
    "user_status": ("id", "status_timestamp", "clear_at", "status_message_timestamp"),
    "user_transfer_owner": ("id",),
    "vcategory": ("id",),
    "vcategory_to_object": ("objid", "categoryid"),
    "webhook_tokens": ("token_id", "created_at"),
}

# Tables whose auto-increment column is declared INTEGER (the others are BIGINT); SQLite makes
# every one INTEGER PRIMARY KEY.
AUTOINCREMENT_INTEGER: frozenset[str] = frozenset(
    {
        "authorized_groups",
        "circles_circle",
        "circles_member",
        "circles_mount",
        "circles_mountpoint",
        "circles_remote",
        "circles_share_lock",
        "circles_token",
        "dav_absence",
        "ex_apps_routes",
        "files_lock",
        "flow_checks",
        "flow_operations",
        "notifications",
        "notifications_pushhash",
        "oauth2_access_tokens",
        "oauth2_clients",
        "privacy_admins",
        "recent_contact",
        "trusted_servers",
        "twofactor_totp_secrets",
        "webauthn",
    }
)

# Text columns declared with a length of at most 65535 (MySQL makes them TEXT, not LONGTEXT).
TEXT_LENGTHS: dict[tuple[str, str], int] = {
    ("jobs", "argument"): 65535,
    ("login_flow_v2", "public_key"): 65535,
    ("login_flow_v2", "private_key"): 65535,
}

# Index prefix lengths declared for MySQL, per (table, index): one per column, None for all of it.
INDEX_LENGTHS: dict[tuple[str, str], tuple[int | None, ...]] = {
    ("filecache", "fs_storage_path_prefix"): (None, 64),
    ("share", "share_with_file_target_index"): (None, 128),
    ("share_external", "user_mountpoint_index"): (None, 128),
}

# Names that are not all lower case (PostgreSQL folds them), per (table, lower-case name): Doctrine's
# generated index names (`UNIQ_`/`IDX_` and a hash) are upper case, these are the others.
COLUMN_NAMES: dict[tuple[str, str], str] = {("calendars_federated", "remote_url"): "remote_Url"}
INDEX_NAMES: dict[tuple[str, str], str] = {
    ("webauthn", "webauthn_publickeycredentialid"): "webauthn_publicKeyCredentialId"
}

# Unique indexes declared as unique constraints (PostgreSQL and SQLite keep the difference).
UNIQUE_CONSTRAINTS: frozenset[tuple[str, str]] = frozenset(
    {("federated_invites", "uniq_a2c17d5a5f37a13b"), ("job_classes_registry", "class_index")}
)

# Indexes Nextcloud creates only on some engines (each backend lists those it does not get).
ENGINE_INDEXES: dict[tuple[str, str], tuple[str, ...]] = {
    ("filecache", "fs_storage_path_prefix"): ("storage", "path"),
    ("text_steps", "text_steps_doc_id_id_index"): ("document_id", "id"),
}
