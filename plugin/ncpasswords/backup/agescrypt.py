"""age v1 files encrypted with a passphrase (the scrypt recipient), streamed.

The format is age's (https://age-encryption.org/v1, summarised in docs/off-site-backups.md#the-age-format):
a text header of stanzas closed by an HMAC, then a 16-byte nonce and the payload in chunks of
64 KiB, each sealed with ChaCha20-Poly1305 (the STREAM construction). Only the scrypt stanza is
handled here, X25519 and SSH recipients go through pyrage. Everything is built from the
`cryptography` package's primitives; nothing but one chunk is held in memory.
"""

from __future__ import annotations

import base64
import hmac
import os
from collections.abc import Iterator
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

#: The first line of the header.
VERSION_LINE: Final = b"age-encryption.org/v1"
#: The work factor (log2 of scrypt's N) of the files written here, that of the `age` tool.
WORK_FACTOR: Final = 18
#: The largest work factor accepted when decrypting (scrypt then needs 1 GiB of memory).
MAX_WORK_FACTOR: Final = 20
#: Plaintext bytes per payload chunk.
CHUNK_SIZE: Final = 64 * 1024
_TAG: Final = 16
_SEALED_CHUNK: Final = CHUNK_SIZE + _TAG
_SCRYPT_LABEL: Final = b"age-encryption.org/v1/scrypt"
_SALT_SIZE: Final = 16
_FILE_KEY_SIZE: Final = 16
_NONCE_SIZE: Final = 16
_COLUMNS: Final = 64
_MAX_LINE: Final = 4096
_MAX_HEADER: Final = 1 << 20
_MAX_COUNTER: Final = 1 << 88


class PassphraseError(Exception):
    """The passphrase does not open the file, or the file is not one a passphrase opens here."""


class DamagedError(Exception):
    """The file is not a whole, unchanged age file."""


