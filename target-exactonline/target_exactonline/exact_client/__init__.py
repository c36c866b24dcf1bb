"""Exact Online REST client: OAuth with a shared token store, rate limiting, OData helpers."""

from target_exactonline.exact_client.client import BULK_ENDPOINTS, DivisionCheck, ExactClient
from target_exactonline.exact_client.errors import (
    ExactAuthError,
    ExactBadRequest,
    ExactBudgetExhausted,
    ExactError,
    ExactForbidden,
    ExactNotFound,
    ExactRateLimited,
    ExactUnavailable,
    ExactValidationError,
    ReauthorizeRequired,
    UnknownOutcome,
)
from target_exactonline.exact_client.oauth import ExactOAuth, authorize_url
from target_exactonline.exact_client.rate_limit import RateLimiter
from target_exactonline.exact_client.redaction import redact, register_secret
from target_exactonline.exact_client.settings import ExactSettings, SettingsError
from target_exactonline.exact_client.token_store import (
    DEFAULT_TOKEN_STORE_URL,
    SqlTokenStore,
    TokenSet,
    TokenStore,
    resolve_token_key,
)

__all__ = [
    "BULK_ENDPOINTS",
    "DEFAULT_TOKEN_STORE_URL",
    "DivisionCheck",
    "ExactAuthError",
    "ExactBadRequest",
    "ExactBudgetExhausted",
    "ExactClient",
    "ExactError",
    "ExactForbidden",
    "ExactNotFound",
    "ExactOAuth",
    "ExactRateLimited",
    "ExactSettings",
    "ExactUnavailable",
    "ExactValidationError",
    "RateLimiter",
    "ReauthorizeRequired",
    "SettingsError",
    "SqlTokenStore",
    "TokenSet",
    "TokenStore",
    "UnknownOutcome",
    "authorize_url",
    "redact",
    "register_secret",
    "resolve_token_key",
]
