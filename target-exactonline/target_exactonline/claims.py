"""Phase 4 of a booking run: every record's candidates counted as claims on open items across
the whole run (the engine's ``RunPlanner``, pass 1).

Revenue groups may sell through different webshops and so read references with different
profiles; the engine takes a profile per group and counts the claims on an open item across all
of them, so an invoice that payments of two groups point at is linked by neither, whatever the
order of the clearings. A clearing the engine refuses is blocked alone; the others are counted
and planned together.
"""

from __future__ import annotations

from pay_exact_transform import InputError, OpenItemLookup, RunPlanner

from target_exactonline.clearing_item import Item, Outcomes, windows
from target_exactonline.engine_settings import engine_settings
from target_exactonline.input_reading import InputReader
from target_exactonline.settings import TargetSettings


def count_claims(
    todo: list[Item],
    open_items: OpenItemLookup,
    *,
    settings: TargetSettings,
    reader: InputReader,
    outcomes: Outcomes,
    window_size: int,
    window_records: int,
) -> RunPlanner:
    currencies = {i.report.currency for i in todo if i.report.currency}
    # Pass 1's finds wait in the spool for pass 2, which then need not look them up again.
    planner = RunPlanner(
        open_items,
        engine_settings(settings, currencies),
        kept=reader.collector.kept_finds(),
    )
    for window in windows(todo, window_size, window_records):
        for item_id, clearing in reader.load(window, outcomes).items():
            try:
                planner.count([clearing])
            except InputError as exc:
                outcomes.block(next(i for i in window if i.clearing_id == item_id), str(exc))
    return planner
