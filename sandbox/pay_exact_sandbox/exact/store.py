"""The live state of one sandbox division: master data, entries, open items and ledger lines.

Rows are dicts keyed by Exact's property names, holding Python values (GUIDs as lower-case
strings, dates as naive UTC datetimes, amounts as Decimal). Keys that start with ``_`` are the
sandbox's own bookkeeping and are never served.
"""

from __future__ import annotations

import calendar
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .compact import ValuePool
from .config import ExactConfig
from .data import ExactData
from .errors import business
from .values import (
    from_epoch_seconds,
    is_guid,
    money,
    norm_guid,
    pad_account_code,
    parse_amount,
    parse_date,
    stable_guid,
)

Row = dict[str, Any]

GL_TYPE_NAMES = {
    10: "Kas",
    12: "Bank",
    14: "Creditcard",
    16: "Betaaldienst",
    20: "Debiteuren",
    22: "Crediteuren",
    24: "Btw",
    90: "Algemeen",
    110: "Omzet",
    111: "Kostprijs",
    120: "Overige kosten",
}
JOURNAL_TYPE_NAMES = {
    10: "Kas",
    12: "Bank",
    16: "Betaaldienst",
    20: "Verkoop",
    21: "Retourfacturen",
    22: "Inkoop",
    23: "Ontvangen retourfacturen",
    90: "Memoriaal",
}
BALANCE_SHEET_GL_TYPES = frozenset(range(10, 70)) | {90, 100}
AR_GL_TYPE = 20
AP_GL_TYPE = 22


