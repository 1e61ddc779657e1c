"""Backup upgrade 100…105 → 106 (docs/internals/backup-format.md#upgrading-to-106).

Old files are built from the v106 worked example following the versions table, upgraded, and compared
field by field with the worked example or the result the upgrade step states. Encrypted fields are compared after
decryption; old-version ciphertexts are produced with ``icrypto`` and hand-built key strings.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ncpasswords.backup.errors import BackupError, BackupFormatError, BackupVersionError
from ncpasswords.backup.upgrade import (
    CLIENT_UNKNOWN,
    PASSWORD_REVISION_KEYS,
    sse_keys_for_upgrade,
    to103_password_revision,
    to104_password_revision,
    to105_keys,
    to106_model,
    upgrade_document,
    validate_version,
)
from ncpasswords.crypto import icrypto
from ncpasswords.crypto.errors import CryptoError
from ncpasswords.crypto.ssev1 import KEY_ALPHABET, KEY_LENGTH, RevisionKind, SseKeys, decrypt_revision

WORKED_EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "worked-example-v106.json"

PASSWORD_FIELDS = ("url", "label", "notes", "password", "username", "customFields")
FIELDS: dict[RevisionKind, tuple[str, ...]] = {
    "password": PASSWORD_FIELDS,
    "folder": ("label",),
    "tag": ("label", "color"),
}
SECTIONS: dict[RevisionKind, str] = {"password": "passwords", "folder": "folders", "tag": "tags"}
NEW_INSTANCE_SECRET = "a-different-instance-secret-0123456789abcdef"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

OLD_APPLICATION_SETTINGS = {
    "service/security": "hibp",
    "service/words": None,
    "service/images": "imagick",
    "service/favicon": "duckduckgo",
    # "service/preview" missing: becomes null
    "backup/interval": "21600",
    "backup/files/maximum": "14",
    "entity/purge/timeout": None,
    "settings/mail/security": "0",
    "settings/mail/shares": "1",
}
EXPECTED_APPLICATION_SETTINGS = {
    "backup.interval": "21600",
    "backup.files.max": "14",
    "service.words": None,
    "service.images": "imagick",
    "service.favicon": "duckduckgo",
    "service.preview": None,
    "service.security": "hibp",
    "entity.purge.timeout": None,
    "settings.mail.shares": "1",
    "settings.mail.security": "0",
}
MESSY_FIELDS = '[{"id":"f1","label":"Account","blank":false,"type":"text","value":"DE00 1234"}]'
OLD_STYLE_FIELDS = '{"Account":{"type":"text","value":"DE00 1234"}}'
CLEAN_FIELDS = '[{"label":"Account","type":"text","value":"DE00 1234"}]'


def load_example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(WORKED_EXAMPLE.read_text())
    return data


@pytest.fixture
def v106() -> dict[str, Any]:
    return load_example()


def counter_factory(prefix: str) -> Callable[[], str]:
    numbers: Iterator[int] = itertools.count(1)
    return lambda: f"{prefix}{next(numbers)}"


def revisions(doc: dict[str, Any], kind: RevisionKind) -> Iterator[dict[str, Any]]:
    for model in doc[SECTIONS[kind]]:
        yield from model["revisions"]


def all_revisions(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for kind in FIELDS:
        yield from revisions(doc, kind)


def password_r1(keys: dict[str, Any], user: str, sse_key: str) -> str:
    return str(keys["server"]["SSEv1ServerKey"] + keys["users"][user]["SSEv1UserKey"] + sse_key)


def password_r2(secret: str, keys: dict[str, Any], user: str, sse_key: str) -> str:
    return str(secret + keys["server"]["SSEv1ServerKey"] + keys["users"][user]["SSEv1UserKey"] + sse_key)


def plaintexts(example: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Decrypted SSE fields of the worked example, by revision uuid (via ICrypto directly)."""
    secret = example["keys"]["server"]["secret"]
    result = {}
    for kind, fields in FIELDS.items():
        for revision in revisions(example, kind):
            if revision["sseType"] != "SSEv1r2":
                continue
            password = password_r2(secret, example["keys"], revision["userId"], revision["sseKey"])
            result[revision["uuid"]] = {f: icrypto.decrypt_text(revision[f], password) for f in fields}
    return result


