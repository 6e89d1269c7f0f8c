"""C2SP signed notes and tlog checkpoints with Ed25519 keys (no Django here).

The formats are those of c2sp.org/signed-note and c2sp.org/tlog-checkpoint, as Go's
golang.org/x/mod/sumdb/note reads and writes them, so existing witnesses and verifiers read
the portal's checkpoints:

- verifier key: `<name>+<key hash, 8 hex>+<base64(0x01 || 32-byte public key)>`
- signer key:   `PRIVATE+KEY+<name>+<key hash>+<base64(0x01 || 32-byte seed)>`
- key hash: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key), big-endian
- note: text (UTF-8, ending in a newline), a blank line, then one line per signature,
  `— <name> <base64(key hash || 64-byte Ed25519 signature of the text)>`
- checkpoint text: origin, tree size in decimal, base64 root hash, one per line.
- cosignature (c2sp.org/tlog-cosignature, what a witness answers): a signature line by the
  witness's key, whose key hash takes the algorithm byte 0x04, over `cosignature/v1`, `time
  <t>` and the checkpoint text; the signature is `<t as 8 bytes, big-endian> || Ed25519`.
  A witness's verifier key is `<name>+<hash>+<base64(0x04 || 32-byte public key)>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space
_NAME = re.compile(r"[^\s+]+")
_PRIVATE_PREFIX = "PRIVATE+KEY+"


class NoteError(ValueError):
    """A key, note or checkpoint that is malformed or does not verify; the message says why."""


def key_hash(name: str, public_key: bytes, algorithm: int = ALG_ED25519) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise NoteError("a key name must be non-empty, without spaces or '+'")


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("not valid base64") from exc


def _key_parts(
    name: str, hash_hex: str, encoded: str, size: int, algorithm: int = ALG_ED25519
) -> bytes:
    _check_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise NoteError("the key hash must be 8 lowercase hex digits")
    raw = _b64decode(encoded)
    if len(raw) != 1 + size or raw[0] != algorithm:
        raise NoteError(f"not an Ed25519 key (algorithm byte 0x{algorithm:02x} and 32 bytes)")
    return raw[1:]


@dataclass(frozen=True)
class Verifier:
    """A public key: the log's (algorithm 0x01, note signatures) or a witness's (0x04,
    cosignatures)."""

    name: str
    public_key: bytes
    algorithm: int = ALG_ED25519

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.public_key, self.algorithm)

    @property
    def key(self) -> str:
        """The verifier key line a witness or a client is configured with."""
        encoded = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, public)

    @property
    def key(self) -> str:
        encoded = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.verifier.key_hash.hex()}+{encoded}"

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


def signer_from_key(key: str) -> Signer:
    """Parse a signer key; the message of a NoteError never repeats the key."""
    if not key.startswith(_PRIVATE_PREFIX):
        raise NoteError(f"a signer key starts with {_PRIVATE_PREFIX}")
    parts = key[len(_PRIVATE_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise NoteError("a signer key is PRIVATE+KEY+<name>+<hash>+<key>")
    name, hash_hex, encoded = parts
    signer = Signer(name, _key_parts(name, hash_hex, encoded, 32))
    if signer.verifier.key_hash.hex() != hash_hex:
        raise NoteError("the key hash does not match the name and key")
    return signer


def verifier_from_key(key: str, algorithm: int = ALG_ED25519) -> Verifier:
    parts = key.split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<hash>+<key>")
    name, hash_hex, encoded = parts
    verifier = Verifier(name, _key_parts(name, hash_hex, encoded, 32, algorithm), algorithm)
    if verifier.key_hash.hex() != hash_hex:
        raise NoteError("the key hash does not match the name and key")
    return verifier


def signer_generate(name: str) -> Signer:
    _check_name(name)
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return Signer(name, seed)


def signer_from_seed_material(name: str, material: bytes) -> Signer:
    """A signer whose seed is derived from other secret material (a development fallback)."""
    _check_name(name)
    seed = hashlib.sha256(b"custodian ledger signing key\n" + material).digest()
    return Signer(name, seed)


def _check_text(text: str) -> None:
    if not text.endswith("\n") or text.startswith("\n"):
        raise NoteError("a note's text is non-empty and ends in a newline")


def note_sign(text: str, signer: Signer) -> str:
    _check_text(text)
    signature = signer.verifier.key_hash + signer.sign(text.encode())
    line = f"{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(signature).decode()}\n"
    return f"{text}\n{line}"


def _signature_lines(block: str) -> Iterator[tuple[str, str, bytes]]:
    """Each `— <name> <base64>` line of a signature block: the line, the name, the bytes."""
    for line in block.splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed note: a signature line starts with an em dash")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        yield line, name, _b64decode(encoded)


def note_open(note: str, verifier: Verifier) -> str:
    """The note's text if a signature line of this key verifies; NoteError otherwise."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    text += "\n"
    _check_text(text)
    for _, name, raw in _signature_lines(signatures):
        if name != verifier.name or raw[:4] != verifier.key_hash:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(verifier.public_key).verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError(f"invalid signature for key {verifier.name}") from exc
        return text
    raise NoteError(f"no signature by key {verifier.name}+{verifier.key_hash.hex()}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root_hash).decode()}\n"


def checkpoint_parse(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint is origin, size and root hash, one per line")
    origin, size, root_b64 = lines[0], lines[1], lines[2]
    if not origin or not re.fullmatch(r"0|[1-9][0-9]*", size):
        raise NoteError("a checkpoint's second line is the tree size in decimal")
    root_hash = _b64decode(root_b64)
    if len(root_hash) != 32:
        raise NoteError("a checkpoint's root hash is 32 bytes")
    return Checkpoint(origin, int(size), root_hash)


def checkpoint_open(note: str, verifier: Verifier) -> Checkpoint:
    return checkpoint_parse(note_open(note, verifier))


# Witnesses' cosignatures -------------------------------------------------------------------


def cosigner_from_key(key: str) -> Verifier:
    """A witness's verifier key (c2sp.org/tlog-cosignature: algorithm byte 0x04)."""
    return verifier_from_key(key, ALG_COSIGNATURE_V1)


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosignature_find(signatures: str, text: str, cosigner: Verifier) -> str:
    """The line (with its newline) among `signatures`, a witness's answer, by which
    `cosigner` cosigned the checkpoint `text`; NoteError if none does."""
    _check_text(text)
    for line, name, raw in _signature_lines(signatures):
        if name != cosigner.name or raw[:4] != cosigner.key_hash or len(raw) != 4 + 8 + 64:
            continue
        timestamp = int.from_bytes(raw[4:12], "big")
        if timestamp >= 2**63:
            raise NoteError(f"the cosignature by {cosigner.name} has an impossible time")
        try:
            Ed25519PublicKey.from_public_bytes(cosigner.public_key).verify(
                raw[12:], cosigned_message(text, timestamp)
            )
        except InvalidSignature as exc:
            raise NoteError(f"invalid cosignature by witness key {cosigner.name}") from exc
        return line + "\n"
    raise NoteError(f"no cosignature by witness key {cosigner.name}+{cosigner.key_hash.hex()}")
