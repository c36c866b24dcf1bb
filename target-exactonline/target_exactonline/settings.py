"""The target's settings: the JSON schema Meltano shows, and their typed, checked form.

The names follow what merchants fill in for the commercial Pay. → Exact integrations
(administration, bank journal, sales journal, GL accounts for debtors, PSP costs, payouts and
unassigned, revenue groups, create relations, standard debtor code).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pay_exact_transform.profiles import PROFILES
from singer_sdk import typing as th

# One error type for every setting problem, the client's and the target's own.
from target_exactonline.exact_client.countries import DEFAULT_COUNTRY, country_for
from target_exactonline.exact_client.settings import (
    EXACT_HOSTS,
    SettingsError,
    require_token_key,
    resolve_base_url,
)
from target_exactonline.exact_client.token_cipher import KEY_SETTING
from target_exactonline.exact_client.token_store import DEFAULT_TOKEN_STORE_URL

# The ledger shares the token store's database by default: one file holds a customer's state.
DEFAULT_STORE_URL = DEFAULT_TOKEN_STORE_URL
DEFAULT_REPORT_DIR = "reports"
# A tenth of a division's 5,000 daily calls stays free for the merchant's other Exact apps
# (a webshop connector, a bank feed) when a backfill would otherwise use the day up.
DEFAULT_DAILY_CALL_RESERVE = 500
GL_ROLES = ("debtors", "psp_costs", "payouts", "unassigned")

CUSTOM_PROFILE = "custom"


def _profile_names() -> list[str]:
    return [*sorted(PROFILES), CUSTOM_PROFILE]


_GL_CODE = th.StringType
_OVERRIDE = th.ObjectType(
    th.Property(
        "revenue_group",
        th.StringType,
        required=True,
        description="Pay. revenue group (turnover group) code, e.g. CT-1234-5678.",
    ),
    th.Property("bank_journal", th.StringType, description="Bank journal for this group."),
    th.Property(
        "sales_journal",
        th.StringType,
        description="Sales journal whose open invoices this group's payments are matched to.",
    ),
    th.Property("gl_debtors", _GL_CODE, description="Debtors GL code for this group."),
    th.Property("gl_psp_costs", _GL_CODE, description="PSP costs GL code for this group."),
    th.Property("gl_payouts", _GL_CODE, description="Payouts (transit) GL code for this group."),
    th.Property("gl_unassigned", _GL_CODE, description="Unassigned GL code for this group."),
    th.Property(
        "matching_profile",
        th.StringType,
        allowed_values=[*sorted(PROFILES), "custom"],
        description="Matching profile for this group's webshop, when it differs from the default.",
    ),
    additional_properties=False,
)


def config_jsonschema() -> dict[str, Any]:
    """The settings as the target declares them (``--about`` and Meltano show these)."""
    return th.PropertiesList(
        # Connection -------------------------------------------------------------------------
        th.Property(
            "exact_country",
            th.StringType,
            default="nl",
            allowed_values=sorted(EXACT_HOSTS),
            description=(
                "Country of the Exact Online environment (the host the administration lives "
                "on): nl, be, de, uk, fr, es or us."
            ),
        ),
        th.Property(
            "exact_base_url",
            th.StringType,
            description=(
                "Overrides the host derived from exact_country, e.g. a local test "
                "environment. Leave empty for Exact Online itself."
            ),
        ),
        th.Property(
            "client_id",
            th.StringType,
            required=True,
            description="Client ID of the app registered in the Exact Online App Center.",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            required=True,
            secret=True,
            description="Client secret of that app.",
        ),
        th.Property(
            "redirect_uri",
            th.StringType,
            description=(
                "Redirect URI registered for the app; used by `target-exactonline authorize` "
                "for the first consent."
            ),
        ),
        th.Property(
            "division",
            th.IntegerType,
            required=True,
            description="Exact administration (division) number the clearings are booked in.",
        ),
        # Journals and GL accounts -----------------------------------------------------------
        th.Property(
            "bank_journal",
            th.StringType,
            required=True,
            description=(
                "Code of the bank journal (type 12) for Pay.; its own GL is the Pay. account. "
                "One bank entry per clearing is booked here."
            ),
        ),
        th.Property(
            "sales_journal",
            th.StringType,
            description=(
                "Code of the sales journal whose open invoices are matched. Empty: open "
                "invoices of every sales journal are candidates."
            ),
        ),
        th.Property(
            "gl_debtors",
            _GL_CODE,
            required=True,
            description="GL code of the debtors (accounts receivable, type 20), e.g. 1300.",
        ),
        th.Property(
            "gl_psp_costs",
            _GL_CODE,
            required=True,
            description="GL code for the fees Pay. deducts (a cost account).",
        ),
        th.Property(
            "gl_payouts",
            _GL_CODE,
            required=True,
            description=(
                "GL code of the payouts transit account (balance sheet); the real bank line "
                "of the payout is later booked against it."
            ),
        ),
        th.Property(
            "gl_unassigned",
            _GL_CODE,
            required=True,
            description="GL code for money whose customer is not known (suspense account).",
        ),
        th.Property(
            "psp_costs_vat_code",
            th.StringType,
            description=(
                "VAT code for the PSP costs line (Pay. fees are usually VAT-exempt). Empty: "
                "the GL account's own VAT code applies."
            ),
        ),
        # Revenue groups ---------------------------------------------------------------------
        th.Property(
            "revenue_groups",
            th.ArrayType(th.StringType),
            description=(
                "Revenue group codes (CT-...) to book; clearings of other groups are skipped. "
                "Empty: every group. Needs Pay.'s 'payout per revenue group'."
            ),
        ),
        th.Property(
            "revenue_group_overrides",
            th.ArrayType(_OVERRIDE),
            description=(
                "Per revenue group, another bank journal, sales journal or GL codes than the "
                "defaults above."
            ),
        ),
        # Unknown customers ------------------------------------------------------------------
        th.Property(
            "create_relations",
            th.BooleanType,
            default=False,
            description=(
                "Create a customer (relation) in Exact for a payment whose customer is unknown "
                "but whose name is known. Off: such payments go to the standard debtor or the "
                "unassigned GL."
            ),
        ),
        th.Property(
            "standard_debtor_code",
            th.StringType,
            description=(
                "Code of the Exact customer that payments with an unknown customer are booked "
                "on. Empty: no standard debtor."
            ),
        ),
        # Matching ---------------------------------------------------------------------------
        th.Property(
            "matching_profile",
            th.StringType,
            default="generic",
            allowed_values=_profile_names(),
            description=(
                "Which payment fields hold the order or invoice number, per webshop platform; "
                "'custom' uses matching_fields and matching_regex."
            ),
        ),
        th.Property(
            "matching_fields",
            th.ArrayType(th.StringType),
            description=(
                "For the custom profile: payment fields to read references from, in order "
                "(reference, description, order_id, extra1, extra2, extra3)."
            ),
        ),
        th.Property(
            "matching_regex",
            th.StringType,
            description=(
                "For the custom profile: regular expression that extracts the reference "
                "(named group 'ref', else group 1, else the whole match)."
            ),
        ),
        th.Property(
            "book_inconsistent_difference",
            th.BooleanType,
            default=False,
            description=(
                "Book a clearing whose payments minus fees differ from its payout, with the "
                "difference on the unassigned GL. Off: such clearings are reported and retried."
            ),
        ),
        # Running ----------------------------------------------------------------------------
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            description="Do everything except writing to Exact; the report shows the plan.",
        ),
        th.Property(
            "report_dir",
            th.StringType,
            default=DEFAULT_REPORT_DIR,
            description="Folder for the run reports (JSON lines and an HTML page per run).",
        ),
        th.Property(
            "store_url",
            th.StringType,
            default=DEFAULT_STORE_URL,
            secret=True,
            description=(
                "SQLAlchemy URL of the database holding the booking ledger and the OAuth "
                "tokens: a SQLite file by default, PostgreSQL to share them between machines."
            ),
        ),
        th.Property(
            "store_key",
            th.StringType,
            description=(
                "Name of this customer in a shared store (tokens are kept per name). Default: "
                "the Meltano environment, else 'default'."
            ),
        ),
        th.Property(
            "token_store_url",
            th.StringType,
            secret=True,
            description=(
                "SQLAlchemy URL for the OAuth tokens when they should not live in store_url."
            ),
        ),
        th.Property(
            KEY_SETTING,
            th.StringType,
            secret=True,
            description=(
                "Fernet key(s) encrypting the stored Exact tokens, newest first and separated by "
                "commas (older ones still decrypt, for rotation). Required when the token store "
                "is not a SQLite file. Make one with `target-exactonline new-token-key`."
            ),
        ),
        th.Property(
            "token_store_key",
            th.StringType,
            description="Name of the connection in the token store when it differs from store_key.",
        ),
        th.Property(
            "max_rejections",
            th.IntegerType,
            default=5,
            description=(
                "Stop posting after this many entries Exact rejects in one run (Exact blocks "
                "the app for an hour after 10 errors per endpoint)."
            ),
        ),
        th.Property(
            "daily_call_reserve",
            th.IntegerType,
            default=DEFAULT_DAILY_CALL_RESERVE,
            description=(
                "Exact API calls of the division's daily budget (5,000) this target leaves "
                "free for the merchant's other Exact apps: the run stops cleanly, and books the "
                "rest on the next run, when booking the next clearing would eat into them."
            ),
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=False,
            description=(
                "Also check every record against its JSON schema before it is read (slow; "
                "the target's own reading of the records already names a bad record and field)."
            ),
        ),
    ).to_dict()


@dataclass(frozen=True, slots=True)
class GroupOverride:
    revenue_group: str
    bank_journal: str | None = None
    sales_journal: str | None = None
    gl: Mapping[str, str] = field(default_factory=dict)
    matching_profile: str | None = None


@dataclass(frozen=True, slots=True)
class TargetSettings:
    """The settings the run uses, checked once at start."""

    base_url: str
    client_id: str
    division: int
    bank_journal: str
    sales_journal: str | None
    gl: Mapping[str, str]
    psp_costs_vat_code: str | None
    revenue_groups: frozenset[str]
    overrides: Mapping[str, GroupOverride]
    create_relations: bool
    standard_debtor_code: str | None
    matching_profile: str
    matching_fields: tuple[str, ...]
    matching_regex: str | None
    book_inconsistent_difference: bool
    dry_run: bool
    report_dir: Path
    store_url: str
    store_key: str
    max_rejections: int
    daily_call_reserve: int = 0
    # The Exact country: with the division, it keys this customer's rows in a shared store.
    country: str = DEFAULT_COUNTRY

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetSettings:
        def text(name: str) -> str | None:
            value = config.get(name)
            if value is None:
                return None
            if not isinstance(value, str):
                raise SettingsError(f"setting {name!r} must be text, got {type(value).__name__}")
            value = value.strip()
            return value or None

        def required(name: str) -> str:
            value = text(name)
            if value is None:
                raise SettingsError(f"setting {name!r} is required")
            return value

        base_url = resolve_base_url(text("exact_country"), text("exact_base_url"))
        require_token_key(config)

        division = config.get("division")
        if isinstance(division, str) and division.strip().isdigit():
            division = int(division)
        if isinstance(division, bool) or not isinstance(division, int) or division <= 0:
            raise SettingsError("setting 'division' must be a positive whole number")

        gl = {role: required(f"gl_{role}") for role in GL_ROLES}

        overrides: dict[str, GroupOverride] = {}
        for i, item in enumerate(config.get("revenue_group_overrides") or []):
            if not isinstance(item, Mapping) or not str(item.get("revenue_group") or "").strip():
                raise SettingsError(
                    f"setting 'revenue_group_overrides[{i}]' needs a 'revenue_group' code"
                )
            code = str(item["revenue_group"]).strip()
            if code in overrides:
                raise SettingsError(
                    f"setting 'revenue_group_overrides' names revenue group {code!r} twice"
                )
            group_profile = _opt(item.get("matching_profile"))
            if group_profile is not None:
                group_profile = group_profile.lower()
                if group_profile not in _profile_names():
                    raise SettingsError(
                        f"setting 'revenue_group_overrides[{i}].matching_profile' must be one of "
                        f"{', '.join(_profile_names())}, got {group_profile!r}"
                    )
            overrides[code] = GroupOverride(
                revenue_group=code,
                matching_profile=group_profile,
                bank_journal=_opt(item.get("bank_journal")),
                sales_journal=_opt(item.get("sales_journal")),
                gl={
                    role: value
                    for role in GL_ROLES
                    if (value := _opt(item.get(f"gl_{role}"))) is not None
                },
            )

        profile = (text("matching_profile") or "generic").lower()
        known = _profile_names()
        if profile not in known:
            raise SettingsError(
                f"setting 'matching_profile' must be one of {', '.join(known)}, got {profile!r}"
            )
        raw_fields = config.get("matching_fields") or []
        fields = tuple(str(f).strip() for f in raw_fields if str(f).strip())
        regex = text("matching_regex")
        custom_used = profile == CUSTOM_PROFILE or any(
            o.matching_profile == CUSTOM_PROFILE for o in overrides.values()
        )
        if custom_used and not fields:
            raise SettingsError(
                "setting 'matching_fields' is required with matching_profile 'custom'"
            )
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as exc:
                raise SettingsError(f"setting 'matching_regex' is not valid: {exc}") from None

        max_rejections = config.get("max_rejections", 5)
        if isinstance(max_rejections, bool) or not isinstance(max_rejections, int):
            raise SettingsError("setting 'max_rejections' must be a whole number")

        reserve = config.get("daily_call_reserve", DEFAULT_DAILY_CALL_RESERVE)
        if reserve is None:
            reserve = DEFAULT_DAILY_CALL_RESERVE
        if isinstance(reserve, bool) or not isinstance(reserve, int) or reserve < 0:
            raise SettingsError("setting 'daily_call_reserve' must be a whole number, 0 or more")

        return cls(
            base_url=base_url,
            client_id=required("client_id"),
            division=division,
            bank_journal=required("bank_journal"),
            sales_journal=text("sales_journal"),
            gl=gl,
            psp_costs_vat_code=text("psp_costs_vat_code"),
            revenue_groups=frozenset(
                str(g).strip() for g in config.get("revenue_groups") or [] if str(g).strip()
            ),
            overrides=overrides,
            create_relations=bool(config.get("create_relations", False)),
            standard_debtor_code=text("standard_debtor_code"),
            matching_profile=profile,
            matching_fields=fields,
            matching_regex=regex,
            book_inconsistent_difference=bool(config.get("book_inconsistent_difference", False)),
            dry_run=bool(config.get("dry_run", False)),
            report_dir=Path(text("report_dir") or DEFAULT_REPORT_DIR),
            store_url=text("store_url") or DEFAULT_STORE_URL,
            store_key=text("store_key") or os.environ.get("MELTANO_ENVIRONMENT") or "default",
            max_rejections=max(1, max_rejections),
            daily_call_reserve=reserve,
            country=country_for(text("exact_country"), text("exact_base_url")),
        )

    # Derived views ---------------------------------------------------------------------------

    def bank_journal_for(self, revenue_group: str | None) -> str:
        override = self.overrides.get(revenue_group or "")
        return (override.bank_journal if override else None) or self.bank_journal

    def gl_for(self, revenue_group: str | None) -> dict[str, str]:
        override = self.overrides.get(revenue_group or "")
        return {**self.gl, **(override.gl if override else {})}

    def all_bank_journals(self) -> set[str]:
        return {self.bank_journal} | {
            o.bank_journal for o in self.overrides.values() if o.bank_journal
        }

    def all_sales_journals(self) -> set[str]:
        found = {self.sales_journal} if self.sales_journal else set()
        return found | {o.sales_journal for o in self.overrides.values() if o.sales_journal}

    def all_gl_codes(self) -> dict[str, set[str]]:
        """Every configured GL code with the roles it is used for."""
        roles: dict[str, set[str]] = {}
        for role, code in self.gl.items():
            roles.setdefault(code, set()).add(role)
        for override in self.overrides.values():
            for role, code in override.gl.items():
                roles.setdefault(code, set()).add(role)
        return roles

    def includes_group(self, revenue_group: str | None) -> bool:
        return not self.revenue_groups or (revenue_group or "") in self.revenue_groups


def _opt(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
