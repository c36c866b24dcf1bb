"""Payment methods and clearing-line types the generator and the Pay. sandbox share.

The ids of iDEAL (10) and Visa Mastercard (706) appear in Pay.'s documentation; the other
payment-method ids follow Pay.'s payment-profile numbering as far as known and are inferred.
The DEBIT line types (refund, chargeback, invoice settlement) are not documented at all: their
ids and names are the sandbox's choice [I] (pay-api.md §11).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineType:
    id: int
    name: str
    direction: str  # CREDIT adds to the payout, DEBIT subtracts from it
    group_id: int


PAYMENT_METHODS: dict[str, LineType] = {
    lt.name: lt
    for lt in (
        LineType(10, "iDEAL", "CREDIT", 1),
        LineType(436, "Bancontact", "CREDIT", 1),
        LineType(706, "Visa Mastercard", "CREDIT", 1),
        LineType(138, "PayPal", "CREDIT", 1),
        LineType(1717, "Klarna", "CREDIT", 1),
        LineType(2277, "Apple Pay", "CREDIT", 1),
        LineType(1705, "American Express", "CREDIT", 1),
    )
}

REFUND = LineType(9001, "Refund", "DEBIT", 2)  # [I] id and name are the sandbox's choice
CHARGEBACK = LineType(9002, "Chargeback", "DEBIT", 2)  # [I]
INVOICE_SETTLEMENT = LineType(9101, "Invoice settlement", "DEBIT", 3)  # [I]

DEBIT_TYPES = (REFUND, CHARGEBACK, INVOICE_SETTLEMENT)

LINE_TYPE_GROUPS: tuple[tuple[int, str], ...] = (
    (1, "Transaction processing"),
    (2, "Refunds and chargebacks"),
    (3, "Invoices"),
)


def clearing_line_type_groups() -> list[dict[str, object]]:
    """The ``/clearinglinetypes`` body: data groups holding their line types."""
    every = [*PAYMENT_METHODS.values(), *DEBIT_TYPES]
    return [
        {
            "id": group_id,
            "name": name,
            "translations": {"en_GB": name},
            "clearingLineTypes": [
                {
                    "id": lt.id,
                    "name": lt.name,
                    "translations": {"en_GB": lt.name},
                    "createdAt": "2023-01-01T00:00:00+01:00",
                    "modifiedAt": None,
                    "deletedAt": None,
                }
                for lt in every
                if lt.group_id == group_id
            ],
        }
        for group_id, name in LINE_TYPE_GROUPS
    ]
