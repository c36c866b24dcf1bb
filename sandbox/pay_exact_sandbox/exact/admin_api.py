"""Exact-specific admin endpoints under ``/_admin/exact/`` (never logged, faulted or limited).

- ``GET  /_admin/exact/dump``: every collection, with the sandbox's own state (open amounts,
  closed periods, settlements), for test assertions.
- ``POST /_admin/exact/tokens``: ``{"client_id"?: str, "age"?: seconds}`` -> a token pair without
  the browser step (``age`` back-dates the issue, e.g. 570 to allow an immediate refresh).
- ``POST /_admin/exact/seed``: a fixture document; replaces all data.
- ``POST /_admin/exact/periods``: ``{"year": 2025, "period": 3, "closed": true}``.
- ``GET / POST /_admin/exact/config``: the division's behaviour settings
  (``config.BEHAVIOUR_FIELDS``); a POST changes the ones it names and answers all of them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, request

from . import jsonout
from .config import BEHAVIOUR_FIELDS
from .data import ExactData
from .oauth import TokenError
from .seed import load as load_data

if TYPE_CHECKING:
    from .app import ExactRuntime
    from .store import ExactStore

Row = dict[str, Any]
_RENAMED = {
    "_open_fc": "OpenAmountFC",
    "_open_dc": "OpenAmountDC",
    "_closed": "Closed",
    "_payments": "Payments",
    "_effects": "Settlement",
    "_journal_type": "JournalType",
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.startswith("_") and key not in _RENAMED:
                continue
            out[_RENAMED.get(key, key)] = _plain(item)
        return out
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def dump(store: ExactStore) -> Row:
    journals = []
    for journal in store.journals.values():
        row = dict(journal)
        if journal["Type"] in (10, 12, 16):
            row["Balance"] = store.journal_balance(journal["Code"])
        journals.append(row)
    # Ledger balance per G/L (debit positive). Transaction lines of bank entries hold the
    # counter side; the bank side (the journal's own G/L) is added here so the ledger balances.
    gl_balances: dict[str, Decimal] = {}

    def add(code: str, amount: Decimal) -> None:
        gl_balances[code] = gl_balances.get(code, Decimal(0)) + amount

    for line in store.transaction_lines.values():
        add(line["GLAccountCode"], line["AmountDC"])
    for entry in store.bank_entries.values():
        journal = store.journal_by_code(entry["JournalCode"])
        if journal is not None and journal["GLAccountCode"]:
            for line in entry["BankEntryLines"]:
                add(journal["GLAccountCode"], line["AmountDC"])
    return _plain(
        {
            "division": store.division,
            "me": store.me,
            "accounts": list(store.accounts.values()),
            "gl_accounts": list(store.gl_accounts.values()),
            "journals": journals,
            "periods": list(store.periods.values()),
            "vat_codes": list(store.vat_codes.values()),
            "receivables": list(store.receivables.values()),
            "receivables_list": store.receivables_list(),
            "sales_entries": list(store.sales_entries.values()),
            "bank_entries": list(store.bank_entries.values()),
            "general_journal_entries": list(store.gj_entries.values()),
            "transaction_lines": list(store.transaction_lines.values()),
            "gl_balances": gl_balances,
            "truth": store.truth,
        }
    )


def register_admin(app: Flask, runtime: ExactRuntime) -> None:
    bp = Blueprint("exact_admin", __name__, url_prefix="/_admin/exact")
    store = runtime.store

    def reply(status: int, body: Any) -> Response:
        return Response(jsonout.dumps(body), status=status, content_type="application/json")

    @bp.get("/dump")
    def get_dump() -> Response:
        with store.lock:
            return reply(200, dump(store))

    @bp.post("/tokens")
    def mint() -> Response:
        spec = request.get_json(silent=True) or {}
        try:
            tokens = runtime.oauth.mint(spec.get("client_id"), age=float(spec.get("age", 0)))
        except TokenError as exc:
            return reply(exc.status, exc.body())
        return reply(201, tokens)

    @bp.post("/seed")
    def seed() -> Response:
        try:
            data = ExactData.from_json(request.get_data())
            with store.lock:
                load_data(store, data)
        except ValueError as exc:
            return reply(400, {"error": str(exc)})
        return Response("", status=204)

    @bp.post("/periods")
    def close_period() -> Response:
        spec = request.get_json(force=True)
        with store.lock:
            period = store.period(int(spec["year"]), int(spec["period"]))
            if period is None:
                return reply(404, {"error": "no such period"})
            period["_closed"] = bool(spec.get("closed", True))
        return Response("", status=204)

    @bp.get("/config")
    def get_config() -> Response:
        return reply(200, runtime.config.behaviour())

    @bp.post("/config")
    def set_config() -> Response:
        spec = request.get_json(silent=True)
        if not isinstance(spec, dict):
            return reply(400, {"error": "expected a JSON object of settings"})
        unknown = sorted(set(spec) - set(BEHAVIOUR_FIELDS))
        if unknown:
            return reply(
                400,
                {"error": f"unknown setting {unknown[0]!r}; known: {', '.join(BEHAVIOUR_FIELDS)}"},
            )
        try:
            config = runtime.configure(**spec)
        except ValueError as exc:
            return reply(400, {"error": str(exc)})
        return reply(200, config.behaviour())

    app.register_blueprint(bp)
