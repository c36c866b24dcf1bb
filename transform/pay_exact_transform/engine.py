"""The reconciliation engine: clearings + open items + settings in, booking plans out.

Three passes over a run, each linear:
1. validate every clearing and find each record's candidates with its revenue group's
   profile (hash lookups only), counting how many records of the run claim each open item;
2. decide every record by rules 3 to 7, knowing the claims of the whole run;
3. assemble the plans and the relations to create.
No pass depends on the order of its input: clearings are handled by id, records by id, and
everything that reaches the output is sorted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .assemble import assemble
from .candidates import Finder, Found
from .decide import Decider, record_lines
from .index import OpenItemIndex, build_index, without_cyclic_gc
from .model import Clearing, OpenItem
from .money import exact_decimals
from .plan import BookingPlan
from .prepare import distinct_clearings, prepare
from .profiles import group_profiles, resolve_profile
from .settings import MatchProfile, Settings


def plan_clearing(
    clearing: Clearing,
    open_items: OpenItemIndex | Sequence[OpenItem],
    settings: Settings,
) -> BookingPlan:
    """Plan one clearing on its own (a run of one)."""
    return plan_run([clearing], open_items, settings)[0]


def plan_run(
    clearings: Iterable[Clearing],
    open_items: OpenItemIndex | Sequence[OpenItem],
    settings: Settings,
) -> list[BookingPlan]:
    """Plan the clearings of one run jointly, sorted by clearing id.

    An open item that several records of the run point at is linked by none of them, so no
    open item is ever linked twice, within a plan or across plans. Each clearing reads its
    references with its revenue group's profile (``RevenueGroupOverride.profile``, else
    ``Settings.profile``); claims count across profiles, so the plan does not depend on
    which group's payment came first.
    """
    with without_cyclic_gc(), exact_decimals():
        return _plan_run(clearings, open_items, settings)


def _plan_run(
    clearings: Iterable[Clearing],
    open_items: OpenItemIndex | Sequence[OpenItem],
    settings: Settings,
) -> list[BookingPlan]:
    index = open_items if isinstance(open_items, OpenItemIndex) else build_index(open_items)
    default = resolve_profile(settings.profile)
    by_group = group_profiles(settings)
    contexts = [prepare(c, settings) for c in distinct_clearings(clearings)]
    # One finder per distinct profile: the index keeps one reference table per comparison
    # rule set, so every profile of the run looks up the same open items by position and a
    # claim counts the same whichever profile made it.
    finders: dict[MatchProfile, Finder] = {}
    finder_per_clearing: list[Finder] = []
    for ctx in contexts:
        group = ctx.clearing.revenue_group
        profile = by_group.get(group.code, default) if group is not None else default
        finder = finders.get(profile)
        if finder is None:
            finder = finders[profile] = Finder(index, profile, settings)
        finder_per_clearing.append(finder)

    claims: dict[int, int] = {}
    found_per_clearing: list[list[Found]] = []
    for ctx, finder in zip(contexts, finder_per_clearing, strict=True):
        find = finder.find
        found_here = []
        for record in ctx.records:
            found = find(record, ctx.sales_journal)
            for idx in found.candidates:
                claims[idx] = claims.get(idx, 0) + 1
            found_here.append(found)
        found_per_clearing.append(found_here)

    decider = Decider(index, settings, claims)
    drafts = []
    for n, ctx in enumerate(contexts):
        found_here = found_per_clearing[n]
        found_per_clearing[n] = []  # free pass-1 results as their lines appear (peak memory)
        finder = finder_per_clearing[n]
        drafts.append((ctx, record_lines(ctx, found_here, decider, finder) if ctx.books else []))
    relations = decider.relations()
    return [assemble(ctx, lines, relations) for ctx, lines in drafts]
