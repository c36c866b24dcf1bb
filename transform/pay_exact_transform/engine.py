"""The reconciliation engine: clearings + open items + settings in, booking plans out.

Three passes over a run, each linear:
1. validate every clearing and find each record's candidates with its revenue group's
   profile (hash lookups only), counting how many records of the run claim each open item;
2. decide every record by rules 3 to 7, knowing the claims of the whole run;
3. assemble the plans and the relations to create.
``RunPlanner`` runs pass 1 over a run window by window and then passes 2 and 3 window by
window, so a run of any size is planned holding one window of clearings at a time.
No pass depends on the order of its input: clearings are handled by id, records by id, and
everything that reaches the output is sorted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, MutableMapping, Sequence

from .assemble import assemble
from .candidates import Finder, Found, KeptFind, restore
from .claims import ClaimCounts
from .decide import Decider, record_lines
from .errors import InputError
from .index import OpenItemIndex, OpenItemLookup, build_index, without_cyclic_gc
from .model import Clearing, OpenItem, record_values
from .money import exact_decimals
from .plan import BookingPlan, NewRelation, PlanLine
from .prepare import ClearingContext, distinct_clearings, prepare
from .profiles import group_profiles, resolve_profile
from .settings import MatchProfile, Settings


def plan_clearing(
    clearing: Clearing,
    open_items: OpenItemLookup | Sequence[OpenItem],
    settings: Settings,
) -> BookingPlan:
    """Plan one clearing on its own (a run of one)."""
    return plan_run([clearing], open_items, settings)[0]


def plan_run(
    clearings: Iterable[Clearing],
    open_items: OpenItemLookup | Sequence[OpenItem],
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
    open_items: OpenItemLookup | Sequence[OpenItem],
    settings: Settings,
) -> list[BookingPlan]:
    run = distinct_clearings(clearings)
    planner = RunPlanner(open_items, settings)
    planner.count(run, keep=True)  # one window: pass 2 reuses pass 1's candidates
    return planner.plan(run)


class RunPlanner:
    """Plans one run in windows of clearings, with exactly the result of one ``plan_run`` call.

    A record's outcome depends on the whole run in two ways only: how many records of the run
    claim each of its candidates (rule 5), and the new relation it shares with every record of
    the run that has the same e-mail (rule 6). So a run is planned in two passes over its
    windows, each window holding only its own clearings:

    1. ``count(window)`` for every window: validate, find each record's candidates, add one
       claim per candidate (a counter per open item, nothing per record), and note the
       relations records without a candidate need. Blocked clearings count too.
    2. ``plan(window)`` for every window: decide with the claims and relations of the whole
       run, from the candidates pass 1 found (kept in ``kept``, which a caller may hold on
       disk), or found again when pass 1 did not keep them.

    The plans do not depend on the window size or on the order of the windows: claims are
    sums, and a relation's name is taken from its first record in (clearing id, record id)
    order, whichever window brought it. What stays between windows is the open items' index
    (in memory, or wherever an ``OpenItemLookup`` keeps it), one machine integer per open item
    position (``ClaimCounts``), and the relations. A clearing counted twice (the same clearing
    in two windows, as Singer may deliver it) counts once.
    """

    def __init__(
        self,
        open_items: OpenItemLookup | Sequence[OpenItem],
        settings: Settings,
        *,
        kept: MutableMapping[str, list[KeptFind]] | None = None,
    ) -> None:
        """``kept``: where pass 1 keeps every clearing's finds, by clearing id, for pass 2 (a
        mapping a caller may back with a file); without it pass 2 finds them again."""
        self.index: OpenItemLookup
        if isinstance(open_items, OpenItemIndex | OpenItemLookup):
            self.index = open_items
        else:
            self.index = build_index(open_items)
        self.settings = settings
        self._default = resolve_profile(settings.profile)
        self._by_group = group_profiles(settings)
        # One finder per distinct profile: the index keeps one reference table per comparison
        # rule set, so every profile of the run looks up the same open items by position and a
        # claim counts the same whichever profile made it.
        self._finders: dict[MatchProfile, Finder] = {}
        self.claims = ClaimCounts()
        self._decider = Decider(self.index, settings, self.claims)
        self._counted: dict[str, int | str] = {}  # clearing id -> fingerprint of what was counted
        self._kept: dict[str, list[Found]] = {}
        self._kept_plain = kept
        # Pass 2 reads the kept candidates' items in one question where the items offer it.
        self._read_ahead = getattr(self.index.items, "read_ahead", None)
        self._relations: dict[str, NewRelation] | None = None

    def _finder(self, ctx: ClearingContext) -> Finder:
        group = ctx.clearing.revenue_group
        profile = self._by_group.get(group.code, self._default) if group else self._default
        finder = self._finders.get(profile)
        if finder is None:
            finder = self._finders[profile] = Finder(self.index, profile, self.settings)
        return finder

    def count(self, clearings: Iterable[Clearing], *, keep: bool = False) -> None:
        """Pass 1 for one window. ``keep`` holds the candidates for ``plan`` (one window)."""
        if self._relations is not None:
            raise InputError("run", "count", "every window must be counted before planning")
        with without_cyclic_gc(), exact_decimals():
            for clearing in distinct_clearings(clearings):
                fingerprint = _fingerprint(clearing)
                seen = self._counted.get(clearing.clearing_id)
                if seen is not None:
                    if seen != fingerprint:
                        raise InputError(
                            f"clearing {clearing.clearing_id!r}",
                            "clearing_id",
                            "is used by two clearings",
                        )
                    continue
                ctx = prepare(clearing, self.settings)
                self._counted[clearing.clearing_id] = fingerprint
                finder = self._finder(ctx)
                find = finder.find
                claim = self.claims.add
                found_here = []
                finder.look_up(ctx.records)
                for record in ctx.records:
                    found = find(record, ctx.sales_journal)
                    for idx in found.candidates:
                        claim(idx)
                    if ctx.books and not found.candidates:
                        # Rule 6 may need a relation, shared by every record of the run with
                        # this e-mail: note it now so that every window sees all of them.
                        self._decider.decide(ctx, found, finder)
                    found_here.append(found)
                finder.forget()
                if keep:
                    self._kept[clearing.clearing_id] = found_here
                elif self._kept_plain is not None:
                    self._kept_plain[clearing.clearing_id] = [f.kept() for f in found_here]

    def plan(self, clearings: Iterable[Clearing]) -> list[BookingPlan]:
        """Pass 2 for one window: its plans, sorted by clearing id."""
        with without_cyclic_gc(), exact_decimals():
            if self._relations is None:
                self._relations = self._decider.relations()
                self._decider.relations_known = True
            plans = []
            for clearing in distinct_clearings(clearings):
                if self._counted.get(clearing.clearing_id) != _fingerprint(clearing):
                    raise InputError(
                        f"clearing {clearing.clearing_id!r}",
                        "clearing_id",
                        "was not counted in pass 1 (count every window before planning)",
                    )
                ctx = prepare(clearing, self.settings)
                finder = self._finder(ctx)
                found_here = self._kept.pop(clearing.clearing_id, None)
                if found_here is None and ctx.books:
                    found_here = self._restore(ctx)
                if not ctx.books:
                    lines: list[PlanLine] = []
                else:
                    if found_here is None:
                        find = finder.find
                        finder.look_up(ctx.records)
                        found_here = [find(r, ctx.sales_journal) for r in ctx.records]
                        self._read_items(found_here)
                    lines = record_lines(ctx, found_here, self._decider, finder)
                    finder.forget()
                plans.append(assemble(ctx, lines, self._relations))
            return plans

    def _restore(self, ctx: ClearingContext) -> list[Found] | None:
        """The clearing's finds as pass 1 kept them in ``kept``, or None."""
        if self._kept_plain is None:
            return None
        kept = self._kept_plain.get(ctx.clearing.clearing_id)
        if kept is None:
            return None
        found = [restore(r, k) for r, k in zip(ctx.records, kept, strict=True)]
        self._read_items(found)
        return found

    def _read_items(self, found: list[Found]) -> None:
        """Read the items a clearing's decisions will ask for in one question, where the
        items offer it (pass 1 may have read only their facts)."""
        if self._read_ahead is not None:
            self._read_ahead(sorted({i for f in found for i in (*f.candidates, *f.hits)}))


def _fingerprint(clearing: Clearing) -> int | str:
    """Tells a clearing delivered again from another clearing under the same id, without
    holding it: its hash, or a digest of its text when a caller put lists in it. The records
    are hashed as tuples of their fields (what their own hash covers, without a Python call per
    record): a clearing is fingerprinted in both passes."""
    try:
        return hash(
            (
                clearing.clearing_id,
                clearing.settlement_code,
                clearing.settlement_date,
                clearing.currency,
                clearing.revenue_group,
                tuple(clearing.lines),
                tuple(map(record_values, clearing.records)),
                clearing.payout,
            )
        )
    except TypeError:
        return hashlib.sha256(repr(clearing).encode()).hexdigest()
