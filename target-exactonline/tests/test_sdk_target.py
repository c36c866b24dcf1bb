"""The Singer SDK's standard target test suite (0.54.9), as it applies to this target.

All 16 tests of the default suite run. Their streams (``test_array_data``, ...) are not Pay.
streams, so for this target they show that foreign streams are read, validated as the SDK
does, and ignored without touching Exact, the ledger or state; the CLI, invalid-schema,
record-before-schema and missing-key-property tests check the SDK's own handling.

Left out: ``TargetMultipleStateMessages`` (not in the SDK's default suite either). It expects
every state message to be relayed as it arrives; this target by design emits state once, after
the bookings it covers are durable (see ``test_sdk_pay_streams.py`` for the Pay. version of that
test, and the README). The SQL-specific suites do not apply to a target that writes to an API.
"""

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
