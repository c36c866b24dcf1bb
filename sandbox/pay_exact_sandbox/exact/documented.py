"""The properties Exact documents for each resource the sandbox serves, with their OData types.

Exact's REST API reference (``start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=…``,
the page named beside each list) as Pi-Systems/exact-online ``src/Entity/<Service>/<Entity>.php``
(commit 91a4116) reproduces it. ``Name:kind`` as in ``schema``; a ``Name:*`` is a collection
(served deferred, as Exact serves one that is not expanded); complex types are written ``str``
and served as null. The bulk twins list the same properties as the single endpoints; the sync
twins add ``Timestamp`` (and lack a few the docs leave out there).
"""

from __future__ import annotations

# system/Me: SystemSystemMe
ME = (
    "UserID:guid AccountingDivision:int CurrentDivision:int CustomerCode:str "
    "DivisionCustomer:guid DivisionCustomerCode:str DivisionCustomerName:str "
    "DivisionCustomerSiretNumber:str DivisionCustomerVatNumber:str DossierDivision:int Email:str "
    "EmployeeID:guid FirstName:str FullName:str Gender:str Initials:str IsClientUser:bool "
    "IsEmployeeSelfServiceUser:bool IsMyFirmLiteUser:bool IsMyFirmPortalUser:bool "
    "IsOEIMigrationMandatory:bool IsStarterUser:bool Language:str LanguageCode:str LastName:str "
    "Legislation:int64 MiddleName:str Mobile:str Nationality:str PackageCode:str Phone:str "
    "PhoneExtension:str PictureUrl:str ServerTime:str ServerUtcOffset:dec ThumbnailPicture:str "
    "ThumbnailPictureFormat:str Title:str UserName:str"
)

# system/Divisions: SystemSystemDivisions
SYSTEM_DIVISIONS = (
    "Code:int AddressLine1:str AddressLine2:str AddressLine3:str ArchiveDate:date "
    "BlockingStatus:int BusinessTypeCode:str BusinessTypeDescription:str "
    "ChamberOfCommerceEstablishment:str ChamberOfCommerceNumber:str City:str Class_01:str "
    "Class_02:str Class_03:str Class_04:str Class_05:str CompanySizeCode:str "
    "CompanySizeDescription:str Country:str Created:date Creator:guid CreatorFullName:str "
    "Currency:str Current:bool Customer:guid CustomerCode:str CustomerName:str "
    "DatevAccountantNumber:str DatevClientNumber:str Description:str "
    "DivisionHRLinkUnlinkDate:date DivisionMoveDate:date Email:str Fax:str Hid:int64 "
    "IsDossierDivision:bool IsHRDivision:bool IsMainDivision:bool IsPracticeDivision:bool "
    "Legislation:str Modified:date Modifier:guid ModifierFullName:str OBNumber:str Phone:str "
    "Postcode:str SbiCode:str SbiDescription:str SectorCode:str SectorDescription:str "
    "ShareCapital:dec SiretNumber:str StartDate:date State:str Status:int SubsectorCode:str "
    "SubsectorDescription:str TaxOfficeNumber:str TaxReferenceNumber:str TemplateCode:str "
    "VATNumber:str Website:str"
)

# hrm/Divisions: HRMDivisions
HRM_DIVISIONS = (
    "Code:int ArchiveDate:date BlockingStatus:int Class_01:* Class_02:* Class_03:* Class_04:* "
    "Class_05:* Country:str CountryDescription:str Created:date Creator:guid CreatorFullName:str "
    "Currency:str CurrencyDescription:str Customer:guid CustomerCode:str CustomerName:str "
    "Description:str HID:int64 Main:bool Modified:date Modifier:guid ModifierFullName:str "
    "OBNumber:str SiretNumber:str StartDate:date Status:int TaxOfficeNumber:str "
    "TaxReferenceNumber:str TemplateCode:str VATNumber:str Website:str"
)

