"""ICrypto and SSEv1 (docs/internals/encryption.md): known-answer vectors, the worked example, round trips."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ncpasswords.crypto import icrypto
from ncpasswords.crypto.errors import CryptoError
from ncpasswords.crypto.ssev1 import (
    KEY_ALPHABET,
    KEY_LENGTH,
    SseKeys,
    decrypt_revision,
    encrypt_revision,
    encryption_password,
    generate_key,
)

WORKED_EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "worked-example-v106.json"

IV0 = bytes(range(16))
IV1 = bytes(range(16, 32))

TV1_P = "S3rv3rS3cr3tSrvKUsrKObjK"
TV1 = (
    "a80e876faa9fa8b3e76f8ac5172f3b7b|000102030405060708090a0b0c0d0e0f|"
    "934fe2be8d12280a2af9b3ac8add41c89612e8e3403e63d1b7a75f3a39fd9eb5624c225649455b5f2b7adb493f7a47"
    "19105acb58da7b17cbd929a866694a5ca7|3"
)
TV2 = (
    "dffc2e4ace2013dca48dd111629497c7|101112131415161718191a1b1c1d1e1f|"
    "159c4adaa00913b506a590f7eb15f9432f49010d1b2e0b3e4e0091b6a06c90a5e26fac754f53d8a6a46d49177e999b"
    "54694d5f31e3423934cec78e2ef244ba04|3"
)
TV3 = (
    "894371dcfdd8ec57e47a2840fa06e9d7|000102030405060708090a0b0c0d0e0f|"
    "0b8a4849a236556af20ea3e9ef915909b58d1fdbbf429c13ebd4bf9c9ae0a2b3d10b1cfcb2b499d9d47c105157448f"
    "1405d46473505dc14975a23b210ca877d2|3"
)
TV4 = (
    "73a90e7e2cbc6899b6d16deb3c2af821|000102030405060708090a0b0c0d0e0f|"
    "e43df4ef66a78acd58582438b34d350f5225270163dbc81e64907f936d99c536adaa1090327a619877bcadbe052cbe"
    "30f6fd6751072f4fe873243b317def176a|3"
)
TV5 = (
    "7dcb202afe50588868b23acc0600cb07|0f0e0d0c0b0a09080706050403020100|"
    "b09ab531cdb4bd036aca8917993d19383701659aab6166cedcd84a7084f27beedbaebd31a6860b975fef1e70becb67"
    "d53b1411413f56ace489d3173db7efba60|2"
)
TV6 = (
    "5a9a3ca65154742e84088aa565ec4d39|AbCdEfGhIjKlMnOp|"
    "e9d19224ae56ce5ed8c2a1f9aaf7124d762cf3f455d6891244170146b8b236937d15efd51a28b15c9e6a5a635665de"
    "f2b792d32f26e43de5fe349acf37fc77dd"
)

VECTOR_KEYS = SseKeys(server_secret="S3rv3rS3cr3t", server_key="SrvK", user_keys={"u": "UsrK"})


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(WORKED_EXAMPLE.read_text())
    return data


# --------------------------------------------------------------------------------------------------
# Known-answer vectors (made with Nextcloud's Crypto.php and phpseclib 2)


def test_tv1_intermediate_values() -> None:
    km = icrypto.hkdf_key_material(TV1_P.encode())
    assert km.hex() == (
        "38ffe42d46bcde8ae86d4f166ffd20d7e01114b121fe44d37a9c6d62b5c694dc"
        "150ea0fcaf6872c68ac8956ea7fb4ed8fd46bf9dabf696477de019f37c813330"
    )
    assert icrypto.aes_key(km[:32]).hex() == "ea562d9c3bbaaac340d790006b9991a5"
    assert icrypto.hmac_key(km[32:]) == (
        b"a7ccaa1e2127f1e3c8a55c268d674b78f03517796f004b76ab544f73449b36ae"
        b"a1fbf17f49cd5190e767cbe75a5cf04c1c3f1191500c9e2cd09d2351b2981219"
    )


def test_tv1_ssev1r2_field() -> None:
    password = encryption_password("SSEv1r2", "ObjK", "u", VECTOR_KEYS)
    assert password == TV1_P.encode()
    assert icrypto.encrypt("hunter2", password, iv=IV0) == TV1
    assert icrypto.decrypt(TV1, password) == b"hunter2"


def test_tv2_ssev1r1_layout() -> None:
    password = encryption_password("SSEv1r1", "ObjK", "u", VECTOR_KEYS)
    assert password == b"SrvKUsrKObjK"
    assert icrypto.encrypt("hunter2", password, iv=IV1) == TV2
    assert icrypto.decrypt_text(TV2, password) == "hunter2"


def test_tv3_empty_plaintext() -> None:
    assert icrypto.encrypt("", TV1_P, iv=IV0) == TV3
    assert icrypto.decrypt(TV3, TV1_P) == b""


def test_tv4_plain_icrypto() -> None:
    assert icrypto.encrypt(b"hunter2", "secretpassword", iv=IV0) == TV4
    assert icrypto.decrypt(TV4, b"secretpassword") == b"hunter2"


def test_tv5_legacy_format_2() -> None:
    assert icrypto.decrypt(TV5, "pw-v2") == b"legacy-two"


def test_tv6_legacy_three_parts() -> None:
    assert icrypto.decrypt(TV6, "pw-v1") == b"legacy-one"


@pytest.mark.parametrize(("text", "password"), [(TV5, "pw-v1"), (TV6, "pw-v2"), (TV1, "SrvKUsrKObjK")])
def test_vectors_with_wrong_password(text: str, password: str) -> None:
    with pytest.raises(CryptoError, match=r"^HMAC does not match\.$"):
        icrypto.decrypt(text, password)


# --------------------------------------------------------------------------------------------------
# Worked example (fixtures/worked-example-v106.json)


def _sse_revisions(example: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for section, kind in (("passwords", "password"), ("folders", "folder"), ("tags", "tag")):
        for model in example[section]:
            for revision in model["revisions"]:
                if revision["sseType"] in ("SSEv1r1", "SSEv1r2"):
                    found.append((kind, revision))
    return found


def test_worked_example_plaintexts(example: dict[str, Any]) -> None:
    keys = SseKeys.from_backup_keys(example["keys"])
    assert keys.server_secret == "nL0q3Zx7Rk2VtY8mWc5PfH1sJd9GbE4a"
    assert keys.server_key == "Xq7/Ld2Kp9+Rz4Vw"

    rev1, rev2 = example["passwords"][0]["revisions"]
    common = {
        "url": "https://bank.example.com/login",
        "label": "Example Bank",
        "username": "alice",
        "password": "hunter2",
    }
    plain1 = decrypt_revision("password", rev1, keys)
    plain2 = decrypt_revision("password", rev2, keys)
    assert {**common, "notes": "", "customFields": "[]"}.items() <= plain1.items()
    assert {
        **common,
        "notes": "PIN is in the safe",
        "customFields": '[{"label":"Account","type":"text","value":"DE00 1234"}]',
    }.items() <= plain2.items()
    # The stored hash is the SHA-1 of the decrypted password.
    assert hashlib.sha1(plain2["password"].encode()).hexdigest() == rev2["hash"]
    # Unencrypted fields are untouched, the input is not modified.
    assert plain2["sseKey"] == rev2["sseKey"] and plain2["uuid"] == rev2["uuid"]
    assert rev2["label"] != "Example Bank"

    folder = decrypt_revision("folder", example["folders"][0]["revisions"][0], keys)
    assert folder["label"] == "Banking"
    tag = decrypt_revision("tag", example["tags"][0]["revisions"][0], keys)
    assert (tag["label"], tag["color"]) == ("Finance", "#1e88e5")


def test_worked_example_challenge_and_keychain(example: dict[str, Any]) -> None:
    server = example["keys"]["server"]
    bob = example["keys"]["users"]["bob"]
    challenge = example["challenges"][0]
    password = server["SSEv1ServerKey"] + bob["SSEv1UserKey"]
    for name in ("secret", "clientData", "serverData"):
        icrypto.decrypt(challenge[name], password)  # authenticates and decrypts
    for keychain in example["keychains"]:
        data = icrypto.decrypt_text(keychain["data"], server["secret"] + "bob-user-secret")
        json.loads(data)
        with pytest.raises(CryptoError, match="HMAC"):
            icrypto.decrypt(keychain["data"], server["secret"])


def test_worked_example_wrong_keys_fail(example: dict[str, Any]) -> None:
    keys = SseKeys.from_backup_keys(example["keys"], server_secret="another instance")
    with pytest.raises(CryptoError, match="HMAC does not match"):
        decrypt_revision("password", example["passwords"][0]["revisions"][0], keys)
    wrong_user = {**example["passwords"][0]["revisions"][0], "userId": "bob"}
    with pytest.raises(CryptoError, match="HMAC does not match"):
        decrypt_revision("password", wrong_user, SseKeys.from_backup_keys(example["keys"]))


def test_non_sse_revision_is_refused(example: dict[str, Any]) -> None:
    keys = SseKeys.from_backup_keys(example["keys"])
    cse = example["passwords"][1]["revisions"][0]
    with pytest.raises(CryptoError, match="not SSEv1"):
        decrypt_revision("password", cse, keys)


def test_missing_user_key(example: dict[str, Any]) -> None:
    keys = SseKeys.from_backup_keys(example["keys"])
    revision = {**example["passwords"][0]["revisions"][0], "userId": "carol"}
    with pytest.raises(CryptoError, match="carol"):
        decrypt_revision("password", revision, keys)


def test_null_server_key_counts_as_empty() -> None:
    keys = SseKeys.from_backup_keys(
        {"server": {"secret": "s", "SSEv1ServerKey": None}, "users": [{"SSEv1UserKey": "k0"}]}
    )
    assert keys.server_key == ""
    assert encryption_password("SSEv1r2", "o", "0", keys) == b"sk0o"


# --------------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize(
    "plaintext",
    ["", "a", "x" * 15, "y" * 16, "z" * 17, 'Grüße 😀 / \\ "q" \x00\x7f', "long " * 1000],
)
def test_icrypto_round_trip(plaintext: str) -> None:
    text = icrypto.encrypt(plaintext, "pw")
    ct_hex, iv_hex, mac_hex, version = text.split("|")
    assert version == "3"
    assert re.fullmatch(r"[0-9a-f]{32}", iv_hex) and re.fullmatch(r"[0-9a-f]{128}", mac_hex)
    assert len(ct_hex) == 32 * ((len(plaintext.encode()) + 16) // 16)
    assert icrypto.decrypt_text(text, "pw") == plaintext
    assert icrypto.encrypt(plaintext, "pw") != text  # random IV


def test_icrypto_bytes_round_trip() -> None:
    data = bytes(range(256))
    assert icrypto.decrypt(icrypto.encrypt(data, b"\xff\x00key"), b"\xff\x00key") == data
    with pytest.raises(CryptoError, match="UTF-8"):
        icrypto.decrypt_text(icrypto.encrypt(b"\xff", "k"), "k")
    assert icrypto.decrypt_text(icrypto.encrypt(b"\xff", "k"), "k", errors="surrogateescape") == "\udcff"
    assert icrypto.decrypt(icrypto.encrypt("\udcff", "k"), "k") == b"\xff"


def test_generate_key() -> None:
    key = generate_key()
    assert len(key) == KEY_LENGTH and set(key) <= set(KEY_ALPHABET)
    assert len(generate_key(16)) == KEY_LENGTH
    assert generate_key() != key


def test_ssev1_round_trip(example: dict[str, Any]) -> None:
    keys = SseKeys.from_backup_keys(example["keys"])
    original = example["passwords"][0]["revisions"][1]
    plain = decrypt_revision("password", original, keys)
    encrypted = encrypt_revision("password", {**plain, "sseType": "SSEv1r1"}, keys)
    assert encrypted["sseType"] == "SSEv1r2"
    assert len(encrypted["sseKey"]) == KEY_LENGTH and encrypted["sseKey"] != original["sseKey"]
    assert list(encrypted) == list(original)
    for name in ("url", "label", "notes", "password", "username", "customFields"):
        assert encrypted[name] != plain[name] and encrypted[name].endswith("|3")
    for name in ("hash", "folder", "uuid", "model", "edited"):
        assert encrypted[name] == original[name]
    assert decrypt_revision("password", encrypted, keys) == {
        **plain,
        "sseType": "SSEv1r2",
        "sseKey": encrypted["sseKey"],
    }

    tag = decrypt_revision("tag", example["tags"][0]["revisions"][0], keys)
    again = encrypt_revision("tag", tag, keys, sse_key="fixed")
    assert again["sseKey"] == "fixed"
    # r2 layout with the instance secret; the key is used as given.
    password = keys.server_secret + keys.server_key + keys.user_key("alice") + "fixed"
    assert icrypto.decrypt_text(again["color"], password) == "#1e88e5"


def test_encrypt_revision_skips_null_and_keeps_other_types() -> None:
    revision = {"userId": "u", "label": "L", "color": None, "sseType": "none"}
    encrypted = encrypt_revision("tag", revision, VECTOR_KEYS, sse_key="k")
    assert encrypted["color"] is None and encrypted["sseType"] == "none"
    assert decrypt_revision("tag", encrypted, VECTOR_KEYS, check_type=False)["label"] == "L"


# --------------------------------------------------------------------------------------------------
# Malformed and tampered ciphertexts


def _flip(text: str, index: int) -> str:
    char = text[index]
    return text[:index] + ("0" if char != "0" else "1") + text[index + 1 :]


@pytest.mark.parametrize("index", [0, 31, 33, 64, 66, 100, 193])
def test_tampered_ciphertext(index: int) -> None:
    assert TV1[index] != "|"
    with pytest.raises(CryptoError, match=r"^HMAC does not match\.$"):
        icrypto.decrypt(_flip(TV1, index), TV1_P)


def test_tampered_version_suffix() -> None:
    with pytest.raises(CryptoError, match="HMAC does not match"):
        icrypto.decrypt(TV1[:-1] + "2", TV1_P)
    with pytest.raises(CryptoError, match="HMAC does not match"):
        icrypto.decrypt(TV5[:-1] + "3", "pw-v2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Authenticated ciphertext could not be decoded."),
        ("abcd|ef", "Authenticated ciphertext could not be decoded."),
        (TV1 + "|x", "Authenticated ciphertext could not be decoded."),
        ("zz|00|00|3", "String contains non hex chars: zz"),
        ("|00|00|3", "String contains non hex chars: "),
        ("a b|00|00|3", "String contains non hex chars: a b"),
        ("abc|00|00|3", "Hex string is not of even length: abc"),
        ("00|00|0g|3", "String contains non hex chars: 0g"),
        ("00|0|00|3", "Hex string is not of even length: 0"),
    ],
)
def test_malformed_ciphertext(text: str, message: str) -> None:
    with pytest.raises(CryptoError) as info:
        icrypto.decrypt(text, "pw")
    assert str(info.value) == message


def test_bad_padding_with_valid_mac() -> None:
    # Authentic text whose last plaintext byte is 0: the HMAC passes, the unpadding fails.
    password = b"pw"
    km = icrypto.hkdf_key_material(password)
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    encryptor = Cipher(algorithms.AES(icrypto.aes_key(km[:32])), modes.CBC(IV0)).encryptor()
    ct_hex = (encryptor.update(b"A" * 15 + b"\x00") + encryptor.finalize()).hex()
    mac_hex = icrypto.mac((ct_hex + IV0.hex()).encode(), km[32:]).hex()
    with pytest.raises(CryptoError, match=r"^Decryption failed$"):
        icrypto.decrypt(f"{ct_hex}|{IV0.hex()}|{mac_hex}|3", password)
    # phpseclib only checks the last pad byte.
    encryptor = Cipher(algorithms.AES(icrypto.aes_key(km[:32])), modes.CBC(IV0)).encryptor()
    ct_hex = (encryptor.update(b"hello" + b"\x09" * 10 + b"\x03") + encryptor.finalize()).hex()
    mac_hex = icrypto.mac((ct_hex + IV0.hex()).encode(), km[32:]).hex()
    assert icrypto.decrypt(f"{ct_hex}|{IV0.hex()}|{mac_hex}|3", password) == b"hello" + b"\x09" * 8


def test_version_comparison_like_php() -> None:
    # 4 parts with a version below "2": raw IV and whole-password keys, like the 3-part format.
    body = TV6.rsplit("|", 1)[0]
    mac_hex = TV6.rsplit("|", 1)[1]
    assert icrypto.decrypt(f"{body}|{mac_hex}|1", "pw-v1") == b"legacy-one"
    # "2.0" and " 2" are numeric strings equal to 2 in PHP: hex IV, whole password.
    ct_hex, iv_hex, mac5, _ = TV5.split("|")
    assert icrypto.decrypt(f"{ct_hex}|{iv_hex}|{mac5}|2.0", "pw-v2") == b"legacy-two"
    assert icrypto.decrypt(f"{ct_hex}|{iv_hex}|{mac5}| 2", "pw-v2") == b"legacy-two"
    # Only exactly "3" selects HKDF; "4" (>= "2") is handled like "2".
    assert icrypto.decrypt(f"{ct_hex}|{iv_hex}|{mac5}|4", "pw-v2") == b"legacy-two"
    with pytest.raises(CryptoError, match="HMAC"):
        icrypto.decrypt(f"{ct_hex}|{iv_hex}|{mac5}|3", "pw-v2")


def test_short_raw_iv_is_nul_padded() -> None:
    # Three-part format with a 3-character IV: phpseclib pads the IV with NUL bytes to 16.
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    padder = padding.PKCS7(128).padder()
    data = padder.update(b"short iv") + padder.finalize()
    encryptor = Cipher(algorithms.AES(icrypto.aes_key(b"pw")), modes.CBC(b"abc" + b"\0" * 13)).encryptor()
    ct_hex = (encryptor.update(data) + encryptor.finalize()).hex()
    mac_hex = icrypto.mac((ct_hex + "abc").encode(), b"pw").hex()
    assert icrypto.decrypt(f"{ct_hex}|abc|{mac_hex}", "pw") == b"short iv"


def test_encrypt_rejects_bad_iv() -> None:
    with pytest.raises(CryptoError):
        icrypto.encrypt("x", "pw", iv=b"short")
