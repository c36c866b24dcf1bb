"""Entity types the sandbox serves: their properties, OData types, keys and line collections.

Field lists follow the reference (§4) and keep to what a payout-booking client reads or writes.
Properties that are GET-only in Exact are listed in ``read_only`` so a POST that sets them fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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


_AUDIT = "Division:int Created:date Modified:date"
# The fields bank entry lines and general journal entry lines both start with.
_ENTRY_LINE_HEAD = (
    "ID:guid EntryID:guid EntryNumber:int LineNumber:int Date:date GLAccount:guid "
    "GLAccountCode:str GLAccountDescription:str Account:guid AccountCode:str "
    "AccountName:str AmountFC:dec AmountDC:dec "
)

ME = EntityType(
    "Me",
    "UserID",
    _f(
        "UserID:guid UserName:str FullName:str FirstName:str LastName:str Email:str "
        "CurrentDivision:int AccountingDivision:int DivisionCustomer:guid "
        "DivisionCustomerCode:str DivisionCustomerName:str LanguageCode:str Language:str "
        "Legislation:int ServerTime:str ServerUtcOffset:dec"
    ),
)
DIVISION = EntityType(
    "SystemDivision",
    "Code",
    _f(
        "Code:int HID:int64 Description:str Currency:str Country:str Current:bool "
        "Customer:guid CustomerCode:str CustomerName:str Status:int Main:bool "
        "DivisionMoveDate:date Created:date Modified:date"
    ),
)
ACCOUNT = EntityType(
    "Account",
    "ID",
    _f(
        "ID:guid Code:str Name:str SearchCode:str Email:str Phone:str City:str Country:str "
        "Status:str Blocked:bool IsSales:bool IsSupplier:bool Type:str VATNumber:str "
        "ChamberOfCommerce:str GLAR:guid PaymentConditionSales:str Timestamp:int64 " + _AUDIT
    ),
    read_only=frozenset({"ID", "Timestamp", "Division", "Created", "Modified"}),
)
GL_ACCOUNT = EntityType(
    "GLAccount",
    "ID",
    _f(
        "ID:guid Code:str Description:str Type:int TypeDescription:str BalanceSide:str "
        "BalanceType:str IsBlocked:bool Matching:bool VATCode:str UseCostcenter:int "
        "Timestamp:int64 " + _AUDIT
    ),
)
JOURNAL = EntityType(
    "Journal",
    "ID",
    _f(
        "ID:guid Code:str Description:str Type:int TypeDescription:str GLAccount:guid "
        "GLAccountCode:str GLAccountDescription:str GLAccountType:int Currency:str "
        "AllowVariableCurrency:bool AllowVAT:bool AutoSave:bool IsBlocked:bool "
        "BankAccountIBAN:str PaymentInTransitAccount:guid PaymentServiceProvider:int " + _AUDIT
    ),
)
FINANCIAL_PERIOD = EntityType(
    "FinancialPeriod",
    "ID",
    _f("ID:guid FinYear:int FinPeriod:int StartDate:date EndDate:date Description:str " + _AUDIT),
)
RECEIVABLES_LIST = EntityType(
    "ReceivablesList",
    "HID",
    _f(
        "HID:int64 Id:guid AccountId:guid AccountCode:str AccountName:str Amount:dec "
        "AmountInTransit:dec CurrencyCode:str Description:str DueDate:date EntryNumber:int "
        "InvoiceDate:date InvoiceNumber:int JournalCode:str JournalDescription:str YourRef:str"
    ),
)
RECEIVABLE = EntityType(
    "Receivable",
    "ID",
    _f(
        "ID:guid Account:guid AccountCode:str AccountName:str AmountDC:dec AmountFC:dec "
        "Currency:str Description:str DueDate:date EntryID:guid EntryNumber:int EntryDate:date "
        "InvoiceNumber:int InvoiceDate:date IsFullyPaid:bool LastPaymentDate:date "
        "EndDate:date EndPeriod:int EndYear:int GLAccount:guid GLAccountCode:str Journal:str "
        "JournalDescription:str PaymentReference:str PaymentMethod:str Source:int Status:int "
        "TransactionEntryID:guid TransactionID:guid TransactionType:int "
        "TransactionAmountFC:dec TransactionDueDate:date YourRef:str Document:guid "
        "EndToEndID:str " + _AUDIT
    ),
)
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
TRANSACTION_LINE = EntityType(
    "TransactionLine",
    "ID",
    _f(
        "ID:guid EntryID:guid EntryNumber:int LineNumber:int Date:date FinancialYear:int "
        "FinancialPeriod:int JournalCode:str JournalDescription:str GLAccount:guid "
        "GLAccountCode:str GLAccountDescription:str Account:guid AccountCode:str "
        "AccountName:str AmountDC:dec AmountFC:dec AmountVATFC:dec Currency:str "
        "ExchangeRate:dec Description:str Notes:str InvoiceNumber:int YourRef:str "
        "PaymentReference:str DueDate:date OffsetID:guid Status:int Type:int VATCode:str "
        "Document:guid Timestamp:int64 " + _AUDIT
    ),
)

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
    )
}