# crm/Accounts (and bulk/CRM/Accounts): CRMAccounts
ACCOUNTS = (
    "ID:guid Accountant:guid AccountManager:guid AccountManagerFullName:str AccountManagerHID:int "
    "ActivitySector:guid ActivitySubSector:guid AddressLine1:str AddressLine2:str "
    "AddressLine3:str AddressSource:int AutomaticProcessProposedEntry:int BankAccounts:* "
    "Blocked:bool BRIN:guid BSN:str BusinessType:guid CanDropShip:bool ChamberOfCommerce:str "
    "City:str Classification:str Classification1:guid Classification2:guid Classification3:guid "
    "Classification4:guid Classification5:guid Classification6:guid Classification7:guid "
    "Classification8:guid ClassificationDescription:str Code:str CodeAtSupplier:str "
    "CompanySize:guid ConsolidationScenario:int ControlledDate:date Costcenter:str "
    "CostcenterDescription:str CostPaid:int Country:str CountryName:str Created:date Creator:guid "
    "CreatorFullName:str CreditLinePurchase:dec CreditLineSales:dec Currency:str "
    "CustomerSince:date CustomField:str DatevCreditorCode:str DatevDebtorCode:str "
    "DeliveryAdvice:int DiscountPurchase:dec DiscountSales:dec Division:int Document:guid "
    "DunsNumber:str Email:str EnableSalesPaymentLink:bool EndDate:date EORINumber:str "
    "EstablishedDate:date Fax:str GLAccountPurchase:guid GLAccountSales:guid GLAP:guid GLAR:guid "
    "GlnNumber:str HasWithholdingTaxSales:bool IgnoreDatevWarningMessage:bool "
    "IncotermAddressPurchase:str IncotermAddressSales:str IncotermCodePurchase:str "
    "IncotermCodeSales:str IncotermVersionPurchase:int IncotermVersionSales:int IntraStatArea:str "
    "IntraStatDeliveryTerm:str IntraStatSystem:str IntraStatTransactionA:str "
    "IntraStatTransactionB:str IntraStatTransportMethod:str InvoiceAccount:guid "
    "InvoiceAccountCode:str InvoiceAccountName:str InvoiceAttachmentType:int InvoicingMethod:int "
    "IsAccountant:int IsAgency:int IsAnonymised:int IsBank:bool IsCompetitor:int IsExtraDuty:bool "
    "IsMailing:int IsMember:bool IsPilot:bool IsPurchase:bool IsReseller:bool IsSales:bool "
    "IsSupplier:bool Language:str LanguageDescription:str Latitude:dec LeadPurpose:guid "
    "LeadSource:guid Logo:str LogoFileName:str LogoThumbnailUrl:str LogoUrl:str Longitude:dec "
    "MainContact:guid Modified:date Modifier:guid ModifierFullName:str Name:str OINNumber:str "
    "Parent:guid PayAsYouEarn:str PaymentConditionPurchase:str "
    "PaymentConditionPurchaseDescription:str PaymentConditionSales:str "
    "PaymentConditionSalesDescription:str PeppolIdentifier:str PeppolIdentifierType:int Phone:str "
    "PhoneExtension:str Postcode:str PriceList:guid PurchaseCurrency:str "
    "PurchaseCurrencyDescription:str PurchaseLeadDays:int PurchaseVATCode:str "
    "PurchaseVATCodeDescription:str RecepientOfCommissions:bool Remarks:str Reseller:guid "
    "ResellerCode:str ResellerName:str RSIN:str SalesCurrency:str SalesCurrencyDescription:str "
    "SalesTaxSchedule:guid SalesTaxScheduleCode:str SalesTaxScheduleDescription:str "
    "SalesVATCode:str SalesVATCodeDescription:str SearchCode:str SecurityLevel:int "
    "SeparateInvPerProject:int SeparateInvPerSubscription:int ShippingLeadDays:int "
    "ShippingMethod:guid ShowRemarkForSales:bool Source:int StartDate:date State:str "
    "StateName:str Status:str StatusSince:date TradeName:str Type:str UniqueTaxpayerReference:str "
    "VATLiability:str VATNumber:str Website:str"
)