# --------------------------------------------------------------------------------------------------
# Builders: each returns the previous version of a document (docs/internals/backup-format.md#versions)


def make_v105(doc: dict[str, Any]) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    d["version"] = 105
    del d["folders"][0]["revisions"][0]["client"]  # revisions may lack client
    del d["passwords"][1]["revisions"][0]["client"]
    d["passwords"][1]["suspended"] = None
    tag = d["tags"][0]  # tags carry suspended, right after revision
    d["tags"][0] = {
        k: v for pair in tag.items() for k, v in ([pair, ("suspended", False)] if pair[0] == "revision" else [pair])
    }
    return d


def make_v104(doc: dict[str, Any]) -> dict[str, Any]:
    d = make_v105(doc)
    d["version"] = 104
    for revision in all_revisions(d):
        del revision["cseKey"]
        revision.pop("client", None)
    for relation in d["passwordTagRelations"]:
        del relation["uuid"]
    del d["keychains"], d["challenges"]
    d["keys"]["server"] = {"SSEv1ServerKey": d["keys"]["server"]["SSEv1ServerKey"]}
    d["keys"]["users"] = {u: {"SSEv1UserKey": v["SSEv1UserKey"]} for u, v in d["keys"]["users"].items()}
    d["settings"]["application"] = dict(OLD_APPLICATION_SETTINGS)
    return d


def bob_as_ssev1r1(d: dict[str, Any], custom_fields: str) -> None:
    """Before CSE (< 105) bob's password is an SSEv1r1 one with the same field values."""
    revision = d["passwords"][1]["revisions"][0]
    revision.update(sseType="SSEv1r1", sseKey="Bob+Obj/Key1", cseType="none", customFields=custom_fields)
    password = password_r1(d["keys"], "bob", revision["sseKey"])
    for name in PASSWORD_FIELDS:
        revision[name] = icrypto.encrypt(revision[name], password)


def make_v103(doc: dict[str, Any], secret: str) -> dict[str, Any]:
    d = make_v104(doc)
    d["version"] = 103
    bob_as_ssev1r1(d, "[]")
    revision = d["passwords"][0]["revisions"][1]  # messy custom fields, r2 with the instance secret
    password = password_r2(secret, d["keys"], "alice", revision["sseKey"])
    revision["customFields"] = icrypto.encrypt(MESSY_FIELDS, password)
    return d


def make_v102(doc: dict[str, Any]) -> dict[str, Any]:
    plain = plaintexts(doc)
    d = make_v104(doc)
    d["version"] = 102
    bob_as_ssev1r1(d, "")
    for index, revision in enumerate(d["passwords"][0]["revisions"]):
        values = dict(plain[revision["uuid"]])
        values["customFields"] = "{}" if index == 0 else OLD_STYLE_FIELDS
        revision.update(sseType="SSEv1r1", sseKey=f"Old/Key+{index}")
        password = password_r1(d["keys"], "alice", revision["sseKey"])
        for name in PASSWORD_FIELDS:
            revision[name] = icrypto.encrypt(values[name], password)
    return d


def make_v101(doc: dict[str, Any]) -> dict[str, Any]:
    d = make_v102(doc)
    d["version"] = 101
    for revision in all_revisions(d):
        revision["client"] = "Firefox (Linux)"
        revision["favourite"] = revision["favorite"]
    return d


def make_v100(doc: dict[str, Any]) -> dict[str, Any]:
    d = make_v101(doc)
    d["version"] = 100
    d = {("password_tag_relations" if k == "passwordTagRelations" else k): v for k, v in d.items()}
    return d


# --------------------------------------------------------------------------------------------------
# Comparison against the worked example


