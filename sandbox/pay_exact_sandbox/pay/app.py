"""The Pay. GMS v2 sandbox: a Flask app serving a :class:`PayStore` under ``/v2``.

Endpoints (pay-api.md §4.1-4.5, §4.9): ``/clearings/settlements``,
``/clearings/{clearingIdOrSettlementCode}/records``, ``/clearinglines``, ``/invoicelines``,
``/clearinglinetypes``, ``/turnovergroups[/{code}]`` and ``/transactions/{id}``.
Sandbox controls live under ``/_admin/pay/`` (see :func:`_admin_blueprint`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from pay_exact_sandbox.admin import AdminState, instrument
from pay_exact_sandbox.generator import jsonio

from . import filters, paging
from .auth import CLEARING, authenticate, require
from .errors import ApiError
from .filters import Field
from .ratelimit import RateLimiter
from .store import FixtureError, PayStore, Token
from .transactions import order_status, served_transaction

API_PREFIX = "/v2"
ORDER_PREFIX = "/v1"  # the TGU Order API (connect.pay.nl/v1), served on the same port


@dataclass(slots=True)
class PayConfig:
    """Runtime switches; also settable through ``POST /_admin/pay/config``."""

    rate_limit_per_second: int | None = None  # None: no limit (Pay. publishes no number)


def _codes(value: Any) -> list[Any]:
    return [value.get("code")] if isinstance(value, dict) else []


def _settlement_fields(store: PayStore) -> dict[str, Field]:
    def lines(s: dict[str, Any]) -> list[dict[str, Any]]:
        return [line for c in s["clearings"] for line in c["clearingLines"]]

    return {
        "settlementDate": Field(lambda s: [s["settlementDate"]], "date"),
        "clearingId": Field(lambda s: [c["clearingId"] for c in s["clearings"]]),
        "settlementCode": Field(lambda s: [s["code"]]),
        "turnoverGroup": Field(
            lambda s: [c for line in lines(s) for c in _codes(line.get("turnoverGroup"))]
        ),
        "merchant": Field(lambda s: sorted(store.settlement_merchants(s))),
    }


CLEARING_LINE_FIELDS: dict[str, Field] = {
    # [I] "date" is the transaction period; a line's valueDate is the day its payments were made.
    "date": Field(lambda x: [x["valueDate"]], "date"),
    "processedDate": Field(lambda x: [x["processedDate"]], "date"),
    "merchant": Field(lambda x: _codes(x["merchant"])),
    "clearingLineType": Field(lambda x: [x["clearingLineType"]["id"]], "int"),
    "turnoverGroup": Field(lambda x: _codes(x["turnoverGroup"])),
    "state": Field(lambda x: [x["state"]]),
    "clearingID": Field(lambda x: [x["clearingID"]]),  # capital ID here, unlike settlements
}

# [I] Each part of an invoice line has a type, SELL (Pay. charges the merchant) or BUY
# (paynl/sdk-net PAYNLSDK.SDK/V2/DataTransferModels/Merchants/InvoiceLines/Line.cs,
# Utilities/InvoiceType.cs); a fixture part without one is served as SELL.
DEFAULT_INVOICE_PART_TYPE = "SELL"


def _part_types(line: dict[str, Any]) -> list[Any]:
    return [sub.get("type", DEFAULT_INVOICE_PART_TYPE) for sub in line.get("lines") or []]


def served_invoice_line(line: dict[str, Any]) -> dict[str, Any]:
    parts = [{"type": DEFAULT_INVOICE_PART_TYPE, **sub} for sub in line.get("lines") or []]
    return {**line, "lines": parts} if "lines" in line else dict(line)


def served_turnover_group(group: dict[str, Any]) -> dict[str, Any]:
    """A group with its own ``_links`` list, as in the spec's example."""
    link = {"href": f"/turnovergroups/{group.get('code')}", "rel": "turnoverGroup", "type": "GET"}
    return {**group, "_links": [link]}


INVOICE_LINE_FIELDS: dict[str, Field] = {
    # type[eq]=SELL|BUY as Pay.'s .NET SDK sends it (InvoiceLineFilter.cs WithType); a line
    # matches when any of its parts has the type.
    "type": Field(_part_types),
    "date": Field(lambda x: [x.get("date")], "date"),
    "processedDate": Field(
        lambda x: [sub.get("processedDate") for sub in x.get("lines", [])], "date"
    ),
    "merchant": Field(lambda x: _codes(x.get("merchant"))),
    "billingLineType": Field(lambda x: [x["billingLineType"]["id"]], "int"),
    "turnoverGroup": Field(lambda x: _codes(x.get("turnoverGroup"))),
    "state": Field(lambda x: [x.get("state")]),
    "invoiceID": Field(lambda x: [x.get("invoiceID")]),
}