class ExactStore:
    """One division's data; every public method expects ``lock`` to be held by the caller."""

    def __init__(self, config: ExactConfig, now: Callable[[], float]) -> None:
        self.lock = threading.RLock()
        self.pool = ValuePool()  # repeated values of the rows, kept once
        self.config = config
        self._now = now
        self._rowversion = self.ROWVERSION_START
        self._hid = 1_000_000
        self.division: Row = {}
        self.me: Row = {}
        self.accounts: dict[str, Row] = {}
        self.gl_accounts: dict[str, Row] = {}
        self.journals: dict[str, Row] = {}
        self.periods: dict[str, Row] = {}
        self.vat_codes: dict[str, Row] = {}
        self.exchange_rates: dict[str, Decimal] = {}
        self.journal_opening: dict[str, Decimal] = {}
        self._entry_totals: dict[int, tuple[Row, int, Decimal]] = {}
        self.sales_entries: dict[str, Row] = {}
        self.bank_entries: dict[str, Row] = {}
        self.gj_entries: dict[str, Row] = {}
        self.receivables: dict[str, Row] = {}
        self.transaction_lines: dict[str, Row] = {}
        self.truth: Row = {}
        self.entry_numbers: dict[tuple[str, int], set[int]] = {}
        self.entry_number_max: dict[tuple[str, int], int] = {}
        self.account_codes: dict[str, str] = {}  # padded code -> account ID
        self.invoice_index: dict[int, list[str]] = {}  # invoice number -> receivable IDs
        self._guid_counter = 0
        self._guid_prefix = ""
        self._period_cache: dict[date, Row | None] = {}
        self.version = 0  # bumped by every write; read views cache on it
        self._list_cache: tuple[int, list[Row]] = (-1, [])
        self._stamp: tuple[int, datetime] = (-1, from_epoch_seconds(0))
        self.division = {"Code": 0}

    # -- time and counters -------------------------------------------------------------------
    def now(self) -> datetime:
        raw = self._now()
        millis = int(raw * 1000)
        if self._stamp[0] != millis:  # many rows get stamped within one millisecond
            self._stamp = (millis, from_epoch_seconds(raw))
        return self._stamp[1]

    def today(self) -> datetime:
        current = self.now()
        return datetime(current.year, current.month, current.day)  # noqa: DTZ001

    # Row versions start well above 1: a first sync asks for "Timestamp gt 1" [C], so a row at
    # 1 would never be read.
    ROWVERSION_START = 0x10_0000

    def next_rowversion(self) -> int:
        self._rowversion += 1
        return self._rowversion

    def new_guid(self, kind: str) -> str:
        """Row ids follow from the order of operations, so a replayed run gets the same ids.

        A per-division prefix plus a counter: unique, reproducible and cheap to make.
        """
        self._guid_counter += 1
        if not self._guid_prefix:
            self._guid_prefix = stable_guid(self.code, "rows")[:24]
        return f"{self._guid_prefix}{self._guid_counter:012x}"

    def next_hid(self) -> int:
        self._hid += 1
        return self._hid

    @property
    def code(self) -> int:
        return int(self.division["Code"])

    @property
    def currency(self) -> str:
        return str(self.division.get("Currency") or "EUR")

    def audit(self, row: Row) -> Row:
        stamp = self.now()
        row.setdefault("Division", self.code)
        row.setdefault("Created", stamp)
        row["Modified"] = stamp
        return row

    # -- seeding -------------------------------------------------------------------------------
    def load(self, data: ExactData) -> None:
        """Replace everything with the master data of ``data`` (``seed.load`` posts the entries)."""
        self._reset()
        self.touch()
        self.truth = dict(data.truth)
        code = int(data.division["Code"])
        self.division = {
            "Code": code,
            "HID": code,  # hrm/Divisions spells it HID, system/Divisions Hid [C]
            "Hid": code,
            "Description": data.division.get("Description", f"Administratie {code}"),
            "Currency": data.division.get("Currency", "EUR"),
            "Country": data.division.get("Country", "NL"),
            "Current": True,
            "Main": True,
            "Status": 1,
            "Customer": stable_guid("division-customer", code),
            "CustomerCode": pad_account_code(data.division.get("CustomerCode", "1")),
            "CustomerName": data.division.get("CustomerName", data.division.get("Description")),
            "DivisionMoveDate": None,
            "Created": self.now(),
            "Modified": self.now(),
        }
        user = data.user
        self.me = {
            "UserID": norm_guid(user.get("UserID") or stable_guid("user", code)),
            "UserName": user.get("UserName", "sandbox"),
            "FullName": user.get("FullName", "Sandbox Gebruiker"),
            "FirstName": user.get("FirstName", "Sandbox"),
            "LastName": user.get("LastName", "Gebruiker"),
            "Email": user.get("Email", "sandbox@example.invalid"),
            "CurrentDivision": code,
            "AccountingDivision": code,
            "DivisionCustomer": self.division["Customer"],
            "DivisionCustomerCode": self.division["CustomerCode"],
            "DivisionCustomerName": self.division["CustomerName"],
            "LanguageCode": user.get("LanguageCode", "nl-NL"),
            "Language": user.get("Language", "NL"),
            "Legislation": user.get("Legislation", 1),
            "ServerTime": None,
            "ServerUtcOffset": Decimal(0),
        }
        for rate_currency, rate in data.exchange_rates.items():
            self.exchange_rates[str(rate_currency)] = parse_amount(rate)
        for gl in data.gl_accounts:
            self.add_gl_account(gl)
        for vat in data.vat_codes:
            self._add_vat_code(vat)
        for journal in data.journals:
            self._add_journal(journal)
        for year in data.financial_years:
            self._add_financial_year(year)
        for period in data.periods:
            self._add_period(period)
        for account in data.accounts:
            self.add_account(account)

    def _reset(self) -> None:
        self._rowversion = self.ROWVERSION_START
        self._hid = 1_000_000
        for name in (
            "accounts",
            "gl_accounts",
            "journals",
            "periods",
            "vat_codes",
            "exchange_rates",
            "journal_opening",
            "sales_entries",
            "bank_entries",
            "gj_entries",
            "receivables",
            "transaction_lines",
            "entry_numbers",
            "entry_number_max",
            "account_codes",
            "invoice_index",
        ):
            setattr(self, name, {})
        self._guid_counter = 0
        self._guid_prefix = ""

    def resolve_codes(self, entry: Row) -> Row:
        """Fixture convenience: ``CustomerCode``/``GLAccountCode``/``AccountCode`` -> GUIDs."""
        out = {k: v for k, v in entry.items() if k not in ("CustomerCode",)}
        if "CustomerCode" in entry:
            out["Customer"] = self.account_by_code(entry["CustomerCode"], "CustomerCode")["ID"]
        for lines_key in ("SalesEntryLines", "BankEntryLines", "GeneralJournalEntryLines"):
            if lines_key in entry:
                out[lines_key] = [self._resolve_line(line) for line in entry[lines_key]]
        return out

    def _resolve_line(self, line: Row) -> Row:
        out = {k: v for k, v in line.items() if k not in ("GLAccountCode", "AccountCode")}
        if "GLAccountCode" in line:
            out["GLAccount"] = self.gl_by_code(line["GLAccountCode"])["ID"]
        if "AccountCode" in line:
            out["Account"] = self.account_by_code(line["AccountCode"], "AccountCode")["ID"]
        return out

    def add_gl_account(self, spec: Row) -> Row:
        code = str(spec["Code"])
        gl_type = int(spec.get("Type", 90))
        row = self.audit(
            {
                "ID": norm_guid(spec.get("ID") or stable_guid(self.code, "gl", code)),
                "Code": code,
                "Description": spec.get("Description", code),
                "Type": gl_type,
                "TypeDescription": GL_TYPE_NAMES.get(gl_type, str(gl_type)),
                "BalanceSide": spec.get("BalanceSide", "D" if gl_type < 100 else "C"),
                "BalanceType": spec.get(
                    "BalanceType", "B" if gl_type in BALANCE_SHEET_GL_TYPES else "W"
                ),
                "IsBlocked": bool(spec.get("IsBlocked", False)),
                "Matching": bool(spec.get("Matching", gl_type == AR_GL_TYPE)),
                "VATCode": spec.get("VATCode"),
                "UseCostcenter": int(spec.get("UseCostcenter", 2)),
                "Timestamp": self.next_rowversion(),
            }
        )
        if any(g["Code"] == code for g in self.gl_accounts.values()):
            raise ValueError(f"duplicate G/L account code {code!r}")
        self.gl_accounts[row["ID"]] = row
        return row

    def _add_vat_code(self, spec: Row) -> None:
        code = str(spec["Code"])
        gl_id = None
        if spec.get("GLAccountCode") is not None:
            gl_id = self.gl_by_code(spec["GLAccountCode"])["ID"]
        self.vat_codes[code] = {
            "Code": code,
            "Description": spec.get("Description", code),
            "Percentage": parse_amount(spec.get("Percentage", "0")),
            "GLAccount": gl_id,
        }

    def _add_journal(self, spec: Row) -> None:
        code = str(spec["Code"])
        j_type = int(spec["Type"])
        gl: Row | None = None
        if spec.get("GLAccount"):
            gl = self.gl_accounts.get(norm_guid(spec["GLAccount"]))
            if gl is None:
                raise ValueError(f"journal {code}: unknown GLAccount {spec['GLAccount']}")
        elif spec.get("GLAccountCode") is not None:
            gl = self.gl_by_code(spec["GLAccountCode"])
        if j_type in (10, 12, 16) and gl is None:
            raise ValueError(f"journal {code}: a cash, bank or payment journal needs a G/L")
        row = self.audit(
            {
                "ID": norm_guid(spec.get("ID") or stable_guid(self.code, "journal", code)),
                "Code": code,
                "Description": spec.get("Description", code),
                "Type": j_type,
                "TypeDescription": JOURNAL_TYPE_NAMES.get(j_type, str(j_type)),
                "GLAccount": gl["ID"] if gl else None,
                "GLAccountCode": gl["Code"] if gl else None,
                "GLAccountDescription": gl["Description"] if gl else None,
                "GLAccountType": gl["Type"] if gl else None,
                "Currency": spec.get("Currency", self.currency),
                "AllowVariableCurrency": bool(spec.get("AllowVariableCurrency", False)),
                "AllowVAT": bool(spec.get("AllowVAT", False)),
                "AutoSave": bool(spec.get("AutoSave", False)),
                "IsBlocked": bool(spec.get("IsBlocked", False)),
                "BankAccountIBAN": spec.get("BankAccountIBAN"),
                "PaymentInTransitAccount": spec.get("PaymentInTransitAccount"),
                "PaymentServiceProvider": spec.get("PaymentServiceProvider"),
            }
        )
        if self.journal_by_code(code) is not None:
            raise ValueError(f"duplicate journal code {code!r}")
        self.journals[row["ID"]] = row
        self.journal_opening[code] = parse_amount(spec.get("OpeningBalance", "0"))

    def _add_financial_year(self, spec: Row) -> None:
        year = int(spec["year"])
        closed = {int(p) for p in spec.get("closed_periods", [])}
        for month in range(1, 13):
            last = calendar.monthrange(year, month)[1]
            self._add_period(
                {
                    "FinYear": year,
                    "FinPeriod": month,
                    "StartDate": datetime(year, month, 1),  # noqa: DTZ001
                    "EndDate": datetime(year, month, last),  # noqa: DTZ001
                    "Closed": month in closed,
                }
            )

    def _add_period(self, spec: Row) -> None:
        year, period = int(spec["FinYear"]), int(spec["FinPeriod"])
        if self.period(year, period) is not None:
            raise ValueError(f"duplicate financial period {year}/{period}")
        row = self.audit(
            {
                "ID": norm_guid(spec.get("ID") or stable_guid(self.code, "period", year, period)),
                "FinYear": year,
                "FinPeriod": period,
                "StartDate": parse_date(spec["StartDate"]),
                "EndDate": parse_date(spec["EndDate"]),
                "Description": spec.get("Description", f"{year}-{period:02d}"),
                # FinancialPeriods has no "closed" property in the API; the state is internal.
                "_closed": bool(spec.get("Closed", False)),
            }
        )
        self.periods[row["ID"]] = row
        self._period_cache.clear()

    def add_account(self, spec: Row) -> Row:
        code = spec.get("Code")
        if code is None or str(code).strip() == "":
            code = self._next_account_code()
        padded = pad_account_code(code)
        if self.account_by_padded_code(padded) is not None:
            raise business("already_exists")
        row = self.audit(
            {
                "ID": norm_guid(spec.get("ID") or stable_guid(self.code, "account", padded)),
                "Code": padded,
                "Name": spec["Name"],
                "SearchCode": spec.get("SearchCode"),
                "Email": spec.get("Email"),
                "Phone": spec.get("Phone"),
                "City": spec.get("City"),
                "Country": spec.get("Country"),
                "Status": spec.get("Status", "C"),
                "Blocked": bool(spec.get("Blocked", False)),
                "IsSales": bool(spec.get("IsSales", True)),
                "IsSupplier": bool(spec.get("IsSupplier", False)),
                "Type": "A",
                "VATNumber": spec.get("VATNumber"),
                "ChamberOfCommerce": spec.get("ChamberOfCommerce"),
                "GLAR": spec.get("GLAR"),
                "PaymentConditionSales": spec.get("PaymentConditionSales"),
                "Timestamp": self.next_rowversion(),
            }
        )
        self.accounts[row["ID"]] = row
        self.account_codes[padded] = row["ID"]
        return row

    def _next_account_code(self) -> str:
        numeric = [int(a["Code"]) for a in self.accounts.values() if a["Code"].strip().isdigit()]
        return str(max(numeric, default=0) + 1)

    # -- lookups -------------------------------------------------------------------------------
    def gl_by_code(self, code: object) -> Row:
        for gl in self.gl_accounts.values():
            if gl["Code"] == str(code):
                return gl
        raise ValueError(f"unknown G/L account code {code!r}")

    def account_by_padded_code(self, padded: str) -> Row | None:
        account_id = self.account_codes.get(padded)
        return self.accounts.get(account_id) if account_id else None

    def add_receivable(self, row: Row) -> None:
        self.receivables[row["ID"]] = self.pool.row(row)
        if row.get("InvoiceNumber") is not None:
            self.invoice_index.setdefault(row["InvoiceNumber"], []).append(row["ID"])

    def remove_receivable(self, receivable_id: str) -> None:
        row = self.receivables.pop(receivable_id)
        ids = self.invoice_index.get(row.get("InvoiceNumber"), [])
        if receivable_id in ids:
            ids.remove(receivable_id)

    def receivables_for_invoice(self, number: int) -> list[Row]:
        return [self.receivables[i] for i in self.invoice_index.get(number, [])]

    def account_by_code(self, code: object, field: str = "Code") -> Row:
        found = self.account_by_padded_code(pad_account_code(str(code)))
        if found is None:
            raise ValueError(f"{field}: unknown account code {code!r}")
        return found

    def journal_by_code(self, code: object) -> Row | None:
        for journal in self.journals.values():
            if journal["Code"] == str(code).strip():
                return journal
        return None

    def period(self, year: int, number: int) -> Row | None:
        for period in self.periods.values():
            if period["FinYear"] == year and period["FinPeriod"] == number:
                return period
        return None

    def period_for(self, moment: datetime) -> Row | None:
        day = moment.date()
        if day in self._period_cache:
            return self._period_cache[day]
        found = None
        for period in self.periods.values():
            if period["StartDate"] <= moment < period["EndDate"] + timedelta(days=1):
                found = period
                break
        self._period_cache[day] = found
        return found

    def default_ar_gl(self, account: Row | None = None) -> Row:
        if account is not None and account.get("GLAR"):
            gl = self.gl_accounts.get(norm_guid(account["GLAR"]))
            if gl is not None:
                return gl
        candidates = sorted(
            (g for g in self.gl_accounts.values() if g["Type"] == AR_GL_TYPE),
            key=lambda g: g["Code"],
        )
        if not candidates:
            raise business("invalid_gl_type")
        return candidates[0]

    def rate(self, currency: str, given: object = None) -> Decimal:
        if currency == self.currency:
            return Decimal(1)
        if given is not None:
            return parse_amount(given)
        if currency in self.exchange_rates:
            return self.exchange_rates[currency]
        raise business("exchange_rate_required")

    def journal_balance(self, code: str) -> Decimal:
        """Opening balance plus every bank line booked in the journal (its current end balance)."""
        total = self.journal_opening.get(code, Decimal(0))
        for entry in self.bank_entries.values():
            if entry["JournalCode"] == code:
                total += self._entry_total(entry)
        return money(total)

    def _entry_total(self, entry: Row) -> Decimal:
        # Remembered per entry and line count (lines are only ever added to an entry), so a
        # POST costs one step per entry in the journal, not one per line ever booked.
        lines = entry["BankEntryLines"]
        known = self._entry_totals.get(id(entry))
        if known is None or known[0] is not entry or known[1] != len(lines):
            known = (entry, len(lines), sum((line["AmountFC"] for line in lines), Decimal(0)))
            self._entry_totals[id(entry)] = known
        return known[2]

    # -- derived views -----------------------------------------------------------------------
    def touch(self) -> None:
        self.version += 1

    def receivables_list(self) -> list[Row]:
        """``read/financial/ReceivablesList``: every outstanding term (fully matched ones leave)."""
        if self._list_cache[0] == self.version:
            return self._list_cache[1]
        rows = []
        for item in self.receivables.values():
            if item["Status"] != 20 or item["_open_fc"] == 0:
                continue
            account = self.accounts.get(item["Account"] or "")
            rows.append(
                {
                    "HID": item["_hid"],
                    "Id": item["ID"],
                    "AccountId": item["Account"],
                    "AccountCode": account["Code"] if account else None,
                    "AccountName": account["Name"] if account else None,
                    "Amount": item["_open_fc"],
                    "AmountInTransit": Decimal("0.00"),
                    "CurrencyCode": item["Currency"],
                    "Description": item["Description"],
                    "DueDate": item["DueDate"],
                    "EntryNumber": item["EntryNumber"],
                    "InvoiceDate": item["InvoiceDate"],
                    "InvoiceNumber": item["InvoiceNumber"],
                    "JournalCode": item["Journal"],
                    "JournalDescription": item["JournalDescription"],
                    "YourRef": item["YourRef"],
                }
            )
        self._list_cache = (self.version, rows)
        return rows

    def guid_or_none(self, value: object) -> str | None:
        return norm_guid(value) if is_guid(value) else None  # type: ignore[arg-type]
