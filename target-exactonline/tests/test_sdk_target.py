"""The Singer SDK's standard target tests that apply to a target that is not a SQL loader."""

from __future__ import annotations

from singer_sdk.testing import get_target_test_class
from target_exactonline.target import TargetExactOnline

CONFIG = {
    "client_id": "test-client",
    "client_secret": "test-secret-value",
    "division": 1,
    "bank_journal": "25",
    "gl_debtors": "1300",
    "gl_psp_costs": "4390",
    "gl_payouts": "2150",
    "gl_unassigned": "2999",
}

TestTargetExactOnline = get_target_test_class(TargetExactOnline, config=CONFIG)
