"""Settings of one Exact Online sandbox: OAuth clients, limits, page sizes and language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ReceivablesSign = Literal["positive", "negative"]
PartialAmount = Literal["original", "remaining"]
RECEIVABLES_SIGNS: tuple[ReceivablesSign, ...] = ("positive", "negative")
PARTIAL_AMOUNTS: tuple[PartialAmount, ...] = ("original", "remaining")
# The ExactConfig fields that describe how the division behaves (not limits or credentials):
# settable at start (CLI, pytest factory) and at run time (``/_admin/exact/config``).
BEHAVIOUR_FIELDS = (
    "receivables_sign",
    "partial_receivable_amount",
    "partial_sets_last_payment_date",
    "strict_opening_balance",
)


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1/callback",)


DEFAULT_CLIENT = OAuthClient(
    client_id="00000000-0000-4000-8000-00000000c11e",
    client_secret="sandbox-secret",  # noqa: S106 - a fixed test credential of the local sandbox
    redirect_uris=("http://127.0.0.1/callback",),
)


@dataclass(frozen=True)
class ExactConfig:
    clients: tuple[OAuthClient, ...] = (DEFAULT_CLIENT,)
    # OAuth lifetimes [C]: access 600 s, no refresh before 570 s, code ~3 min, refresh 30 days.
    access_token_seconds: int = 600
    min_refresh_seconds: int = 570
    code_seconds: int = 180
    refresh_token_days: int = 30
    token_calls_per_day: int = 200
    # Rate limits per division [C].
    minutely_limit: int = 60
    daily_limit: int = 5000
    # Error budget [C]: 10 errors per endpoint per hour block the endpoint.
    error_budget: int = 10
    error_window_seconds: int = 3600
    # 400/401/403/404 are documented to count [C]; business 500s count too [I], because
    # the reference advises validating locally for exactly that reason.
    error_statuses: frozenset[int] = field(
        default_factory=lambda: frozenset({400, 401, 403, 404, 500})
    )
    # Page sizes [C]: 60 for normal endpoints, 1000 for bulk and sync; /read is configurable.
    page_size: int = 60
    bulk_page_size: int = 1000
    read_page_size: int = 60
    language: Literal["nl", "en"] = "nl"
    # Opening balance of a bank entry must equal the journal's current end balance [I].
    strict_opening_balance: bool = True
    # Longer line descriptions are cut to this many characters [I] (Invantive shows 60).
    line_description_max: int = 60
    # A debtors line with the customer's Account and the invoice number in OurRef, for exactly
    # the open amount, settles the invoice [I] (exact-online-api.md §5). False serves a
    # division where it does not: the payment stays an unmatched item and the invoice open.
    links_settle: bool = True
    # Behaviours the reference leaves open; each default follows its inference, the other value
    # is what a public account reports, so the product and its self-check are tried both ways.
    # "positive": cashflow/Receivables AmountDC/AmountFC are positive for an invoice [I] (§4.6);
    # "negative": they hold the remaining amount, negative for an invoice (one public account).
    receivables_sign: ReceivablesSign = "positive"
    # "original": a part-paid receivable keeps its full amount and only ReceivablesList shows
    # what is left [I] (§4.5); "remaining": the receivable's amounts drop to what is left.
    partial_receivable_amount: PartialAmount = "original"
    # A part payment sets the receivable's LastPaymentDate [I] (§4.6).
    partial_sets_last_payment_date: bool = True

    def __post_init__(self) -> None:
        if self.receivables_sign not in RECEIVABLES_SIGNS:
            raise ValueError(f"receivables_sign must be one of {RECEIVABLES_SIGNS}")
        if self.partial_receivable_amount not in PARTIAL_AMOUNTS:
            raise ValueError(f"partial_receivable_amount must be one of {PARTIAL_AMOUNTS}")
        for name in ("partial_sets_last_payment_date", "strict_opening_balance"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")

    def behaviour(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in BEHAVIOUR_FIELDS}

    def client(self, client_id: str | None) -> OAuthClient | None:
        for client in self.clients:
            if client.client_id == client_id:
                return client
        return None
