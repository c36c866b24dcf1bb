"""Entity types the sandbox serves: their properties, OData types, keys and line collections.

The resources a client reads (Me, Divisions, Accounts, GLAccounts, Journals, FinancialPeriods,
Receivables, ReceivablesList, TransactionLines and their bulk and sync twins) carry every property
Exact documents for them (``documented``); the entries the sandbox books keep to what a
payout-booking client reads or writes (reference §4).
Properties that are GET-only in Exact are listed in ``read_only`` so a POST that sets them fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from . import documented

FieldType = Literal["guid", "str", "int", "int64", "dec", "bool", "date"]
EDM_NAMES: dict[FieldType, str] = {
    "guid": "System.Guid",
    "str": "System.String",
    "int": "System.Int32",
    "int64": "System.Int64",
    "dec": "System.Double",
    "bool": "System.Boolean",
    "date": "System.DateTime",
}


@dataclass(frozen=True)
class EntityType:
    name: str  # the model name in __metadata.type, e.g. "Account"
    key: str
    fields: dict[str, FieldType]
    nav: dict[str, str] = field(default_factory=dict)  # navigation property -> child type name
    read_only: frozenset[str] = frozenset()

    @property
    def metadata_type(self) -> str:
        return f"Exact.Web.Api.Models.{self.name}"  # the type string's shape is [I]


def _f(spec: str) -> dict[str, FieldType]:
    """``"ID:guid Code:str ..."`` -> field map (keeps the definitions below readable)."""
    out: dict[str, FieldType] = {}
    for item in spec.split():
        name, kind = item.split(":")
        out[name] = kind  # type: ignore[assignment]
    return out


def _names(text: str) -> list[str]:
    return text.split()


def _documented(spec: str) -> dict[str, FieldType]:
    """The properties of a ``documented`` list, without its collections (``Name:*``)."""
    return {name: kind for name, kind in _f(spec).items() if str(kind) != "*"}


def _collections(spec: str, children: dict[str, str]) -> dict[str, str]:
    """Collection properties of a ``documented`` list -> the child type each holds."""
    return {name: children[name] for name, kind in _f(spec).items() if str(kind) == "*"}


_AUDIT = "Division:int Created:date Modified:date"
# The fields bank entry lines and general journal entry lines both start with.
_ENTRY_LINE_HEAD = (
    "ID:guid EntryID:guid EntryNumber:int LineNumber:int Date:date GLAccount:guid "
    "GLAccountCode:str GLAccountDescription:str Account:guid AccountCode:str "
    "AccountName:str AmountFC:dec AmountDC:dec "
)

# Child types of documented collections: served deferred, and empty when expanded [I].
BANK_ACCOUNT = EntityType("BankAccount", "ID", {"ID": "guid"})
DEDUCTIBILITY = EntityType("DeductibilityPercentage", "ID", {"ID": "guid"})
RECEIVABLES_NOTE = EntityType("ReceivablesListNote", "ID", {"ID": "guid"})
DIVISION_CLASS = EntityType("DivisionClass", "ID", {"ID": "guid"})
_CHILDREN = {
    "BankAccounts": "BankAccount",
    "DeductibilityPercentages": "DeductibilityPercentage",
    "Notes": "ReceivablesListNote",
    **{f"Class_0{n}": "DivisionClass" for n in range(1, 6)},
}


def _resource(name: str, key: str, spec: str, **extra: object) -> EntityType:
    """An entity type with every property Exact documents for it (``documented``)."""
    return EntityType(
        name,
        key,
        _documented(spec),
        nav=_collections(spec, _CHILDREN),
        **extra,  # type: ignore[arg-type]
    )


ME = _resource("Me", "UserID", documented.ME)
DIVISION = _resource("SystemDivision", "Code", documented.SYSTEM_DIVISIONS)
HRM_DIVISION = _resource("Division", "Code", documented.HRM_DIVISIONS)
# GET-only in Exact's reference (no POST/PUT), so a write that sends them leaves them alone;
# IsSales among them, which older clients still send [I: harmless].
_ACCOUNT_READ_ONLY = frozenset(
    _names(
        "ID AccountManagerFullName AccountManagerHID AddressSource BankAccounts BRIN "
        "Classification ClassificationDescription Costcenter CostcenterDescription CostPaid "
        "CountryName Created Creator CreatorFullName Currency CustomerSince CustomField Division "
        "Document DunsNumber InvoiceAccountCode InvoiceAccountName IsAnonymised IsBank IsMember "
        "IsPurchase IsSales LanguageDescription LogoThumbnailUrl LogoUrl Modified Modifier "
        "ModifierFullName PaymentConditionPurchaseDescription PaymentConditionSalesDescription "
        "PurchaseCurrencyDescription PurchaseVATCodeDescription ResellerCode ResellerName "
        "SalesCurrencyDescription SalesTaxScheduleCode SalesTaxScheduleDescription "
        "SalesVATCodeDescription Source StateName StatusSince Type"
    )
)
ACCOUNT = _resource("Account", "ID", documented.ACCOUNTS, read_only=_ACCOUNT_READ_ONLY)
# Sync twins: the same model plus Timestamp (a row version), which only they serve [C].
SYNC_ACCOUNT = _resource("Account", "ID", documented.SYNC_ACCOUNTS)
GL_ACCOUNT = _resource("GLAccount", "ID", documented.GL_ACCOUNTS)
SYNC_GL_ACCOUNT = _resource("GLAccount", "ID", documented.SYNC_GL_ACCOUNTS)
JOURNAL = _resource("Journal", "ID", documented.JOURNALS)
FINANCIAL_PERIOD = _resource("FinancialPeriod", "ID", documented.FINANCIAL_PERIODS)
RECEIVABLES_LIST = _resource("ReceivablesList", "HID", documented.RECEIVABLES_LIST)
RECEIVABLE = _resource("Receivable", "ID", documented.RECEIVABLES)
SALES_ENTRY_LINE = EntityType(
    "SalesEntryLine",
    "ID",
    _f(
        "ID:guid EntryID:guid LineNumber:int GLAccount:guid GLAccountCode:str "
        "GLAccountDescription:str Description:str AmountFC:dec AmountDC:dec VATCode:str "
        "VATAmountFC:dec VATAmountDC:dec VATPercentage:dec Quantity:dec CostCenter:str "
        "Notes:str " + _AUDIT
    ),
    read_only=frozenset({"ID", "AmountDC", "VATAmountDC", "LineNumber", "GLAccountCode"}),
)
SALES_ENTRY = EntityType(
    "SalesEntry",
    "EntryID",
    _f(
        "EntryID:guid EntryNumber:int InvoiceNumber:int Journal:str JournalDescription:str "
        "Customer:guid CustomerName:str EntryDate:date DueDate:date YourRef:str "
        "Description:str PaymentReference:str PaymentCondition:str Currency:str "
        "ExchangeRate:dec AmountDC:dec AmountFC:dec VATAmountDC:dec VATAmountFC:dec Type:int "
        "TypeDescription:str Status:int StatusDescription:str ReportingYear:int "
        "ReportingPeriod:int Document:guid " + _AUDIT
    ),
    nav={"SalesEntryLines": "SalesEntryLine"},
    read_only=frozenset(
        {"EntryID", "AmountDC", "VATAmountDC", "Status", "StatusDescription", "CustomerName"}
    ),
)
BANK_ENTRY_LINE = EntityType(
    "BankEntryLine",
    "ID",
    _f(
        _ENTRY_LINE_HEAD
        + "AmountVATFC:dec Description:str Notes:str OurRef:int Document:guid CostCenter:str "
        "CostUnit:str Project:guid Quantity:dec VATCode:str VATPercentage:dec VATType:str "
        "ExchangeRate:dec OffsetID:guid " + _AUDIT
    ),
    read_only=frozenset(
        {
            "ID",
            "AmountDC",
            "AccountCode",
            "AccountName",
            "GLAccountCode",
            "GLAccountDescription",
            "EntryNumber",
            "LineNumber",
            "OffsetID",
        }
    ),
)
BANK_ENTRY = EntityType(
    "BankEntry",
    "EntryID",
    _f(
        "EntryID:guid EntryNumber:int JournalCode:str JournalDescription:str Currency:str "
        "FinancialYear:int FinancialPeriod:int OpeningBalanceFC:dec ClosingBalanceFC:dec "
        "Status:int StatusDescription:str BankStatementDocument:guid " + _AUDIT
    ),
    nav={"BankEntryLines": "BankEntryLine"},
    read_only=frozenset({"EntryID", "Status", "StatusDescription", "JournalDescription"}),
)
GJ_ENTRY_LINE = EntityType(
    "GeneralJournalEntryLine",
    "ID",
    _f(
        _ENTRY_LINE_HEAD
        + "Description:str Notes:str OurRef:int VATCode:str AmountVATFC:dec Document:guid "
        "CostCenter:str CostUnit:str Project:guid Quantity:dec OffsetID:guid " + _AUDIT
    ),
    read_only=frozenset(
        {"ID", "AmountDC", "AccountCode", "AccountName", "GLAccountCode", "EntryNumber"}
    ),
)
GJ_ENTRY = EntityType(
    "GeneralJournalEntry",
    "EntryID",
    _f(
        "EntryID:guid EntryNumber:int JournalCode:str JournalDescription:str Currency:str "
        "ExchangeRate:dec FinancialYear:int FinancialPeriod:int Reversal:bool Status:int "
        "StatusDescription:str Type:int TypeDescription:str " + _AUDIT
    ),
    nav={"GeneralJournalEntryLines": "GeneralJournalEntryLine"},
    read_only=frozenset({"EntryID", "Status", "StatusDescription", "Type", "TypeDescription"}),
)
TRANSACTION_LINE = _resource("TransactionLine", "ID", documented.TRANSACTION_LINES)
SYNC_TRANSACTION_LINE = _resource("TransactionLine", "ID", documented.SYNC_TRANSACTION_LINES)

TYPES: dict[str, EntityType] = {
    t.name: t
    for t in (
        ME,
        DIVISION,
        ACCOUNT,
        GL_ACCOUNT,
        JOURNAL,
        FINANCIAL_PERIOD,
        RECEIVABLES_LIST,
        RECEIVABLE,
        SALES_ENTRY,
        SALES_ENTRY_LINE,
        BANK_ENTRY,
        BANK_ENTRY_LINE,
        GJ_ENTRY,
        GJ_ENTRY_LINE,
        TRANSACTION_LINE,
        BANK_ACCOUNT,
        DEDUCTIBILITY,
        RECEIVABLES_NOTE,
        DIVISION_CLASS,
        HRM_DIVISION,
    )
}
