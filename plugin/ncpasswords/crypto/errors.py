"""Errors raised by the crypto package."""

from __future__ import annotations

from ..errors import UserError

__all__ = ["CryptoError"]


class CryptoError(UserError):
    """A ciphertext could not be decoded, authenticated or decrypted, or a key is missing.

    The message of errors raised while decoding an ``ICrypto`` ciphertext is the text Nextcloud's
    ``OC\\Security\\Crypto`` uses for the same failure (e.g. ``HMAC does not match.``).
    """
