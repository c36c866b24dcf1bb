"""``target-exactonline new-token-key`` and ``rotate-token-key``: provisioning and rotating the
key that encrypts a customer's stored Exact tokens (see ``exact_client/token_cipher.py``).

Rotation: put a new key first in ``token_encryption_key`` (``new,old``), run
``rotate-token-key`` for the customer (its row is re-encrypted with the new key under the token
lock), then drop the old key from the setting.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TextIO

from target_exactonline.exact_client.authorize import load_config
from target_exactonline.exact_client.redaction import redact
from target_exactonline.exact_client.settings import ExactSettings, SettingsError
from target_exactonline.exact_client.token_cipher import KEY_SETTING, TokenCipher, TokenKeyError


def new_key(stdout: TextIO | None = None) -> int:
    """Print a fresh key for the operator to store in their secret store (nothing is kept)."""
    print(TokenCipher.new_key(), file=stdout or sys.stdout)
    return 0


def rotate(
    argv: list[str],
    *,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Re-encrypt this customer's stored tokens with the first key of the setting."""
    stderr = stderr or sys.stderr
    parser = argparse.ArgumentParser(
        prog="target-exactonline rotate-token-key",
        description=f"Re-encrypt the stored Exact tokens with the first key of {KEY_SETTING}.",
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="JSON config file (repeatable), or ENV for TARGET_EXACTONLINE_* variables",
    )
    args = parser.parse_args(argv)
    try:
        settings = ExactSettings.from_config(load_config(args.config, environ), environ)
        if not settings.token_encryption_key:
            raise SettingsError(f"setting {KEY_SETTING!r} is required to re-encrypt tokens")
        store = settings.token_store()
    except SettingsError as exc:
        print(f"error: {redact(exc)}", file=stderr)
        return 2
    name = f"{settings.country}/{settings.token_store_key}"
    try:
        found = store.rotate(settings.token_store_key)
    except TokenKeyError as exc:
        print(f"error: {redact(exc)}", file=stderr)
        return 1
    finally:
        store.close()
    if not found:
        print(f"No stored tokens for {name!r} in {store.describe()}.", file=stderr)
        return 1
    print(f"Re-encrypted the stored tokens of {name!r} with the newest key.", file=stderr)
    return 0
