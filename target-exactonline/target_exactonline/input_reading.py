"""Phase 1 of a booking run: the collected input read and converted, once per clearing.

Every clearing is converted once (its facts and whether it can be booked); revenue groups not
selected are skipped; unreadable clearings and those of a settlement that is not bookable are
blocked. The engine's clearings stay in the collector's spool; ``load`` reads a window of them
back for the later passes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pay_exact_transform import Clearing, InputError, idempotency_key

from target_exactonline.clearing_item import Item, Outcomes
from target_exactonline.collector import TURNOVER_GROUPS, ClearingBundle, Collector
from target_exactonline.convert import ConversionError, convert_bundle
from target_exactonline.details import missing_details
from target_exactonline.engine_settings import profile_of
from target_exactonline.report import ClearingReport, Outcome
from target_exactonline.settings import TargetSettings
from target_exactonline.settlement_check import Judgement, judge_settlement

# The first clearings matched without their transaction details are named in the log one by
# one; the rest are counted in one line (the report names every one), so a backfill of a
# thousand clearings does not bury the log under a thousand copies of one warning.
DETAILS_WARNINGS_LOGGED = 5


class InputReader:
    """Reads the collector's clearings; keeps what converting a window again needs."""

    def __init__(
        self, settings: TargetSettings, collector: Collector, logger: logging.Logger
    ) -> None:
        self.settings = settings
        self.collector = collector
        self.log = logger
        self.problems: list[str] = []  # run-wide, for the report
        self._transactions: Mapping[str, Mapping[str, Any]] = {}
        self._group_names: dict[str, str] = {}
        self._judged: dict[Any, Judgement | None] = {}  # settlement code -> why not bookable
        self._details_missing = 0  # clearings matched without the details their profile reads

    def scan(self, window_size: int, window_records: int | None = None) -> list[Item]:
        collector = self.collector
        self._transactions = collector.transactions()
        self._group_names = names = {
            str(g["code"]): str(g.get("name") or "")
            for g in collector.records(TURNOVER_GROUPS)
            if g.get("code")
        }
        self._check_group_settings(names)
        items = []
        self._judged = {}
        self._details_missing = 0
        for window in collector.windows(window_size, window_records):
            for clearing_id, bundle in collector.bundles_for(window).items():
                item = self._scan_one(clearing_id, bundle)
                item.records = len(bundle.records)
                items.append(item)
        unlogged = self._details_missing - DETAILS_WARNINGS_LOGGED
        if unlogged > 0:
            self.log.warning(
                "%d more clearings were matched without the transaction details their profile "
                "reads (%d in all); the report names each of them at its top",
                unlogged,
                self._details_missing,
            )
        return items

    def _scan_one(self, clearing_id: str, bundle: ClearingBundle) -> Item:
        names = self._group_names
        report = ClearingReport(clearing_id=clearing_id, key=None, outcome=Outcome.BLOCKED)
        item = Item(clearing_id, report)
        head = bundle.clearing or {}
        report.settlement_code = head.get("settlementCode") or (bundle.settlement or {}).get("code")
        report.settlement_date = _bundle_date(bundle)
        report.currency = head.get("currency")
        group = head.get("turnoverGroupCode") or _single(head.get("turnoverGroupCodes"))
        report.revenue_group = group
        try:
            report.key = idempotency_key(clearing_id)
        except InputError as exc:
            report.reason = f"the clearing id cannot be used as a booking key: {exc}"
            return item
        if names and group and group not in names:
            report.reason = (
                f"revenue group {group} is not one of the merchant's revenue groups at Pay. "
                f"({', '.join(sorted(names))})"
            )
            return item
        if bundle.clearing is not None and not self.settings.includes_group(group):
            report.outcome = Outcome.SKIPPED
            report.reason = (
                f"revenue group {group or '(none)'} is not among the selected revenue groups"
            )
            return item
        code = (bundle.settlement or {}).get("code") or f"?{clearing_id}"
        if code not in self._judged:
            self._judged[code] = judge_settlement(bundle.settlement, clearing_id)
        verdict = self._judged[code]
        if verdict is not None:
            report.reason = verdict.reason
            report.blocked_reason = verdict.reason.split(":", 1)[0]  # its reason code
            # The clearing's own payout (tap-pay sums its lines) fills the not-booked table's
            # payout column; the verdict's figures are the settlement's.
            payout = head.get("amount")
            own = {"payout": payout} if isinstance(payout, Decimal) else {}
            report.totals = {**own, **verdict.totals}
            return item
        try:
            converted = convert_bundle(bundle, transactions=self._transactions, group_names=names)
        except ConversionError as exc:
            report.reason = "; ".join(exc.problems)
            return item
        report.attention.extend(converted.notes)
        clearing = converted.clearing
        self.collector.keep_converted(clearing_id, clearing)
        missing = missing_details(
            profile_of(
                self.settings, clearing.revenue_group.code if clearing.revenue_group else None
            ),
            bundle.records,
            self._transactions,
        )
        if missing:
            report.details_missing = missing
            self._details_missing += 1
            if self._details_missing <= DETAILS_WARNINGS_LOGGED:
                self.log.warning("Clearing %s: %s", clearing_id, missing)
        report.settlement_date = clearing.settlement_date
        report.currency = clearing.currency
        if converted.mixed_groups and self.settings.revenue_groups:
            report.reason = (
                f"the clearing mixes revenue groups {', '.join(converted.mixed_groups)}; "
                "with selected revenue groups each clearing must hold one group (turn on "
                "'payout per revenue group' at Pay.)"
            )
            return item
        report.outcome = Outcome.NOT_ATTEMPTED  # until the run decides
        item.group = clearing.revenue_group.code if clearing.revenue_group else None
        item.has_emails = any(r.customer_email for r in clearing.records)
        item.journal = self.settings.bank_journal_for(item.group)
        report.journal = item.journal
        return item

    def load(self, items: list[Item], outcomes: Outcomes) -> dict[str, Clearing]:
        """The engine's clearings of one window, as the first pass converted them."""
        collector = self.collector
        found: dict[str, Clearing] = collector.converted(i.clearing_id for i in items)
        missing = [i for i in items if i.clearing_id not in found]
        if not missing:
            return found
        bundles = collector.bundles_for(i.clearing_id for i in missing)
        for item in missing:
            try:
                converted = convert_bundle(
                    bundles[item.clearing_id],
                    transactions=self._transactions,
                    group_names=self._group_names,
                )
            except ConversionError as exc:  # read once already: only if the spool changed
                outcomes.block(item, "; ".join(exc.problems))
                continue
            found[item.clearing_id] = converted.clearing
        return found

    def _check_group_settings(self, names: dict[str, str]) -> None:
        """Settings that name a revenue group Pay. does not know (when the groups arrived)."""
        if not names:
            return
        s = self.settings
        for code in sorted((s.revenue_groups | set(s.overrides)) - set(names)):
            self.problems.append(
                f"the settings name revenue group {code}, which is not one of the merchant's "
                f"revenue groups at Pay. ({', '.join(sorted(names))})"
            )


def _single(values: Any) -> str | None:
    if isinstance(values, list) and len(values) == 1:
        return str(values[0])
    return None


def _bundle_date(bundle: ClearingBundle) -> date | None:
    for source in (bundle.clearing, bundle.settlement, *bundle.lines):
        if not source:
            continue
        value = source.get("settlementDate")
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                continue
    return None
