"""Deterministic sample data: a v106 backup with realistic field shapes, for demos, tests and the
benchmarks.

Shapes follow real data (docs/internals/backup-format.md#entities): SSEv1r2 revisions, 1024-character
keys, uuids, folders, tags and their relations, shares between users, keychains and challenges.
About one revision in ten is unencrypted and carries unicode plaintext; some values are empty and
some are as long as their columns allow.

The revisions' fields are really SSEv1r2-encrypted (crypto/ssev1.py) with the server secret, the
`SSEv1ServerKey` and the users' `SSEv1UserKey`s the file's `keys` hold, so that the backup
verifies and decrypts like one the app wrote. To keep generation fast each user's revisions draw
their `sseKey` from a few keys of that user (the app draws a new one per revision), so the
encryption keys are derived a few times per user, not per field. Keychains and challenges are
random bytes of the right form (`hex|hex iv|hex hmac|3`), not real encryptions.
"""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..crypto.ssev1 import RevisionKind, SseKeys, encrypt_revision
from ..php.json import BinaryWriter, dumps
from .format import VERSION

ROOT_FOLDER = "00000000-0000-0000-0000-000000000000"
_CLIENTS = ("CLIENT::UNKNOWN", "Firefox on Linux", "Passwords für Android 日本", "CLIENT::CLI", "Safari 🧭 iOS")
_PLAIN = (
    "Bank — Konto",
    "Ünïcödé label",
    "mail@example.org",
    "https://example.com/login?a=1&b=2",
    "",
    'Quote " and backslash \\ and slash /',
    "Emoji 🔐 key",
    "行 中文",
)


@dataclass(frozen=True)
class SampleSize:
    """How much data to generate."""

    passwords: int = 100
    revisions: int = 3
    users: int = 3
    folders_per_user: int = 5
    tags_per_user: int = 4
    seed: int = 1


#: `sseKey`s per user that the user's encrypted revisions draw from.
SSE_KEYS_PER_USER = 4

SIZES = {
    "S": SampleSize(passwords=1_000, revisions=1, users=3),
    "M": SampleSize(passwords=20_000, revisions=3, users=5),
    "L": SampleSize(passwords=100_000, revisions=3, users=10),
}


