"""Messages tell people to run the command the way they run the target."""

from __future__ import annotations

from pathlib import Path

import pytest
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from target_exactonline.commands import authorize_command, check_command
from target_exactonline.exact_client import ReauthorizeRequired
from target_exactonline.exact_client.settings import ExactSettings
from target_exactonline.sandbox_testing import target_config


def test_under_meltano_the_commands_name_the_customer_environment() -> None:
    env = {"MELTANO_ENVIRONMENT": "acme"}
    assert (
        authorize_command(env) == "meltano --environment=acme invoke target-exactonline:authorize"
    )
    assert check_command(env) == "meltano --environment=acme invoke target-exactonline --test"


def test_on_its_own_the_commands_name_the_console_script() -> None:
    assert authorize_command({}) == "target-exactonline authorize --config <config file>"
    assert check_command({}) == "target-exactonline check --config <config file>"


def test_a_missing_connection_says_how_to_authorize_this_customer(
    exact_sandbox: ExactSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "bloom")
    config = target_config(exact_sandbox, f"sqlite:///{tmp_path / 'store.sqlite'}")
    oauth = ExactSettings.from_config(config).oauth(clock=exact_sandbox.admin.clock.now)
    with pytest.raises(ReauthorizeRequired) as info:
        oauth.access_token()
    assert "meltano --environment=bloom invoke target-exactonline:authorize" in str(info.value)
