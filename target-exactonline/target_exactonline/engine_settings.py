"""The engine's settings and matching profiles, as the target's settings name them."""

from __future__ import annotations

from pay_exact_transform import PROFILES, GLAccounts, RevenueGroupOverride, Settings
from pay_exact_transform import MatchProfile as EngineProfile

from target_exactonline.settings import CUSTOM_PROFILE, TargetSettings


def engine_profile(settings: TargetSettings, name: str) -> str | EngineProfile:
    if name == CUSTOM_PROFILE:
        return EngineProfile(
            name=CUSTOM_PROFILE,
            payment_fields=settings.matching_fields,
            regex=settings.matching_regex,
        )
    return name


def profile_of(settings: TargetSettings, group: str | None) -> EngineProfile:
    override = settings.overrides.get(group or "")
    name = (override.matching_profile if override else None) or settings.matching_profile
    profile = engine_profile(settings, name)
    return PROFILES[profile] if isinstance(profile, str) else profile


def engine_settings(settings: TargetSettings, currencies: set[str]) -> Settings:
    s = settings
    overrides = {
        code: RevenueGroupOverride(
            journal=o.bank_journal,
            sales_journal=o.sales_journal,
            debtors=o.gl.get("debtors"),
            psp_costs=o.gl.get("psp_costs"),
            payouts=o.gl.get("payouts"),
            unassigned=o.gl.get("unassigned"),
            profile=engine_profile(s, o.matching_profile) if o.matching_profile else None,
        )
        for code, o in s.overrides.items()
    }
    return Settings(
        gl=GLAccounts(**s.gl),
        # Every currency passes the engine; whether the journal takes it is checked per plan
        # with the journal named.
        currencies=tuple(sorted(currencies)) or ("EUR",),
        sales_journal=s.sales_journal,
        standard_debtor=s.standard_debtor_code,
        create_relations=s.create_relations,
        book_inconsistent_difference=s.book_inconsistent_difference,
        revenue_group_overrides=overrides,
        profile=engine_profile(s, s.matching_profile),
    )
