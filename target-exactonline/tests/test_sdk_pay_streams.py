"""The SDK's target test templates, fed tap-pay shaped streams and run against the Exact sandbox.

The SDK's own files (``test_sdk_target.py``) use streams this target does not book, so they
only show that foreign streams are read and ignored. These files exercise the same concerns
(repeated records, schema updates, missing optional fields, several state messages, a missing
key property) on the streams the target books, and check what landed in Exact.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.templates import TargetFileTestTemplate
from target_exactonline.run import ClearingsNotBooked
from target_exactonline.sandbox_testing import (
    store_target_tokens,
    target_client_factory,
    target_config,
)
from target_exactonline.target import TargetExactOnline

SINGER = Path(__file__).parent / "singer"
T0 = 1_795_000_000.0
STATE_LAST = {
    "bookmarks": {
        "settlements": {"replication_key": "settlementDate", "replication_key_value": "2025-10-21"}
    }
}


def pay_entries(exact: ExactSandbox) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in exact.runtime.store.bank_entries.values():
        if entry["JournalCode"] == "25":
            key = entry["BankEntryLines"][0]["Description"].split()[0]
            found.setdefault(key, []).append(entry)
    return found


class PayFileTest(TargetFileTestTemplate):
    @property
    def singer_filepath(self) -> Path:  # type: ignore[override]
        return SINGER / f"{self.name}.singer"

    @property
    def exact(self) -> ExactSandbox:
        return self.resource


class DuplicateRecords(PayFileTest):
    name = "pay_duplicate_records"

    def validate(self) -> None:
        entries = pay_entries(self.exact)
        assert sorted(entries) == ["PX:CLR-SDK-001", "PX:CLR-SDK-002"]
        (first,) = entries["PX:CLR-SDK-001"]
        amounts = sorted(line["AmountFC"] for line in first["BankEntryLines"])
        assert amounts == [
            Decimal("-130.25"),
            Decimal("-0.75"),
            Decimal("10.00"),
            Decimal("121.00"),
        ]
        assert self.runner.state_messages == [STATE_LAST]


class SchemaUpdates(PayFileTest):
    name = "pay_schema_updates"

    def validate(self) -> None:
        entries = pay_entries(self.exact)
        assert sorted(entries) == ["PX:CLR-SDK-001", "PX:CLR-SDK-002"]
        (second,) = entries["PX:CLR-SDK-002"]
        assert len(second["BankEntryLines"]) == 3  # the record sent under the new schema is there


class MissingOptionalFields(PayFileTest):
    name = "pay_record_missing_optional_fields"

    def validate(self) -> None:
        (entry,) = pay_entries(self.exact)["PX:CLR-SDK-003"]
        linked = [line for line in entry["BankEntryLines"] if line["OurRef"] is not None]
        assert len(linked) == 1


class MultipleStateMessages(PayFileTest):
    """Unlike the SDK's own test, states are not relayed one by one: one, after the bookings."""

    name = "pay_multiple_state_messages"

    def validate(self) -> None:
        assert self.runner.state_messages == [STATE_LAST]
        assert len(pay_entries(self.exact)) == 2


class MissingKeyProperty(PayFileTest):
    """A record without a key property holds back its own clearing only (no exception mid-run)."""

    name = "pay_record_missing_key_property"

    def test(self) -> None:
        with pytest.raises(ClearingsNotBooked, match="1 of 2 clearings were not booked"):
            self.runner.sync_all()

    def validate(self) -> None:
        assert sorted(pay_entries(self.exact)) == ["PX:CLR-SDK-001"]


PAY_SUITE = SingerTestSuite(
    kind="target",
    tests=[
        DuplicateRecords,
        SchemaUpdates,
        MissingOptionalFields,
        MultipleStateMessages,
        MissingKeyProperty,
    ],
)

_Base = get_target_test_class(
    TargetExactOnline, config={}, custom_suites=[PAY_SUITE], include_target_tests=False
)


class TestPayStreams(_Base):  # type: ignore[misc, valid-type]
    @pytest.fixture
    def resource(self, exact_sandbox: ExactSandbox) -> ExactSandbox:
        exact_sandbox.freeze(at=T0)
        return exact_sandbox

    @pytest.fixture
    def runner(self, resource: ExactSandbox, tmp_path: Path) -> TargetTestRunner:
        exact = resource
        store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
        store_target_tokens(exact, store_url, issued_at=T0)
        config = target_config(exact, store_url, report_dir=str(tmp_path / "reports"))
        return TargetTestRunner(
            TargetExactOnline, config=config, client_factory=target_client_factory(exact, config)
        )
