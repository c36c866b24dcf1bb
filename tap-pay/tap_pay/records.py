"""Pay.'s items -> the tap's records: flat, exact money in major units, UTC timestamps.

Each ``*_record`` function reads one item through a :class:`~tap_pay.payload.Node`, so a bad
field stops the run with the endpoint, the record and the field named. Nested reference objects
(merchant, turnoverGroup, paymentMethod, ...) are flattened to ``<object><Field>`` columns so any
target can load them without unnesting; the field names otherwise follow Pay.'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tap_pay.money import UNIT_BY_ENDPOINT, AmountError, AmountUnit, quantum
from tap_pay.payload import Node
from tap_pay.units import decide_unit

SETTLEMENTS = "/clearings/settlements"
CLEARING_RECORDS = "/clearings/{clearingId}/records"
INVOICE_LINES = "/invoicelines"
TURNOVER_GROUPS = "/turnovergroups"
TRANSACTION_INFO = "/transactions/{transactionId}"
ORDER_STATUS = "/orders/{id}/status"

Record = dict[str, Any]


@dataclass(slots=True)
class SettlementParts:
    """One settlement with the clearings and clearing lines embedded in it."""

    record: Record
    clearings: list[Record] = field(default_factory=list)
    lines_by_clearing: dict[str, list[Record]] = field(default_factory=dict)


def _reference(node: Node, key: str, *fields: str) -> dict[str, Any]:
    """Flatten an optional reference object, e.g. turnoverGroup{code,name} -> turnoverGroupCode."""
    holder = node.get(key, required=False)
    out: dict[str, Any] = {}
    if holder.value is not None:
        holder.as_object()
    for name in fields:
        column = key + name[0].upper() + name[1:]
        out[column] = holder.text(name) if holder.value is not None else None
    return out


def _integer_reference(node: Node, key: str, id_field: str = "id") -> Any:
    holder = node.get(key, required=False)
    if holder.value is None:
        return None
    return holder.as_object().integer(id_field)


def signed_line_amount(amount: Decimal, direction: str | None) -> Decimal:
    """A clearing line's effect on the payout: DEBIT lines lower it, whatever sign Pay. sent."""
    # [I] Whether DEBIT lines carry negative values or positive ones with a direction is not
    # documented (pay-api.md §4.1, §11); this rule is right for both.
    return -abs(amount) if direction == "DEBIT" else amount


def settlement_parts(
    item: Node, revenue_groups: frozenset[str] | None, unit: AmountUnit = AmountUnit.MINOR
) -> SettlementParts:
    """A ``/clearings/settlements`` item, its clearings and lines (only the wanted groups').

    ``unit`` is the setting settlement_amount_unit; the amount is read in the unit the
    settlement's own lines and "Funds:" text support (:func:`tap_pay.units.decide_unit`), and
    the record says when that contradicts the setting.
    """
    item = item.as_object()
    code = item.code("code")
    item = item.about(f"settlement {code}")
    settlement_date = item.date("settlementDate", required=True)
    confirmation_date = item.date("confirmationDate")
    amount_node = item.get("amount").as_object()
    currency = amount_node.currency("currency")
    value = amount_node.get("value")
    account = item.get("clearingAccount", required=False)
    iban = account.get("iban", required=False) if account.value is not None else None
    record: Record = {
        "code": code,
        "description": item.text("description"),
        "settlementDate": settlement_date,
        "confirmationDate": confirmation_date,
        "amount": None,  # decided below, from the settlement's own evidence
        "currency": currency,
        "baseAccountIban": item.text("baseAccountIban"),
        "clearingAccountMethod": account.text("method") if account.value is not None else None,
        "clearingAccountIban": iban.text("iban") if iban and iban.value is not None else None,
        "clearingAccountBic": iban.text("bic") if iban and iban.value is not None else None,
        "clearingAccountOwner": iban.text("owner") if iban and iban.value is not None else None,
    }
    parts = SettlementParts(record)
    every_line: list[Record] = []
    for entry in item.items("clearings", required=False):
        clearing_id = entry.as_object().code("clearingId")
        clearing = entry.about(f"settlement {code}, clearing {clearing_id}")
        lines = [
            clearing_line_record(line, clearing_id, code, settlement_date)
            for line in clearing.items("clearingLines", required=False)
        ]
        every_line.extend(lines)
        clearing_record = _clearing_record(clearing, clearing_id, record, lines)
        groups = clearing_record["turnoverGroupCodes"]
        if revenue_groups is not None and not revenue_groups.intersection(groups):
            continue
        parts.clearings.append(clearing_record)
        parts.lines_by_clearing[clearing_id] = lines
    same_currency = all(line["currency"] == currency for line in every_line)
    try:
        decision = decide_unit(
            value.value,
            currency,
            unit,
            [line["amount"] for line in every_line] if same_currency else None,
            record["description"],
        )
    except AmountError as exc:
        value.fail(str(exc))
    record["amount"] = decision.amount
    record["amountUnit"] = decision.unit.value
    record["fundsAmount"] = decision.funds
    record["amountProblem"] = decision.problem
    # Every line of every clearing, whatever the revenue-group filter keeps: a target judges
    # the stated amount against all of them, not only against the clearings it books.
    # [I] Pay. serves a settlement whole under turnoverGroup[eq] (the filter selects
    # settlements, pay-api.md §4.1); were it trimmed, the sum would fall short and the
    # settlement would wait, never be booked wrong.
    record["lines"] = [{k: line[k] for k in SETTLEMENT_LINE_FIELDS} for line in every_line]
    record["clearingIds"] = [c["clearingId"] for c in parts.clearings]
    return parts