# sync/CRM/Accounts: SyncCRMAccounts
SYNC_ACCOUNTS = (
    "Timestamp:int64 Accountant:guid AccountManager:guid AccountManagerFullName:str "
    "AccountManagerHID:int ActivitySector:guid ActivitySubSector:guid AddressLine1:str "
    "AddressLine2:str AddressLine3:str AddressSource:int AutomaticProcessProposedEntry:int "
    "BankAccounts:* Blocked:bool BRIN:guid BSN:str BusinessType:guid CanDropShip:bool "
    "ChamberOfCommerce:str City:str Classification:str Classification1:guid Classification2:guid "
    "Classification3:guid Classification4:guid Classification5:guid Classification6:guid "
    "Classification7:guid Classification8:guid ClassificationDescription:str Code:str "
    "CodeAtSupplier:str CompanySize:guid ConsolidationScenario:int ControlledDate:date "
    "Costcenter:str CostcenterDescription:str CostPaid:int Country:str CountryName:str "
    "Created:date Creator:guid CreatorFullName:str CreditLinePurchase:dec CreditLineSales:dec "
    "Currency:str CustomerSince:date CustomField:str DatevCreditorCode:str DatevDebtorCode:str "
    "DeliveryAdvice:int DiscountPurchase:dec DiscountSales:dec Division:int Document:guid "
    "DunsNumber:str Email:str EnableSalesPaymentLink:bool EndDate:date EORINumber:str "
    "EstablishedDate:date Fax:str GLAccountPurchase:guid GLAccountSales:guid GLAP:guid GLAR:guid "
    "GlnNumber:str HasWithholdingTaxSales:bool ID:guid IgnoreDatevWarningMessage:bool "
    "IncotermAddressPurchase:str IncotermAddressSales:str IncotermCodePurchase:str "
    "IncotermCodeSales:str IncotermVersionPurchase:int IncotermVersionSales:int IntraStatArea:str "
    "IntraStatDeliveryTerm:str IntraStatSystem:str IntraStatTransactionA:str "
    "IntraStatTransactionB:str IntraStatTransportMethod:str InvoiceAccount:guid "
    "InvoiceAccountCode:str InvoiceAccountName:str InvoiceAttachmentType:int InvoicingMethod:int "
    "IsAccountant:int IsAgency:int IsAnonymised:int IsBank:bool IsCompetitor:int IsExtraDuty:bool "
    "IsMailing:int IsMember:bool IsPilot:bool IsPurchase:bool IsReseller:bool IsSales:bool "
    "IsSupplier:bool Language:str LanguageDescription:str Latitude:dec LeadPurpose:guid "
    "LeadSource:guid Logo:str LogoFileName:str LogoThumbnailUrl:str LogoUrl:str Longitude:dec "
    "MainContact:guid Modified:date Modifier:guid ModifierFullName:str Name:str OINNumber:str "
    "Parent:guid PayAsYouEarn:str PaymentConditionPurchase:str "
    "PaymentConditionPurchaseDescription:str PaymentConditionSales:str "
    "PaymentConditionSalesDescription:str PeppolIdentifier:str PeppolIdentifierType:int Phone:str "
    "PhoneExtension:str Postcode:str PriceList:guid PurchaseCurrency:str "
    "PurchaseCurrencyDescription:str PurchaseLeadDays:int PurchaseVATCode:str "
    "PurchaseVATCodeDescription:str RecepientOfCommissions:bool Remarks:str Reseller:guid "
    "ResellerCode:str ResellerName:str RSIN:str SalesCurrency:str SalesCurrencyDescription:str "
    "SalesTaxSchedule:guid SalesTaxScheduleCode:str SalesTaxScheduleDescription:str "
    "SalesVATCode:str SalesVATCodeDescription:str SearchCode:str SecurityLevel:int "
    "SeparateInvPerProject:int SeparateInvPerSubscription:int ShippingLeadDays:int "
    "ShippingMethod:guid ShowRemarkForSales:bool Source:int StartDate:date State:str "
    "StateName:str Status:str StatusSince:date TradeName:str Type:str UniqueTaxpayerReference:str "
    "VATLiability:str VATNumber:str Website:str"
)

# financial/GLAccounts (and bulk/Financial/GLAccounts): FinancialGLAccounts
GL_ACCOUNTS = (
    "ID:guid AllowCostsInSales:int AssimilatedVATBox:int BalanceSide:str BalanceType:str "
    "BelcotaxType:int Code:str Compress:bool Costcenter:str CostcenterDescription:str "
    "Costunit:str CostunitDescription:str Created:date Creator:guid CreatorFullName:str "
    "CustomField:str DeductibilityPercentages:* Description:str DescriptionTermID:int "
    "Division:int ExcludeVATListing:int ExpenseNonDeductiblePercentage:dec IsBlocked:bool "
    "Matching:bool Modified:date Modifier:guid ModifierFullName:str PrivateGLAccount:guid "
    "PrivatePercentage:dec ReportingCode:str RevalueCurrency:bool SearchCode:str Type:int "
    "TypeDescription:str UseCostcenter:int UseCostunit:int VATCode:str VATDescription:str "
    "VATGLAccountType:str VATNonDeductibleGLAccount:guid VATNonDeductiblePercentage:dec "
    "VATSystem:str YearEndCostGLAccount:guid YearEndReflectionGLAccount:guid"
)

