"""Read-only checks on a merchant's real Pay. account, for a self-check before the first booking.

Two facts the product relies on cannot be seen in any public source, only in the account:

- :func:`probe_settlement_units`: the unit of a settlement's own amount, judged on one real
  settlement by the cross-sums of its amount, its "Funds:" text, its clearing lines and the
  records of its clearings (the same decision the tap makes on every settlement, see
  ``tap_pay/units.py``).
- :func:`probe_transaction_info`: whether Pay. answers a payment's details for the order id a
  clearing record carries, from Transaction:Info (V2) or the Order API, as the setting
  ``transaction_api`` chooses.

Both take the tap's settings (the same mapping ``tap-pay --config`` reads), make a few GET
requests and return what they saw; they never raise for what Pay. answers, and never quote the
API token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from tap_pay.errors import MalformedResponseError, redact
from tap_pay.money import quantum
from tap_pay.payload import Node, Origin
from tap_pay.records import (
    CLEARING_RECORDS,
    SETTLEMENTS,
    clearing_record_record,
    order_record,
    settlement_parts,
    transaction_record,
)
from tap_pay.settings import Settings
from tap_pay.units import UnitDecision, decide_unit

HELD = "held"
NOT_HELD = "did not hold"
UNKNOWN = "could not tell"
_TIMEOUT = 60


class _Refused(Exception):
    """Pay. answered something other than a usable 200 (status 0: no answer at all)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class SettlementUnitProbe:
    """What one real settlement says about the unit of its amount."""

    verdict: str  # held / did not hold / could not tell
    detail: str
    settlement_code: str | None = None
    raw_value: int | Decimal | None = None  # the amount's value as Pay. sent it
    currency: str | None = None
    decision: UnitDecision | None = None  # unit, amount, lines total, funds, problem
    records_total: Decimal | None = None  # its clearings' records, read as cents
    transaction_lines_total: Decimal | None = None  # its lines that carry transactions
    requests_made: int = 0


@dataclass(frozen=True, slots=True)
class TransactionInfoProbe:
    """Whether Pay. answered a payment's details for an order id, and from which API."""

    verdict: str
    detail: str
    order_id: str
    api: str | None = None  # "transactions" (V2) or "orders" (Order API) that answered
    record: dict[str, Any] | None = None  # as the tap's transactions stream emits it
    statuses: dict[str, int] = field(default_factory=dict)  # API -> HTTP status seen


class _Pay:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.session.auth = (settings.token_code, settings.api_token)
        self.session.headers.update({"Accept": "application/json"})
        self.count = 0

    def get(self, base: str, path: str, params: dict[str, Any] | None = None) -> Any:
        self.count += 1
        try:
            response = self.session.get(base + path, params=params, timeout=_TIMEOUT)
        except requests.RequestException as exc:
            raise _Refused(f"Pay. could not be reached for {path} ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise _Refused(
                f"Pay. answered HTTP {response.status_code} on GET {path}", response.status_code
            )
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise _Refused(f"Pay. answered GET {path} with a body that is not JSON") from None

    def origin(self, path: str) -> Origin:
        return Origin(path, secrets=tuple(self.settings.secrets))


def _safe(text: str, settings: Settings) -> str:
    return redact(text, settings.secrets)