def _b64encode(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _b64decode(text: bytes) -> bytes:
    """Canonical unpadded standard base64, as the format requires."""
    if len(text) % 4 == 1 or b"=" in text:
        raise DamagedError("invalid base64 in the header")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise DamagedError("invalid base64 in the header") from None
    if _b64encode(data) != text:
        raise DamagedError("non-canonical base64 in the header")
    return data


def _hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


def _scrypt_key(passphrase: str, salt: bytes, work_factor: int) -> bytes:
    return Scrypt(salt=_SCRYPT_LABEL + salt, length=32, n=1 << work_factor, r=8, p=1).derive(passphrase.encode())


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# Writing


def encrypt(source: BinaryIO, target: BinaryIO, passphrase: str, work_factor: int = WORK_FACTOR) -> None:
    """Encrypt everything `source` holds into `target` with `passphrase`, one chunk at a time."""
    file_key = os.urandom(_FILE_KEY_SIZE)
    salt = os.urandom(_SALT_SIZE)
    body = ChaCha20Poly1305(_scrypt_key(passphrase, salt, work_factor)).encrypt(bytes(12), file_key, None)
    header = b"%s\n-> scrypt %s %d\n%s\n---" % (VERSION_LINE, _b64encode(salt), work_factor, _b64encode(body))
    mac = hmac.digest(_hkdf(file_key, b"", b"header"), header, "sha256")
    nonce = os.urandom(_NONCE_SIZE)
    target.write(header + b" " + _b64encode(mac) + b"\n" + nonce)
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    for counter, chunk, last in _chunks(source, CHUNK_SIZE):
        target.write(aead.encrypt(_chunk_nonce(counter, last), chunk, None))


def _chunks(stream: BinaryIO, size: int) -> Iterator[tuple[int, bytes, bool]]:
    """(counter, chunk, last) of `stream` read `size` bytes at a time, reading one chunk ahead to
    know which is the last (a stream whose length is a multiple of `size` ends with a full chunk;
    an empty stream is one empty chunk)."""
    counter = 0
    chunk = _read_full(stream, size)
    while True:
        following = _read_full(stream, size) if len(chunk) == size else b""
        yield counter, chunk, not following
        if not following:
            return
        chunk = following
        counter += 1


def _read_full(stream: BinaryIO, size: int) -> bytes:
    """`size` bytes of `stream`, fewer only at its end."""
    data = stream.read(size)
    while data and len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            break
        data += more
    return data


# Reading


class _Header:
    """The parsed header of an age file: its stanzas, the bytes its MAC covers, and the MAC."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stanzas: list[tuple[list[bytes], bytes]] = []
        covered = bytearray()

        def line() -> bytes:
            text = stream.readline(_MAX_LINE)
            if not text.endswith(b"\n"):
                raise DamagedError("the header is cut short or has an over-long line")
            covered.extend(text)
            if len(covered) > _MAX_HEADER:
                raise DamagedError("the header is too long")
            return text[:-1]

        if line() != VERSION_LINE:
            raise DamagedError("not an age v1 file")
        text = line()
        while text.startswith(b"-> "):
            arguments = text[3:].split(b" ")
            if not all(arguments) or any(b < 0x21 or b > 0x7E for argument in arguments for b in argument):
                raise DamagedError("a malformed stanza in the header")
            body = bytearray()
            while True:
                body_line = line()
                body += _b64decode(body_line)
                if len(body_line) < _COLUMNS:
                    break
            self.stanzas.append((arguments, bytes(body)))
            text = line()
        if not text.startswith(b"--- ") or not self.stanzas:
            raise DamagedError("a malformed header")
        self.mac = _b64decode(text[4:])
        del covered[-len(text) - 1 + 3 :]  # the MAC covers the header up to and including "---"
        self.covered = bytes(covered)

    def file_key(self, passphrase: str, max_work_factor: int) -> bytes:
        """The file key of the scrypt stanza, unwrapped with `passphrase`."""
        kinds = [arguments[0] for arguments, _ in self.stanzas]
        if b"scrypt" not in kinds:
            raise PassphraseError("the file is encrypted to keys, not with a passphrase: give --identity")
        if len(kinds) != 1:
            raise DamagedError("a scrypt stanza must be the header's only stanza")
        arguments, body = self.stanzas[0]
        if len(arguments) != 3 or not arguments[2].isdigit() or arguments[2].startswith(b"0"):
            raise DamagedError("a malformed scrypt stanza")
        salt, work_factor = _b64decode(arguments[1]), int(arguments[2])
        if len(salt) != _SALT_SIZE or len(body) != _FILE_KEY_SIZE + _TAG:
            raise DamagedError("a malformed scrypt stanza")
        if work_factor > max_work_factor:
            raise PassphraseError(
                f"the file asks for scrypt work factor {work_factor}, more than the {max_work_factor} accepted here"
            )
        try:
            file_key = ChaCha20Poly1305(_scrypt_key(passphrase, salt, work_factor)).decrypt(bytes(12), body, None)
        except InvalidTag:
            raise PassphraseError("wrong passphrase") from None
        self.check(file_key)
        return file_key

    def check(self, file_key: bytes) -> None:
        """DamagedError unless the header's MAC is that of `file_key`."""
        expected = hmac.digest(_hkdf(file_key, b"", b"header"), self.covered, "sha256")
        if not hmac.compare_digest(expected, self.mac):
            raise DamagedError("the header's MAC does not match")


def open_file_key(stream: BinaryIO, passphrase: str, max_work_factor: int = MAX_WORK_FACTOR) -> bytes:
    """The file key of the age file `stream` starts with, opened with `passphrase` (scrypt runs
    once here; `decrypt` then needs only the key)."""
    return _Header(stream).file_key(passphrase, max_work_factor)


def decrypt(stream: BinaryIO, file_key: bytes) -> Iterator[bytes]:
    """The plaintext chunks of the age file `stream` starts with, checked one by one: DamagedError
    for a changed byte, a truncated file, or data after the last chunk."""
    _Header(stream).check(file_key)
    nonce = _read_full(stream, _NONCE_SIZE)
    if len(nonce) != _NONCE_SIZE:
        raise DamagedError("the file is cut short")
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    for counter, sealed, last in _chunks(stream, _SEALED_CHUNK):
        if counter >= _MAX_COUNTER:
            raise DamagedError("too many chunks")
        if len(sealed) < _TAG:
            raise DamagedError("the file is cut short")
        try:
            chunk = aead.decrypt(_chunk_nonce(counter, last), sealed, None)
        except InvalidTag:
            raise DamagedError(f"chunk {counter} fails authentication (changed or cut short)") from None
        if last and not chunk and counter:
            raise DamagedError("the last chunk is empty")
        yield chunk
