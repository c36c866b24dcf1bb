"""A straightforward nested-loop matcher, the yardstick for the engine benchmark.

It applies the same rules as the engine (rule 1 references through the same tokeniser,
rule 2 candidates, rules 3 to 5 with run-wide claims) but finds candidates the obvious way:
every payment is tested against every open item with one predicate that states rule 2.
Each side's references are computed once, so the comparison measures the search, not
repeated tokenising.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from pay_exact_transform import (
    Clearing,
    OpenItem,
    PaymentRecord,
    RecordKind,
    Settings,
    resolve_profile,
)
from pay_exact_transform.candidates import COMMON_REFERENCE
from pay_exact_transform.tokens import make_key_function

PAYMENT = RecordKind.PAYMENT
ZERO = Decimal(0)

# Outcome per record: 'linked', 'amount_mismatch', 'ambiguous', 'claimed_twice' or 'none'.
Outcome = tuple[str, str | None]  # (outcome, linked item id)


def is_candidate(
    record: PaymentRecord,
    record_refs: set[str],
    item: OpenItem,
    item_refs: set[str],
    journal: str | None,
) -> bool:
    """Rule 2: same currency and sign, in the selected journal, sharing a reference."""
    if item.currency != record.currency:
        return False
    if record.kind is PAYMENT:
        if item.amount <= ZERO:
            return False
    elif item.amount >= ZERO:
        return False
    if journal is not None and item.journal != journal:
        return False
    return not record_refs.isdisjoint(item_refs)


def naive_match(
    clearings: list[Clearing], items: list[OpenItem], settings: Settings
) -> dict[tuple[str, str], Outcome]:
    profile = resolve_profile(settings.profile)
    options = {
        "strip_leading_zeros": profile.strip_leading_zeros,
        "min_length": profile.min_length,
        "require_digit": profile.require_digit,
    }
    pay_keys = make_key_function(regex=profile.regex, **options)
    ledger_keys = make_key_function(**options)
    journal = settings.sales_journal

    item_refs = []
    for item in items:
        refs: set[str] = set()
        for name in profile.ledger_fields:
            text = getattr(item, name)
            if text:
                refs.update(ledger_keys(text))
        item_refs.append(refs)

    # Rule 1: a reference on more than COMMON_REFERENCE open items identifies none of them.
    carried = Counter(key for refs in item_refs for key in refs)
    common = {key for key, count in carried.items() if count > COMMON_REFERENCE}

    claims = [0] * len(items)
    found: dict[tuple[str, str], tuple[list[int], Decimal]] = {}
    for clearing in clearings:
        for record in clearing.records:
            refs = set()
            for name in profile.payment_fields:
                text = getattr(record, name)
                since = profile.reference_since
                when = record.transaction_date
                if name == "reference" and since is not None and (when is None or when < since):
                    continue
                if text:
                    refs.update(pay_keys(text))
            refs -= common
            candidates = [
                j
                for j, item in enumerate(items)  # the nested loop
                if is_candidate(record, refs, item, item_refs[j], journal)
            ]
            for j in candidates:
                claims[j] += 1
            signed = record.amount if record.kind is RecordKind.PAYMENT else -record.amount
            found[(clearing.clearing_id, record.record_id)] = (candidates, signed)

    outcome: dict[tuple[str, str], Outcome] = {}
    for key, (candidates, signed) in found.items():
        if len(candidates) > 1:
            outcome[key] = ("ambiguous", None)
        elif not candidates:
            outcome[key] = ("none", None)
        elif claims[candidates[0]] > 1:
            outcome[key] = ("claimed_twice", None)
        elif items[candidates[0]].amount == signed:
            outcome[key] = ("linked", items[candidates[0]].item_id)
        else:
            outcome[key] = ("amount_mismatch", None)
    return outcome
