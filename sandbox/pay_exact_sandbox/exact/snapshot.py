"""Keep an Exact sandbox division between runs: the store is written to a JSON file when the
sandbox stops and read back when it starts, so a second run finds the first run's bookings.

The snapshot belongs to the seed it grew from: a snapshot of another seed (another merchant or
division), of another format, or of a store with other fields is not loaded, and the division
starts fresh from its seed.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .data import ExactData
from .store import ExactStore

FORMAT = "pay-exact-sandbox/exact-snapshot@1"
# Not data: the lock, the settings, the clock and the value pool are the running sandbox's own.
_NOT_DATA = frozenset({"lock", "config", "_now", "pool"})
_TAGS = ("$decimal", "$datetime", "$date", "$tuple", "$set", "$map")


def fingerprint(data: ExactData) -> str:
    """Which seed a snapshot grew from."""
    return hashlib.sha256(data.to_json().encode("utf-8")).hexdigest()


def _data_fields(store: ExactStore) -> dict[str, Any]:
    return {name: value for name, value in vars(store).items() if name not in _NOT_DATA}


def save(store: ExactStore, path: Path, seed: str) -> None:
    """Write the store to ``path`` atomically (readers never see half a file)."""
    with store.lock:
        fields = {name: _encode(value) for name, value in _data_fields(store).items()}
    text = json.dumps({"format": FORMAT, "seed": seed, "store": fields}, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def restore(store: ExactStore, path: Path, seed: str) -> str | None:
    """Load ``path`` into ``store``; returns why it was not loaded, or None when it was."""
    if not path.exists():
        return "no snapshot yet"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"unreadable snapshot ({exc})"
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return "a snapshot of another format"
    if document.get("seed") != seed:
        return "a snapshot of another seed"
    fields = document.get("store")
    if not isinstance(fields, dict) or set(fields) != set(_data_fields(store)):
        return "a snapshot of another sandbox version"
    with store.lock:
        for name, value in fields.items():
            setattr(store, name, _decode(value))
    return None


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {"$set": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"$map": [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot keep a {type(value).__name__} in a snapshot")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag in _TAGS:
            return _decode_tagged(tag, inner)
    return {k: _decode(v) for k, v in value.items()}


def _decode_tagged(tag: str, inner: Any) -> Any:
    if tag == "$decimal":
        return Decimal(inner)
    if tag == "$datetime":
        return datetime.fromisoformat(inner)
    if tag == "$date":
        return date.fromisoformat(inner)
    if tag == "$tuple":
        return tuple(_decode(v) for v in inner)
    if tag == "$set":
        return {_decode(v) for v in inner}
    return {_decode(k): _decode(v) for k, v in inner}