def probe_settlement_units(
    config: Mapping[str, Any], settlement_code: str | None = None
) -> SettlementUnitProbe:
    """Fetch one settlement (``settlement_code``, else the first Pay. lists), its lines and the
    records of its clearings, and judge the unit of its amount by their cross-sums."""
    settings = Settings.from_config(config)
    pay = _Pay(settings)
    params: dict[str, Any] = {"page": 1, "limit": 1}
    if settlement_code:
        params["settlementCode[eq]"] = settlement_code
    if settings.merchant_code:
        params["merchant[eq]"] = settings.merchant_code
    try:
        body = pay.get(settings.api_url, SETTLEMENTS, params)
        root = Node(body, pay.origin(SETTLEMENTS)).as_object()
        items = root.items("settlements", required=False)
        if not items:
            return SettlementUnitProbe(UNKNOWN, "Pay. lists no settlement yet", requests_made=1)
        parts = settlement_parts(items[0], None, settings.settlement_amount_unit)
        record = parts.record
        raw = items[0].value["amount"]["value"]  # settlement_parts has checked it is there
        records_total = Decimal(0)
        for clearing in parts.clearings:
            path = CLEARING_RECORDS.replace("{clearingId}", clearing["clearingId"])
            page = pay.get(settings.api_url, path, {"page": 1, "limit": 10_000})
            node = Node(page, pay.origin(path)).as_object()
            for item in node.items("clearingRecords", required=False):
                records_total += clearing_record_record(item, clearing["clearingId"])["amount"]
    except (_Refused, MalformedResponseError) as exc:
        return SettlementUnitProbe(UNKNOWN, _safe(str(exc), settings), requests_made=pay.count)

    currency = record["currency"]
    lines = [line for lines in parts.lines_by_clearing.values() for line in lines]
    # [I] Lines that announce transactions (payments, refunds, chargebacks) are what the records
    # add up to; a line with none (a fee settlement) has no records behind it.
    with_records = [line["amount"] for line in lines if line.get("transactions")]
    transaction_total = sum(with_records, Decimal(0)).quantize(quantum(currency))
    decision = decide_unit(
        raw,
        currency,
        settings.settlement_amount_unit,
        [line["amount"] for line in lines],
        record["description"],
    )
    seen = (
        f"settlement {record['code']}: amount value {raw!r} read as {record['amount']} "
        f"{currency} ({record['amountUnit']}); its lines add up to {decision.lines_total}, "
        f"its 'Funds:' text says {decision.funds}; the records of its clearings add up to "
        f"{records_total} against {transaction_total} on its transaction lines"
    )
    common = {
        "settlement_code": record["code"],
        "raw_value": raw,
        "currency": currency,
        "decision": decision,
        "records_total": records_total,
        "transaction_lines_total": transaction_total,
        "requests_made": pay.count,
    }
    if decision.problem:
        return SettlementUnitProbe(NOT_HELD, f"{seen}. {decision.problem}", **common)
    if records_total != transaction_total and lines:
        return SettlementUnitProbe(
            NOT_HELD,
            f"{seen}: the records (cents) do not add up to their lines, so the records' unit is "
            "not the lines' unit",
            **common,
        )
    if not decision.agrees:
        return SettlementUnitProbe(
            NOT_HELD, f"{seen}: the stated amount differs from its lines", **common
        )
    if decision.funds is None and decision.lines_total is None:
        return SettlementUnitProbe(UNKNOWN, f"{seen}: nothing to compare it with", **common)
    return SettlementUnitProbe(HELD, seen, **common)


def probe_transaction_info(config: Mapping[str, Any], order_id: str) -> TransactionInfoProbe:
    """Ask Pay. for the details of the payment with ``order_id`` (a clearing record's orderId),
    from the API(s) the setting ``transaction_api`` names: V2 Transaction:Info, the Order API,
    or V2 and then the Order API."""
    settings = Settings.from_config(config)
    pay = _Pay(settings)
    apis = {"auto": ["transactions", "orders"]}.get(
        settings.transaction_api, [settings.transaction_api]
    )
    statuses: dict[str, int] = {}
    notes: list[str] = []
    for api in apis:
        if api == "orders":
            base, path, parse = settings.order_api_url, f"/orders/{order_id}/status", order_record
        else:
            base, path, parse = settings.api_url, f"/transactions/{order_id}", transaction_record
        try:
            body = pay.get(base, path)
            found = parse(Node(body, pay.origin(path)), order_id)
        except _Refused as exc:
            statuses[api] = exc.status
            notes.append(_safe(str(exc), settings))
            continue
        except MalformedResponseError as exc:
            notes.append(_safe(str(exc), settings))
            statuses[api] = 200
            continue
        statuses[api] = 200
        return TransactionInfoProbe(
            HELD,
            f"{'Transaction:Info' if api == 'transactions' else 'Order:Status'} answered for "
            f"order {order_id}",
            order_id,
            api=api,
            record=found,
            statuses=statuses,
        )
    verdict = NOT_HELD if statuses and all(s in (404, 200) for s in statuses.values()) else UNKNOWN
    return TransactionInfoProbe(verdict, "; ".join(notes), order_id, statuses=statuses)
