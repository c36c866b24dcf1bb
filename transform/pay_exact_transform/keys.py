"""The idempotency key of a clearing, written at the start of every booked line description."""

from __future__ import annotations

from .errors import InputError

KEY_PREFIX = "PX:"
MAX_CLEARING_ID = 40  # leaves at least 16 characters of a 60-character description


def idempotency_key(clearing_id: str) -> str:
    """``PX:`` + the clearing id. Derived from the clearing id only, so reruns find it."""
    if not isinstance(clearing_id, str) or not clearing_id:
        raise InputError("clearing", "clearing_id", "must be a non-empty string")
    if len(clearing_id) > MAX_CLEARING_ID:
        raise InputError(
            f"clearing {clearing_id!r}", "clearing_id", f"is longer than {MAX_CLEARING_ID}"
        )
    if not (clearing_id.isascii() and clearing_id.isprintable()) or " " in clearing_id:
        raise InputError(
            f"clearing {clearing_id!r}", "clearing_id", "must be printable ASCII without spaces"
        )
    return KEY_PREFIX + clearing_id


def parse_key(text: str | None) -> str | None:
    """The clearing id from a description that starts with a key, else None.

    Leading whitespace is tolerated (ledgers may pad); the key ends at the first whitespace.
    """
    if not text:
        return None
    stripped = text.lstrip()
    if not stripped.startswith(KEY_PREFIX):
        return None
    head = stripped.split(maxsplit=1)[0]
    clearing_id = head[len(KEY_PREFIX) :]
    if not clearing_id or len(clearing_id) > MAX_CLEARING_ID or not clearing_id.isascii():
        return None
    return clearing_id
