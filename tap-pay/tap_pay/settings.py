"""The tap's settings: their JSON schema (shown by ``--about``) and their checked, typed form."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from singer_sdk import typing as th

from tap_pay.dates import parse_setting_date
from tap_pay.money import UNIT_BY_ENDPOINT, AmountUnit

DEFAULT_API_URL = "https://rest.pay.nl/v2"
# The TGU Order API (paynl/sdk-net PAYNLSDK.SDK/V3/Client/PayV3ClientBase.cs DefaultCore).
DEFAULT_ORDER_API_URL = "https://connect.pay.nl/v1"
TRANSACTION_APIS = ("auto", "transactions", "orders")
DEFAULT_LOOKBACK_DAYS = 7
_REVENUE_GROUP = re.compile(r"^CT-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}$")

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        description="Base URL of Pay.'s GMS v2 API (change only for a test server).",
    ),
    th.Property(
        "token_code",
        th.StringType,
        required=True,
        description="The API token's code, AT-xxxx-xxxx (the Basic-auth user name).",
    ),
    th.Property(
        "api_token",
        th.StringType,
        required=True,
        secret=True,
        description="The 40-character API token that belongs to token_code.",
    ),
    th.Property(
        "merchant_code",
        th.StringType,
        description=(
            "Merchant code (M-xxxx-xxxx). Needed when a partner token reads one of its "
            "merchants; leave empty for a merchant's own token."
        ),
    ),
    th.Property(
        "start_date",
        th.StringType,
        description=(
            "First settlement date (YYYY-MM-DD) to read when there is no bookmark yet. "
            "Empty reads all history."
        ),
    ),
    th.Property(
        "lookback_days",
        th.IntegerType,
        default=DEFAULT_LOOKBACK_DAYS,
        description=(
            "Every run re-reads this many days before its bookmark, so clearings and fees that "
            "Pay. publishes late are still picked up. Re-read records repeat with the same keys."
        ),
    ),
    th.Property(
        "revenue_groups",
        th.ArrayType(th.StringType),
        default=[],
        description=(
            "Revenue groups (turnover groups, CT-xxxx-xxxx) to read, filtered by Pay.; "
            "empty reads every group."
        ),
    ),
    th.Property(
        "settlement_amount_unit",
        th.StringType,
        default="cents",
        allowed_values=["cents", "euros"],
        description=(
            "Unit of a settlement's own amount in /clearings/settlements. Pay.'s documentation "
            "is ambiguous (its example reads like euros); every other amount is in a fixed, "
            "documented unit. A wrong choice is detected and reported, never booked."
        ),
    ),
    th.Property(
        "transaction_api",
        th.StringType,
        default="auto",
        allowed_values=list(TRANSACTION_APIS),
        description=(
            "Which Pay. API the enrichment reads a payment from: 'transactions' (V2 "
            "Transaction:Info on api_url, marked obsolete in Pay.'s SDK), 'orders' (the Order "
            "API's Order:Status on order_api_url, its replacement), or 'auto' (V2, and the Order "
            "API for a payment V2 does not know)."
        ),
    ),
    th.Property(
        "order_api_url",
        th.StringType,
        default=DEFAULT_ORDER_API_URL,
        description="Base URL of Pay.'s Order API (change only for a test server).",
    ),
    th.Property(
        "enrich_transactions",
        th.BooleanType,
        default=False,
        description=(
            "Read Transaction:Info for every clearing record (one call per distinct order) into "
            "the transactions stream, for matching on extra1..3 or the customer's e-mail. Needs "
            "the transactions stream selected (it is not by default): select transactions.*."
        ),
    ),
).to_dict()


class SettingsError(ValueError):
    """A setting that is present but unusable; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    api_url: str
    token_code: str
    api_token: str
    merchant_code: str | None
    start_date: dt.date | None
    lookback_days: int
    revenue_groups: tuple[str, ...]
    enrich_transactions: bool
    settlement_amount_unit: AmountUnit = AmountUnit.MINOR
    transaction_api: str = "auto"
    order_api_url: str = DEFAULT_ORDER_API_URL

    @property
    def secrets(self) -> list[str]:
        return [self.api_token]

    def unit(self, endpoint: str) -> AmountUnit:
        """The amount unit of an endpoint, with the settlement amount's setting applied."""
        if endpoint == "/clearings/settlements":
            return self.settlement_amount_unit
        return UNIT_BY_ENDPOINT[endpoint]

    @property
    def revenue_group_filter(self) -> frozenset[str] | None:
        return frozenset(self.revenue_groups) if self.revenue_groups else None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        errors = check(config)
        if errors:
            raise SettingsError("; ".join(errors))
        start = config.get("start_date")
        return cls(
            api_url=str(config.get("api_url") or DEFAULT_API_URL).rstrip("/"),
            token_code=str(config.get("token_code") or ""),
            api_token=str(config.get("api_token") or ""),
            merchant_code=config.get("merchant_code") or None,
            start_date=parse_setting_date(start) if start else None,
            lookback_days=int(config.get("lookback_days", DEFAULT_LOOKBACK_DAYS)),
            revenue_groups=tuple(dict.fromkeys(config.get("revenue_groups") or [])),
            enrich_transactions=bool(config.get("enrich_transactions", False)),
            settlement_amount_unit=AmountUnit(config.get("settlement_amount_unit") or "cents"),
            transaction_api=str(config.get("transaction_api") or "auto"),
            order_api_url=str(config.get("order_api_url") or DEFAULT_ORDER_API_URL).rstrip("/"),
        )


def check(config: Mapping[str, Any]) -> list[str]:
    """What the JSON schema cannot say; each message names the setting, never its secret."""
    errors: list[str] = []
    url = str(config.get("api_url") or DEFAULT_API_URL)
    if not re.match(r"^https?://[^/\s]+", url):
        errors.append(f"api_url: {url!r} is not an http(s) URL")
    if not config.get("token_code"):
        errors.append("token_code: required (the AT-xxxx-xxxx code of the API token)")
    if not config.get("api_token"):
        errors.append("api_token: required (the API token itself)")
    start = config.get("start_date")
    if start:
        try:
            parse_setting_date(str(start))
        except ValueError:
            errors.append(f"start_date: {start!r} is not a date YYYY-MM-DD")
    lookback = config.get("lookback_days", DEFAULT_LOOKBACK_DAYS)
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 0:
        errors.append(f"lookback_days: {lookback!r} is not a whole number of days >= 0")
    api = config.get("transaction_api") or "auto"
    if api not in TRANSACTION_APIS:
        errors.append(f"transaction_api: {api!r} is not one of {', '.join(TRANSACTION_APIS)}")
    order_url = str(config.get("order_api_url") or DEFAULT_ORDER_API_URL)
    if not re.match(r"^https?://[^/\s]+", order_url):
        errors.append(f"order_api_url: {order_url!r} is not an http(s) URL")
    unit = config.get("settlement_amount_unit") or "cents"
    if unit not in ("cents", "euros"):
        errors.append(f"settlement_amount_unit: {unit!r} is neither 'cents' nor 'euros'")
    groups = config.get("revenue_groups") or []
    if not isinstance(groups, list | tuple):
        errors.append("revenue_groups: expected a list of CT- codes")
    else:
        errors.extend(
            f"revenue_groups: {group!r} is not a revenue group code CT-xxxx-xxxx"
            for group in groups
            if not isinstance(group, str) or not _REVENUE_GROUP.match(group)
        )
    return errors
