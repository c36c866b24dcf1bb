"""Exact's error envelope and the localised texts the sandbox answers with.

Texts marked [C] are quoted in the reference; the others are the sandbox's own wording in the
same style [I]. Clients must branch on the status code, never on these texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LANG_TAGS = {"nl": "nl-NL", "en": "en-US"}

# key -> (Dutch, English)
MESSAGES: dict[str, tuple[str, str]] = {
    # Business validation (HTTP 500).
    "invalid_journal": ("Ongeldig: Dagboek", "Invalid: Journal"),  # [C] nl
    "journal_required": ("Dagboek is verplicht", "Journal is mandatory"),
    "journal_not_bank": (
        "Ongeldig dagboek. Het dagboek moet een bankdagboek zijn",
        "Invalid journal. The journal must be a bank journal",  # [C] shape, PICQER#452 (cash)
    ),
    "journal_not_sales": (
        "Ongeldig dagboek. Het dagboek moet een verkoopdagboek zijn",
        "Invalid journal. The journal must be a sales journal",
    ),
    "gl_required": ("Grootboekrekening is verplicht", "G/L account is mandatory"),  # [C] nl
    "invalid_gl": ("Ongeldig: Grootboekrekening", "Invalid: G/L account"),
    "invalid_gl_type": ("Ongeldig: Grootboekrekeningtype", "Invalid: G/L account type"),  # [C] nl
    "gl_blocked": ("Grootboekrekening is geblokkeerd", "G/L account is blocked"),
    "invalid_account": ("Ongeldig: Relatie", "Invalid: Account"),
    "account_required": ("Relatie is verplicht", "Account is mandatory"),
    "customer_required": ("Klant is verplicht", "Customer is mandatory"),
    "amount_required": ("Bedrag is verplicht", "Amount is mandatory"),
    "lines_required": ("Regels zijn verplicht", "Lines are mandatory"),
    "name_required": ("Naam is verplicht", "Name is mandatory"),
    "period_missing": (
        "Boekjaar/periode bestaat niet: {year}/{period}",
        "The financial period does not exist: {year}/{period}",
    ),
    "period_closed": (
        "Periode is afgesloten: {year}/{period}",
        "The financial period is closed: {year}/{period}",
    ),
    "year_mismatch": (
        "Het boekjaar kan niet gewijzigd worden",
        "The financial year cannot be changed",  # [C] PICQER#515
    ),
    "currency_mismatch": ("Ongeldig: Valuta", "Invalid: Currency"),
    "exchange_rate_required": ("Koers is verplicht", "Exchange rate is mandatory"),
    "balance_mismatch": (
        "Beginsaldo plus mutaties is niet gelijk aan eindsaldo",
        "Opening balance plus entry lines does not equal the closing balance",
    ),
    "opening_balance_mismatch": (
        "Beginsaldo moet gelijk zijn aan het eindsaldo van de vorige boeking: {expected}",
        "Opening balance must equal the closing balance of the previous entry: {expected}",
    ),
    "not_balanced": (
        "Boeking is niet in balans: verschil {difference}",
        "Entry is not balanced: difference {difference}",
    ),
    "already_exists": ("Gegeven bestaat reeds", "Entry already exists"),  # [C] nl
    "entry_not_open": (
        "Boeking is verwerkt en kan niet verwijderd worden",
        "The entry is processed and cannot be deleted",
    ),
    "entry_required": ("Boeking is verplicht", "Entry is mandatory"),
    "in_use": ("Gegeven is in gebruik", "The record is in use"),
    "guid_conversion": (
        "Fout bij het verwerken van de aanvraag. Fout bij het converteren van de waarde voor "
        "eigenschap '{prop}' naar type 'Guid'",
        "Error processing request stream. Error encountered in converting the value from "
        "request payload for property '{prop}' to type 'Guid', which is the property's "
        "expected type.",  # [C] PICQER#595
    ),
    "type_conversion": (
        "Fout bij het verwerken van de aanvraag. Fout bij het converteren van de waarde voor "
        "eigenschap '{prop}' naar type '{type}'",
        "Error processing request stream. Error encountered in converting the value from "
        "request payload for property '{prop}' to type '{type}', which is the property's "
        "expected type.",
    ),
    # Request and OData problems (HTTP 400).
    "bad_body": (
        "Fout bij het verwerken van de aanvraag. De inhoud is geen geldig JSON-object",
        "Error processing request stream. The request body is not a valid JSON object.",
    ),
    "unknown_property": (
        "De eigenschap '{prop}' bestaat niet in type '{type}'",
        "The property '{prop}' does not exist on type '{type}'.",
    ),
    "read_only_property": (
        "De eigenschap '{prop}' kan niet gewijzigd worden",
        "The property '{prop}' cannot be set.",
    ),
    "select_required": (
        "Please add a $select or a $top=1 statement to the query string.",  # [C] (English only)
        "Please add a $select or a $top=1 statement to the query string.",
    ),
    "select_star": (
        "Deze service ondersteunt geen query {{ $select=* }}",
        "This service does not support query { $select=* }",  # [C] PISYS bulk docs
    ),
    "odata": ("{detail}", "{detail}"),
    # Access (401/403/404/405/406/429).
    "unauthorized": ("Niet geautoriseerd", "Unauthorized"),
    "no_division_access": (
        "Geen toegang tot administratie {division}",
        "No access to division {division}",
    ),
    "not_found": ("Niet gevonden: {what}", "Not found: {what}"),
    "method_not_allowed": (
        "Methode {method} is niet toegestaan op {what}",
        "Method {method} is not allowed on {what}",
    ),
    "not_acceptable": (
        "Deze sandbox levert alleen JSON: stuur 'Accept: application/json'",
        "This sandbox only serves JSON: send 'Accept: application/json'",
    ),
    "too_many_requests": ("API-limiet overschreden", "API rate limit exceeded"),
    "error_budget": (
        "API-limiet overschreden: te veel fouten op dit endpoint; geblokkeerd tot {until}",
        "API rate limit exceeded: too many errors on this endpoint; blocked until {until}",
    ),
}


@dataclass
class ExactError(Exception):
    """An answer in Exact's error envelope: status, message key and its arguments."""

    status: int
    key: str
    args_: dict[str, object] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def text(self, language: str) -> str:
        nl, en = MESSAGES[self.key]
        template = nl if language == "nl" else en
        return template.format(**self.args_)

    def body(self, language: str) -> dict[str, object]:
        return error_body(self.text(language), language)

    def __str__(self) -> str:
        return f"{self.status} {self.text('en')}"


def error_body(text: str, language: str) -> dict[str, object]:
    return {"error": {"code": "", "message": {"lang": LANG_TAGS.get(language, ""), "value": text}}}


def business(key: str, **args: object) -> ExactError:
    """Business validation: Exact answers these with HTTP 500 [C]."""
    return ExactError(500, key, args)


def bad_request(key: str, **args: object) -> ExactError:
    return ExactError(400, key, args)


def odata_error(detail: str) -> ExactError:
    return ExactError(400, "odata", {"detail": detail})
