"""The Singer SDK's standard tap tests, against a Pay. sandbox started with this module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pay_exact_sandbox.generator import GeneratorParams
from pay_exact_sandbox.pay.sandbox import PaySandbox
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_pay.tap import TapPay

# The suite class is built at import, so its sandbox must be running by then; it is stopped
# when the module's tests are done.
_SANDBOX = PaySandbox(GeneratorParams(seed=54, days=3, payments_per_clearing=(2, 5))).start()

CONFIG = {
    "api_url": _SANDBOX.api_url,
    "token_code": _SANDBOX.token_code,
    "api_token": _SANDBOX.api_token,
    "start_date": "2025-03-01",
    "enrich_transactions": True,  # so the optional stream is tested too
}


def _catalog_selecting_everything() -> dict[str, Any]:
    """transactions is off by default; a user who wants it selects it, as this catalog does."""
    catalog = TapPay(config=CONFIG).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = True
    return catalog


TestTapPay = get_tap_test_class(
    tap_class=TapPay,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=500),
    catalog=_catalog_selecting_everything(),
)


@pytest.fixture(scope="module", autouse=True)
def _stop_sandbox() -> Iterator[None]:
    yield
    _SANDBOX.stop()