# What the settlement record repeats of each of its clearing lines.
SETTLEMENT_LINE_FIELDS = (
    "code",
    "clearingId",
    "turnoverGroupCode",
    "direction",
    "amount",
    "currency",
)


def clearing_line_record(
    line: Node, clearing_id: str, settlement_code: str, settlement_date: str
) -> Record:
    unit = UNIT_BY_ENDPOINT[SETTLEMENTS + "#clearingLines"]
    line = line.as_object()
    code = line.code("code")
    line = line.about(f"settlement {settlement_code}, clearing line {code}")
    amount, currency = line.money("amount", unit)
    assert amount is not None
    line_type = line.get("clearingLineType", required=False)
    has_type = line_type.value is not None
    if has_type:
        line_type.as_object()
    direction = line_type.text("direction") if has_type else None
    if direction is not None and direction not in ("CREDIT", "DEBIT"):
        line_type.get("direction").fail("expected CREDIT or DEBIT")
    return {
        "code": code,
        "clearingId": clearing_id,
        "settlementCode": settlement_code,
        "settlementDate": line.date("settlementDate") or settlement_date,
        "clearingDate": line.date("clearingDate"),
        "valueDate": line.date("valueDate"),
        "state": line.text("state"),
        **_reference(line, "turnoverGroup", "code", "name"),
        "clearingLineTypeId": line_type.integer("id") if has_type else None,
        "clearingLineTypeName": line_type.text("name") if has_type else None,
        "direction": direction,
        "collecting": line_type.boolean("collecting") if has_type else None,
        "amount": signed_line_amount(amount, direction),
        "currency": currency,
        **_reference(line, "merchant", "code", "name", "contractPackage"),
        "transactions": line.integer("transactions"),
        "uniquePayers": line.integer("uniquePayers"),
    }


def _clearing_record(
    clearing: Node, clearing_id: str, settlement: Record, lines: list[Record]
) -> Record:
    currencies = {line["currency"] for line in lines}
    if len(currencies) > 1:
        clearing.get("clearingLines").fail("expected one currency per clearing", sorted(currencies))
    currency = currencies.pop() if currencies else settlement["currency"]
    groups = sorted({line["turnoverGroupCode"] for line in lines if line["turnoverGroupCode"]})
    names = {line["turnoverGroupCode"]: line["turnoverGroupName"] for line in lines}
    merchants = {line["merchantCode"] for line in lines if line["merchantCode"]}
    announced = [line["transactions"] for line in lines]
    single_group = groups[0] if len(groups) == 1 else None
    return {
        "clearingId": clearing_id,
        "settlementCode": settlement["code"],
        "settlementDate": settlement["settlementDate"],
        "confirmationDate": settlement["confirmationDate"],
        "turnoverGroupCode": single_group,
        "turnoverGroupName": names.get(single_group) if single_group else None,
        "turnoverGroupCodes": groups,
        "merchantCode": merchants.pop() if len(merchants) == 1 else None,
        "amount": sum((line["amount"] for line in lines), Decimal(0)).quantize(quantum(currency)),
        "currency": currency,
        "lineCount": len(lines),
        "announcedTransactions": (
            sum(announced) if lines and all(n is not None for n in announced) else None
        ),
    }


