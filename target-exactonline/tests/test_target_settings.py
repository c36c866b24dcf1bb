"""The settings schema and the checks on the settings a run starts with."""

from __future__ import annotations

from pathlib import Path

import pytest
from target_exactonline.settings import (
    DEFAULT_STORE_URL,
    SettingsError,
    TargetSettings,
    config_jsonschema,
)

BASE = {
    "client_id": "app-1",
    "client_secret": "s3cret-value",
    "division": 123456,
    "bank_journal": "25",
    "gl_debtors": "1300",
    "gl_psp_costs": "4390",
    "gl_payouts": "2150",
    "gl_unassigned": "2999",
}


def test_schema_declares_every_setting_with_a_description_and_marks_secrets() -> None:
    schema = config_jsonschema()
    props = schema["properties"]
    expected = {
        "exact_country", "exact_base_url", "client_id", "client_secret", "division",
        "bank_journal", "sales_journal", "gl_debtors", "gl_psp_costs", "gl_payouts",
        "gl_unassigned", "revenue_groups", "revenue_group_overrides", "create_relations",
        "standard_debtor_code", "matching_profile", "dry_run", "report_dir", "store_url",
    }  # fmt: skip
    assert expected <= set(props)
    for name, prop in props.items():
        assert prop.get("description"), f"{name} has no description"
    secret = {name for name, prop in props.items() if prop.get("secret")}
    assert secret == {"client_secret", "store_url", "token_store_url", "token_encryption_key"}
    assert set(schema["required"]) == {
        "client_id", "client_secret", "division", "bank_journal",
        "gl_debtors", "gl_psp_costs", "gl_payouts", "gl_unassigned",
    }  # fmt: skip
    assert "shopify" in props["matching_profile"]["enum"]
    assert "custom" in props["matching_profile"]["enum"]


def test_defaults() -> None:
    s = TargetSettings.from_config(BASE)
    assert s.base_url == "https://start.exactonline.nl"
    assert s.store_url == DEFAULT_STORE_URL
    assert s.report_dir == Path("reports")
    assert s.dry_run is False
    assert s.create_relations is False
    assert s.matching_profile == "generic"
    assert s.includes_group("CT-1") is True


def test_country_and_base_url() -> None:
    assert TargetSettings.from_config({**BASE, "exact_country": "uk"}).base_url == (
        "https://start.exactonline.co.uk"
    )
    local = TargetSettings.from_config({**BASE, "exact_base_url": "http://127.0.0.1:5001/"})
    assert local.base_url == "http://127.0.0.1:5001"
    with pytest.raises(SettingsError, match="'exact_country'"):
        TargetSettings.from_config({**BASE, "exact_country": "xx"})


def test_overrides_apply_per_revenue_group() -> None:
    s = TargetSettings.from_config(
        {
            **BASE,
            "revenue_groups": ["CT-A", "CT-B"],
            "revenue_group_overrides": [
                {"revenue_group": "CT-B", "bank_journal": "26", "gl_payouts": "2151"}
            ],
        }
    )
    assert s.bank_journal_for("CT-A") == "25"
    assert s.bank_journal_for("CT-B") == "26"
    assert s.gl_for("CT-B")["payouts"] == "2151"
    assert s.gl_for("CT-B")["debtors"] == "1300"
    assert s.all_bank_journals() == {"25", "26"}
    assert s.all_gl_codes()["2151"] == {"payouts"}
    assert s.includes_group("CT-C") is False


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"gl_debtors": " "}, "'gl_debtors' is required"),
        ({"division": 0}, "'division'"),
        ({"division": "abc"}, "'division'"),
        ({"matching_profile": "nope"}, "'matching_profile'"),
        ({"matching_profile": "custom"}, "'matching_fields' is required"),
        ({"matching_regex": "("}, "'matching_regex'"),
        ({"revenue_group_overrides": [{"bank_journal": "9"}]}, r"overrides\[0\]"),
        (
            {"revenue_group_overrides": [{"revenue_group": "A"}, {"revenue_group": "A"}]},
            "twice",
        ),
    ],
)
def test_bad_settings_name_the_setting(change: dict, names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        TargetSettings.from_config({**BASE, **change})


def test_division_may_come_as_text_from_environment_variables() -> None:
    assert TargetSettings.from_config({**BASE, "division": "123456"}).division == 123456


def test_store_key_defaults_to_the_meltano_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "acme")
    assert TargetSettings.from_config(BASE).store_key == "acme"
    assert TargetSettings.from_config({**BASE, "store_key": "other"}).store_key == "other"
    monkeypatch.delenv("MELTANO_ENVIRONMENT")
    assert TargetSettings.from_config(BASE).store_key == "default"


def test_a_revenue_group_can_have_its_own_matching_profile() -> None:
    s = TargetSettings.from_config(
        {
            **BASE,
            "matching_profile": "woocommerce",
            "revenue_group_overrides": [{"revenue_group": "CT-S", "matching_profile": "shopify"}],
        }
    )
    assert s.overrides["CT-S"].matching_profile == "shopify"
    assert "CT-W" not in s.overrides
    assert s.matching_profile == "woocommerce"
    with pytest.raises(SettingsError, match=r"overrides\[0\]\.matching_profile"):
        TargetSettings.from_config(
            {**BASE, "revenue_group_overrides": [{"revenue_group": "A", "matching_profile": "x"}]}
        )