def assert_matches_v106(
    result: dict[str, Any],
    expected: dict[str, Any],
    *,
    secret: str,
    reencrypted: set[str],
) -> None:
    """``result`` equals ``expected`` (a v106 document) except that the SSE fields of the revisions
    in ``reencrypted`` have new ciphertexts and a new sseKey; those must decrypt to the plaintexts of
    ``expected`` with this instance's ``secret``."""
    assert result["version"] == 106
    expected_plain = plaintexts(load_example())
    keys = SseKeys.from_backup_keys(result["keys"])
    assert keys.server_secret == secret
    for kind, fields in FIELDS.items():
        for got, want in zip(revisions(result, kind), revisions(expected, kind), strict=True):
            if got["uuid"] not in reencrypted:
                assert got == want, got["uuid"]
                continue
            assert got["sseType"] == "SSEv1r2"
            assert got["sseKey"] != want["sseKey"]
            password = password_r2(secret, result["keys"], got["userId"], got["sseKey"])
            for name in fields:
                assert got[name] != want[name]
                assert icrypto.decrypt_text(got[name], password) == expected_plain[want["uuid"]][name], name
            assert decrypt_revision(kind, got, keys) == {  # the ssev1 module agrees
                **got,
                **expected_plain[want["uuid"]],
            }
            rest = {k: v for k, v in got.items() if k not in (*fields, "sseKey")}
            assert rest == {k: v for k, v in want.items() if k not in (*fields, "sseKey")}
    strip = {"revisions"}
    for kind in FIELDS:
        for got, want in zip(result[SECTIONS[kind]], expected[SECTIONS[kind]], strict=True):
            assert {k: v for k, v in got.items() if k not in strip} == {k: v for k, v in want.items() if k not in strip}
    assert set(result) == set(expected)
    for name in ("shares", "keychains", "challenges", "passwordTagRelations", "keys", "settings"):
        assert result[name] == expected[name], name


def expect_v106_from_105(v106: dict[str, Any]) -> dict[str, Any]:
    e = copy.deepcopy(v106)
    e["folders"][0]["revisions"][0]["client"] = CLIENT_UNKNOWN
    e["passwords"][1]["revisions"][0]["client"] = CLIENT_UNKNOWN
    return e


def expect_v106_from_104(v106: dict[str, Any], secret: str, relation_uuid: str) -> dict[str, Any]:
    e = expect_v106_from_105(v106)
    for revision in all_revisions(e):
        revision["cseKey"] = ""
        revision["client"] = CLIENT_UNKNOWN
    e["passwordTagRelations"][0]["uuid"] = relation_uuid
    e["keychains"] = []
    e["challenges"] = []
    e["keys"]["server"]["secret"] = secret
    for user in e["keys"]["users"].values():
        user["ChallengeId"] = None
    e["settings"]["application"] = dict(EXPECTED_APPLICATION_SETTINGS)
    return e


def expect_bob_ssev1(e: dict[str, Any]) -> None:
    """Bob's password as an SSEv1 one (versions < 105): plaintext fields as in the example."""
    revision = e["passwords"][1]["revisions"][0]
    revision.update(sseType="SSEv1r2", cseType="none", customFields="[]")


# --------------------------------------------------------------------------------------------------
# Version checks


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (99, "This seems to be a client backup. It can only be restored using the web interface"),
        (None, "This seems to be a client backup. It can only be restored using the web interface"),
        ("99", "This seems to be a client backup. It can only be restored using the web interface"),
        (107, "Unsupported backup version: 107"),
        ("107", "Unsupported backup version: 107"),
        (200, "Unsupported backup version: 200"),
    ],
)
def test_bad_versions(v106: dict[str, Any], version: Any, message: str) -> None:
    doc = {**v106, "version": version}
    with pytest.raises(BackupVersionError) as info:
        upgrade_document(doc, "secret")
    assert str(info.value) == message
    assert isinstance(info.value, BackupError)
    with pytest.raises(BackupVersionError, match=re.escape(message)):
        validate_version(version)


