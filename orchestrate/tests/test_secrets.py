"""Secrets per customer: an owner-only file, names after the customer, nothing echoed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pay_exact_orchestrate.customers import Customer
from pay_exact_orchestrate.secrets import OwnerOnlyFileSecrets, SecretsError

ACME = Customer(name="acme-shop", file=Path("acme-shop.meltano.yml"), country="nl", division="1")
VALUE = "s3cr3t-value-that-must-not-show"


def secret_file(folder: Path, text: str, mode: int = 0o600) -> Path:
    path = folder / "acme-shop.env"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_an_owner_only_file_gives_the_customers_variables(tmp_path: Path) -> None:
    secret_file(tmp_path, f"# Pay.\nACME_SHOP_PAY_API_TOKEN={VALUE}\n\nACME_SHOP_X = y=z\n")
    assert OwnerOnlyFileSecrets(tmp_path).secrets_for(ACME) == {
        "ACME_SHOP_PAY_API_TOKEN": VALUE,
        "ACME_SHOP_X": "y=z",
    }


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o660])
def test_a_file_others_may_read_or_change_is_refused(tmp_path: Path, mode: int) -> None:
    path = secret_file(tmp_path, f"ACME_SHOP_PAY_API_TOKEN={VALUE}\n", mode)
    with pytest.raises(SecretsError, match="chmod 600") as raised:
        OwnerOnlyFileSecrets(tmp_path).secrets_for(ACME)
    assert str(path) in str(raised.value)
    assert VALUE not in str(raised.value)


def test_a_name_not_after_the_customer_is_refused(tmp_path: Path) -> None:
    # It would replace a setting of every plugin, or another customer's secret.
    secret_file(tmp_path, f"ACME_SHOP_PAY_API_TOKEN=a\nTARGET_EXACTONLINE_STORE_URL={VALUE}\n")
    with pytest.raises(SecretsError, match="TARGET_EXACTONLINE_STORE_URL") as raised:
        OwnerOnlyFileSecrets(tmp_path).secrets_for(ACME)
    assert "ACME_SHOP_" in str(raised.value)
    assert VALUE not in str(raised.value)


def test_a_malformed_line_is_named_by_number_not_by_content(tmp_path: Path) -> None:
    secret_file(tmp_path, f"ACME_SHOP_A=1\n{VALUE}\n")
    with pytest.raises(SecretsError, match="line 2") as raised:
        OwnerOnlyFileSecrets(tmp_path).secrets_for(ACME)
    assert VALUE not in str(raised.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SecretsError, match="no secrets file"):
        OwnerOnlyFileSecrets(tmp_path).secrets_for(ACME)
