"""The Exact Online request bodies this target sends: a bank entry per clearing, a customer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pay_exact_transform import BookingPlan, NewRelation, Role
from pay_exact_transform.describe import NOTES_SEPARATOR

BANK_ENTRIES = "financialtransaction/BankEntries"
ACCOUNTS = "crm/Accounts"
NOTES_MAX = 250


class PayloadError(ValueError):
    """A plan line refers to something the run could not resolve (a GL, a customer)."""


def bank_entry_body(
    plan: BookingPlan,
    *,
    journal_code: str,
    gl_ids: Mapping[str, str],
    customer_ids: Mapping[str, str],
    psp_costs_vat_code: str | None = None,
) -> dict[str, Any]:
    """One bank entry for the whole clearing: money in positive, lines summing to zero.

    ``gl_ids`` maps GL codes to Exact GUIDs, ``customer_ids`` maps the plan's customer
    references (open-item customer ids, the standard debtor code, new-relation temp ids) to
    account GUIDs. ``OurRef`` is sent only on linked lines (a 100 % match).
    """
    lines = []
    for number, line in enumerate(plan.lines, start=1):
        gl_id = gl_ids.get(line.gl)
        if gl_id is None:
            raise PayloadError(f"line {number}: GL account {line.gl!r} is not known")
        body: dict[str, Any] = {
            "Date": plan.entry_date,
            "GLAccount": gl_id,
            "AmountFC": line.amount,
            "Description": line.description,
        }
        if line.customer is not None:
            account_id = customer_ids.get(line.customer)
            if account_id is None:
                raise PayloadError(f"line {number}: customer {line.customer!r} is not known")
            body["Account"] = account_id
        if line.link is not None:
            body["OurRef"] = int(line.link)
        notes = _notes(plan, line.notes)
        if notes:
            body["Notes"] = notes
        if line.role is Role.PSP_COSTS and psp_costs_vat_code:
            body["VATCode"] = psp_costs_vat_code
        lines.append(body)
    return {"JournalCode": journal_code, "Currency": plan.currency, "BankEntryLines": lines}


def _notes(plan: BookingPlan, details: str) -> str:
    """The clearing and every identifying detail of the line, whole details only."""
    text = f"Pay. clearing {plan.clearing_id}"
    for part in details.split(NOTES_SEPARATOR) if details else ():
        if len(text) + len(NOTES_SEPARATOR) + len(part) > NOTES_MAX:
            continue  # a long detail is left out whole; shorter ones after it still fit
        text += NOTES_SEPARATOR + part
    return text


def account_body(relation: NewRelation) -> dict[str, Any]:
    """A new customer (relation) for a payment whose customer Exact does not know yet."""
    body: dict[str, Any] = {"Name": relation.name[:100], "Status": "C"}
    if relation.email:
        body["Email"] = relation.email
    return body