def clearing_record_record(item: Node, clearing_id: str) -> Record:
    """A ``/clearings/{clearingId}/records`` item: one payment, refund or chargeback."""
    unit = UNIT_BY_ENDPOINT[CLEARING_RECORDS]
    item = item.as_object()
    order_id = item.code("orderId")
    item = item.about(f"clearing {clearing_id}, order {order_id}")
    # The primary key: a refund or chargeback keeps its payment's orderId and may share a
    # clearing with it, so (clearingId, orderId) is not unique; reportingId is per record.
    reporting_id = item.code("reportingId")
    own_clearing = item.text("clearingId")
    if own_clearing is not None and own_clearing != clearing_id:
        item.get("clearingId").fail(f"expected {clearing_id!r}, the clearing that was asked for")
    amount, currency = item.money("amount", unit)
    foreign, foreign_currency = item.money("currencyAmount", unit, required=False)
    method = item.get("paymentMethod", required=False)
    has_method = method.value is not None
    if has_method:
        method.as_object()
    return {
        "reportingId": reporting_id,
        "clearingId": clearing_id,
        "settlementCode": item.text("settlementCode"),
        "orderId": order_id,
        "description": item.text("description"),
        "reference": item.text("reference"),
        "amount": amount,
        "currency": currency,
        "currencyAmount": foreign,
        "currencyAmountCurrency": foreign_currency,
        "paymentMethodId": method.integer("id") if has_method else None,
        "paymentMethodSubId": _loose_text(method, "subId") if has_method else None,
        "paymentMethodName": method.text("name") if has_method else None,
        **_reference(item, "turnoverGroup", "code", "name"),
        **_reference(item, "merchant", "code", "name"),
        "transactionDate": item.timestamp("transactionDate"),
    }


def _loose_text(node: Node, key: str) -> str | None:
    """An identifier Pay. sends as a string in one spec and a number in another."""
    child = node.get(key, required=False)
    if child.value is None:
        return None
    if isinstance(child.value, bool) or not isinstance(child.value, str | int | Decimal):
        child.fail("expected a string or a number")
    return str(child.value)


# [I] Pay.'s SDK filters invoice lines on type[eq]=SELL|BUY (paynl/sdk-net
# PAYNLSDK.SDK/Utilities/InvoiceType.cs, QueryFilterExtensions/InvoiceLineFilter.cs) and reads
# `type` on each part (V2/DataTransferModels/Merchants/InvoiceLines/Line.cs). SELL is what Pay.
# sells, i.e. charges the merchant; BUY what Pay. buys (a partner's share): not the merchant's cost.
CHARGED_TYPE = "SELL"
NOT_CHARGED_TYPE = "BUY"


def invoice_line_record(item: Node) -> Record:
    """A ``/invoicelines`` item: Pay.'s fees per day, revenue group and billing line type.

    Rates and costs keep every decimal Pay. sent; only ``merchantCosts``, the amount a target
    books as fees, is rounded: once per invoice line, ROUND_HALF_UP to the currency's minor unit.
    """
    unit = UNIT_BY_ENDPOINT[INVOICE_LINES]
    item = item.as_object()
    code = item.code("code")
    item = item.about(f"invoice line {code}")
    volume, volume_currency = item.money("volume", unit, value_key="amount", required=False)
    costs, currency = item.rate("totalCosts", value_key="totalCosts", required=True)
    assert currency is not None
    assert costs is not None
    billing = item.get("billingLineType", required=False)
    has_billing = billing.value is not None
    if has_billing:
        billing.as_object()
    lines = []
    charged = Decimal(0)
    for part in item.items("lines", required=False):
        line = part.as_object()
        line_costs, line_currency = line.rate("costs", value_key="revenue")
        line_type = line.text("type")
        if line_type is not None and line_type not in (CHARGED_TYPE, NOT_CHARGED_TYPE):
            line.get("type").fail(f"expected {CHARGED_TYPE} or {NOT_CHARGED_TYPE}")
        if line_costs is not None and line_currency not in (None, currency):
            line.get("costs").get("currency").fail(f"expected {currency}, the line's currency")
        if line_type != NOT_CHARGED_TYPE and line_costs is not None:
            charged += line_costs
        lines.append(
            {
                "code": line.text("code"),
                "type": line_type,
                **_reference(line, "unitType", "name"),
                "unitTypeId": _integer_reference(line, "unitType"),
                "rate": line.number("amount"),
                "costs": line_costs,
                "currency": line_currency,
                "processedDate": line.date("processedDate"),
            }
        )
    # Without parts, Pay.'s total is all there is to go by.
    to_book = charged if lines else costs
    return {
        "code": code,
        "invoiceId": item.text("invoiceID"),
        "date": item.date("date", required=True),
        "valueDate": item.date("valueDate"),
        "paymentDate": item.date("paymentDate"),
        "state": item.text("state"),
        **_reference(item, "merchant", "code", "contractPackage"),
        **_reference(item, "turnoverGroup", "code", "name"),
        "billingLineTypeId": billing.integer("id") if has_billing else None,
        "billingLineTypeName": billing.text("name") if has_billing else None,
        "volume": volume,
        "volumeCurrency": volume_currency,
        "totalCosts": costs,
        "merchantCosts": to_book.quantize(quantum(currency), ROUND_HALF_UP),
        "currency": currency,
        "transactions": item.integer("transactions"),
        "payers": item.integer("payers"),
        "vatPercentage": item.number("vatPercentage"),
        "lines": lines,
    }