def test_missing_version_is_a_client_backup(v106: dict[str, Any]) -> None:
    del v106["version"]
    with pytest.raises(BackupVersionError, match="client backup"):
        upgrade_document(v106, "secret")


@pytest.mark.parametrize("version", [106, "106"])
def test_version_106_is_unchanged(v106: dict[str, Any], version: Any) -> None:
    original = copy.deepcopy(v106)
    result = upgrade_document({**v106, "version": version}, "other secret")
    assert result == original
    assert result["version"] == 106 and isinstance(result["version"], int)
    assert v106 == original


# --------------------------------------------------------------------------------------------------
# Upgrades of built old files


def test_upgrade_105(v106: dict[str, Any]) -> None:
    doc = make_v105(v106)
    before = copy.deepcopy(doc)
    result = upgrade_document(doc, "unused secret")
    assert doc == before  # input untouched
    expected = expect_v106_from_105(v106)
    assert result == expected
    assert list(result["tags"][0]) == list(v106["tags"][0])  # suspended removed
    assert "suspended" in result["passwords"][1] and result["passwords"][1]["suspended"] is False
    assert list(result["folders"][0]["revisions"][0])[-1] == "client"  # appended
    assert result["keys"]["server"]["secret"] == v106["keys"]["server"]["secret"]  # not touched


def test_upgrade_104(v106: dict[str, Any]) -> None:
    secret = NEW_INSTANCE_SECRET
    result = upgrade_document(make_v104(v106), secret, uuid_factory=lambda: "uuid-1")
    expected = expect_v106_from_104(v106, secret, "uuid-1")
    assert result == expected
    assert list(result)[-2:] == ["keychains", "challenges"]
    assert list(result["keys"]["server"]) == ["SSEv1ServerKey", "secret"]
    assert list(result["keys"]["users"]["bob"]) == ["SSEv1UserKey", "ChallengeId"]
    assert list(result["settings"]["application"]) == list(EXPECTED_APPLICATION_SETTINGS)
    # Encrypted data is untouched: the file's r2 ciphertexts keep the original keys.
    assert result["passwords"][0]["revisions"][1]["sseKey"] == v106["passwords"][0]["revisions"][1]["sseKey"]


def test_upgrade_104_random_relation_uuid(v106: dict[str, Any]) -> None:
    result = upgrade_document(make_v104(v106), "s")
    relation_uuid = result["passwordTagRelations"][0]["uuid"]
    assert UUID_RE.fullmatch(relation_uuid)
    assert upgrade_document(make_v104(v106), "s")["passwordTagRelations"][0]["uuid"] != relation_uuid


def test_upgrade_103(v106: dict[str, Any]) -> None:
    secret = v106["keys"]["server"]["secret"]  # r2 data of a 103 file only decrypts on its own instance
    doc = make_v103(v106, secret)
    result = upgrade_document(doc, secret, uuid_factory=lambda: "uuid-1", key_factory=counter_factory("K"))
    expected = expect_v106_from_104(v106, secret, "uuid-1")
    expect_bob_ssev1(expected)
    expected["passwords"][1]["revisions"][0]["sseType"] = "SSEv1r1"
    # Custom fields "[]": revision 1 and bob's r1 revision are left exactly as they were.
    rev1 = result["passwords"][0]["revisions"][0]
    assert {k: v for k, v in rev1.items()} == expected["passwords"][0]["revisions"][0]
    assert result["passwords"][1]["revisions"][0] == {
        **doc["passwords"][1]["revisions"][0],
        "cseKey": "",
        "client": CLIENT_UNKNOWN,
    }
    # Revision 2: messy custom fields cleaned, re-encrypted with a new key (r2, instance secret).
    rev2 = result["passwords"][0]["revisions"][1]
    assert rev2["sseKey"] == "K1"
    assert tuple(rev2) == PASSWORD_REVISION_KEYS == tuple(v106["passwords"][0]["revisions"][1])
    password = password_r2(secret, result["keys"], "alice", "K1")
    assert icrypto.decrypt(rev2["customFields"], password) == CLEAN_FIELDS.encode()
    bob_plain = {"url", "label", "notes", "password", "username"}
    result_for_compare = copy.deepcopy(result)
    result_for_compare["passwords"][1]["revisions"][0] = expected["passwords"][1]["revisions"][0]
    assert_matches_v106(result_for_compare, expected, secret=secret, reencrypted={rev2["uuid"]})
    bob_rev = result["passwords"][1]["revisions"][0]
    bob_password = password_r1(result["keys"], "bob", bob_rev["sseKey"])
    for name in bob_plain:
        assert icrypto.decrypt_text(bob_rev[name], bob_password) == v106["passwords"][1]["revisions"][0][name]


