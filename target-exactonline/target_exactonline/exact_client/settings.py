"""The client's settings from a target config, and the objects built from them.

Config keys (shared with the target's own settings): ``exact_country`` (nl, be, de, uk, fr, es,
us) or ``exact_base_url``, ``client_id``, ``client_secret``, ``redirect_uri``, ``division``,
``store_url`` and ``store_key``. ``token_store_url`` / ``token_store_key`` override the last two
when tokens should live apart from the booking ledger. ``token_encryption_key`` (Fernet keys, the
newest first) encrypts the stored tokens; a store that is not a SQLite file requires it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from target_exactonline.commands import authorize_command
from target_exactonline.exact_client.client import ExactClient
from target_exactonline.exact_client.countries import DEFAULT_COUNTRY, EXACT_HOSTS, country_for
from target_exactonline.exact_client.oauth import ExactOAuth
from target_exactonline.exact_client.redaction import register_secret
from target_exactonline.exact_client.token_cipher import KEY_SETTING, TokenCipher, TokenKeyError
from target_exactonline.exact_client.token_store import (
    DEFAULT_TOKEN_KEY,
    DEFAULT_TOKEN_STORE_URL,
    SqlTokenStore,
    resolve_token_key,
)


class SettingsError(ValueError):
    """A missing or malformed setting; the text names the setting."""


def require_token_key(config: Mapping[str, Any]) -> None:
    """Refuse a token store shared between machines without an encryption key.

    A SQLite file is one owner's (created readable by its owner only), so a key is optional
    there; any other database is assumed shared and must not hold tokens in plain text.
    """
    key = config.get(KEY_SETTING)
    if isinstance(key, str) and key.strip():
        register_secret(key.strip())
        for part in key.split(","):
            if part.strip():
                register_secret(part.strip())
        try:
            TokenCipher.from_setting(key)  # a malformed key stops the start, not a later refresh
        except TokenKeyError as exc:
            raise SettingsError(str(exc)) from None
        return
    url = config.get("token_store_url") or config.get("store_url") or DEFAULT_TOKEN_STORE_URL
    try:
        backend = make_url(str(url)).get_backend_name()
    except ArgumentError:
        return  # the store's own setting check reports a malformed URL
    if backend != "sqlite":
        raise SettingsError(
            f"setting {KEY_SETTING!r} is required with a shared token store ({backend}): "
            "the stored Exact tokens are encrypted with it (make one with "
            "`target-exactonline new-token-key`)"
        )


def resolve_base_url(country: str | None, base_url: str | None) -> str:
    """The Exact host from ``exact_base_url``, else from ``exact_country`` (default nl)."""
    country = (country or "nl").lower()
    if country not in EXACT_HOSTS:
        raise SettingsError(
            f"setting 'exact_country' must be one of {', '.join(sorted(EXACT_HOSTS))}, "
            f"got {country!r}"
        )
    url = (base_url or EXACT_HOSTS[country]).rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise SettingsError("setting 'exact_base_url' must start with http:// or https://")
    return url


@dataclass(frozen=True, slots=True)
class ExactSettings:
    client_id: str
    client_secret: str = field(repr=False)
    base_url: str = EXACT_HOSTS["nl"]
    redirect_uri: str | None = None
    division: int | None = None
    token_store_url: str = DEFAULT_TOKEN_STORE_URL
    token_store_key: str = DEFAULT_TOKEN_KEY
    country: str = DEFAULT_COUNTRY
    token_encryption_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> ExactSettings:
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = config.get(name)
            if value is None:
                return None
            if not isinstance(value, str | int):
                raise SettingsError(f"setting {name!r} must be text, got {type(value).__name__}")
            return str(value).strip() or None

        missing = [k for k in ("client_id", "client_secret") if not text(k)]
        if missing:
            raise SettingsError(f"setting(s) missing: {', '.join(missing)}")

        base_url = resolve_base_url(text("exact_country"), text("exact_base_url"))
        require_token_key(config)

        division: int | None = None
        raw_division = config.get("division")
        if raw_division not in (None, ""):
            if isinstance(raw_division, str) and raw_division.strip().isdigit():
                raw_division = int(raw_division)
            if (
                isinstance(raw_division, bool)
                or not isinstance(raw_division, int)
                or raw_division <= 0
            ):
                raise SettingsError("setting 'division' must be a positive whole number")
            division = raw_division

        secret = str(config["client_secret"])
        register_secret(secret)
        key_config = {"token_store_key": text("token_store_key") or text("store_key")}
        return cls(
            client_id=str(text("client_id")),
            client_secret=secret,
            base_url=base_url,
            redirect_uri=text("redirect_uri"),
            division=division,
            token_store_url=text("token_store_url") or text("store_url") or DEFAULT_TOKEN_STORE_URL,
            token_store_key=resolve_token_key(key_config, env),
            country=country_for(text("exact_country"), text("exact_base_url")),
            token_encryption_key=text(KEY_SETTING),
        )

    def token_store(self) -> SqlTokenStore:
        cipher = TokenCipher.from_setting(self.token_encryption_key)  # checked by from_config
        return SqlTokenStore(self.token_store_url, country=self.country, cipher=cipher)

    def oauth(
        self,
        store: SqlTokenStore | None = None,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> ExactOAuth:
        return ExactOAuth(
            base_url=self.base_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            store=store or self.token_store(),
            key=self.token_store_key,
            reauthorize_hint=f"run `{authorize_command()}`",
            session=session,
            clock=clock,
            sleep=sleep,
        )

    def client(
        self,
        auth: ExactOAuth | None = None,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> ExactClient:
        if self.division is None:
            raise SettingsError("setting 'division' is required (the Exact administration number)")
        session = session or requests.Session()
        return ExactClient(
            self.base_url,
            self.division,
            auth=auth or self.oauth(session=session, clock=clock, sleep=sleep),
            session=session,
            clock=clock,
            sleep=sleep,
        )
