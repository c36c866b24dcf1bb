"""Business rules for entries: validation as Exact applies it, then the entry's effects.

Every POST is validated completely before anything changes, so a rejected entry leaves no trace.
Effects of a posted entry: ledger lines (``TransactionLines``), open items (``Receivables`` and
``ReceivablesList``) and settlement of open items by payments that link to them.

Signs. Sales entries: an invoice is a positive open item, a credit note a negative one. Bank lines
are bank movements (money in is positive) [C for the balance rule; I for the sign]; on the
debtors G/L a bank line therefore lowers the customer's balance by its amount. General journal
lines and ledger lines use the ledger sign (debit positive) [I].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .errors import ExactError, bad_request, business
from .schema import (
    BANK_ENTRY,
    BANK_ENTRY_LINE,
    GJ_ENTRY,
    GJ_ENTRY_LINE,
    SALES_ENTRY,
    SALES_ENTRY_LINE,
    EntityType,
    FieldType,
)
from .store import AP_GL_TYPE, AR_GL_TYPE, ExactStore
from .values import is_guid, money, norm_guid, parse_amount, parse_date

Row = dict[str, Any]

SALES_JOURNAL_TYPES = frozenset({20, 21})
# Revenue (110) is the sales G/L type [C]; other income types are allowed too [I].
REVENUE_GL_TYPES = frozenset({110, 140, 160})
# Type 16 (payment service) journals accept bank entries, but BankEntries GET hides them [C].
BANK_JOURNAL_TYPES = frozenset({12, 16})
GENERAL_JOURNAL_TYPE = 90
DEFAULT_PAYMENT_DAYS = 14  # due date when none is sent [I]
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


# -- reading a request: every property converted to a plain value before any rule runs -------
# Exact converts the whole payload before it applies a business rule, so a malformed value in
# any line answers the conversion error and nothing is stored [C texts; I order].
_EDM_TYPE_NAMES = {
    "guid": "Guid",
    "str": "String",
    "int": "Int32",
    "int64": "Int64",
    "dec": "Double",
    "bool": "Boolean",
    "date": "DateTime",
}
_INT_LIMITS = {"int": INT32_MAX, "int64": INT64_MAX}


def _check_properties(body: Row, entity: EntityType) -> None:
    if not isinstance(body, dict):
        raise bad_request("bad_body")
    for name in body:
        if name == "__metadata" or name in entity.nav:
            continue
        if name not in entity.fields:
            raise bad_request("unknown_property", prop=name, type=entity.metadata_type)


def _parsed(body: Row, entity: EntityType) -> Row:
    """The properties of ``body`` (line collections aside) as plain values of their types."""
    _check_properties(body, entity)
    return {
        name: _converted(name, value, entity.fields[name])
        for name, value in body.items()
        if name in entity.fields
    }


def _converted(prop: str, value: Any, kind: FieldType) -> Any:
    if value is None:
        return None
    if kind == "guid":
        if value == "":
            return None
        if not is_guid(value):
            raise business("guid_conversion", prop=prop)  # HTTP 500 [C] (PICQER#263, #595)
        return norm_guid(value)
    if kind in ("int", "int64"):
        return _integer(prop, value, kind)
    if kind == "dec":
        return _decimal(prop, value)
    if kind == "date":
        try:
            return parse_date(value)
        except ValueError as exc:
            raise _conversion(prop, kind) from exc
    if kind == "bool":
        if not isinstance(value, bool):  # only JSON true/false convert [I]
            raise _conversion(prop, kind)
        return value
    if isinstance(value, dict | list):
        raise _conversion(prop, kind)
    return str(value)  # a number sent for a text property is taken as its text [I]


def _conversion(prop: str, kind: FieldType) -> ExactError:
    return business("type_conversion", prop=prop, type=_EDM_TYPE_NAMES[kind])


def _integer(prop: str, value: Any, kind: FieldType) -> int:
    if isinstance(value, bool):
        raise _conversion(prop, kind)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if not isinstance(value, int) or abs(value) > _INT_LIMITS[kind]:
        raise _conversion(prop, kind)
    return value


def _decimal(prop: str, value: Any) -> Decimal:
    """A finite number that can also be held in cents (so ``money`` never fails later)."""
    try:
        number = parse_amount(value)
        if number.is_finite():
            money(number)
            return number
    except (ValueError, ArithmeticError):
        pass
    raise _conversion(prop, "dec")


def _amount(values: Row, prop: str, *, missing: str | None = None) -> Decimal | None:
    """A money property of parsed ``values``, in cents."""
    value = values.get(prop)
    if value is None:
        if missing:
            raise business(missing)
        return None
    return money(value)


def _lines(body: Row, key: str, entity: EntityType) -> list[Row]:
    """The entry's lines, each parsed (``results`` wrapping as in Exact's own output is fine)."""
    lines = body.get(key)
    if isinstance(lines, dict) and isinstance(lines.get("results"), list):
        lines = lines["results"]
    if not isinstance(lines, list) or not lines:
        raise business("lines_required")
    return [_parsed(line, entity) for line in lines]


# -- business rules on parsed values ----------------------------------------------------------
def _gl(store: ExactStore, line: Row) -> Row:
    gl_id = line.get("GLAccount")
    if gl_id is None:
        raise business("gl_required")
    gl = store.gl_accounts.get(gl_id)
    if gl is None:
        raise business("invalid_gl")
    if gl["IsBlocked"]:
        raise business("gl_blocked")
    return gl


def _account(
    store: ExactStore, values: Row, prop: str, *, missing: str | None = None
) -> Row | None:
    account_id = values.get(prop)
    if account_id is None:
        if missing:
            raise business(missing)
        return None
    account = store.accounts.get(account_id)
    if account is None:
        raise business("invalid_account")
    return account


def _open_period(
    store: ExactStore, moment: datetime, year: int | None, number: int | None, *, seeding: bool
) -> Row:
    """The period an entry lands in; it must exist and, outside seeding, be open."""
    if year is not None and number is not None:
        period = store.period(year, number)
        if period is None:
            raise business("period_missing", year=year, period=number)
    else:
        period = store.period_for(moment)
        if period is None:
            raise business("period_missing", year=moment.year, period=moment.month)
    if period["_closed"] and not seeding:
        raise business("period_closed", year=period["FinYear"], period=period["FinPeriod"])
    return period


def _entry_number(store: ExactStore, journal: Row, year: int, given: int | None) -> int:
    used = store.entry_numbers.setdefault((journal["Code"], year), set())
    if given is not None:
        # Whether Exact rejects a duplicate EntryNumber is unknown [I]; the sandbox does.
        if given in used:
            raise business("already_exists")
        return given
    code = journal["Code"]
    series = int(code) % 100 if code.isdigit() else 99
    # Exact numbers entries per journal and year, e.g. 24700012 = 2024, journal 70, #12 [I].
    base = (year % 100) * 1_000_000 + series * 10_000
    return max(store.entry_number_max.get((code, year), base), base) + 1


def _claim_number(store: ExactStore, journal: Row, year: int, number: int) -> None:
    key = (journal["Code"], year)
    store.entry_numbers.setdefault(key, set()).add(number)
    store.entry_number_max[key] = max(store.entry_number_max.get(key, number), number)


def _journal(store: ExactStore, values: Row, prop: str) -> Row | None:
    """The journal an entry names in ``prop``; it must be given, its existence is checked later."""
    journal_code = values.get(prop)
    if journal_code in (None, ""):
        raise business("journal_required")
    return store.journal_by_code(journal_code)


def _currency(store: ExactStore, journal: Row, values: Row) -> tuple[str, Decimal]:
    currency = str(values.get("Currency") or journal["Currency"] or store.currency)
    if currency != journal["Currency"] and not journal["AllowVariableCurrency"]:
        raise business("currency_mismatch")  # [C field docs; I behaviour]
    return currency, store.rate(currency, values.get("ExchangeRate"))


# -- ledger lines ------------------------------------------------------------------------------
def _gl_and_account(gl: Row, account: Row | None) -> Row:
    """The G/L account and relation a line names, with their codes and names copied onto it."""
    return {
        "GLAccount": gl["ID"],
        "GLAccountCode": gl["Code"],
        "GLAccountDescription": gl["Description"],
        "Account": account["ID"] if account else None,
        "AccountCode": account["Code"] if account else None,
        "AccountName": account["Name"] if account else None,
    }


def _transaction_line(store: ExactStore, entry: Row, journal: Row, **fields: Any) -> Row:
    gl = store.gl_accounts[fields.pop("gl_id")]
    account = store.accounts.get(fields.pop("account_id", None) or "")
    row = store.audit(
        {
            "ID": store.new_guid("transactionline"),
            "EntryID": entry["EntryID"],
            "EntryNumber": entry["EntryNumber"],
            "JournalCode": journal["Code"],
            "JournalDescription": journal["Description"],
            **_gl_and_account(gl, account),
            "AmountVATFC": None,
            "Notes": None,
            "InvoiceNumber": None,
            "YourRef": None,
            "PaymentReference": None,
            "DueDate": None,
            "OffsetID": None,
            "Status": 20,
            "VATCode": None,
            "Document": None,
            "Timestamp": store.next_rowversion(),
            **fields,
        }
    )
    store.transaction_lines[row["ID"]] = store.pool.row(row)
    return row


# -- open items ------------------------------------------------------------------------------
def _new_receivable(store: ExactStore, **fields: Any) -> Row:
    account = store.accounts[fields["Account"]]
    open_fc = fields["AmountFC"]
    row = store.audit(
        {
            "ID": store.new_guid("receivable"),
            "AccountCode": account["Code"],
            "AccountName": account["Name"],
            "IsFullyPaid": False,
            "LastPaymentDate": None,
            "EndDate": None,
            "EndPeriod": None,
            "EndYear": None,
            "PaymentMethod": "B",
            "Status": 20,
            "Document": None,
            "EndToEndID": None,
            "PaymentReference": None,
            "YourRef": None,
            "TransactionID": None,
            # The linked transaction's own total keeps its sign whatever the convention of
            # AmountDC: positive for an invoice (TimPelgrim/exactonline-mcp research.md) [I].
            "TransactionAmountDC": fields["AmountDC"],
            "TransactionIsReversal": False,
            **fields,
            "_open_fc": open_fc,
            "_open_dc": fields["AmountDC"],
            "_hid": store.next_hid(),
            "_payments": [],
        }
    )
    store.add_receivable(row)
    return row


def _apply_to_receivables(
    store: ExactStore,
    *,
    account: Row,
    our_ref: int | None,
    effect_fc: Decimal,
    rate: Decimal,
    currency: str,
    when: datetime,
    period: Row,
    line: Row,
    entry: Row,
    journal: Row,
) -> list[Row]:
    """A line on the debtors G/L with an Account: settle, reduce, or leave an unmatched item.

    ``effect_fc`` is the change of the customer's balance (negative for a payment). Exact links
    a payment to an invoice when it carries the customer's Account and the invoice number in
    OurRef [I], and marks the invoice paid only at exactly the open amount [C community report].
    """
    effects: list[Row] = []
    if effect_fc == 0:
        return effects
    target = None
    if our_ref is not None and store.config.links_settle:
        for item in store.receivables_for_invoice(our_ref):
            if (
                item["InvoiceNumber"] == our_ref
                and item["Account"] == account["ID"]
                and item["TransactionType"] in (20, 21)
                and item["Status"] == 20
                and item["_open_fc"] != 0
            ):
                target = item
                break
    if target is not None and target["Currency"] == currency:
        remaining = target["_open_fc"] + effect_fc
        if remaining == 0:
            effects.append(
                {
                    "kind": "settled",
                    "receivable": target["ID"],
                    "effect_fc": effect_fc,
                    "effect_dc": -target["_open_dc"],
                    "previous_payment_date": target["LastPaymentDate"],
                }
            )
            target.update(
                {
                    "_open_fc": Decimal("0.00"),
                    "_open_dc": Decimal("0.00"),
                    "Status": 50,
                    "IsFullyPaid": True,
                    "LastPaymentDate": when,
                    "EndDate": when,
                    "EndYear": period["FinYear"],
                    "EndPeriod": period["FinPeriod"],
                    "Modified": store.now(),
                }
            )
            target["_payments"].append({"line": line["ID"], "entry": entry["EntryID"]})
            return effects
        paying = (effect_fc < 0) == (target["_open_fc"] > 0)  # opposite signs: a payment
        if paying and abs(effect_fc) < abs(target["_open_fc"]):
            # A partial payment lowers the outstanding amount and the item stays open [I].
            effects.append(
                {
                    "kind": "partial",
                    "receivable": target["ID"],
                    "effect_fc": effect_fc,
                    "effect_dc": money(effect_fc * rate),
                    "previous_payment_date": target["LastPaymentDate"],
                }
            )
            target["_open_fc"] = remaining
            target["_open_dc"] = target["_open_dc"] + money(effect_fc * rate)
            if store.config.partial_sets_last_payment_date:
                target["LastPaymentDate"] = when  # [I] reference §4.6; a setting says otherwise
            target["Modified"] = store.now()
            target["_payments"].append({"line": line["ID"], "entry": entry["EntryID"]})
            return effects
    # Not linked (no or unknown OurRef, other customer, other currency, over-payment): the
    # money stays on the customer as an unmatched cash-flow item with YourRef null [I].
    item = _new_receivable(
        store,
        Account=account["ID"],
        AmountDC=money(effect_fc * rate),
        AmountFC=effect_fc,
        Currency=currency,
        Description=line.get("Description"),
        DueDate=when,
        EntryID=entry["EntryID"],
        EntryNumber=entry["EntryNumber"],
        EntryDate=when,
        InvoiceNumber=None,
        InvoiceDate=when,
        GLAccount=line["GLAccount"],
        GLAccountCode=line["GLAccountCode"],
        Journal=journal["Code"],
        JournalDescription=journal["Description"],
        Source=1,
        TransactionEntryID=entry["EntryID"],
        TransactionID=line["ID"],
        TransactionType=40,
        TransactionAmountFC=effect_fc,
        TransactionDueDate=when,
    )
    effects.append({"kind": "unmatched", "receivable": item["ID"]})
    return effects


def _reverse_effects(store: ExactStore, effects: list[Row]) -> None:
    for effect in reversed(effects):
        item = store.receivables.get(effect["receivable"])
        if item is None:
            continue
        if effect["kind"] == "unmatched":
            store.remove_receivable(item["ID"])
            continue
        item["_payments"] = [p for p in item["_payments"] if p["line"] != effect.get("line")]
        item["_open_fc"] = item["_open_fc"] - effect["effect_fc"]
        item["_open_dc"] = item["_open_dc"] - effect["effect_dc"]
        if effect["kind"] == "settled":
            item.update(
                {
                    "Status": 20,
                    "IsFullyPaid": False,
                    "EndDate": None,
                    "EndYear": None,
                    "EndPeriod": None,
                }
            )
        item["LastPaymentDate"] = effect["previous_payment_date"]
        item["Modified"] = store.now()


# -- sales entries -----------------------------------------------------------------------------
def post_sales_entry(store: ExactStore, body: Row, *, seeding: bool = False) -> Row:
    head = _parsed(body, SALES_ENTRY)
    raw_lines = _lines(body, "SalesEntryLines", SALES_ENTRY_LINE)
    journal = _journal(store, head, "Journal")
    if journal is None or journal["Type"] not in SALES_JOURNAL_TYPES:
        raise business("invalid_journal")  # [C] "Ongeldig: Dagboek"
    customer = _account(store, head, "Customer", missing="customer_required")
    assert customer is not None
    entry_date = head.get("EntryDate") or store.today()
    period = _open_period(
        store, entry_date, head.get("ReportingYear"), head.get("ReportingPeriod"), seeding=seeding
    )
    currency, rate = _currency(store, journal, head)
    entry_type = head.get("Type") or 20
    if entry_type not in (20, 21):
        raise business("type_conversion", prop="Type", type="Int32")
    lines: list[Row] = []
    for raw in raw_lines:
        gl = _gl(store, raw)
        if gl["Type"] not in REVENUE_GL_TYPES:
            raise business("invalid_gl_type")  # [C] debtors or VAT G/L on a sales line
        amount = _amount(raw, "AmountFC", missing="amount_required")
        assert amount is not None
        vat_code = raw.get("VATCode")
        vat_amount = _amount(raw, "VATAmountFC")
        percentage = Decimal(0)
        if vat_code is not None:
            vat = store.vat_codes.get(vat_code)
            if vat is None and store.vat_codes:
                raise business("type_conversion", prop="VATCode", type="VATCode")
            if vat is not None:
                percentage = vat["Percentage"]
        if vat_amount is None:
            vat_amount = money(amount * percentage)
        lines.append(
            {
                "gl": gl,
                "amount": amount,
                "vat_code": vat_code,
                "vat_amount": vat_amount,
                "percentage": percentage,
                "raw": raw,
            }
        )
    net = sum((line["amount"] for line in lines), Decimal(0))
    vat_total = sum((line["vat_amount"] for line in lines), Decimal(0))
    if entry_type == 21 and net + vat_total > 0:
        # A credit note sent with positive amounts is booked as a negative item [I].
        for line in lines:
            line["amount"], line["vat_amount"] = -line["amount"], -line["vat_amount"]
        net, vat_total = -net, -vat_total
    total_fc = net + vat_total
    given_number = head.get("EntryNumber")
    if given_number is None:
        given_number = head.get("InvoiceNumber")
    year = period["FinYear"]
    number = _entry_number(store, journal, year, given_number)
    ar_gl = store.default_ar_gl(customer)
    due = head.get("DueDate") or entry_date + timedelta(days=DEFAULT_PAYMENT_DAYS)
    status = head.get("Status") if seeding and head.get("Status") else 20

    # -- validated: write -------------------------------------------------------------------
    _claim_number(store, journal, year, number)
    entry_id = store.new_guid("salesentry")
    entry = store.audit(
        {
            "EntryID": entry_id,
            "EntryNumber": number,
            "InvoiceNumber": number,  # for sales entries the entry number is the invoice number [C]
            "Journal": journal["Code"],
            "JournalDescription": journal["Description"],
            "Customer": customer["ID"],
            "CustomerName": customer["Name"],
            "EntryDate": entry_date,
            "DueDate": due,
            "YourRef": head.get("YourRef"),
            "Description": head.get("Description"),
            "PaymentReference": head.get("PaymentReference"),
            "PaymentCondition": head.get("PaymentCondition"),
            "Currency": currency,
            "ExchangeRate": rate,
            "AmountFC": total_fc,
            "AmountDC": money(total_fc * rate),
            "VATAmountFC": vat_total,
            "VATAmountDC": money(vat_total * rate),
            "Type": entry_type,
            "TypeDescription": "Creditnota" if entry_type == 21 else "Verkoopboeking",
            "Status": status,
            "StatusDescription": "Open",
            "ReportingYear": year,
            "ReportingPeriod": period["FinPeriod"],
            "Document": head.get("Document"),
            "SalesEntryLines": [],
        }
    )
    for index, line in enumerate(lines, start=1):
        raw = line["raw"]
        entry["SalesEntryLines"].append(
            store.audit(
                {
                    "ID": store.new_guid("salesentryline"),
                    "EntryID": entry_id,
                    "LineNumber": index,
                    "GLAccount": line["gl"]["ID"],
                    "GLAccountCode": line["gl"]["Code"],
                    "GLAccountDescription": line["gl"]["Description"],
                    "Description": raw.get("Description"),
                    "AmountFC": line["amount"],
                    "AmountDC": money(line["amount"] * rate),
                    "VATCode": line["vat_code"],
                    "VATAmountFC": line["vat_amount"],
                    "VATAmountDC": money(line["vat_amount"] * rate),
                    "VATPercentage": line["percentage"],
                    "Quantity": raw.get("Quantity"),
                    "CostCenter": raw.get("CostCenter"),
                    "Notes": raw.get("Notes"),
                }
            )
        )
    store.sales_entries[entry_id] = store.pool.row(entry)
    tl_common = {
        "Date": entry_date,
        "FinancialYear": year,
        "FinancialPeriod": period["FinPeriod"],
        "Currency": currency,
        "ExchangeRate": rate,
        "Type": entry_type,
        "InvoiceNumber": number,
        "YourRef": entry["YourRef"],
        "PaymentReference": entry["PaymentReference"],
        "DueDate": due,
    }
    # Ledger: the debtors line (LineNumber 0, as in the sync API), revenue and VAT lines.
    _transaction_line(
        store,
        entry,
        journal,
        gl_id=ar_gl["ID"],
        account_id=customer["ID"],
        LineNumber=0,
        AmountFC=total_fc,
        AmountDC=entry["AmountDC"],
        Description=entry["Description"],
        **tl_common,
    )
    for index, (line, stored) in enumerate(
        zip(lines, entry["SalesEntryLines"], strict=True), start=1
    ):
        _transaction_line(
            store,
            entry,
            journal,
            gl_id=line["gl"]["ID"],
            account_id=customer["ID"],
            LineNumber=index,
            AmountFC=-line["amount"],
            AmountDC=-stored["AmountDC"],
            AmountVATFC=-line["vat_amount"],
            VATCode=line["vat_code"],
            Description=stored["Description"] or entry["Description"],
            Notes=stored["Notes"],
            **tl_common,
        )
        vat = store.vat_codes.get(line["vat_code"] or "")
        if line["vat_amount"] and vat is not None and vat["GLAccount"]:
            _transaction_line(
                store,
                entry,
                journal,
                gl_id=vat["GLAccount"],
                LineNumber=index,
                AmountFC=-line["vat_amount"],
                AmountDC=-stored["VATAmountDC"],
                VATCode=line["vat_code"],
                Description=stored["Description"] or entry["Description"],
                **tl_common,
            )
    _new_receivable(
        store,
        Account=customer["ID"],
        AmountDC=entry["AmountDC"],
        AmountFC=total_fc,
        Currency=currency,
        Description=entry["Description"],
        DueDate=due,
        EntryID=entry_id,
        EntryNumber=number,
        EntryDate=entry_date,
        InvoiceNumber=number,
        InvoiceDate=entry_date,
        GLAccount=ar_gl["ID"],
        GLAccountCode=ar_gl["Code"],
        Journal=journal["Code"],
        JournalDescription=journal["Description"],
        PaymentReference=entry["PaymentReference"],
        YourRef=entry["YourRef"],
        Source=1,
        TransactionEntryID=entry_id,
        TransactionID=entry["SalesEntryLines"][0]["ID"],
        TransactionType=entry_type,
        TransactionAmountFC=total_fc,
        TransactionDueDate=due,
    )
    return entry


def delete_sales_entry(store: ExactStore, entry_id: str) -> None:
    entry = store.sales_entries.get(entry_id)
    if entry is None:
        raise ExactError(404, "not_found", {"what": f"SalesEntries(guid'{entry_id}')"})
    if entry["Status"] != 20:
        raise business("entry_not_open")
    items = [
        r for r in store.receivables_for_invoice(entry["InvoiceNumber"]) if r["EntryID"] == entry_id
    ]
    if any(r["_payments"] for r in items):
        raise business("in_use")  # payments are linked to it [I]
    for item in items:
        store.remove_receivable(item["ID"])
    _drop_transaction_lines(store, entry_id)
    del store.sales_entries[entry_id]


def _drop_transaction_lines(store: ExactStore, entry_id: str) -> None:
    for line_id in [k for k, v in store.transaction_lines.items() if v["EntryID"] == entry_id]:
        del store.transaction_lines[line_id]


# -- bank entries and general journal entries ------------------------------------------------
@dataclass(frozen=True)
class EntryLine:
    """One bank or general journal line with every field read and checked: writing it can no
    longer fail, so an entry is either stored whole or not at all."""

    gl: Row
    account: Row | None
    amount: Decimal
    our_ref: int | None
    date: datetime
    period: Row
    description: str | None
    notes: str | None
    vat_code: str | None
    amount_vat: Decimal | None
    document: str | None
    cost_center: str | None
    cost_unit: str | None
    project: str | None
    quantity: Decimal | None
    vat_percentage: Decimal | None  # bank entry lines only
    vat_type: str | None  # bank entry lines only


def _validated_lines(
    store: ExactStore, raw_lines: list[Row], header_period: Row | None, *, seeding: bool
) -> list[EntryLine]:
    """The business rules on parsed lines; they run before anything of the entry is stored."""
    limit = store.config.line_description_max
    checked: list[EntryLine] = []
    for raw in raw_lines:
        gl = _gl(store, raw)
        amount = _amount(raw, "AmountFC", missing="amount_required")
        assert amount is not None
        account = _account(store, raw, "Account")
        if gl["Type"] in (AR_GL_TYPE, AP_GL_TYPE) and account is None:
            raise business("account_required")  # a debtors/creditors line needs a relation [I]
        when = raw.get("Date")
        if when is None:
            today = store.today()
            if (
                header_period is None
                or header_period["StartDate"] <= today <= (header_period["EndDate"])
            ):
                when = today
            else:
                when = header_period["EndDate"]
        period = _open_period(store, when, None, None, seeding=seeding)
        if header_period is not None and period["FinYear"] != header_period["FinYear"]:
            raise business("year_mismatch")  # [C] text, PICQER#515
        description = raw.get("Description")
        checked.append(
            EntryLine(
                gl=gl,
                account=account,
                amount=amount,
                our_ref=raw.get("OurRef"),  # Int32 "invoice number" [C]
                date=when,
                period=period,
                description=description[:limit] if description else description,
                notes=raw.get("Notes"),
                vat_code=raw.get("VATCode"),
                amount_vat=_amount(raw, "AmountVATFC"),
                document=raw.get("Document"),
                cost_center=raw.get("CostCenter"),
                cost_unit=raw.get("CostUnit"),
                project=raw.get("Project"),
                quantity=raw.get("Quantity"),
                vat_percentage=raw.get("VATPercentage"),
                vat_type=raw.get("VATType"),
            )
        )
    return checked


def _header_period(store: ExactStore, head: Row, *, seeding: bool) -> Row | None:
    year, number = head.get("FinancialYear"), head.get("FinancialPeriod")
    if year is None or number is None:
        return None
    return _open_period(store, datetime(year, 1, 1), year, number, seeding=seeding)  # noqa: DTZ001


def post_bank_entry(store: ExactStore, body: Row, *, seeding: bool = False) -> Row:
    head = _parsed(body, BANK_ENTRY)
    raw_lines = _lines(body, "BankEntryLines", BANK_ENTRY_LINE)
    journal = _journal(store, head, "JournalCode")
    if journal is None:
        raise business("invalid_journal")
    if journal["Type"] not in BANK_JOURNAL_TYPES:
        raise business("journal_not_bank")  # shape of [C] "Invalid journal. The journal must be..."
    currency, rate = _currency(store, journal, head)
    header_period = _header_period(store, head, seeding=seeding)
    lines = _validated_lines(store, raw_lines, header_period, seeding=seeding)
    period = header_period or lines[0].period
    if any(line.period["FinYear"] != period["FinYear"] for line in lines):
        raise business("year_mismatch")  # one entry, one financial year [I]
    total = sum((line.amount for line in lines), Decimal(0))
    current = store.journal_balance(journal["Code"])
    opening = _amount(head, "OpeningBalanceFC")
    closing = _amount(head, "ClosingBalanceFC")
    # "Opening balance plus all bank entry lines should result in the closing balance" [C].
    if opening is not None and closing is not None and opening + total != closing:
        raise business("balance_mismatch")
    if opening is None:
        opening = current if closing is None else closing - total
    if store.config.strict_opening_balance and opening != current:
        # "...an opening balance which should be the end balance of the previous entry" [C]
        # enforced as a rejection [I].
        raise business("opening_balance_mismatch", expected=f"{current:.2f}")
    closing = opening + total
    year = period["FinYear"]
    number = _entry_number(store, journal, year, head.get("EntryNumber"))
    status = head.get("Status") if seeding and head.get("Status") else 20

    # -- validated: write -------------------------------------------------------------------
    entry_head = _entry_head(
        store, journal, "bankentry", number=number, period=period, currency=currency
    )
    entry = _stored_row(
        store,
        BANK_ENTRY,
        {
            **entry_head,
            "OpeningBalanceFC": opening,
            "ClosingBalanceFC": closing,
            "Status": status,
            "BankStatementDocument": head.get("BankStatementDocument"),
            "BankEntryLines": [],
            "_journal_type": journal["Type"],
        },
    )
    store.bank_entries[entry["EntryID"]] = store.pool.row(entry)
    for index, line in enumerate(lines, start=1):
        row = _bank_entry_line(store, entry, line, index, rate)
        entry["BankEntryLines"].append(row)
        _book_line(store, entry, journal, row, line, rate=rate, effect_fc=-line.amount, tl_type=40)
    return entry


def _entry_head(
    store: ExactStore, journal: Row, guid_kind: str, *, number: int, period: Row, currency: str
) -> Row:
    """Claims the entry number; the header fields bank and general journal entries share."""
    year = period["FinYear"]
    _claim_number(store, journal, year, number)
    return {
        "EntryID": store.new_guid(guid_kind),
        "EntryNumber": number,
        "JournalCode": journal["Code"],
        "JournalDescription": journal["Description"],
        "Currency": currency,
        "FinancialYear": year,
        "FinancialPeriod": period["FinPeriod"],
        "StatusDescription": "Open",
    }


def _entry_line_fields(
    store: ExactStore,
    guid_kind: str,
    entry: Row,
    line: EntryLine,
    *,
    line_number: int,
    rate: Decimal,
) -> Row:
    """The fields a bank entry line and a general journal entry line share, read in one order."""
    return {
        "ID": store.new_guid(guid_kind),
        "EntryID": entry["EntryID"],
        "EntryNumber": entry["EntryNumber"],
        "LineNumber": line_number,
        "Date": line.date,
        **_gl_and_account(line.gl, line.account),
        "AmountFC": line.amount,
        "AmountDC": money(line.amount * rate),
        "AmountVATFC": line.amount_vat,
        "Description": line.description,
        "Notes": line.notes,
        "OurRef": line.our_ref,
        "Document": line.document,
        "CostCenter": line.cost_center,
        "CostUnit": line.cost_unit,
        "Project": line.project,
        "Quantity": line.quantity,
        "OffsetID": None,
    }


def _bank_entry_line(
    store: ExactStore, entry: Row, line: EntryLine, line_number: int, rate: Decimal
) -> Row:
    fields = _entry_line_fields(
        store, "bankentryline", entry, line, line_number=line_number, rate=rate
    )
    fields.update(
        {
            "VATCode": line.vat_code or line.gl["VATCode"],  # defaults from the G/L [C]
            "VATPercentage": line.vat_percentage,
            "VATType": line.vat_type,
            "ExchangeRate": rate,
            "_effects": [],
        }
    )
    return _stored_row(store, BANK_ENTRY_LINE, fields)


def _stored_row(store: ExactStore, entity: EntityType, values: Row) -> Row:
    """``values`` audited, in the order of the entity's fields, its line collection, the rest."""
    ordered = {name: values[name] for name in (*entity.fields, *entity.nav) if name in values}
    return store.audit(ordered | values)