def test_upgrade_103_needs_the_writing_instance_secret(v106: dict[str, Any]) -> None:
    doc = make_v103(v106, v106["keys"]["server"]["secret"])
    with pytest.raises(CryptoError, match="HMAC does not match"):
        upgrade_document(doc, NEW_INSTANCE_SECRET)


@pytest.mark.parametrize("version", [100, 101, 102])
def test_upgrade_old_ssev1r1_files(v106: dict[str, Any], version: int) -> None:
    builders = {100: make_v100, 101: make_v101, 102: make_v102}
    doc = builders[version](v106)
    before = copy.deepcopy(doc)
    result = upgrade_document(
        doc, NEW_INSTANCE_SECRET, uuid_factory=lambda: "uuid-1", key_factory=counter_factory("NewKey/")
    )
    assert doc == before

    expected = expect_v106_from_104(v106, NEW_INSTANCE_SECRET, "uuid-1")
    expect_bob_ssev1(expected)
    # The CSE strings of bob's revision were plaintext of an SSEv1 revision before 105.
    bob_uuid = expected["passwords"][1]["revisions"][0]["uuid"]
    alice_uuids = {r["uuid"] for r in expected["passwords"][0]["revisions"]}

    # Bob: r1 → r2, "" custom fields → "[]", to104 leaves "[]" alone.
    bob = result["passwords"][1]["revisions"][0]
    bob_password = password_r2(NEW_INSTANCE_SECRET, result["keys"], "bob", bob["sseKey"])
    bob_expected = expected["passwords"][1]["revisions"][0]
    for name in PASSWORD_FIELDS:
        assert icrypto.decrypt_text(bob[name], bob_password) == bob_expected[name]
    assert {k: v for k, v in bob.items() if k not in (*PASSWORD_FIELDS, "sseKey")} == {
        k: v for k, v in bob_expected.items() if k not in (*PASSWORD_FIELDS, "sseKey")
    }
    # Keys: each alice revision re-encrypted by to103 and, when custom fields are not "[]", by to104.
    alice = result["passwords"][0]["revisions"]
    assert [r["sseKey"] for r in alice] == ["NewKey/1", "NewKey/4"]
    assert bob["sseKey"] == "NewKey/3"
    assert all(tuple(r) == PASSWORD_REVISION_KEYS for r in (*alice, bob))
    assert (
        icrypto.decrypt(alice[1]["customFields"], password_r2(NEW_INSTANCE_SECRET, result["keys"], "alice", "NewKey/4"))
        == CLEAN_FIELDS.encode()
    )

    without_bob = copy.deepcopy(result)
    without_bob["passwords"][1]["revisions"][0] = bob_expected
    assert_matches_v106(without_bob, expected, secret=NEW_INSTANCE_SECRET, reencrypted=alice_uuids)
    assert bob_uuid not in alice_uuids

    if version == 100:
        assert "password_tag_relations" not in result
        assert list(result) == [
            "version",
            "passwords",
            "folders",
            "tags",
            "shares",
            "keys",
            "settings",
            "passwordTagRelations",
            "keychains",
            "challenges",
        ]


