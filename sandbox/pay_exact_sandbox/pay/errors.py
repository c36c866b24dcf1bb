"""Pay.'s GMS v2 error body (pay-api.md §3) and the exception that carries it to a response."""

from __future__ import annotations

from typing import Any

from flask import Response

from pay_exact_sandbox.generator import jsonio

ERROR_TYPE = "https://developer.pay.nl/docs/error-codes"


class ApiError(Exception):
    """Raised anywhere in a request; the app turns it into Pay.'s error body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        violations: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        title: str = "An error occurred",
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.violations = violations or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "type": ERROR_TYPE,
            "title": self.title,
            "detail": self.detail,
            "violations": self.violations,
        }

    def response(self) -> Response:
        return Response(
            jsonio.dumps(self.body()),
            status=self.status,
            mimetype="application/json",
            headers=self.headers,
        )


def invalid_parameter(name: str, message: str, code: str = "PAY-400") -> ApiError:
    # [I] the PAY- code Pay. uses for a bad query parameter is undocumented.
    return ApiError(
        400,
        f"Invalid query parameter '{name}': {message}",
        violations=[{"propertyPath": name, "message": message, "code": code}],
    )
