"""Passphrase-encrypted age files, streamed: what we write opens with `age -d`, what `age -p` writes
opens here, and the format's rules hold (chunk boundaries, the empty file, the last chunk, a wrong
passphrase, truncation, extra data, and a work factor a hostile file cannot inflate)."""

from __future__ import annotations

import base64
import hmac
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from conftest import IN_CI
from ncpasswords.backup import agescrypt
from test_backup_age import age_on_a_terminal

CHUNK = 64 * 1024
#: Sizes around the chunk boundaries: empty, short, one byte under, exactly one chunk, one over, two.
SIZES = (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 7)
FAST = 10  # the work factor of files written here only to be read here or by `age` quickly


@pytest.fixture(autouse=True)
def tools() -> None:
    if shutil.which("age") is None:
        (pytest.fail if IN_CI else pytest.skip)("not installed: age")


def encrypted(data: bytes, passphrase: str = "pw", work_factor: int = FAST) -> bytes:
    out = io.BytesIO()
    agescrypt.encrypt(io.BytesIO(data), out, passphrase, work_factor)
    return out.getvalue()


def decrypted(blob: bytes, passphrase: str = "pw", max_work_factor: int = agescrypt.MAX_WORK_FACTOR) -> bytes:
    key = agescrypt.open_file_key(io.BufferedReader(io.BytesIO(blob)), passphrase, max_work_factor)
    return b"".join(agescrypt.decrypt(io.BufferedReader(io.BytesIO(blob)), key))


def age_decrypts(blob: bytes, folder: Path, passphrase: str = "pw") -> bytes:
    """What `age -d` makes of `blob` (it writes no output file for an empty payload)."""
    (folder / "in.age").write_bytes(blob)
    out = folder / "out"
    out.unlink(missing_ok=True)
    assert age_on_a_terminal(passphrase, "-d", "-o", out, folder / "in.age") == 0
    return out.read_bytes() if out.exists() else b""


def b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def crafted(chunks: list[tuple[bytes, bool]], passphrase: str = "pw", work_factor: int = FAST) -> bytes:
    """An age file built by hand from the format's description, with the chunks (plaintext, last
    flag) given, to make files that break the rules."""
    file_key, salt, nonce = os.urandom(16), os.urandom(16), os.urandom(16)
    wrap = Scrypt(salt=b"age-encryption.org/v1/scrypt" + salt, length=32, n=1 << work_factor, r=8, p=1)
    body = ChaCha20Poly1305(wrap.derive(passphrase.encode())).encrypt(bytes(12), file_key, None)
    header = b"age-encryption.org/v1\n-> scrypt %s %d\n%s\n---" % (b64(salt), work_factor, b64(body))
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=b"header").derive(file_key)
    payload_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=b"payload").derive(file_key)
    aead = ChaCha20Poly1305(payload_key)
    sealed = b"".join(
        aead.encrypt(counter.to_bytes(11, "big") + bytes([last]), data, None)
        for counter, (data, last) in enumerate(chunks)
    )
    return header + b" " + b64(hmac.digest(mac_key, header, "sha256")) + b"\n" + nonce + sealed


@pytest.mark.parametrize("size", SIZES)
def test_our_files_open_with_age(size: int, tmp_path: Path) -> None:
    data = os.urandom(size)
    blob = encrypted(data)
    assert blob.startswith(b"age-encryption.org/v1\n-> scrypt ")
    assert age_decrypts(blob, tmp_path) == data
    assert decrypted(blob) == data


def test_default_work_factor_opens_with_age(tmp_path: Path) -> None:
    data = os.urandom(CHUNK * 3)
    blob = encrypted(data, "correct horse", agescrypt.WORK_FACTOR)
    assert b" %d\n" % agescrypt.WORK_FACTOR in blob.split(b"\n---")[0]
    assert age_decrypts(blob, tmp_path, "correct horse") == data


@pytest.mark.parametrize("size", (0, CHUNK, 2 * CHUNK + 7))
def test_files_age_made_open_here(size: int, tmp_path: Path) -> None:
    data = os.urandom(size)
    (tmp_path / "plain").write_bytes(data)
    assert age_on_a_terminal("s3cret", "-p", "-o", tmp_path / "made.age", tmp_path / "plain") == 0
    blob = (tmp_path / "made.age").read_bytes()
    assert decrypted(blob, "s3cret") == data
    with pytest.raises(agescrypt.PassphraseError, match="wrong passphrase"):
        decrypted(blob, "s3cret ")


def test_exactly_one_chunk_is_one_last_chunk() -> None:
    blob = encrypted(b"x" * CHUNK)
    header_end = blob.index(b"\n", blob.index(b"\n---") + 1) + 1
    assert len(blob) - header_end == 16 + CHUNK + 16  # the nonce, one full chunk and its tag
    assert decrypted(crafted([(b"x" * CHUNK, True)])) == b"x" * CHUNK


