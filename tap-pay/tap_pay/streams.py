"""The tap's streams.

settlements (GET /clearings/settlements, incremental on settlementDate)
├── clearings        (embedded in settlements: no call)
│   └── clearing_records  (GET /clearings/{clearingId}/records)
│       └── transactions  (GET /transactions/{orderId}, only with enrich_transactions)
└── clearing_lines   (embedded in settlements: no call)
invoice_lines   (GET /invoicelines, incremental on date)
turnover_groups (GET /turnovergroups, full table)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import SchemaDirectory, Stream, StreamSchema
from singer_sdk.helpers.types import Context

from tap_pay import schemas
from tap_pay.client import PayStream
from tap_pay.dates import business_date
from tap_pay.errors import PayRequestError
from tap_pay.payload import Node
from tap_pay.records import (
    CLEARING_RECORDS,
    INVOICE_LINES,
    SETTLEMENTS,
    TRANSACTION_INFO,
    TURNOVER_GROUPS,
    Record,
    SettlementParts,
    clearing_record_record,
    invoice_line_record,
    order_record,
    settlement_parts,
    transaction_record,
    turnover_group_record,
)
from tap_pay.settings import Settings
from tap_pay.singer_output import SchemaOncePerStream

if TYPE_CHECKING:
    from singer_sdk import Tap

SCHEMAS = SchemaDirectory(schemas)


class LookbackIncremental(PayStream):
    """Incremental on a business date, re-reading ``lookback_days`` before the bookmark.

    The bookmark never moves backwards. The SDK sets the bookmark to the largest value seen in
    *this* run (singer-meltano.md fact 4), so a run that only re-reads the look-back window
    would pull it back; records older than the stored bookmark therefore do not count towards it.

    Pay. documents no order for these endpoints, so the tap reads a run's window completely and
    emits it sorted on (date, code): then the stream is sorted as the SDK means it, a STATE
    message written mid-run is a bookmark a rerun can resume from, and the SDK's "progress is
    not resumable" markers are not needed. The window is small (one record per payout, or per
    day, revenue group and fee type), so holding it costs little memory.
    """

    replication_key: ClassVar[str]
    date_filter: ClassVar[str]
    is_sorted = True

    _bookmark_at_start: str | None = None

    def stored_bookmark(self) -> str | None:
        state = self.stream_state
        if state.get("replication_key") not in (None, self.replication_key):
            return None
        value = state.get("replication_key_value")
        return business_date(value) if value else None

    def read_from(self) -> dt.date | None:
        """First date to ask Pay. for: max(start_date, bookmark - lookback_days)."""
        candidates: list[dt.date] = []
        if self._bookmark_at_start:
            bookmark = dt.date.fromisoformat(self._bookmark_at_start)
            candidates.append(bookmark - dt.timedelta(days=self.settings.lookback_days))
        if self.settings.start_date:
            candidates.append(self.settings.start_date)
        return max(candidates) if candidates else None

    def begin_incremental_read(self) -> None:
        self._bookmark_at_start = self.stored_bookmark()
        # A sorted stream's records are compared with the stored value itself: it must be the
        # date it means (not a timestamp, nor a value of another key) or a record would look
        # older than it and the SDK would stop the run as unsorted.
        state = self.stream_state
        if self._bookmark_at_start is None:
            state.pop("replication_key_value", None)
            state.pop("replication_key", None)
        else:
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = self._bookmark_at_start
        start = self.read_from()
        self.logger.info(
            "Reading %s from %s (bookmark %s, look-back %d days)",
            self.name,
            start.isoformat() if start else "the beginning",
            self._bookmark_at_start or "none",
            self.settings.lookback_days,
        )

    def compare_start_date(self, value: str, start_date_value: str) -> str:
        # Date keys are not "timestamp" keys to the SDK, which then ignores start_date here.
        return max(business_date(value), business_date(start_date_value))

    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        # The SDK's only per-record bookmark hook; see the class docstring for why.
        floor = self._bookmark_at_start
        if floor is not None and str(latest_record[self.replication_key]) < floor:
            return
        super()._increment_stream_state(latest_record, context=context)

    def date_params(self) -> dict[str, str]:
        start = self.read_from()
        return {f"{self.date_filter}[gte]": start.isoformat()} if start else {}


def revenue_group_queries(settings: Settings) -> list[str | None]:
    """One query per configured revenue group (Pay. filters ``turnoverGroup[eq]``, one value)."""
    return list(settings.revenue_groups) or [None]


def settlement_order(parts: SettlementParts) -> tuple[str, str]:
    return parts.record["settlementDate"], parts.record["code"]


class EmbeddedSettlement:
    """The settlement whose children are being synced, shared with the streams built from it.

    The SDK syncs a parent record's children before it reads the next parent record, so one
    settlement at a time is all that needs keeping.
    """

    def __init__(self) -> None:
        self.current: SettlementParts | None = None

    def parts(self, settlement_code: str) -> SettlementParts:
        if self.current is None or self.current.record["code"] != settlement_code:
            raise RuntimeError(f"settlement {settlement_code} is not the one being synced")
        return self.current


class SettlementsStream(LookbackIncremental):
    name = "settlements"
    schema = StreamSchema(SCHEMAS)
    primary_keys = ("code",)
    replication_key = "settlementDate"
    date_filter = "settlementDate"
    path = SETTLEMENTS
    endpoint = SETTLEMENTS
    items_key = "settlements"
    page_limit = 10  # the endpoint's maximum (pay-api.md §4.1)
    merchant_param = "merchant[eq]"

    def __init__(self, tap: Tap, *, embedded: EmbeddedSettlement | None = None) -> None:
        super().__init__(tap)
        self.embedded = embedded or EmbeddedSettlement()

    def filter_params(self, context: Context | None) -> dict[str, Any]:
        params: dict[str, Any] = self.date_params()
        if context and context.get("turnoverGroup"):
            params["turnoverGroup[eq]"] = context["turnoverGroup"]
        return params

    def records_from(self, item: Node) -> Iterable[Any]:
        yield settlement_parts(
            item, self.settings.revenue_group_filter, self.settings.unit(SETTLEMENTS)
        )

    def get_records(self, context: Context | None) -> Iterable[Record]:
        self.begin_incremental_read()
        queries = revenue_group_queries(self.settings)
        if len(queries) == 1:
            found: Iterable[SettlementParts] = self._unique(queries[0])
        else:
            found = self._merged(queries)
        for parts in found:
            if not parts.clearings and self.settings.revenue_group_filter is not None:
                continue  # none of its clearings is in a wanted revenue group
            self.embedded.current = parts
            if not self.selected:
                # Children still need the bookmark to advance when only they are selected.
                self._increment_stream_state(parts.record, context=context)
            yield parts.record
        self.embedded.current = None

    def _fetch(self, group: str | None) -> Iterator[SettlementParts]:
        yield from self.request_records({"turnoverGroup": group} if group else None)  # type: ignore[misc]

    def _unique(self, group: str | None) -> list[SettlementParts]:
        unique: dict[str, SettlementParts] = {}
        for parts in self._fetch(group):
            # Page boundaries can shift while a run pages through: keep the first copy.
            unique.setdefault(parts.record["code"], parts)
        return sorted(unique.values(), key=settlement_order)

    def _merged(self, queries: list[str | None]) -> list[SettlementParts]:
        """Several revenue groups: merge each settlement's clearings over the group queries."""
        merged: dict[str, SettlementParts] = {}
        for group in queries:
            for parts in self._fetch(group):
                code = parts.record["code"]
                if code not in merged:
                    merged[code] = parts
                    continue
                kept = merged[code]
                for clearing in parts.clearings:
                    clearing_id = clearing["clearingId"]
                    if clearing_id not in kept.lines_by_clearing:
                        kept.clearings.append(clearing)
                        kept.lines_by_clearing[clearing_id] = parts.lines_by_clearing[clearing_id]
                kept.record["clearingIds"] = [c["clearingId"] for c in kept.clearings]
        return sorted(merged.values(), key=settlement_order)

    def get_child_context(self, record: Record, context: Context | None) -> Context:
        return {"settlementCode": record["code"]}