def _book_line(
    store: ExactStore,
    entry: Row,
    journal: Row,
    row: Row,
    line: EntryLine,
    *,
    rate: Decimal,
    effect_fc: Decimal,
    tl_type: int,
) -> None:
    """Ledger line plus open-item effects of one bank or journal line."""
    account = line.account
    your_ref = None
    if account is not None and line.gl["Type"] == AR_GL_TYPE:
        effects = _apply_to_receivables(
            store,
            account=account,
            our_ref=line.our_ref,
            effect_fc=effect_fc,
            rate=rate,
            currency=entry["Currency"],
            when=line.date,
            period=line.period,
            line=row,
            entry=entry,
            journal=journal,
        )
        for effect in effects:
            effect["line"] = row["ID"]
            if effect["kind"] == "settled":
                # A bank line matched with one invoice takes that invoice's YourRef [C].
                your_ref = store.receivables[effect["receivable"]]["YourRef"]
        row["_effects"] = effects
    _transaction_line(
        store,
        entry,
        journal,
        gl_id=line.gl["ID"],
        account_id=account["ID"] if account else None,
        LineNumber=row["LineNumber"],
        Date=line.date,
        FinancialYear=entry["FinancialYear"],
        FinancialPeriod=entry["FinancialPeriod"],
        AmountFC=effect_fc,
        AmountDC=money(effect_fc * rate),
        Currency=entry["Currency"],
        ExchangeRate=rate,
        Description=row["Description"],
        Notes=row["Notes"],
        InvoiceNumber=row["OurRef"],
        YourRef=your_ref,
        VATCode=row["VATCode"],
        Type=tl_type,
    )


