"""Exact Online sandbox: OAuth2, rate limits, OData and Exact's booking rules on local data."""

from .app import create_exact_app
from .config import ExactConfig, OAuthClient
from .data import ExactData

__all__ = ["ExactConfig", "ExactData", "OAuthClient", "create_exact_app"]