def test_empty_file_is_one_empty_last_chunk() -> None:
    blob = encrypted(b"")
    header_end = blob.index(b"\n", blob.index(b"\n---") + 1) + 1
    assert len(blob) - header_end == 16 + 16
    assert decrypted(crafted([(b"", True)])) == b""


def test_an_empty_last_chunk_after_data_is_refused() -> None:
    with pytest.raises(agescrypt.DamagedError, match="last chunk is empty"):
        decrypted(crafted([(b"x" * CHUNK, False), (b"", True)]))


def test_chunks_out_of_rule_are_refused() -> None:
    # a short chunk that is not marked last, and a file whose only chunk is not marked last
    for chunks in ([(b"x" * CHUNK, False), (b"y", False)], [(b"y", False)], [(b"x" * CHUNK, False)]):
        with pytest.raises(agescrypt.DamagedError, match="fails authentication"):
            decrypted(crafted(chunks))
    # a full chunk marked last but followed by more
    with pytest.raises(agescrypt.DamagedError, match="chunk 0 fails authentication"):
        decrypted(crafted([(b"x" * CHUNK, True), (b"y", True)]))


def test_truncated_or_extended_files_are_refused() -> None:
    data = os.urandom(2 * CHUNK + 7)
    blob = encrypted(data)
    header_end = blob.index(b"\n", blob.index(b"\n---") + 1) + 1
    payload = header_end + 16
    for cut in (len(blob) - 1, len(blob) - 7 - 16, payload + CHUNK + 16, payload + 15, payload, header_end + 5):
        with pytest.raises(agescrypt.DamagedError):
            decrypted(blob[:cut])
    with pytest.raises(agescrypt.DamagedError, match="chunk 2 fails authentication"):
        decrypted(blob + b"\0")
    for cut in (5, header_end - 10):  # inside the header
        with pytest.raises(agescrypt.DamagedError):
            decrypted(blob[:cut])


def test_changed_bytes_are_refused() -> None:
    blob = bytearray(encrypted(os.urandom(CHUNK + 1)))
    blob[-1] ^= 1
    with pytest.raises(agescrypt.DamagedError, match="chunk 1 fails authentication"):
        decrypted(bytes(blob))
    blob = bytearray(encrypted(b"data"))
    mac_at = blob.index(b"\n--- ") + 5
    blob[mac_at] = ord("A") if blob[mac_at] != ord("A") else ord("B")
    with pytest.raises(agescrypt.DamagedError, match="MAC"):
        decrypted(bytes(blob))


def test_work_factor_is_limited_when_decrypting() -> None:
    blob = crafted([(b"data", True)], work_factor=12)
    assert decrypted(blob, max_work_factor=12) == b"data"
    with pytest.raises(agescrypt.PassphraseError, match="work factor 12, more than the 11 accepted"):
        decrypted(blob, max_work_factor=11)
    # A hostile header asking for 2^60 is refused before any work is done.
    hostile = blob.replace(b" 12\n", b" 60\n", 1)
    with pytest.raises(agescrypt.PassphraseError, match="work factor 60"):
        decrypted(hostile)


def test_headers_out_of_rule_are_refused() -> None:
    blob = encrypted(b"data")
    salt_line = blob.split(b"\n")[1]
    for changed in (
        blob.replace(salt_line, salt_line + b" extra"),  # a third argument
        blob.replace(salt_line, salt_line.replace(b" 10", b" 010")),  # a leading zero
        blob.replace(salt_line, salt_line.replace(b"scrypt ", b"scrypt  ")),  # an empty argument
        blob.replace(b"age-encryption.org/v1", b"age-encryption.org/v2"),
    ):
        with pytest.raises(agescrypt.DamagedError):
            decrypted(changed)
    # a scrypt stanza next to another one
    lines = blob.split(b"\n")
    doubled = b"\n".join([lines[0], b"-> X25519 AAAA", b"", *lines[1:]])
    with pytest.raises(agescrypt.DamagedError, match="only stanza"):
        decrypted(doubled)


def test_files_for_keys_need_an_identity(tmp_path: Path) -> None:
    identity = tmp_path / "key.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], capture_output=True, check=True)
    recipient = subprocess.run(["age-keygen", "-y", str(identity)], capture_output=True, check=True).stdout
    blob = subprocess.run(["age", "-r", recipient.decode().strip()], input=b"data", capture_output=True, check=True)
    with pytest.raises(agescrypt.PassphraseError, match="encrypted to keys"):
        decrypted(blob.stdout)
