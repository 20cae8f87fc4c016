"""Personal data at rest: AES-256-GCM ciphertext, keyed blind indexes, hashed tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


def _key(value: str) -> bytes:
    raw = base64.b64decode(value)
    if len(raw) != 32:
        raise ValueError("a key must be 32 bytes, base64-encoded")
    return raw


class PersonalDataCipher:
    """Encrypts one field at a time; the nonce is stored in front of the ciphertext and
    the merchant id is bound as associated data, so a value copied to another tenant's
    row does not decrypt."""

    def __init__(self, key_b64: str) -> None:
        self._aead = AESGCM(_key(key_b64))

    def encrypt(self, merchant_id: int, plaintext: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), str(merchant_id).encode())

    def decrypt(self, merchant_id: int, blob: bytes) -> str:
        nonce, ciphertext = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, str(merchant_id).encode()).decode()

    def encrypt_optional(self, merchant_id: int, plaintext: str | None) -> bytes | None:
        return None if plaintext is None else self.encrypt(merchant_id, plaintext)

    def decrypt_optional(self, merchant_id: int, blob: bytes | None) -> str | None:
        return None if blob is None else self.decrypt(merchant_id, bytes(blob))


class BlindIndex:
    """HMAC-SHA256 of a normalised identifier, per merchant and kind, for equality
    look-ups of encrypted values."""

    def __init__(self, key_b64: str) -> None:
        self._key = _key(key_b64)

    def of(self, merchant_id: int, kind: str, normalised: str) -> str:
        message = f"{merchant_id}:{kind}:{normalised}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def hash_token(token: str) -> str:
    """Tokens we issue are stored as SHA-256: they are long random strings, so a slow
    password hash would buy nothing and cost every terminal call."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = "lt") -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def basic_credentials(encoded: str) -> tuple[str, str] | None:
    """The login and password of a Basic ``Authorization`` value (the password empty
    when there is no colon), or None if it is not base64.

    RFC 7617 leaves the charset to the client: 1C sends a Cyrillic login in cp1251, most
    others send UTF-8. Each half is decoded on its own (UTF-8, else cp1251, which maps
    nearly every byte), so an odd login never costs the caller a valid token."""
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    login, _, password = raw.partition(b":")
    return _text(login), _text(password)


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace")