def add_bank_entry_line(store: ExactStore, body: Row) -> Row:
    """``POST BankEntryLines``: one more line on an open entry (``EntryID`` is then mandatory).

    Checked as completely as a whole entry before the entry changes.
    """
    raw = _parsed(body, BANK_ENTRY_LINE)
    entry_id = raw.get("EntryID")
    if entry_id is None:
        raise business("entry_required")
    entry = store.bank_entries.get(entry_id)
    if entry is None:
        raise business("entry_required")
    if entry["Status"] != 20:
        raise business("entry_not_open")
    journal = store.journal_by_code(entry["JournalCode"])
    assert journal is not None
    header = store.period(entry["FinancialYear"], entry["FinancialPeriod"])
    (line,) = _validated_lines(store, [raw], header, seeding=False)
    rate = entry["BankEntryLines"][0]["ExchangeRate"] if entry["BankEntryLines"] else Decimal(1)

    # -- validated: write -------------------------------------------------------------------
    row = _bank_entry_line(store, entry, line, len(entry["BankEntryLines"]) + 1, rate)
    entry["BankEntryLines"].append(row)
    entry["ClosingBalanceFC"] = entry["ClosingBalanceFC"] + line.amount
    entry["Modified"] = store.now()
    _book_line(store, entry, journal, row, line, rate=rate, effect_fc=-line.amount, tl_type=40)
    return row