class _EmbeddedChild(SchemaOncePerStream):
    """A stream read from the settlement being synced: no API call of its own."""

    parent_stream_type = SettlementsStream
    state_partitioning_keys: ClassVar[list[str]] = []  # no per-settlement state

    def __init__(self, tap: Tap, *, embedded: EmbeddedSettlement) -> None:
        super().__init__(tap)
        self.embedded = embedded

    def settlement(self, context: Context | None) -> SettlementParts:
        if not context:
            raise RuntimeError(f"{self.name} is read per settlement")
        return self.embedded.parts(context["settlementCode"])


class ClearingsStream(_EmbeddedChild):
    name = "clearings"
    schema = StreamSchema(SCHEMAS)
    primary_keys = ("clearingId",)

    def get_records(self, context: Context | None) -> Iterable[Record]:
        for clearing in self.settlement(context).clearings:
            yield dict(clearing)

    def get_child_context(self, record: Record, context: Context | None) -> Context:
        return {"clearingId": record["clearingId"], "settlementCode": record["settlementCode"]}


class ClearingLinesStream(_EmbeddedChild):
    name = "clearing_lines"
    schema = StreamSchema(SCHEMAS)
    primary_keys = ("code",)

    def get_records(self, context: Context | None) -> Iterable[Record]:
        for lines in self.settlement(context).lines_by_clearing.values():
            for line in lines:
                yield dict(line)


