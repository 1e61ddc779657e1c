"""Encrypted copies of backups in the age format (docs/off-site-backups.md).

Recipients are X25519 (`age1…`) or SSH public keys (`ssh-ed25519`, `ssh-rsa`); identities are age
identity files (`AGE-SECRET-KEY-1…` lines) or unencrypted SSH private keys. With them the bytes
are encrypted and decrypted as a stream: `encrypt_file` copies a file through the encryptor, and
`EncryptedSource` gives the readers of `source` the decrypted bytes of an `.age` file, decrypted
afresh by a background thread for every pass, so that nothing but a few chunks is in memory.

Recipients and identities go through pyrage. pyrage takes passphrases (age's scrypt recipient)
only for data held in memory, so passphrase files are written and read by `agescrypt`, which
streams them as well.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Final

import pyrage

from ..errors import UserError
from . import agescrypt
from .errors import BackupError, BackupFormatError
from .pipe import ThreadedReader
from .source import BackupSource

#: The ending of an encrypted copy, after the backup's own file name.
AGE_SUFFIX: Final = ".age"
#: The first line of every binary age file.
AGE_MAGIC: Final = b"age-encryption.org/v1\n"
#: The environment variable a passphrase is read from when no question can be asked.
PASSPHRASE_VARIABLE: Final = "NCP_BACKUP_PASSPHRASE"
_CHUNK: Final = 1 << 20

Recipient = Any
Identity = Any


class AgeError(BackupError):
    """A recipient, identity, passphrase or encrypted file that cannot be used."""


def parse_recipient(text: str, where: str = "recipient") -> Recipient:
    """An `age1…` X25519 recipient or an SSH public key line."""
    value = text.strip()
    try:
        if value.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(value)
        if value.startswith("ssh-"):
            return pyrage.ssh.Recipient.from_str(value)
    except pyrage.RecipientError as exc:
        raise AgeError(f"Invalid {where} {value[:80]!r}: {exc}") from None
    raise AgeError(f"Invalid {where} {value[:80]!r}: expected an age1… key or an ssh-ed25519/ssh-rsa public key")


def recipients_from_lines(lines: Iterable[str], where: str) -> list[Recipient]:
    """Recipients of a recipients file as age reads one: one per line, `#` comments, blank lines."""
    found = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text and not text.startswith("#"):
            found.append(parse_recipient(text, f"recipient in {where} line {number}"))
    return found


def read_recipients(values: Sequence[str], files: Sequence[str | os.PathLike[str]]) -> list[Recipient]:
    """The recipients of `--encrypt-to` values and `--recipients-file` files."""
    found = [parse_recipient(value) for value in values]
    for file in files:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AgeError(f"Cannot read the recipients file {file}: {getattr(exc, 'strerror', None) or exc}") from None
        found += recipients_from_lines(text.splitlines(), os.fspath(file))
    return found


def read_identities(file: str | os.PathLike[str]) -> list[Identity]:
    """The identities of an age identity file, or of an unencrypted SSH private key file."""
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise AgeError(f"Cannot read the identity file {file}: {exc.strerror}") from None
    if b"PRIVATE KEY-----" in data:
        try:
            return [pyrage.ssh.Identity.from_buffer(data)]
        except pyrage.IdentityError as exc:
            raise AgeError(f"Cannot use the SSH key {file} (encrypted SSH keys are not supported): {exc}") from None
    identities = []
    for line in data.decode("utf-8", "replace").splitlines():
        text = line.strip()
        if text.startswith("AGE-SECRET-KEY-1"):
            try:
                identities.append(pyrage.x25519.Identity.from_str(text))
            except pyrage.IdentityError as exc:
                raise AgeError(f"Invalid identity in {file}: {exc}") from None
    if not identities:
        raise AgeError(f"No identity found in {file} (expected AGE-SECRET-KEY-1… lines or an SSH private key)")
    return identities


def is_encrypted(head: bytes) -> bool:
    """Whether the first bytes of a file are those of a binary age file."""
    return head.startswith(AGE_MAGIC)


def encrypt_file(source: BinaryIO, target: BinaryIO, recipients: Sequence[Recipient]) -> None:
    """Encrypt everything `source` holds into `target` for `recipients`, streamed."""
    if not recipients:
        raise UserError("No recipient to encrypt to")
    try:
        pyrage.encrypt_io(source, target, list(recipients))
    except pyrage.EncryptError as exc:
        raise AgeError(f"Cannot encrypt: {exc}") from None


def encrypt_with_passphrase(source: BinaryIO, target: BinaryIO, passphrase: str) -> None:
    """Encrypt everything `source` holds into `target` with a passphrase (scrypt), streamed."""
    agescrypt.encrypt(source, target, passphrase)


class _QueueWriter:
    """The file-like object the decrypting thread writes into: blocks handed to the reader."""

    def __init__(self, reader: ThreadedReader) -> None:
        self._reader = reader
        self._pending = bytearray()

    def put(self, item: bytes | BaseException | None) -> None:
        if not self._reader.put(item):
            raise BrokenPipeError("the reader stopped")

    def write(self, data: Any) -> int:
        self._pending += data
        if len(self._pending) >= _CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._pending:
            block, self._pending = bytes(self._pending), bytearray()
            self.put(block)


class _DecryptingReader(ThreadedReader):
    """Decrypted bytes of an age file, from a thread running pyrage's streaming decryptor."""

    def __init__(self, encrypted: io.RawIOBase, identities: Sequence[Identity]) -> None:
        super().__init__("age-decrypt")
        self._encrypted = encrypted
        self._identities = list(identities)
        self._writer = _QueueWriter(self)
        self.start()

    def _work(self) -> None:
        try:
            pyrage.decrypt_io(io.BufferedReader(self._encrypted, _CHUNK), self._writer, self._identities)
            self._writer.flush()
            self._writer.put(None)
        except BrokenPipeError:
            return
        except pyrage.DecryptError as exc:
            self._fail(AgeError(f"Cannot decrypt the backup: {exc}"))
        except OSError as exc:  # pyrage reports damaged or truncated data as OSError
            self._fail(BackupFormatError(f"The encrypted backup is damaged: {exc}"))
        except BaseException as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        with contextlib.suppress(BrokenPipeError):  # the reader has stopped: nobody to tell
            self._writer.put(exc)