def test_upgrade_default_key_factory(v106: dict[str, Any]) -> None:
    result = upgrade_document(make_v102(v106), NEW_INSTANCE_SECRET)
    keys = [r["sseKey"] for r in result["passwords"][0]["revisions"]]
    assert all(len(k) == KEY_LENGTH and set(k) <= set(KEY_ALPHABET) for k in keys)
    assert len(set(keys)) == 2


# --------------------------------------------------------------------------------------------------
# Custom field conversions (to103 / to104) on single revisions


KEYS = {"server": {"SSEv1ServerKey": "Srv/Key"}, "users": {"u": {"SSEv1UserKey": "Usr+Key"}}}


def r1_revision(custom_fields: str | None, **extra: Any) -> dict[str, Any]:
    revision: dict[str, Any] = {
        "id": 1,
        "url": "u",
        "hash": "",
        "notes": "n",
        "label": "l",
        "folder": "00000000-0000-0000-0000-000000000000",
        "username": "name",
        "password": "pw",
        "statusCode": "GOOD",
        "customFields": custom_fields,
        "status": "0",
        "sseType": "SSEv1r1",
        "sseKey": "Obj",
        "cseType": "none",
        "uuid": "rev",
        "model": "m",
        "edited": 5,
        "hidden": 0,
        "trashed": False,
        "favorite": "1",
        "userId": "u",
        "deleted": False,
        "created": 1,
        "updated": 2,
        **extra,
    }
    password = password_r1(KEYS, "u", "Obj")
    for name in PASSWORD_FIELDS:
        if revision[name] is not None:
            revision[name] = icrypto.encrypt(revision[name], password)
    return revision


def decrypted_custom_fields(revision: dict[str, Any], secret: str = "inst") -> bytes:
    return icrypto.decrypt(revision["customFields"], password_r2(secret, KEYS, "u", revision["sseKey"]))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("{}", b"[]"),
        ("", b"[]"),
        ("0", b"[]"),
        (None, b"[]"),
        (OLD_STYLE_FIELDS, CLEAN_FIELDS.encode()),
        (
            '{"_secret":{"type":"text","value":"a/b \u00fc \U0001f600"},'
            '"123":{"type":"url","value":"https://x.y/z"},'
            '"Mixed":{"value":"m@x","extra":1,"type":"email"},'
            '"-0":{"type":"text","value":"\u007f<&>"},'
            '"Num":{"type":"text","value":12.5}}',
            b'[{"label":"_secret","type":"data","value":"a\\/b \\u00fc \\ud83d\\ude00"},'
            b'{"label":123,"type":"url","value":"https:\\/\\/x.y\\/z"},'
            b'{"label":"Mixed","type":"email","value":"m@x"},'
            b'{"label":"-0","type":"text","value":"\x7f<&>"},'
            b'{"label":"Num","type":"text","value":12.5}]',
        ),
        ('{"_n":null,"x":{}}', b'[{"label":"_n","type":"data","value":null},{"label":"x","type":null,"value":null}]'),
        ("not json", b"[]"),
    ],
)
def test_to103_custom_fields(old: str | None, new: bytes) -> None:
    keys = sse_keys_for_upgrade(KEYS, "inst")
    result = to103_password_revision(r1_revision(old), keys, key_factory=lambda: "NEW")
    assert result["sseKey"] == "NEW" and result["sseType"] == "SSEv1r2"
    assert decrypted_custom_fields(result) == new
    assert tuple(result) == PASSWORD_REVISION_KEYS
    # Entity types: "0" → 0, 0 → false, "1" → true; unset fields are null.
    assert (result["status"], result["hidden"], result["favorite"]) == (0, False, True)
    assert result["cseKey"] is None and result["client"] is None
    password = password_r2("inst", KEYS, "u", "NEW")
    assert icrypto.decrypt_text(result["notes"], password) == "n"
    assert icrypto.decrypt_text(result["url"], password) == "u"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (MESSY_FIELDS, CLEAN_FIELDS.encode()),
        ('[{"label":"a/b","type":"text"}]', b'[{"label":"a\\/b","type":"text","value":null}]'),
        ('{"k":{"label":"L","type":"t","value":[1,{"0":"x"}],"x":1}}', b'[{"label":"L","type":"t","value":[1,["x"]]}]'),
        ("{}", b"[]"),
    ],
)
def test_to104_custom_fields(old: str, new: bytes) -> None:
    keys = sse_keys_for_upgrade(KEYS, "inst")
    result = to104_password_revision(r1_revision(old), keys, key_factory=lambda: "NEW")
    assert decrypted_custom_fields(result) == new
    assert result["sseType"] == "SSEv1r2"