class ClearingRecordsStream(PayStream):
    name = "clearing_records"
    schema = StreamSchema(SCHEMAS)
    primary_keys = ("clearingId", "reportingId")  # why not orderId: see records.py
    parent_stream_type = ClearingsStream
    state_partitioning_keys: ClassVar[list[str]] = []
    path = "/clearings/{clearingId}/records"
    endpoint = CLEARING_RECORDS
    items_key = "clearingRecords"
    page_limit = 10_000  # the endpoint's maximum (pay-api.md §4.2)

    def records_from(self, item: Node) -> Iterable[Record]:
        assert self.context is not None
        yield clearing_record_record(item, self.context["clearingId"])

    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        # Without enrichment the transactions stream must cost nothing, not even a call.
        if self.settings.enrich_transactions:
            yield {"orderId": record["orderId"], "clearingId": record["clearingId"]}


class TransactionsStream(PayStream):
    """A payment's details per clearing record, from Transaction:Info or the Order API.

    Pay.'s .NET SDK marks the V2 transaction API obsolete in favour of the Order API
    (paynl/sdk-net PAYNLSDK.SDK/V2/Client/MultiCorePayV2Client.cs, commit e4c47fa), whose
    Order:Status is ``GET {order_api_url}/orders/{id}/status``. The setting transaction_api
    chooses; 'auto' keeps V2 while Pay. serves it and asks the Order API for an order V2 does
    not know. Both are asked with the clearing record's orderId, all a record carries: the
    Transaction:Info spec says it accepts it (pay-api.md §4.9 marks this [?]) and the SDK's
    GetOrder passes an orderId (PayV3Client.cs) [I].
    """

    name = "transactions"
    schema = StreamSchema(SCHEMAS)
    primary_keys = ("id",)
    parent_stream_type = ClearingRecordsStream
    state_partitioning_keys: ClassVar[list[str]] = []
    selected_by_default = False
    endpoint = TRANSACTION_INFO

    def __init__(self, tap: Tap) -> None:
        super().__init__(tap)
        self._done: set[str] = set()
        self._api = "transactions"
        # 'auto': orders in a row that V2 did not know and the Order API did. After a few, V2
        # is taken as retired for the rest of the run, so each order costs one call again.
        self._v2_gone_streak = 0

    @property
    def url_base(self) -> str:
        return self.settings.order_api_url if self._api == "orders" else self.settings.api_url

    @property
    def path(self) -> str:  # type: ignore[override]
        return "/orders/{orderId}/status" if self._api == "orders" else "/transactions/{orderId}"

    def records_from(self, item: Node) -> Iterable[Record]:
        assert self.context is not None
        if self._api == "orders":
            yield order_record(item, self.context["orderId"])
        else:
            yield transaction_record(item, self.context["orderId"])

    def get_records(self, context: Context | None) -> Iterable[Record]:
        if not self.settings.enrich_transactions or not context:
            return
        order_id = context["orderId"]
        if order_id in self._done:  # a refund shares its payment's order id
            return
        self._done.add(order_id)
        choice = self.settings.transaction_api
        apis = {"auto": ["transactions", "orders"]}.get(choice, [choice])
        if choice == "auto" and self._v2_gone_streak >= V2_RETIRED_AFTER:
            apis = ["orders"]
        for api in apis:
            self._api = api
            try:
                yield from self.request_records(context)
            except PayRequestError as exc:
                if exc.status not in GONE:
                    raise
                continue
            if choice == "auto" and len(apis) == 2:
                self._v2_gone_streak = self._v2_gone_streak + 1 if api == "orders" else 0
                if self._v2_gone_streak == V2_RETIRED_AFTER:
                    self.logger.warning(
                        "Pay.'s V2 Transaction:Info knew none of the last %d orders and the "
                        "Order API did: reading the rest of this run from the Order API only",
                        V2_RETIRED_AFTER,
                    )
            return
        self.logger.warning(
            "Pay. has no %s for order %s (clearing %s); its record is left without enrichment",
            " or ".join(API_NAMES[a] for a in apis),
            order_id,
            context.get("clearingId"),
        )