class _PassphraseReader(io.RawIOBase):
    """Decrypted bytes of a passphrase-encrypted age file, one checked chunk at a time."""

    def __init__(self, encrypted: io.RawIOBase, file_key: bytes) -> None:
        self._encrypted = encrypted
        self._chunks = agescrypt.decrypt(io.BufferedReader(encrypted, _CHUNK), file_key)
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            try:
                self._current = memoryview(next(self._chunks))
            except StopIteration:
                return 0
            except agescrypt.DamagedError as exc:
                raise BackupFormatError(f"The encrypted backup is damaged: {exc}") from None
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size

    def close(self) -> None:
        self._encrypted.close()
        super().close()


class EncryptedSource(BackupSource):
    """An `.age` backup file opened once; each reader gets its decrypted bytes from the start.

    The file is decrypted as a stream on every pass; a passphrase is turned into the file's key
    once, when the source is opened.
    """

    def __init__(
        self, encrypted: BackupSource, identities: Sequence[Identity] = (), passphrase: str | None = None
    ) -> None:
        self.encrypted = encrypted
        self.fd = encrypted.fd
        self.name = encrypted.name
        self.size = encrypted.size
        self._identities = list(identities)
        self._file_key: bytes | None = None
        if passphrase is not None:
            with encrypted.raw() as raw:
                try:
                    self._file_key = agescrypt.open_file_key(io.BufferedReader(raw), passphrase)
                except agescrypt.PassphraseError as exc:
                    raise AgeError(f"Cannot decrypt the backup with a passphrase: {exc}") from None
                except agescrypt.DamagedError as exc:
                    raise BackupFormatError(f"The encrypted backup is damaged: {exc}") from None
        elif not self._identities:
            raise AgeError("The backup is encrypted: give --identity=FILE or --passphrase")

    def read_head(self, size: int) -> bytes:
        with self.raw() as reader:
            return io.BufferedReader(reader).read(size)

    def raw(self) -> io.RawIOBase:
        if self._file_key is not None:
            return _PassphraseReader(self.encrypted.raw(), self._file_key)
        return _DecryptingReader(self.encrypted.raw(), self._identities)

    def close(self) -> None:
        self._file_key = None
        self.encrypted.close()
        self.fd = -1


def decrypting(source: BackupSource, identity_files: Sequence[str], passphrase: str | None) -> BackupSource:
    """`source` itself, or for an age file a source of its decrypted bytes (with the identities of
    `identity_files` or the passphrase). The returned source owns `source`."""
    try:
        if not is_encrypted(source.read_head(len(AGE_MAGIC))):
            return source
        identities = [identity for file in identity_files for identity in read_identities(file)]
        return EncryptedSource(source, identities, passphrase)
    except BaseException:
        source.close()
        raise