def turnover_group_record(item: Node) -> Record:
    """A ``/turnovergroups`` item: a revenue group (CT- code)."""
    item = item.as_object()
    code = item.code("code")
    item = item.about(f"turnover group {code}")
    bank = item.get("bankAccount", required=False)
    has_bank = bank.value is not None
    if has_bank:
        bank.as_object()
    iban = bank.get("iban", required=False) if has_bank else None
    has_iban = iban is not None and iban.value is not None
    return {
        "code": code,
        "name": item.text("name"),
        "default": item.boolean("default"),
        "description": item.text("description"),
        "paymentDescription": item.text("paymentDescription"),
        **_reference(item, "merchant", "code", "name", "status"),
        "bankAccountCode": bank.text("code") if has_bank else None,
        "bankAccountStatus": bank.text("status") if has_bank else None,
        "bankAccountMethod": bank.text("method") if has_bank else None,
        "bankAccountIban": iban.text("iban") if has_iban else None,
        "bankAccountBic": iban.text("bic") if has_iban else None,
        "bankAccountOwner": iban.text("owner") if has_iban else None,
        "createdAt": item.timestamp("createdAt"),
        "createdBy": item.text("createdBy"),
        "modifiedAt": item.timestamp("modifiedAt"),
        "modifiedBy": item.text("modifiedBy"),
        "deletedAt": item.timestamp("deletedAt"),
        "deletedBy": item.text("deletedBy"),
    }


def transaction_record(item: Node, order_id: str) -> Record:
    """Transaction:Info for one payment: what clearing records lack (extra1..3, customer)."""
    unit = UNIT_BY_ENDPOINT[TRANSACTION_INFO]
    item = item.as_object().about(f"transaction for order {order_id}")
    transaction_id = item.code("id")
    amount, currency = item.money("amount", unit)
    assert currency is not None
    converted, converted_currency = item.money("amountConverted", unit, required=False)
    paid = _same_currency_amount(item, "amountPaid", currency, unit)
    refunded = _same_currency_amount(item, "amountRefunded", currency, unit)
    status = item.get("status", required=False)
    has_status = status.value is not None
    if has_status:
        status.as_object()
    method = item.get("paymentMethod", required=False)
    has_method = method.value is not None
    if has_method:
        method.as_object()
    integration = item.get("integration", required=False)
    customer = item.get("customer", required=False)
    has_customer = customer.value is not None
    if has_customer:
        customer.as_object()
    company = customer.get("company", required=False) if has_customer else None
    has_company = company is not None and company.value is not None
    stats = item.get("stats", required=False)
    has_stats = stats.value is not None
    if has_stats:
        stats.as_object()
    return {
        "id": transaction_id,
        "orderId": item.text("orderId") or order_id,
        "description": item.text("description"),
        "reference": item.text("reference"),
        "manualTransferCode": item.text("manualTransferCode"),
        "type": item.text("type"),
        "amount": amount,
        "currency": currency,
        "amountConverted": converted,
        "amountConvertedCurrency": converted_currency,
        "amountPaid": paid,
        "amountRefunded": refunded,
        "paymentMethodId": method.integer("id") if has_method else None,
        "paymentMethodSubId": _loose_text(method, "subId") if has_method else None,
        "paymentMethodName": method.text("name") if has_method else None,
        "statusCode": status.integer("code") if has_status else None,
        "statusAction": status.text("action") if has_status else None,
        "statusPhase": status.text("phase") if has_status else None,
        "testMode": (
            integration.as_object().boolean("testMode") if integration.value is not None else None
        ),
        **{
            f"customer{name[0].upper()}{name[1:]}": customer.text(name) if has_customer else None
            for name in ("email", "firstName", "lastName", "type", "phone", "reference")
        },
        **{
            f"company{name[0].upper()}{name[1:]}": company.text(name) if has_company else None
            for name in ("name", "coc", "vat", "countryCode")
        },
        **{
            name: stats.text(name) if has_stats else None
            for name in ("extra1", "extra2", "extra3", "info", "tool", "object", "domainId")
        },
        # The spec's example and Pay.'s SDKs name these serviceCode, createdAt, modifiedAt and
        # expiresAt (labd/paynl-js-sdk packages/transaction/openapi.json); the spec's schema
        # still lists serviceId, created, modified and expire: either is read.
        "serviceCode": _either_text(item, "serviceCode", "serviceId"),
        "createdAt": _either_timestamp(item, "createdAt", "created"),
        "modifiedAt": _either_timestamp(item, "modifiedAt", "modified"),
        "expiresAt": _either_timestamp(item, "expiresAt", "expire"),
        "source": "transactions",
    }