def test_to104_leaves_empty_list_alone() -> None:
    keys = sse_keys_for_upgrade(KEYS, "inst")
    revision = r1_revision("[]")
    assert to104_password_revision(revision, keys, key_factory=lambda: "NEW") == revision


def test_to103_rejects_unknown_and_null_fields() -> None:
    keys = sse_keys_for_upgrade(KEYS, "inst")
    with pytest.raises(BackupFormatError, match=r"^favourite is not a valid attribute$"):
        to103_password_revision(r1_revision("{}", favourite=None), keys)
    with pytest.raises(BackupFormatError, match="folder"):
        to103_password_revision(r1_revision("{}", folder=None), keys)
    incomplete = r1_revision("{}")
    del incomplete["model"]
    with pytest.raises(BackupFormatError, match="model"):
        to103_password_revision(incomplete, keys)


def test_null_legacy_favourite_is_kept_like_reference(v106: dict[str, Any]) -> None:
    # to102 keeps a null "favourite"; the password revision entity then rejects the key.
    doc = make_v101(v106)
    doc["passwords"][0]["revisions"][0]["favourite"] = None
    with pytest.raises(BackupFormatError, match="favourite is not a valid attribute"):
        upgrade_document(doc, NEW_INSTANCE_SECRET)
    # On folders nothing decrypts, so the null key survives (reference behaviour).
    doc = make_v101(v106)
    doc["folders"][0]["revisions"][0]["favourite"] = None
    result = upgrade_document(doc, NEW_INSTANCE_SECRET)
    assert result["folders"][0]["revisions"][0]["favourite"] is None


# --------------------------------------------------------------------------------------------------
# Steps on their own and document edge cases


def test_to106_model() -> None:
    assert to106_model("tag", {"uuid": "t", "suspended": None}) == {"uuid": "t"}
    assert list(to106_model("folder", {"uuid": "f", "revisions": []}).items()) == [
        ("uuid", "f"),
        ("revisions", []),
        ("suspended", False),
    ]
    assert to106_model("password", {"suspended": True})["suspended"] is True


def test_missing_sections(v106: dict[str, Any]) -> None:
    doc = make_v104(v106)
    del doc["passwordTagRelations"], doc["settings"]
    doc["keys"]["users"] = []
    result = upgrade_document(doc, "s")
    assert result["passwordTagRelations"] is None
    assert result["keys"]["users"] == []
    assert result["settings"] == {"application": dict.fromkeys(EXPECTED_APPLICATION_SETTINGS)}

    doc = make_v101(v106)
    doc["version"] = 100  # but the relations are under the new name: the old one is missing
    assert upgrade_document(doc, "s")["passwordTagRelations"] is None


def test_users_as_php_list(v106: dict[str, Any]) -> None:
    # uids "0", "1" are written by PHP as a JSON list.
    keys = {"server": {"SSEv1ServerKey": None}, "users": [{"SSEv1UserKey": "a"}, None]}
    assert to105_keys(keys, "s") == {
        "server": {"SSEv1ServerKey": None, "secret": "s"},
        "users": [{"SSEv1UserKey": "a", "ChallengeId": None}, {"ChallengeId": None}],
    }
    assert sse_keys_for_upgrade(keys, "s").user_keys == {"0": "a"}