class _Gen:
    def __init__(self, size: SampleSize, server_secret: str | None) -> None:
        self.size = size
        self.rng = random.Random(size.seed)
        # Plain ids, a unicode e-mail-like id and one of the full 64 characters of the column.
        users = ["alice", "bob.ünicode@example.org", *(f"user{i}" for i in range(2, size.users - 1)), "x" * 63 + "é"]
        self.users = users[: size.users] if size.users < 3 else users
        self.clock = 1_700_000_000
        self.ids = 0
        self.sse = SseKeys(
            server_secret=self.key(48) if server_secret is None else server_secret,
            server_key=self.key(),
            user_keys={user: self.key() for user in self.users},
        )
        self.sse_keys = {user: [self.key() for _ in range(SSE_KEYS_PER_USER)] for user in self.users}

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, nbytes: int) -> str:
        return self.rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()

    def cipher(self, plain_len: int) -> str:
        """Looks like ICrypto output: hex(ciphertext)|hex(iv)|hex(hmac-sha512)|3."""
        padded = (plain_len // 16 + 1) * 16
        return f"{self.hex(padded)}|{self.hex(16)}|{self.hex(64)}|3"

    def key(self, length: int = 1024) -> str:
        """Base64 text like the app's random keys (1024 characters by default)."""
        return base64.b64encode(self.rng.randbytes(length * 3 // 4 + 3)).decode()[:length]

    def time(self) -> int:
        self.clock += self.rng.randrange(1, 600)
        return self.clock

    def next_id(self) -> int:
        self.ids += 1
        return self.ids

    def flag(self, p: float) -> bool:
        return self.rng.random() < p

    def iv(self) -> bytes:
        return self.rng.randbytes(16)

    def text(self, length: int) -> str:
        """Plain text of `length` characters."""
        return base64.b64encode(self.rng.randbytes(length * 3 // 4 + 3)).decode()[:length]


def _revision(g: _Gen, kind: RevisionKind, model: str, user: str, folder: str) -> dict[str, Any]:
    """A revision in toArray() order for `kind` password/folder/tag."""
    plain = g.flag(0.1)
    t = g.time()

    def field(length: int) -> str:
        return g.rng.choice(_PLAIN) if plain else g.text(length)

    head: dict[str, Any] = {"id": g.next_id()}
    if kind == "password":
        password = field(24)
        head.update(
            url=field(40),
            hash=hashlib.sha1(password.encode()).hexdigest(),
            notes=field(g.rng.randrange(0, 400)),
            label=field(20),
            folder=folder,
            username=field(16),
            password=password,
            statusCode=g.rng.choice(("GOOD", "GOOD", "GOOD", "OUTDATED", "DUPLICATE", "BREACHED")),
            customFields='[{"label":"PIN","type":"secret","value":"1234"}]' if g.flag(0.8) else None,
            status=g.rng.randrange(0, 4),
        )
    elif kind == "folder":
        head.update(label=field(20), parent=folder)
    else:
        head.update(label=field(12), color="#1e88e5")
    head.update(
        sseType="none" if plain else "SSEv1r2",
        sseKey="",
        cseType="none",
        cseKey="",
        model=model,
        client=g.rng.choice(_CLIENTS),
        edited=t,
        hidden=g.flag(0.02),
        trashed=g.flag(0.05),
        favorite=g.flag(0.1),
        uuid=g.uuid(),
        userId=user,
        deleted=False,
        created=t,
        updated=t,
    )
    if plain:
        return head
    return encrypt_revision(kind, head, g.sse, sse_key=g.rng.choice(g.sse_keys[user]), iv_factory=g.iv)


def _model(g: _Gen, kind: RevisionKind, user: str, folder: str) -> dict[str, Any]:
    uid = g.uuid()
    revisions = [_revision(g, kind, uid, user, folder) for _ in range(g.size.revisions)]
    created = revisions[0]["created"]
    model: dict[str, Any] = {"id": g.next_id()}
    if kind == "password":
        model.update(shareId=None, editable=True, suspended=False, hasShares=False)
    elif kind == "folder":
        model.update(suspended=False)
    model.update(
        revision=revisions[-1]["uuid"],
        uuid=uid,
        userId=user,
        deleted=False,
        created=created,
        updated=revisions[-1]["updated"],
        revisions=revisions,
    )
    return model


def generate(out: BinaryWriter, size: SampleSize, server_secret: str | None = None) -> dict[str, int]:
    """Write a whole sample backup document to `out`, its revisions encrypted with `server_secret`
    (by default one drawn from the seed); returns counts per section."""
    g = _Gen(size, server_secret)
    folders = {u: [_model(g, "folder", u, ROOT_FOLDER) for _ in range(size.folders_per_user)] for u in g.users}
    tags = {u: [_model(g, "tag", u, "") for _ in range(size.tags_per_user)] for u in g.users}
    counts = {
        "passwords": 0,
        "folders": 0,
        "tags": 0,
        "shares": 0,
        "keychains": 0,
        "challenges": 0,
        "passwordTagRelations": 0,
    }
    relations: list[dict[str, Any]] = []
    shares: list[dict[str, Any]] = []

    def write(text: str) -> None:
        out.write(text.encode("ascii"))

    def section(name: str, items: Iterator[dict[str, Any]], first: bool = False) -> None:
        write(("" if first else ",") + f'"{name}":[')
        n = 0
        for item in items:
            write(("," if n else "") + dumps(item))
            n += 1
        write("]")
        counts[name] = n

    def passwords() -> Iterator[dict[str, Any]]:
        for i in range(size.passwords):
            user = g.users[i % len(g.users)]
            folder = g.rng.choice([ROOT_FOLDER, *(f["uuid"] for f in folders[user])])
            model = _model(g, "password", user, folder)
            if len(relations) < 5000 and g.flag(0.3):
                tag = g.rng.choice(tags[user])
                t = g.time()
                relations.append(
                    {
                        "id": g.next_id(),
                        "tag": tag["uuid"],
                        "client": g.rng.choice(_CLIENTS),
                        "password": model["uuid"],
                        "tagRevision": tag["revision"],
                        "passwordRevision": model["revision"],
                        "hidden": False,
                        "uuid": g.uuid(),
                        "userId": user,
                        "deleted": False,
                        "created": t,
                        "updated": t,
                    }
                )
            if len(shares) < 2000 and len(g.users) > 1 and g.flag(0.05):
                model["hasShares"] = True
                receiver = g.users[(g.users.index(user) + 1) % len(g.users)]
                t = g.time()
                shares.append(
                    {
                        "id": g.next_id(),
                        "type": "user",
                        "client": "CLIENT::UNKNOWN",
                        "receiver": receiver,
                        "sourcePassword": model["uuid"],
                        "targetPassword": None if g.flag(0.3) else g.uuid(),
                        "expires": None if g.flag(0.8) else t + 86400,
                        "editable": g.flag(0.5),
                        "shareable": g.flag(0.5),
                        "sourceUpdated": False,
                        "targetUpdated": False,
                        "uuid": g.uuid(),
                        "userId": user,
                        "deleted": False,
                        "created": t,
                        "updated": t,
                    }
                )
            yield model

    write(f'{{"version":{VERSION},')
    section("passwords", passwords(), first=True)
    section("folders", (f for u in g.users for f in folders[u]))
    section("tags", (t for u in g.users for t in tags[u]))
    section("shares", iter(shares))
    keychains = []
    challenges = []
    for user in g.users:
        t = g.time()
        keychains.append(
            {
                "id": g.next_id(),
                "data": g.cipher(600),
                "type": "SSEv2r1",
                "scope": "server",
                "uuid": g.uuid(),
                "userId": user,
                "deleted": False,
                "created": t,
                "updated": t,
            }
        )
        challenges.append(
            {
                "id": g.next_id(),
                "type": "PWDv1r1",
                "secret": g.cipher(64),
                "clientData": g.cipher(64),
                "serverData": g.cipher(128),
                "uuid": g.uuid(),
                "userId": user,
                "deleted": False,
                "created": t,
                "updated": t,
            }
        )
    section("keychains", iter(keychains))
    section("challenges", iter(challenges))
    section("passwordTagRelations", iter(relations))
    keys = {
        "server": {"secret": g.sse.server_secret, "SSEv1ServerKey": g.sse.server_key},
        "users": {
            u: {"SSEv1UserKey": g.sse.user_keys[u], "ChallengeId": c["uuid"]}
            for u, c in zip(g.users, challenges, strict=True)
        },
    }
    from .settings import USER_SETTINGS

    stored = {"password.generator.strength": "2", "session.lifetime": "1800"}
    settings = {
        "application": {
            "entity.purge.timeout": None,
            "backup.interval": "21600",
            "backup.files.max": "14",
            "backup.update.autorestore": None,
            "survey.server": None,
            "default.mail.security": None,
            "default.mail.shares": True,
            "default.password.hash": None,
            "nightly.enabled": None,
            "encryption.ssev3.enabled": None,
        },
        "users": {u: {name: stored.get(name) for name in USER_SETTINGS} for u in g.users},
        "clients": {u: '{"client.ui.theme":"dark"}' for u in g.users},
    }
    write(',"keys":' + dumps(keys) + ',"settings":' + dumps(settings) + "}")
    return counts
