"""Settings: clear errors that name the setting, never the secret; the secret is marked so."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError
from tap_pay.money import AmountUnit
from tap_pay.settings import Settings, SettingsError
from tap_pay.tap import TapPay

SECRET = "f" * 40
BASE = {"token_code": "AT-1234-5678", "api_token": SECRET}


def test_defaults():
    settings = Settings.from_config(BASE)
    assert settings.api_url == "https://rest.pay.nl/v2"
    assert settings.lookback_days == 7
    assert settings.revenue_groups == ()
    assert settings.enrich_transactions is False
    assert settings.start_date is None
    assert settings.unit("/clearings/settlements") is AmountUnit.MINOR


def test_start_date_accepts_a_meltano_timestamp():
    settings = Settings.from_config({**BASE, "start_date": "2025-03-01T00:00:00+00:00"})
    assert settings.start_date is not None
    assert settings.start_date.isoformat() == "2025-03-01"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"revenue_groups": ["Webshop"]}, "revenue_groups: 'Webshop'"),
        ({"start_date": "03/01/2025"}, "start_date"),
        ({"lookback_days": -1}, "lookback_days"),
        ({"api_url": "rest.pay.nl"}, "api_url"),
        ({"settlement_amount_unit": "guilders"}, "settlement_amount_unit"),
        ({"api_token": ""}, "api_token: required"),
    ],
)
def test_bad_settings_are_named(override: dict, named: str):
    with pytest.raises(SettingsError) as caught:
        Settings.from_config({**BASE, **override})
    assert named in str(caught.value)
    assert SECRET not in str(caught.value)


def test_the_tap_refuses_bad_settings_before_any_call():
    with pytest.raises(ConfigValidationError) as caught:
        TapPay(config={**BASE, "revenue_groups": ["CT-12"]})
    assert any("revenue_groups" in error for error in caught.value.errors)


def test_api_token_is_declared_secret():
    properties = TapPay.config_jsonschema["properties"]
    assert properties["api_token"]["secret"] is True
    assert "secret" not in properties["token_code"]
    assert set(TapPay.config_jsonschema["required"]) == {"token_code", "api_token"}