# sync/Financial/GLAccounts: SyncFinancialGLAccounts
SYNC_GL_ACCOUNTS = (
    "Timestamp:int64 AllowCostsInSales:int AssimilatedVATBox:int BalanceSide:str BalanceType:str "
    "BelcotaxType:int Code:str Compress:bool Costcenter:str CostcenterDescription:str "
    "Costunit:str CostunitDescription:str Created:date Creator:guid CreatorFullName:str "
    "CustomField:str Description:str DescriptionTermID:int Division:int ExcludeVATListing:int "
    "ExpenseNonDeductiblePercentage:dec ID:guid IsBlocked:bool Matching:bool Modified:date "
    "Modifier:guid ModifierFullName:str PrivateGLAccount:guid PrivatePercentage:dec "
    "ReportingCode:str RevalueCurrency:bool SearchCode:str Type:int TypeDescription:str "
    "UseCostcenter:int UseCostunit:int VATCode:str VATDescription:str VATGLAccountType:str "
    "VATNonDeductibleGLAccount:guid VATNonDeductiblePercentage:dec VATSystem:str "
    "YearEndCostGLAccount:guid YearEndReflectionGLAccount:guid"
)

# financial/Journals: FinancialJournals
JOURNALS = (
    "ID:guid AllowVariableCurrency:bool AllowVariableExchangeRate:bool AllowVAT:bool "
    "AutoSave:bool Bank:guid BankAccountBICCode:str BankAccountCountry:str "
    "BankAccountDescription:str BankAccountIBAN:str BankAccountID:guid "
    "BankAccountIncludingMask:str BankAccountUseSEPA:bool BankAccountUseSepaDirectDebit:bool "
    "BankName:str Code:str Created:date Creator:guid CreatorFullName:str Currency:str "
    "CurrencyDescription:str CustomField:str Description:str Division:int GLAccount:guid "
    "GLAccountCode:str GLAccountDescription:str GLAccountType:int IsBlocked:bool Modified:date "
    "Modifier:guid ModifierFullName:str PaymentInTransitAccount:guid "
    "PaymentServiceAccountIdentifier:str PaymentServiceProvider:int "
    "PaymentServiceProviderName:str Type:int"
)

# financial/FinancialPeriods: FinancialFinancialPeriods
FINANCIAL_PERIODS = (
    "ID:guid Created:date Creator:guid CreatorFullName:str Division:int EndDate:date "
    "FinPeriod:int FinYear:int Modified:date Modifier:guid ModifierFullName:str StartDate:date"
)

# read/financial/ReceivablesList: ReadFinancialReceivablesList
RECEIVABLES_LIST = (
    "HID:int64 AccountCode:str AccountId:guid AccountName:str Amount:dec AmountInTransit:dec "
    "CurrencyCode:str Description:str DueDate:date EntryNumber:int Id:guid InvoiceDate:date "
    "InvoiceNumber:int JournalCode:str JournalDescription:str Notes:* YourRef:str"
)

# cashflow/Receivables (and bulk/Cashflow/Receivables): CashflowReceivables
RECEIVABLES = (
    "ID:guid Account:guid AccountBankAccountID:guid AccountBankAccountNumber:str AccountCode:str "
    "AccountContact:guid AccountContactName:str AccountCountry:str AccountName:str AmountDC:dec "
    "AmountDiscountDC:dec AmountDiscountFC:dec AmountFC:dec BankAccountID:guid "
    "BankAccountNumber:str CashflowTransactionBatchCode:str Created:date Creator:guid "
    "CreatorFullName:str Currency:str Description:str DirectDebitMandate:guid "
    "DirectDebitMandateDescription:str DirectDebitMandatePaymentType:int "
    "DirectDebitMandateReference:str DirectDebitMandateType:int DiscountDueDate:date Division:int "
    "Document:guid DocumentNumber:int DocumentSubject:str DueDate:date EndDate:date EndPeriod:int "
    "EndToEndID:str EndYear:int EntryDate:date EntryID:guid EntryNumber:int GLAccount:guid "
    "GLAccountCode:str GLAccountDescription:str InvoiceDate:date InvoiceNumber:int "
    "IsBatchBooking:int IsFullyPaid:bool Journal:str JournalDescription:str LastPaymentDate:date "
    "Modified:date Modifier:guid ModifierFullName:str OrderNumber:int PaymentCondition:str "
    "PaymentConditionDescription:str PaymentDays:int PaymentDaysDiscount:int "
    "PaymentDiscountPercentage:dec PaymentInformationID:str PaymentMethod:str "
    "PaymentReference:str RateFC:dec ReceivableBatchNumber:int ReceivableSelected:date "
    "ReceivableSelector:guid ReceivableSelectorFullName:str Source:int Status:int "
    "TransactionAmountDC:dec TransactionAmountFC:dec TransactionDueDate:date "
    "TransactionEntryID:guid TransactionID:guid TransactionIsReversal:bool "
    "TransactionReportingPeriod:int TransactionReportingYear:int TransactionStatus:int "
    "TransactionType:int YourRef:str"
)

