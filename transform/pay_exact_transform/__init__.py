"""pay-exact reconciliation engine.

Pure and ledger-agnostic: a payment provider's clearing (payout) and a ledger's open items
go in, a balanced booking plan with a reason and an explanation per line comes out. No I/O,
no clock, no randomness: the same input, in any order, gives the same plan.
"""

from .classify import classify_line, record_from_signed
from .engine import RunPlanner, plan_clearing, plan_run
from .errors import InputError
from .index import (
    OpenItemIndex,
    OpenItemLookup,
    Postings,
    build_index,
    check_open_item,
    normalise_email,
    profile_config,
    reference_keys,
    same_id_error,
    without_cyclic_gc,
)
from .keys import idempotency_key, parse_key
from .model import (
    Clearing,
    ClearingLine,
    Direction,
    ItemFacts,
    LineKind,
    OpenItem,
    PaymentRecord,
    RecordKind,
    RevenueGroup,
    builder,
    new_open_item,
)
from .plan import (
    FLAGGED,
    LINK_REASONS,
    BlockReason,
    BookingPlan,
    CustomerKind,
    NewRelation,
    PlanLine,
    Reason,
    Role,
    Status,
    Totals,
)
from .profiles import PROFILES, resolve_profile
from .settings import CustomProfile, GLAccounts, MatchProfile, RevenueGroupOverride, Settings
from .tokens import normalise

__all__ = [
    "FLAGGED",
    "LINK_REASONS",
    "PROFILES",
    "BlockReason",
    "BookingPlan",
    "Clearing",
    "ClearingLine",
    "CustomProfile",
    "CustomerKind",
    "Direction",
    "GLAccounts",
    "InputError",
    "ItemFacts",
    "LineKind",
    "MatchProfile",
    "NewRelation",
    "OpenItem",
    "OpenItemIndex",
    "OpenItemLookup",
    "PaymentRecord",
    "PlanLine",
    "Postings",
    "Reason",
    "RecordKind",
    "RevenueGroup",
    "RevenueGroupOverride",
    "Role",
    "RunPlanner",
    "Settings",
    "Status",
    "Totals",
    "build_index",
    "builder",
    "check_open_item",
    "classify_line",
    "idempotency_key",
    "new_open_item",
    "normalise",
    "normalise_email",
    "parse_key",
    "plan_clearing",
    "plan_run",
    "profile_config",
    "record_from_signed",
    "reference_keys",
    "resolve_profile",
    "same_id_error",
    "without_cyclic_gc",
]
