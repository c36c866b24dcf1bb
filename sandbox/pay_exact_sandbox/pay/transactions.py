"""How the sandbox serves one payment: Transaction:Info (TGU v2) and Order:Status (TGU v1).

The fixture keeps one Transaction:Info object per payment. Both views are derived from it:

- ``GET /v2/transactions/{id}`` with the field names of the spec's example and Pay.'s SDKs
  (``serviceCode``, ``createdAt``, ``modifiedAt``, ``expiresAt``: labd/paynl-js-sdk
  packages/transaction/openapi.json, "Transaction Full" example); a fixture written with the
  older names (``serviceId``, ``created``, ``modified``, ``expire``) is served with the new ones.
- ``GET /v1/orders/{id}/status``, the Order API that replaces the V2 transaction API in Pay.'s
  .NET SDK (paynl/sdk-net PAYNLSDK.SDK/V2/Client/MultiCorePayV2Client.cs marks the V2 calls
  [Obsolete] in favour of V3 PayV3Client.GetOrder -> ``orders/{orderId}/status`` on
  ``https://connect.pay.nl/v1/``, PAYNLSDK.SDK/V3/Client/PayV3Client.cs, PayV3ClientBase.cs).
  Fields as labd/paynl-js-sdk packages/connect/openapi.json (Order:Status) and
  paynl/sdk-net V3/DataTransferObjects/Orders/V3Order.cs; ``stats`` as pay-api.md §4.9.
"""

from __future__ import annotations

import uuid
from typing import Any

# Older Transaction:Info names -> the names the spec's example and the SDKs use.
_RENAMED = {"serviceId": "serviceCode", "created": "createdAt", "modified": "modifiedAt"}
_RENAMED["expire"] = "expiresAt"

# [I] A namespace for the sandbox's order UUIDs: stable per orderId, so reruns see the same id.
_ORDER_NAMESPACE = uuid.UUID("1b0c0d5e-3a0b-4c8e-9a51-5f3e1f0a2c7d")


def served_transaction(transaction: dict[str, Any]) -> dict[str, Any]:
    """Transaction:Info as the spec's example shapes it."""
    served: dict[str, Any] = {}
    for key, value in transaction.items():
        served[_RENAMED.get(key, key)] = value
    served.setdefault(
        "_links",
        [{"href": f"/transactions/{transaction.get('id')}/status", "rel": "self", "type": "GET"}],
    )
    return served


def order_uuid(order_id: str) -> str:
    return str(uuid.uuid5(_ORDER_NAMESPACE, order_id))


def order_status(transaction: dict[str, Any]) -> dict[str, Any]:
    """Order:Status for the payment, derived from its Transaction:Info."""
    t = served_transaction(transaction)
    order_id = str(t.get("orderId"))
    status = t.get("status") or {}
    customer = t.get("customer") or {}
    company = customer.get("company") or {}
    amount = t.get("amount")
    paid = status.get("code") == 100
    return {
        "id": order_uuid(order_id),
        "serviceId": t.get("serviceCode"),
        "description": t.get("description"),
        "reference": t.get("reference"),
        "manualTransferCode": t.get("manualTransferCode"),
        "orderId": order_id,
        "uuid": order_uuid(order_id),
        "customerKey": None,
        "status": {"code": status.get("code"), "action": status.get("action")},
        "receipt": None,
        "integration": {"test": bool((t.get("integration") or {}).get("testMode", False))},
        "amount": amount,
        "authorizedAmount": amount if paid else {**(amount or {}), "value": 0},
        "capturedAmount": amount if paid else {**(amount or {}), "value": 0},
        "checkoutData": {
            "customer": {
                "email": customer.get("email"),
                "firstname": customer.get("firstName"),
                "lastname": customer.get("lastName"),
                "phone": customer.get("phone"),
                "locale": customer.get("locale"),
                "reference": customer.get("reference"),
                "company": (
                    {
                        "name": company.get("name"),
                        "cocNumber": company.get("coc"),
                        "vatNumber": company.get("vat"),
                        "country": company.get("countryCode"),
                    }
                    if company
                    else None
                ),
            }
        },
        "stats": t.get("stats"),  # pay-api.md §4.9 lists stats{extra1..3,...} on the Order API
        "payments": [
            {
                "id": str(uuid.uuid5(_ORDER_NAMESPACE, f"{order_id}/payment")),
                "paymentMethod": {"id": (t.get("paymentMethod") or {}).get("id")},
                "amount": amount,
                "status": {"code": status.get("code"), "action": status.get("action")},
            }
        ],
        "createdAt": t.get("createdAt"),
        "createdBy": None,
        "modifiedAt": t.get("modifiedAt"),
        "modifiedBy": None,
        "expiresAt": t.get("expiresAt"),
        "completedAt": t.get("modifiedAt") if paid else None,
        "links": {"status": f"/v1/orders/{order_uuid(order_id)}/status"},
    }