API_NAMES = {"transactions": "Transaction:Info", "orders": "Order:Status"}
V2_RETIRED_AFTER = 3  # orders in a row V2 did not know and the Order API did
# [I] Not known here: 404; an API Pay. has switched off may also answer 410 Gone.
GONE = (404, 410)


class InvoiceLinesStream(LookbackIncremental):
    name = "invoice_lines"
    schema = StreamSchema(SCHEMAS)
    primary_keys = ("code",)
    replication_key = "date"
    date_filter = "date"
    path = "/invoicelines"
    endpoint = INVOICE_LINES
    items_key = "invoiceLines"
    page_limit = 100  # the endpoint's maximum (pay-api.md §4.4)
    merchant_param = "merchant[eq]"

    def records_from(self, item: Node) -> Iterable[Record]:
        yield invoice_line_record(item)

    def filter_params(self, context: Context | None) -> dict[str, Any]:
        params: dict[str, Any] = self.date_params()
        if context and context.get("turnoverGroup"):
            params["turnoverGroup[eq]"] = context["turnoverGroup"]
        return params

    def get_records(self, context: Context | None) -> Iterable[Record]:
        self.begin_incremental_read()
        unique: dict[str, Record] = {}
        for group in revenue_group_queries(self.settings):
            for record in self.request_records({"turnoverGroup": group} if group else None):
                unique.setdefault(record["code"], record)
        yield from sorted(unique.values(), key=lambda r: (r["date"], r["code"]))


class TurnoverGroupsStream(PayStream):
    name = "turnover_groups"
    schema = StreamSchema(SCHEMAS)
    primary_keys = ("code",)
    path = "/turnovergroups"
    endpoint = TURNOVER_GROUPS
    items_key = "turnoverGroups"
    # The spec takes no page or limit here and answers {total, turnoverGroups, _links: [...]}
    # (labd/paynl-js-sdk packages/rest/openapi.json); a paged answer is followed all the same.
    unpaged_list = True
    merchant_param = "merchant"  # this endpoint takes ?merchant=M-... (pay-api.md §4.5)

    def records_from(self, item: Node) -> Iterable[Record]:
        record = turnover_group_record(item)
        wanted = self.settings.revenue_group_filter
        # A small lookup table: one call for all groups beats one call per wanted group.
        if wanted is None or record["code"] in wanted:
            yield record


def build_streams(tap: Tap) -> list[Stream]:
    embedded = EmbeddedSettlement()
    return [
        SettlementsStream(tap, embedded=embedded),
        ClearingsStream(tap, embedded=embedded),
        ClearingLinesStream(tap, embedded=embedded),
        ClearingRecordsStream(tap),
        TransactionsStream(tap),
        InvoiceLinesStream(tap),
        TurnoverGroupsStream(tap),
    ]
