"""Encrypting the stored Exact tokens with keys the operator provides.

A shared (PostgreSQL) store holds every customer's refresh token, which is a standing grant to
the customer's books, so the token columns hold Fernet tokens (AES-128-CBC with an HMAC-SHA256,
from the ``cryptography`` package), never the token text. The operator provides the keys in the
``token_encryption_key`` setting: one or more Fernet keys separated by commas, the newest first.
The newest encrypts; every listed key decrypts (``MultiFernet``), so a key is rotated by putting
a new one first, re-encrypting the rows (``target-exactonline rotate-token-key``) and then
dropping the old.

Each encrypted value also carries the connection it was written for (country and key), and
reading checks it: a row copied onto another customer's key does not decrypt as theirs.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_SETTING = "token_encryption_key"
# Marks an encrypted column value; a value without it is a token written before encryption.
PREFIX = "fernet:"


class TokenKeyError(ValueError):
    """The encryption key is missing, malformed or does not open a stored token.

    The text names the setting and the connection, never a token or a key.
    """


class TokenCipher:
    """Encrypts token text for one store; the first key encrypts, all keys decrypt."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise TokenKeyError(f"setting {KEY_SETTING!r} holds no key")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode()))
            except (ValueError, TypeError):
                # The message must not echo the key.
                raise TokenKeyError(
                    f"setting {KEY_SETTING!r}: key {position} of {len(keys)} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes; make one with "
                    "`target-exactonline new-token-key`)"
                ) from None
        self._multi = MultiFernet(fernets)

    @classmethod
    def from_setting(cls, value: str | None) -> TokenCipher | None:
        """The cipher for a comma-separated key list, or None when nothing is configured."""
        keys = [k.strip() for k in (value or "").split(",") if k.strip()]
        return cls(keys) if keys else None

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, binding: str, token: str) -> str:
        sealed = self._multi.encrypt(f"{binding}\x00{token}".encode())
        return PREFIX + sealed.decode()

    def decrypt(self, binding: str, stored: str, *, field: str) -> str:
        try:
            opened = self._multi.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                f"the stored {field} of {binding!r} does not decrypt with the key(s) in setting "
                f"{KEY_SETTING!r}: a wrong or retired key, or another customer's row"
            ) from None
        written_for, _, token = opened.partition("\x00")
        if written_for != binding:
            raise TokenKeyError(
                f"the stored {field} of {binding!r} was written for another connection; "
                "refusing to use it"
            )
        return token


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)