def delete_bank_entry(store: ExactStore, entry_id: str) -> None:
    """DELETE while the entry is open (Status 20) [C methods; I status rule]; undoes its effects."""
    _delete_entry(store, entry_id, store.bank_entries, "BankEntries", "BankEntryLines")


def _delete_entry(
    store: ExactStore, entry_id: str, table: dict[str, Row], entity_set: str, lines_key: str
) -> None:
    entry = table.get(entry_id)
    if entry is None:
        raise ExactError(404, "not_found", {"what": f"{entity_set}(guid'{entry_id}')"})
    if entry["Status"] != 20:
        raise business("entry_not_open")
    for line in reversed(entry[lines_key]):
        _reverse_effects(store, line.get("_effects", []))
    _drop_transaction_lines(store, entry["EntryID"])
    del table[entry["EntryID"]]


def post_general_journal_entry(store: ExactStore, body: Row, *, seeding: bool = False) -> Row:
    head = _parsed(body, GJ_ENTRY)
    raw_lines = _lines(body, "GeneralJournalEntryLines", GJ_ENTRY_LINE)
    journal = _journal(store, head, "JournalCode")
    if journal is None or journal["Type"] != GENERAL_JOURNAL_TYPE:
        raise business("invalid_journal")  # [C] a sales journal gives "Ongeldig: Dagboek"
    currency, rate = _currency(store, journal, head)
    header_period = _header_period(store, head, seeding=seeding)
    lines = _validated_lines(store, raw_lines, header_period, seeding=seeding)
    difference = sum((line.amount for line in lines), Decimal(0))
    if difference != 0:
        raise business("not_balanced", difference=f"{difference:.2f}")  # [I]
    period = header_period or lines[0].period
    year = period["FinYear"]
    number = _entry_number(store, journal, year, head.get("EntryNumber"))

    # -- validated: write -------------------------------------------------------------------
    entry_head = _entry_head(
        store, journal, "generaljournalentry", number=number, period=period, currency=currency
    )
    entry = _stored_row(
        store,
        GJ_ENTRY,
        {
            **entry_head,
            "ExchangeRate": rate,
            "Reversal": bool(head.get("Reversal")),
            "Status": 20,
            "Type": 90,  # created entries are type 90 (Other) [C]
            "TypeDescription": "Overige",
            "GeneralJournalEntryLines": [],
        },
    )
    store.gj_entries[entry["EntryID"]] = entry
    for index, line in enumerate(lines, start=1):
        fields = _entry_line_fields(
            store, "generaljournalentryline", entry, line, line_number=index, rate=rate
        )
        fields.update({"VATCode": line.vat_code, "_effects": []})
        row = _stored_row(store, GJ_ENTRY_LINE, fields)
        entry["GeneralJournalEntryLines"].append(row)
        _book_line(store, entry, journal, row, line, rate=rate, effect_fc=line.amount, tl_type=90)
    return entry


def delete_general_journal_entry(store: ExactStore, entry_id: str) -> None:
    _delete_entry(
        store, entry_id, store.gj_entries, "GeneralJournalEntries", "GeneralJournalEntryLines"
    )
