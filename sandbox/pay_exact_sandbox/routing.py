"""WSGI routers of a multi-customer sandbox: each request goes to the app of the customer whose
credentials it presents, so one customer's credentials never reach another's data.

Both routers also serve:

- ``GET /_admin/customers``: per customer its name, division, token code, whether it was used,
  and (from Exact) bank entries, booked keys and duplicates (keys booked more than once).
- ``/_customers/<name>/...``: that customer's own sandbox paths, e.g.
  ``/_customers/shop1/_admin/requests`` (its request log) or ``/_customers/shop1/_admin/clock``.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Response

from pay_exact_sandbox.exact import jsonout
from pay_exact_sandbox.exact.errors import ExactError
from pay_exact_sandbox.pay.errors import ApiError

from .customers import customer_number

if TYPE_CHECKING:
    from .customers import Customer, CustomerSandboxes

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
CUSTOMER_PREFIX = "/_customers/"
ADMIN_CUSTOMERS = "/_admin/customers"


class _Router:
    def __init__(self, customers: CustomerSandboxes) -> None:
        self.customers = customers

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") == ADMIN_CUSTOMERS:
            body = jsonout.dumps(self.customers.summary())
            return Response(body, mimetype="application/json")(environ, start_response)
        if path.startswith(CUSTOMER_PREFIX):
            name, _, rest = path[len(CUSTOMER_PREFIX) :].partition("/")
            customer = self.customers.by_name.get(name)
            if customer is None:
                return Response(f"no customer {name!r}\n", status=404)(environ, start_response)
            environ["PATH_INFO"] = "/" + rest
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + CUSTOMER_PREFIX + name
            return self.app_of(customer)(environ, start_response)
        customer, refusal = self.route(environ)
        if customer is None:
            assert refusal is not None
            return refusal(environ, start_response)
        return self.app_of(customer)(environ, start_response)

    def app_of(self, customer: Customer) -> Any:
        raise NotImplementedError

    def route(self, environ: Environ) -> tuple[Customer | None, Response | None]:
        raise NotImplementedError


class PayRouter(_Router):
    """Pay.: the Basic-auth token code names the account (pay-api.md §3)."""

    def app_of(self, customer: Customer) -> Any:
        return customer.pay.app

    def route(self, environ: Environ) -> tuple[Customer | None, Response | None]:
        code = _basic_username(environ.get("HTTP_AUTHORIZATION"))
        number = customer_number(code) if code else None
        customer = self.customers.by_number(number) if number is not None else None
        if customer is None:
            # What the account's own app answers for unknown credentials (pay/auth.py).
            error = ApiError(401, "Invalid credentials" if code else "Missing credentials")
            error.headers["WWW-Authenticate"] = 'Basic realm="Pay."'
            return None, error.response()
        return customer, None


class ExactRouter(_Router):
    """Exact: a request goes to the division of the user its token or code belongs to; an
    unknown token to the division it names (whose app refuses it as Exact does)."""

    def __init__(self, customers: CustomerSandboxes) -> None:
        super().__init__(customers)
        self._owners: dict[str, Customer] = {}  # every code and token handed out -> its user

    def credential_issuer(self, customer: Customer) -> Callable[[str], None]:
        def issued(credential: str) -> None:
            self._owners[credential] = customer  # a dict store is atomic under the GIL

        return issued

    def app_of(self, customer: Customer) -> Any:
        return customer.exact.app

    def route(self, environ: Environ) -> tuple[Customer | None, Response | None]:
        path = environ.get("PATH_INFO", "")
        first = self.customers.customers[0] if self.customers.customers else None
        if path == "/api/oauth2/auth":
            # The browser's login picks the user; the sandbox grants consent at once, so a
            # sandbox-only ?division= names whose consent it is (the first customer's if none).
            wanted = parse_qs(environ.get("QUERY_STRING", "")).get("division", [""])[0]
            chosen = self.customers.by_division.get(int(wanted)) if wanted.isdigit() else first
            return (chosen, None) if chosen else (None, _exact_refusal(404, "not_found", wanted))
        if path == "/api/oauth2/token":
            form = _buffered_form(environ)
            credential = (form.get("refresh_token") or form.get("code") or [""])[0]
            return self._or_refusal(self._owners.get(credential, first), path)
        bearer = environ.get("HTTP_AUTHORIZATION", "")
        owner = self._owners.get(bearer[7:].strip()) if bearer[:7].lower() == "bearer " else None
        if owner is not None:
            return owner, None
        segments = path.split("/")
        if path.startswith("/api/v1/") and len(segments) > 3 and segments[3].isdigit():
            return self._or_refusal(self.customers.by_division.get(int(segments[3]), first), path)
        # current/Me and the rest: refused by the first division's app without a valid token.
        return self._or_refusal(first if path.startswith("/api/") else None, path)

    @staticmethod
    def _or_refusal(
        customer: Customer | None, path: str
    ) -> tuple[Customer | None, Response | None]:
        return (customer, None) if customer else (None, _exact_refusal(404, "not_found", path))


def _exact_refusal(status: int, key: str, what: str) -> Response:
    error = ExactError(status, key, {"what": what})
    return Response(jsonout.dumps(error.body("en")), status=status, mimetype="application/json")


def _basic_username(header: str | None) -> str | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    code, sep, _ = decoded.partition(":")
    return code if sep else None


def _buffered_form(environ: Environ) -> dict[str, list[str]]:
    """The urlencoded form of a token call, read and put back for the app that answers it."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return parse_qs(body.decode("utf-8", "replace"))
