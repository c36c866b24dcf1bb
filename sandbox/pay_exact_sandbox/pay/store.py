"""The Pay. sandbox's data: a fixture's ``pay`` section, indexed for the endpoints, plus late
settlements that stay hidden until revealed (a clearing that shows up after a later one)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pay_exact_sandbox.generator import catalog

from .transactions import order_uuid

# Fields a clearing line carries inside a settlement (pay-api.md §4.1); the fixture may hold more.
_SETTLEMENT_LINE_FIELDS = (
    "code",
    "clearingDate",
    "settlementDate",
    "valueDate",
    "state",
    "turnoverGroup",
    "clearingLineType",
    "amount",
    "merchant",
    "transactions",
    "uniquePayers",
)


@dataclass(frozen=True, slots=True)
class Token:
    code: str
    token: str
    permissions: frozenset[str]
    merchants: tuple[str, ...]  # empty: every merchant in the data


class FixtureError(ValueError):
    """The fixture breaks the documented format; the message names the item and field."""


def _need(item: Any, where: str, *names: str) -> None:
    if not isinstance(item, dict):
        raise FixtureError(f"{where}: expected an object, got {type(item).__name__}")
    for name in names:
        if name not in item:
            raise FixtureError(f"{where}: missing field '{name}'")


def _amount_value(item: dict[str, Any], where: str) -> int:
    amount = item.get("amount")
    if not isinstance(amount, dict) or not isinstance(amount.get("value"), int):
        raise FixtureError(f"{where}: field 'amount.value' must be whole cents")
    return amount["value"]


class PayStore:
    """Thread-safe view of the fixture; reads never mutate the fixture's own objects."""

    def __init__(self, pay: dict[str, Any]) -> None:
        _need(pay, "pay", "tokens", "settlements")
        self._lock = threading.RLock()
        self.settlement_amount_unit: str = pay.get("settlementAmountUnit", "cents")
        if self.settlement_amount_unit not in ("cents", "euros"):
            raise FixtureError(
                f"pay: field 'settlementAmountUnit' must be 'cents' or 'euros', "
                f"got {self.settlement_amount_unit!r}"
            )
        # [?] Whether Transaction:Info takes a clearing record's orderId is open (pay-api.md
        # §4.9); served by default, switched off to show a merchant where only the EX- id works.
        self.transactions_by_order_id: bool = bool(pay.get("transactionsByOrderId", True))
        # False: the V2 Transaction:Info API answers 404, as once Pay. retires it.
        self.transactions_v2_served = True
        self.merchants: list[dict[str, Any]] = list(pay.get("merchants", []))
        self.tokens: dict[str, Token] = {}
        for index, raw in enumerate(pay["tokens"]):
            _need(raw, f"tokens[{index}]", "code", "token")
            self.tokens[raw["code"]] = Token(
                code=raw["code"],
                token=raw["token"],
                permissions=frozenset(raw.get("permissions", [])),
                merchants=tuple(raw.get("merchants", [])),
            )
        self.turnover_groups: list[dict[str, Any]] = list(pay.get("turnoverGroups", []))
        self.clearing_line_types: list[dict[str, Any]] = list(
            pay.get("clearingLineTypes") or catalog.clearing_line_type_groups()
        )
        self.invoice_lines: list[dict[str, Any]] = list(pay.get("invoiceLines", []))
        self._visible: dict[str, dict[str, Any]] = {}
        self._hidden: dict[str, dict[str, Any]] = {}
        self._clearing_to_settlement: dict[str, str] = {}
        self._records: dict[str, list[dict[str, Any]]] = {}
        self._transactions: dict[str, dict[str, Any]] = {}
        self._sorted: list[dict[str, Any]] = []
        self._lines: list[dict[str, Any]] = []
        for index, settlement in enumerate(pay["settlements"]):
            self._index_settlement(settlement, f"settlements[{index}]", hidden=False)
        for index, settlement in enumerate(pay.get("lateSettlements", [])):
            self._index_settlement(settlement, f"lateSettlements[{index}]", hidden=True)
        self._index_records(list(pay.get("clearingRecords", [])), "clearingRecords")
        self._index_transactions(list(pay.get("transactions", [])), "transactions")
        self._refresh()

    # ----- loading ----------------------------------------------------------------------
    def _index_settlement(self, settlement: Any, where: str, *, hidden: bool) -> None:
        _need(settlement, where, "code", "settlementDate", "amount", "clearings")
        _amount_value(settlement, where)
        code = settlement["code"]
        if code in self._visible or code in self._hidden:
            raise FixtureError(f"{where}: settlement code {code!r} appears twice")
        clearing_ids: list[str] = []
        for c_index, clearing in enumerate(settlement["clearings"]):
            c_where = f"{where}.clearings[{c_index}]"
            _need(clearing, c_where, "clearingId", "clearingLines")
            clearing_id = clearing["clearingId"]
            if clearing_id in self._clearing_to_settlement or clearing_id in clearing_ids:
                raise FixtureError(f"{c_where}: clearingId {clearing_id!r} appears twice")
            for l_index, line in enumerate(clearing["clearingLines"]):
                l_where = f"{c_where}.clearingLines[{l_index}]"
                _need(line, l_where, "code", "clearingLineType", "amount")
                _amount_value(line, l_where)
            clearing_ids.append(clearing_id)
        # Only a fully checked settlement changes the indexes.
        for clearing_id in clearing_ids:
            self._clearing_to_settlement[clearing_id] = code
        (self._hidden if hidden else self._visible)[code] = settlement

    def _check_records(
        self, records: list[Any], where: str, new_clearings: frozenset[str] = frozenset()
    ) -> None:
        for index, record in enumerate(records):
            r_where = f"{where}[{index}]"
            _need(record, r_where, "clearingId", "orderId", "amount")
            _amount_value(record, r_where)
            clearing_id = record["clearingId"]
            if clearing_id not in self._clearing_to_settlement and clearing_id not in new_clearings:
                raise FixtureError(f"{r_where}: clearingId {clearing_id!r} is in no settlement")

    def _index_records(self, records: list[Any], where: str) -> None:
        self._check_records(records, where)
        for record in records:
            self._records.setdefault(record["clearingId"], []).append(record)

    def _index_transactions(self, transactions: list[Any], where: str) -> None:
        for index, transaction in enumerate(transactions):
            _need(transaction, f"{where}[{index}]", "id", "orderId")
        for transaction in transactions:
            self._transactions[transaction["id"]] = transaction
            self._transactions[transaction["orderId"]] = transaction

    def _refresh(self) -> None:
        """Re-sort the visible settlements and rebuild the flat clearing-line list."""
        # Sorted by settlementDate, then code: our choice; the reference names no order.
        self._sorted = sorted(
            self._visible.values(), key=lambda s: (s["settlementDate"], s["code"])
        )
        self._lines = [
            self._flat_line(line, clearing["clearingId"])
            for settlement in self._sorted
            for clearing in settlement["clearings"]
            for line in clearing["clearingLines"]
        ]

    @staticmethod
    def _flat_line(line: dict[str, Any], clearing_id: str) -> dict[str, Any]:
        """A settlement's clearing line in the ``/clearinglines`` shape (pay-api.md §4.3)."""
        line_type = line["clearingLineType"]
        merchant = line.get("merchant") or {}
        return {
            "code": line["code"],
            "merchant": {
                "code": merchant.get("code"),
                "contractPackage": merchant.get("contractPackage"),
            },
            "turnoverGroup": line.get("turnoverGroup"),
            "clearingLineType": {"id": line_type.get("id"), "name": line_type.get("name")},
            "unitType": line.get("unitType"),
            "amount": line["amount"],
            "valueDate": line.get("valueDate"),
            "clearingDate": line.get("clearingDate"),
            "settlementDate": line.get("settlementDate"),
            "processedDate": line.get("processedDate") or line.get("clearingDate"),
            "state": line.get("state", "SETTLED"),
            "clearingID": clearing_id,
        }

    # ----- reads ------------------------------------------------------------------------
    def settlements(self) -> list[dict[str, Any]]:
        """Visible settlements in the order the endpoint serves them (raw fixture objects)."""
        with self._lock:
            return list(self._sorted)

    def served_settlement(self, settlement: dict[str, Any]) -> dict[str, Any]:
        """The settlement as served: documented line fields only, amount in the chosen unit."""
        amount = settlement["amount"]
        if self.settlement_amount_unit == "euros":
            # pay-api.md §4.1/§10: the docs example reads like whole euros [?]; configurable.
            amount = {**amount, "value": Decimal(amount["value"]).scaleb(-2)}
        served: dict[str, Any] = {}
        for key, value in settlement.items():
            if key == "amount":
                served[key] = amount
            elif key == "clearings":
                served[key] = [
                    {
                        **{k: v for k, v in clearing.items() if k != "clearingLines"},
                        "clearingLines": [
                            {k: line[k] for k in _SETTLEMENT_LINE_FIELDS if k in line}
                            for line in clearing["clearingLines"]
                        ],
                    }
                    for clearing in value
                ]
            else:
                served[key] = value
        return served

    def records_for(self, key: str) -> list[dict[str, Any]] | None:
        """Records of a visible clearing (by id) or settlement (by code); None if unknown."""
        with self._lock:
            if key in self._visible:
                clearings = [c["clearingId"] for c in self._visible[key]["clearings"]]
            elif self._clearing_to_settlement.get(key) in self._visible:
                clearings = [key]
            else:
                return None
            return [r for clearing in clearings for r in self._records.get(clearing, [])]

    def clearing_lines(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._lines)

    def transaction(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._transactions.get(key)

    def transaction_by_uuid(self, key: str) -> dict[str, Any] | None:
        """The payment whose Order API id (a UUID derived from its orderId) is ``key``."""
        with self._lock:
            for transaction in self._transactions.values():
                if order_uuid(str(transaction["orderId"])) == key:
                    return transaction
        return None

    def hidden_codes(self) -> list[str]:
        with self._lock:
            return list(self._hidden)

    # ----- changes while running -----------------------------------------------------------
    def reveal(self, code: str | None = None) -> list[str]:
        """Make one hidden settlement (or all of them) visible; returns the codes revealed."""
        with self._lock:
            if code is None:
                codes = list(self._hidden)
            elif code in self._hidden:
                codes = [code]
            else:
                raise KeyError(f"no hidden settlement with code {code!r}")
            for each in codes:
                self._visible[each] = self._hidden.pop(each)
            self._refresh()
            return codes

    def add_settlement(
        self,
        settlement: dict[str, Any],
        records: Iterable[dict[str, Any]] = (),
        transactions: Iterable[dict[str, Any]] = (),
        *,
        hidden: bool = False,
    ) -> str:
        """Add a settlement (with its records and transactions) after start; returns its code.

        Everything is checked before anything changes, so a bad addition leaves no trace.
        """
        records = list(records)
        transactions = list(transactions)
        with self._lock:
            _need(settlement, "added settlement", "clearings")
            clearings = settlement["clearings"]
            if not isinstance(clearings, list):
                raise FixtureError("added settlement: field 'clearings' must be a list")
            new_clearings = frozenset(c.get("clearingId") for c in clearings if isinstance(c, dict))
            self._check_records(records, "added records", new_clearings)
            for index, transaction in enumerate(transactions):
                _need(transaction, f"added transactions[{index}]", "id", "orderId")
            self._index_settlement(settlement, "added settlement", hidden=hidden)
            self._index_records(records, "added records")
            self._index_transactions(transactions, "added transactions")
            self._refresh()
            return settlement["code"]

    def merchant_of(self, item: dict[str, Any]) -> str | None:
        merchant = item.get("merchant")
        return merchant.get("code") if isinstance(merchant, dict) else None

    def settlement_merchants(self, settlement: dict[str, Any]) -> set[str]:
        found = {
            code
            for clearing in settlement["clearings"]
            for line in clearing["clearingLines"]
            if (code := self.merchant_of(line))
        }
        if not found and self.merchants:
            found = {self.merchants[0]["code"]}
        return found