TURNOVER_GROUP_FIELDS: dict[str, Field] = {
    "merchant": Field(lambda x: _codes(x.get("merchant"))),
    "code": Field(lambda x: [x.get("code")]),
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(jsonio.dumps(body), status=status, mimetype="application/json")


def create_pay_app(
    store: PayStore, config: PayConfig | None = None, admin: AdminState | None = None
) -> Flask:
    """A Pay. sandbox app with the request log, fault injection and admin API wired in."""
    config = config or PayConfig()
    app = Flask("pay_exact_sandbox.pay")
    state = instrument(app, admin)
    limiter = RateLimiter(state.clock, config.rate_limit_per_second)
    app.extensions["pay_store"] = store
    app.extensions["pay_limiter"] = limiter
    settlement_fields = _settlement_fields(store)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if not request.path.startswith((API_PREFIX, ORDER_PREFIX)):
            return exc.get_response()
        status = exc.code or 500
        detail = {404: "Not found", 405: "Method not allowed"}.get(status, exc.name)
        response = ApiError(status, detail).response()
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.before_request
    def gate() -> None:
        if not request.path.startswith((API_PREFIX + "/", ORDER_PREFIX + "/")):
            return
        wait = limiter.admit()
        if wait is not None:
            # [I] Retry-After is not documented for Pay.; sent so clients can honour it.
            raise ApiError(
                429,
                "Rate limit reached.",
                title="Rate limit reached.",
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        if not request.accept_mimetypes.accept_json:
            raise ApiError(406, "Only application/json is supported")
        g.token = authenticate(request.headers.get("Authorization"), store.tokens)

    def scope(token: Token) -> Callable[[str | None], bool]:
        """Which merchants a token may read: its own list, or all when it lists none."""
        allowed = set(token.merchants)
        return lambda code: not allowed or code in allowed

    def page_of(
        key: str, items: list[dict[str, Any]], limits: paging.Limits, *, spec_list: bool = False
    ) -> Response:
        """A paged list without ``pages``; ``spec_list``: the GMS list shape of the 2024 spec."""
        page, limit = paging.parse_paging(request.args, limits)
        path = request.path.removeprefix(API_PREFIX)
        return _json(
            paging.paged(
                key,
                items,
                page=page,
                limit=limit,
                path=path,
                args=request.args,
                with_pages=False,
                previous_on_first=spec_list,
            )
        )

    @app.get(f"{API_PREFIX}/clearings/settlements")
    def settlements() -> Response:
        token: Token = g.token
        require(token, CLEARING)
        conditions = filters.parse_filters(request.args, settlement_fields)
        page, limit = paging.parse_paging(request.args, paging.SETTLEMENTS)
        allowed = scope(token)
        found = [
            s
            for s in filters.apply(store.settlements(), conditions)
            if any(allowed(code) for code in store.settlement_merchants(s))
        ]
        body = paging.paged(
            "settlements",
            found,
            page=page,
            limit=limit,
            path=request.path.removeprefix(API_PREFIX),
            args=request.args,
        )
        body["settlements"] = [store.served_settlement(s) for s in body["settlements"]]
        return _json(body)

    @app.get(f"{API_PREFIX}/clearings/<key>/records")
    def records(key: str) -> Response:
        token: Token = g.token
        require(token, CLEARING)
        paging.parse_paging(request.args, paging.RECORDS)
        found = store.records_for(key)
        if found is None:
            raise ApiError(404, f"No clearing or settlement found for '{key}'")
        allowed = scope(token)
        if token.merchants:
            found = [r for r in found if allowed(store.merchant_of(r))]
        return page_of("clearingRecords", found, paging.RECORDS)

    @app.get(f"{API_PREFIX}/clearinglines")
    def clearing_lines() -> Response:
        token: Token = g.token
        require(token, CLEARING)
        conditions = filters.parse_filters(request.args, CLEARING_LINE_FIELDS)
        allowed = scope(token)
        found = [
            line
            for line in filters.apply(store.clearing_lines(), conditions)
            if allowed(store.merchant_of(line))
        ]
        return page_of("clearingLines", found, paging.LINES, spec_list=True)

    @app.get(f"{API_PREFIX}/invoicelines")
    def invoice_lines() -> Response:
        token: Token = g.token
        require(token, CLEARING)
        conditions = filters.parse_filters(request.args, INVOICE_LINE_FIELDS)
        allowed = scope(token)
        found = [
            served_invoice_line(line)
            for line in filters.apply(store.invoice_lines, conditions)
            if allowed(store.merchant_of(line))
        ]
        return page_of("invoiceLines", found, paging.LINES, spec_list=True)

    @app.get(f"{API_PREFIX}/clearinglinetypes")
    def clearing_line_types() -> Response:
        return _json({"clearingDataGroups": store.clearing_line_types})

    @app.get(f"{API_PREFIX}/turnovergroups")
    def turnover_groups() -> Response:
        token: Token = g.token
        conditions = filters.parse_filters(request.args, TURNOVER_GROUP_FIELDS)
        allowed = scope(token)
        wanted = request.args.get("merchant")  # the documented plain ?merchant=M-… form
        found = [
            served_turnover_group(group)
            for group in filters.apply(store.turnover_groups, conditions)
            if allowed(store.merchant_of(group))
            and (not wanted or store.merchant_of(group) == wanted)
        ]
        # The spec's envelope: no page/limit parameters, no count or pages, and _links as a
        # list of {href, rel, type} (labd/paynl-js-sdk packages/rest/openapi.json).
        return _json(
            {
                "total": len(found),
                "turnoverGroups": found,
                "_links": [{"href": "/turnovergroups", "rel": "self", "type": "GET"}],
            }
        )

    @app.get(f"{API_PREFIX}/turnovergroups/<code>")
    def turnover_group(code: str) -> Response:
        token: Token = g.token
        allowed = scope(token)
        for group in store.turnover_groups:
            if group.get("code") == code and allowed(store.merchant_of(group)):
                return _json(served_turnover_group(group))
        raise ApiError(404, f"Turnover group '{code}' not found")

    @app.get(f"{API_PREFIX}/transactions/<transaction_id>")
    def transaction(transaction_id: str) -> Response:
        # Transaction:Info. The spec's id is the EX- id; whether Pay. also takes the orderId
        # is open [?], so the sandbox accepts both (clearing records carry only the orderId),
        # unless transactionsByOrderId is off.
        if not store.transactions_v2_served:
            # Pay. retiring the V2 transaction API, switched on through /_admin/pay/config.
            raise ApiError(404, "Not found")
        found = store.transaction(transaction_id)
        if found is not None and not store.transactions_by_order_id:
            found = found if found["id"] == transaction_id else None
        if found is None:
            raise ApiError(404, f"Transaction '{transaction_id}' not found")
        return _json(served_transaction(found))

    @app.get(f"{ORDER_PREFIX}/orders/<order_id>/status")
    def order_status_of(order_id: str) -> Response:
        # Order:Status takes the order's id; Pay.'s .NET SDK passes the orderId there
        # (PayV3Client.GetOrder(string orderId)), so both are accepted.
        found = store.transaction(order_id) or store.transaction_by_uuid(order_id)
        if found is None:
            raise ApiError(404, f"Order '{order_id}' not found")
        return _json(order_status(found))

    app.register_blueprint(_admin_blueprint(store, limiter))
    return app


def _admin_blueprint(store: PayStore, limiter: RateLimiter) -> Blueprint:
    """``/_admin/pay/``: late settlements and runtime config (never logged or faulted).

    - ``GET  /_admin/pay/settlements/hidden``: codes of settlements not yet visible.
    - ``POST /_admin/pay/settlements/reveal`` ``{"code": "…"}`` (or ``{}`` for all hidden ones).
    - ``POST /_admin/pay/settlements`` ``{"settlement": {…}, "records": […],
      "transactions": […], "hidden": false}``: add a settlement in the fixture format.
    - ``GET|POST /_admin/pay/config`` ``{"rateLimitPerSecond": 5 | null,
      "settlementAmountUnit": "cents" | "euros", "transactionsV2": true | false}``.
    """
    bp = Blueprint("pay_admin", __name__, url_prefix="/_admin/pay")

    def body() -> dict[str, Any]:
        data = jsonio.loads(request.get_data() or b"{}")
        if not isinstance(data, dict):
            raise ApiError(400, "expected a JSON object")
        return data

    @bp.get("/settlements/hidden")
    def hidden() -> Response:
        return _json({"hidden": store.hidden_codes()})

    @bp.post("/settlements/reveal")
    def reveal() -> Response:
        try:
            revealed = store.reveal(body().get("code"))
        except KeyError as exc:
            raise ApiError(404, str(exc.args[0])) from None
        return _json({"revealed": revealed})

    @bp.post("/settlements")
    def add() -> tuple[Response, int]:
        data = body()
        try:
            code = store.add_settlement(
                data.get("settlement"),  # type: ignore[arg-type]
                data.get("records", []),
                data.get("transactions", []),
                hidden=bool(data.get("hidden", False)),
            )
        except FixtureError as exc:
            raise ApiError(400, str(exc)) from None
        return _json({"code": code}), 201

    @bp.get("/config")
    def read_config() -> Response:
        return _json(
            {
                "rateLimitPerSecond": limiter.per_second,
                "settlementAmountUnit": store.settlement_amount_unit,
                "transactionsByOrderId": store.transactions_by_order_id,
                "transactionsV2": store.transactions_v2_served,
            }
        )

    @bp.post("/config")
    def write_config() -> Response:
        data = body()
        if "rateLimitPerSecond" in data:
            value = data["rateLimitPerSecond"]
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ApiError(400, "rateLimitPerSecond must be a positive integer or null")
            limiter.set_limit(value)
        if "settlementAmountUnit" in data:
            if data["settlementAmountUnit"] not in ("cents", "euros"):
                raise ApiError(400, "settlementAmountUnit must be 'cents' or 'euros'")
            store.settlement_amount_unit = data["settlementAmountUnit"]
        if "transactionsByOrderId" in data:
            if not isinstance(data["transactionsByOrderId"], bool):
                raise ApiError(400, "transactionsByOrderId must be true or false")
            store.transactions_by_order_id = data["transactionsByOrderId"]
        if "transactionsV2" in data:
            if not isinstance(data["transactionsV2"], bool):
                raise ApiError(400, "transactionsV2 must be true or false")
            store.transactions_v2_served = data["transactionsV2"]
        return read_config()

    return bp
