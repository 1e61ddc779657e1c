"""Nextcloud ``ICrypto`` (core ``lib/private/Security/Crypto.php``) compatible encryption.

Format: docs/internals/encryption.md#icrypto (encrypt, current format ``3``; decrypt of all three
historical formats).

Ciphertext layout: ``hex(ct) | iv | hex(hmac) [| version]``.

* version ``3`` (current, written by :func:`encrypt`): HKDF-SHA512 splits the password into an
  encryption half and a MAC half, the IV is hex encoded.
* version ``2``: the whole password is used for both, the IV is hex encoded.
* three parts (oldest): the whole password is used for both, the IV is the raw text of part 2.

The AES key is phpseclib 2's ``setPassword()`` default: PBKDF2-HMAC-SHA1 with salt ``phpseclib``,
1000 iterations, 16 bytes, so the cipher is AES-128-CBC with PKCS#7 padding.

Passwords and plaintexts given as ``str`` are encoded as UTF-8 (with ``surrogateescape`` so that
bytes decoded with that handler round-trip unchanged). An empty password is used as given: Nextcloud
substitutes its system ``secret`` for an empty password, which a caller has to do itself.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
from typing import Final, Literal

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..php.compare import compare
from .errors import CryptoError

__all__ = [
    "BLOCK_SIZE",
    "CURRENT_FORMAT",
    "aes_key",
    "decrypt",
    "decrypt_text",
    "encrypt",
    "hkdf_key_material",
    "hmac_key",
    "mac",
]

CURRENT_FORMAT: Final = "3"
BLOCK_SIZE: Final = 16
_PHPSECLIB_SALT: Final = b"phpseclib"
_PHPSECLIB_ITERATIONS: Final = 1000

_HEX_RE: Final = re.compile(r"[0-9A-Fa-f]+")

TextErrors = Literal["strict", "surrogateescape"]


def _to_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise CryptoError(f"Value cannot be encoded as UTF-8: {exc.reason}") from exc


def hkdf_key_material(password: bytes) -> bytes:
    """PHP ``hash_hkdf('sha512', password)``: 64 bytes, no salt (64 zero bytes), empty info."""
    if not password:
        # PHP's hash_hkdf() rejects an empty key.
        raise CryptoError("hash_hkdf(): Argument #2 ($key) cannot be empty")
    return HKDF(algorithm=hashes.SHA512(), length=64, salt=None, info=b"").derive(password)


def aes_key(enc_pass: bytes) -> bytes:
    """phpseclib 2 ``AES::setPassword(enc_pass)`` with its defaults: the 16-byte AES-128 key."""
    return hashlib.pbkdf2_hmac("sha1", enc_pass, _PHPSECLIB_SALT, _PHPSECLIB_ITERATIONS, 16)


def hmac_key(mac_pass: bytes) -> bytes:
    """``ICrypto::calculateHMAC`` key: the ASCII lowercase hex of SHA-512(mac_pass ‖ ``a``)."""
    return hashlib.sha512(mac_pass + b"a").hexdigest().encode("ascii")


def mac(message: bytes, mac_pass: bytes) -> bytes:
    """``ICrypto::calculateHMAC(message, mac_pass)``: the raw 64-byte HMAC-SHA512."""
    return hmac.new(hmac_key(mac_pass), message, hashlib.sha512).digest()


def _aes_cbc(key: bytes, iv: bytes, data: bytes, *, decrypt_mode: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    ctx = cipher.decryptor() if decrypt_mode else cipher.encryptor()
    return ctx.update(data) + ctx.finalize()


def encrypt(plaintext: str | bytes, password: str | bytes, *, iv: bytes | None = None) -> str:
    """Encrypt like Nextcloud's current ``ICrypto::encrypt`` (format ``3``).

    ``iv`` is for reproducible test vectors only; by default 16 random bytes are used.
    """
    if iv is None:
        iv = os.urandom(BLOCK_SIZE)
    elif len(iv) != BLOCK_SIZE:
        raise CryptoError(f"The IV must be {BLOCK_SIZE} bytes long")
    data = _to_bytes(plaintext)
    encryption_key, mac_key = _encryption_keys(_to_bytes(password))

    padder = padding.PKCS7(BLOCK_SIZE * 8).padder()
    padded = padder.update(data) + padder.finalize()
    ct_hex = _aes_cbc(encryption_key, iv, padded, decrypt_mode=False).hex()
    iv_hex = iv.hex()
    mac_hex = hmac.new(mac_key, (ct_hex + iv_hex).encode("ascii"), hashlib.sha512).hexdigest()
    return f"{ct_hex}|{iv_hex}|{mac_hex}|{CURRENT_FORMAT}"


@functools.lru_cache(maxsize=64)
def _encryption_keys(password: bytes) -> tuple[bytes, bytes]:
    """The AES key and the HMAC key of format 3 for `password`, derived once for the fields that
    share a password (a revision's, or the revisions that share an `sseKey`)."""
    key_material = hkdf_key_material(password)
    return aes_key(key_material[:32]), hmac_key(key_material[32:])


def _hex2bin(text: str) -> bytes:
    # Nextcloud: ctype_xdigit() (false for "") first, then the even-length check.
    if not _HEX_RE.fullmatch(text):
        raise CryptoError(f"String contains non hex chars: {text}")
    if len(text) % 2:
        raise CryptoError(f"Hex string is not of even length: {text}")
    return bytes.fromhex(text)


def decrypt(ciphertext: str, password: str | bytes) -> bytes:
    """Decrypt an ``ICrypto`` ciphertext of any historical format; returns the raw plaintext bytes.

    Raises :class:`CryptoError` with Nextcloud's message when the text is malformed, the HMAC does
    not match (wrong password or tampered text) or the padding is invalid.
    """
    key = _to_bytes(password)
    enc_pass = mac_pass = key

    parts = ciphertext.split("|")
    if not 3 <= len(parts) <= 4:
        raise CryptoError("Authenticated ciphertext could not be decoded.")

    ct = _hex2bin(parts[0])
    iv = _to_bytes(parts[1])
    expected_mac = _hex2bin(parts[2])

    if len(parts) == 4:
        version = parts[3]
        _to_bytes(version)  # PHP strings are bytes: text that stands for none is refused here
        if compare(version, "2") >= 0:  # PHP 8's `$version >= '2'`
            iv = _hex2bin(parts[1])
        if version == "3":
            key_material = hkdf_key_material(key)
            enc_pass, mac_pass = key_material[:32], key_material[32:]

    actual_mac = mac(_to_bytes(parts[0] + parts[1]), mac_pass)
    if not hmac.compare_digest(actual_mac, expected_mac):
        raise CryptoError("HMAC does not match.")

    # phpseclib: the IV is cut or NUL-padded to one block, the ciphertext NUL-padded to whole blocks.
    iv = iv[:BLOCK_SIZE].ljust(BLOCK_SIZE, b"\0")
    if len(ct) % BLOCK_SIZE:
        ct = ct.ljust(len(ct) + BLOCK_SIZE - len(ct) % BLOCK_SIZE, b"\0")
    plain = _aes_cbc(aes_key(enc_pass), iv, ct, decrypt_mode=True)

    # phpseclib's lax unpadding: only the last byte is checked.
    pad = plain[-1]
    if not 1 <= pad <= BLOCK_SIZE:
        raise CryptoError("Decryption failed")
    return plain[:-pad]


def decrypt_text(ciphertext: str, password: str | bytes, *, errors: TextErrors = "strict") -> str:
    """:func:`decrypt` and decode the plaintext as UTF-8.

    With ``errors="strict"`` invalid UTF-8 raises :class:`CryptoError`; with ``"surrogateescape"``
    any bytes are kept and :func:`encrypt` restores them exactly.
    """
    data = decrypt(ciphertext, password)
    try:
        return data.decode("utf-8", errors)
    except UnicodeDecodeError as exc:
        raise CryptoError("The decrypted value is not valid UTF-8") from exc
