"""pay-exact reconciliation engine.

Pure and ledger-agnostic: a payment provider's clearing (payout) and a ledger's open items
go in, a balanced booking plan with a reason and an explanation per line comes out. No I/O,
no clock, no randomness: the same input, in any order, gives the same plan.
"""

from .classify import classify_line, record_from_signed
from .engine import RunPlanner, plan_clearing, plan_run
from .errors import InputError
from .index import OpenItemIndex, build_index
from .keys import idempotency_key, parse_key
from .model import (
    Clearing,
    ClearingLine,
    Direction,
    LineKind,
    OpenItem,
    PaymentRecord,
    RecordKind,
    RevenueGroup,
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
    "LineKind",
    "MatchProfile",
    "NewRelation",
    "OpenItem",
    "OpenItemIndex",
    "PaymentRecord",
    "PlanLine",
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
    "classify_line",
    "idempotency_key",
    "normalise",
    "parse_key",
    "plan_clearing",
    "plan_run",
    "record_from_signed",
    "resolve_profile",
]
