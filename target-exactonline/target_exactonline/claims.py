"""Phase 4 of a booking run: every record's candidates counted as claims on open items across
the whole run (the engine's ``RunPlanner``, pass 1).

Revenue groups may sell through different webshops and so read references with different
profiles; the engine takes a profile per group and counts the claims on an open item across all
of them, so an invoice that payments of two groups point at is linked by neither, whatever the
order of the clearings. A clearing the engine refuses is blocked alone; the others are counted
and planned together.
"""

from __future__ import annotations

from collections.abc import Sequence

from pay_exact_transform import InputError, OpenItem, RunPlanner, build_index

from target_exactonline.clearing_item import Item, Outcomes
from target_exactonline.engine_settings import engine_settings
from target_exactonline.input_reading import InputReader
from target_exactonline.settings import TargetSettings


def count_claims(
    todo: list[Item],
    open_items: Sequence[OpenItem],
    *,
    settings: TargetSettings,
    reader: InputReader,
    outcomes: Outcomes,
    window_size: int,
) -> RunPlanner:
    currencies = {i.report.currency for i in todo if i.report.currency}
    planner = RunPlanner(build_index(open_items), engine_settings(settings, currencies))
    for start in range(0, len(todo), window_size):
        window = todo[start : start + window_size]
        for item_id, clearing in reader.load(window, outcomes).items():
            try:
                planner.count([clearing])
            except InputError as exc:
                outcomes.block(next(i for i in window if i.clearing_id == item_id), str(exc))
    return planner