# financialtransaction/TransactionLines and its bulk twin: FinancialTransactionTransactionLines
TRANSACTION_LINES = (
    "ID:guid Account:guid AccountCode:str AccountName:str AmountDC:dec AmountFC:dec "
    "AmountVATBaseFC:dec AmountVATFC:dec Asset:guid AssetCode:str AssetDescription:str "
    "CostCenter:str CostCenterDescription:str CostUnit:str CostUnitDescription:str Created:date "
    "Creator:guid CreatorFullName:str Currency:str CustomField:str Date:date Description:str "
    "Division:int Document:guid DocumentNumber:int DocumentSubject:str DueDate:date EntryID:guid "
    "EntryNumber:int ExchangeRate:dec ExternalLinkDescription:str ExternalLinkReference:str "
    "ExtraDutyAmountFC:dec ExtraDutyPercentage:dec FinancialPeriod:int FinancialYear:int "
    "GLAccount:guid GLAccountCode:str GLAccountDescription:str InvoiceNumber:int Item:guid "
    "ItemCode:str ItemDescription:str JournalCode:str JournalDescription:str LineNumber:int "
    "LineType:int Modified:date Modifier:guid ModifierFullName:str Notes:str OffsetID:guid "
    "OrderNumber:int PaymentDiscountAmount:dec PaymentReference:str Project:guid ProjectCode:str "
    "ProjectDescription:str ProjectWBS:guid ProjectWBSDescription:str Quantity:dec "
    "SerialNumber:str ShopOrder:guid Status:int Subscription:guid SubscriptionDescription:str "
    "TrackingNumber:str TrackingNumberDescription:str Type:int VATCode:str VATCodeDescription:str "
    "VATPercentage:dec VATType:str YourRef:str"
)

# sync/Financial/TransactionLines: SyncFinancialTransactionLines
SYNC_TRANSACTION_LINES = (
    "Timestamp:int64 Account:guid AccountCode:str AccountName:str AmountDC:dec AmountFC:dec "
    "AmountVATBaseFC:dec AmountVATFC:dec Asset:guid AssetCode:str AssetDescription:str "
    "CostCenter:str CostCenterDescription:str CostUnit:str CostUnitDescription:str Created:date "
    "Creator:guid CreatorFullName:str Currency:str CustomField:str Date:date Description:str "
    "Division:int Document:guid DocumentNumber:int DocumentSubject:str DueDate:date EntryID:guid "
    "EntryNumber:int ExchangeRate:dec ExternalLinkDescription:str ExternalLinkReference:str "
    "ExtraDutyAmountFC:dec ExtraDutyPercentage:dec FinancialPeriod:int FinancialYear:int "
    "GLAccount:guid GLAccountCode:str GLAccountDescription:str ID:guid InvoiceNumber:int "
    "Item:guid ItemCode:str ItemDescription:str JournalCode:str JournalDescription:str "
    "LineNumber:int LineType:int Modified:date Modifier:guid ModifierFullName:str Notes:str "
    "OffsetID:guid OrderNumber:int PaymentDiscountAmount:dec PaymentReference:str Project:guid "
    "ProjectCode:str ProjectDescription:str ProjectWBS:guid ProjectWBSDescription:str "
    "Quantity:dec SerialNumber:str Status:int Subscription:guid SubscriptionDescription:str "
    "TrackingNumber:str TrackingNumberDescription:str Type:int VATCode:str VATCodeDescription:str "
    "VATPercentage:dec VATType:str YourRef:str"
)
