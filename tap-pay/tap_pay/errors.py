"""Errors that end a run, each with a message a user can act on and no secret in it."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class PayAuthenticationError(FatalAPIError):
    """401: the token code and API token were not accepted."""


class PayPermissionError(FatalAPIError):
    """403: the token is valid but lacks a permission (the clearing APIs need one)."""


class PayUnavailableError(FatalAPIError):
    """Retries ran out on 429/5xx or network errors."""


class PayRequestError(FatalAPIError):
    """Any other 4xx answer."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class MalformedResponseError(FatalAPIError):
    """A 2xx answer whose body is not what the endpoint promises."""


def redact(text: str, secrets: list[str]) -> str:
    """Replace every secret in ``text``; a last guard under messages that quote Pay.'s answers."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