def _either_text(item: Node, name: str, older: str) -> str | None:
    return item.text(name) if item.has(name) else item.text(older)


def _either_timestamp(item: Node, name: str, older: str) -> str | None:
    return item.timestamp(name) if item.has(name) else item.timestamp(older)


def order_record(item: Node, order_id: str) -> Record:
    """Order:Status (TGU Order API v1) for one payment, in the ``transactions`` stream's shape.

    What Transaction:Info calls ``customer`` is ``checkoutData.customer`` here (labd/paynl-js-sdk
    packages/connect/openapi.json; paynl/sdk-net V3/DataTransferObjects/Orders/V3Order.cs,
    V3Customer.cs); ``stats`` (extra1..3) as pay-api.md §4.9 lists it.
    """
    unit = UNIT_BY_ENDPOINT[ORDER_STATUS]
    item = item.as_object().about(f"order {order_id}")
    amount, currency = item.money("amount", unit)
    assert currency is not None
    captured = _same_currency_amount(item, "capturedAmount", currency, unit)
    status = item.get("status", required=False)
    has_status = status.value is not None
    if has_status:
        status.as_object()
    integration = item.get("integration", required=False)
    checkout = item.get("checkoutData", required=False)
    customer = (
        checkout.as_object().get("customer", required=False) if checkout.value is not None else None
    )
    has_customer = customer is not None and customer.value is not None
    if has_customer:
        customer.as_object()
    company = customer.get("company", required=False) if has_customer else None
    has_company = company is not None and company.value is not None
    if has_company:
        company.as_object()
    stats = item.get("stats", required=False)
    has_stats = stats.value is not None
    if has_stats:
        stats.as_object()
    payments = item.items("payments", required=False)
    method = payments[0].as_object().get("paymentMethod", required=False) if payments else None
    has_method = method is not None and method.value is not None
    if has_method:
        method.as_object()
    customer_fields = {"email": "email", "firstName": "firstname", "lastName": "lastname"}
    customer_fields.update({"type": "type", "phone": "phone", "reference": "reference"})
    company_fields = {"name": "name", "coc": "cocNumber", "vat": "vatNumber"}
    company_fields["countryCode"] = "country"
    return {
        "id": item.code("id"),
        "orderId": item.text("orderId") or order_id,
        "serviceCode": _either_text(item, "serviceId", "serviceCode"),
        "description": item.text("description"),
        "reference": item.text("reference"),
        "manualTransferCode": item.text("manualTransferCode"),
        "type": None,
        "amount": amount,
        "currency": currency,
        "amountConverted": None,
        "amountConvertedCurrency": None,
        "amountPaid": captured,
        "amountRefunded": None,
        "paymentMethodId": method.integer("id") if has_method else None,
        "paymentMethodSubId": None,
        "paymentMethodName": None,
        "statusCode": status.integer("code") if has_status else None,
        "statusAction": status.text("action") if has_status else None,
        "statusPhase": None,
        "testMode": (
            integration.as_object().boolean("test") if integration.value is not None else None
        ),
        **{
            f"customer{name[0].upper()}{name[1:]}": customer.text(key) if has_customer else None
            for name, key in customer_fields.items()
        },
        **{
            f"company{name[0].upper()}{name[1:]}": company.text(key) if has_company else None
            for name, key in company_fields.items()
        },
        **{
            name: stats.text(name) if has_stats else None
            for name in ("extra1", "extra2", "extra3", "info", "tool", "object", "domainId")
        },
        "createdAt": item.timestamp("createdAt"),
        "modifiedAt": item.timestamp("modifiedAt"),
        "expiresAt": item.timestamp("expiresAt"),
        "source": "orders",
    }


def _same_currency_amount(item: Node, key: str, currency: str, unit: AmountUnit) -> Decimal | None:
    value, other = item.money(key, unit, required=False)
    if other is not None and other != currency:
        item.get(key).get("currency").fail(f"expected {currency}, the transaction's currency")
    return value
