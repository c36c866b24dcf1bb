"""The self-check's Exact probes: facts the product relies on that the reference only infers.

Each probe reads the customer's real division (reads only) and says whether its fact *held*,
*did not hold*, or whether it *could not tell* (nothing in the division to judge by), always
with what it saw. ``check.py`` runs them and records the results per division in the target's
store (``probe_store.py``); a live run refuses to book while a probe it depends on did not hold
(``BLOCKING``), a dry run goes ahead and says so.

The facts (exact-online-api.md):

- ``receivable_sign``: an open sales invoice is positive in ``cashflow/Receivables`` and a
  credit note negative (§4.6 [I]; one public account says the opposite).
- ``partial_open_amount``: for a partly paid invoice ``cashflow/Receivables`` shows the invoice's
  full amount and ``ReceivablesList`` what is still open (§4.5, §4.6; [I] for Receivables).
- ``partial_last_payment_date``: a partly paid, still open invoice carries ``LastPaymentDate``
  in ``cashflow/Receivables`` ([I]); the run uses it to find the invoices whose open amount it
  must take from ``ReceivablesList``.
- ``settlement_model``: a bank line on the debtors account with the customer and the invoice
  number in ``OurRef``, for the full open amount, settles the invoice (§5 [I]); judged on the
  invoices that the live runs linked, which the booking ledger remembers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from target_exactonline import context as ctx
from target_exactonline.exact_client.odata import guid_literal
from target_exactonline.ledger import LinkedInvoice
from target_exactonline.receivable_signs import (
    CREDIT_NOTE,
    SALES_ENTRY,
    SignedRow,
    convention_of,
    read_signs,
)

# Open invoices and credit notes the probes look at: the first page of the bulk read.
RECEIVABLES_LOOKED_AT = 1000
# ReceivablesList rows compared with them (/read pages hold 60 rows on Exact's normal paging).
LIST_ROWS_LOOKED_AT = 1200
# Linked invoices the settlement probe checks, newest first; receivables asked for per call.
LINKS_LOOKED_AT = 200
IDS_PER_READ = 40
SHOWN = 3  # examples quoted in what a probe saw

INVOICE = SALES_ENTRY  # TransactionType of an invoice's receivable
RECEIVABLE_MATCHED = 50


class Outcome(enum.StrEnum):
    HELD = "held"
    DID_NOT_HOLD = "did_not_hold"
    COULD_NOT_TELL = "could_not_tell"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").upper()


@dataclass(frozen=True, slots=True)
class ProbeResult:
    name: str
    outcome: Outcome
    seen: str
    # What to do when it did not hold, or what would let it tell.
    advice: str | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    name: str
    fact: str
    run: Callable[[Evidence], ProbeResult]


# A live run refuses to book while one of these did not hold: each one, when it fails, means
# the run would read or link invoices wrongly. The run reads receivables in either sign
# (receivable_signs.py) and takes a partly paid invoice's open amount from ReceivablesList
# whichever amount Receivables shows, so it depends on neither of those two probes.
BLOCKING: frozenset[str] = frozenset({"partial_last_payment_date", "settlement_model"})


# -- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Receivable:
    id: str
    number: int
    account: str
    kind: int
    amount: Decimal
    last_payment: bool


class Evidence:
    """What the probes read, each read once however many probes use it."""

    def __init__(self, client: Any, links: Callable[[int], list[LinkedInvoice]]) -> None:
        self.client = client
        self._links = links

    @cached_property
    def receivables(self) -> list[_Receivable]:
        return _open_receivables(self.client)

    @cached_property
    def outstanding(self) -> dict[tuple[int, str], Decimal]:
        return _outstanding(self.client)

    @cached_property
    def links(self) -> list[LinkedInvoice]:
        return self._links(LINKS_LOOKED_AT)

    def partly_paid(self) -> list[tuple[_Receivable, Decimal | None]]:
        return list(_partly_paid(self.receivables, self.outstanding))


def _open_receivables(client: Any) -> list[_Receivable]:
    rows = client.get_all(
        ctx.RECEIVABLES,
        select="ID,Account,AmountFC,InvoiceNumber,LastPaymentDate,TransactionType",
        filter=(
            f"Status eq {ctx.RECEIVABLE_OPEN} and "
            f"(TransactionType eq {INVOICE} or TransactionType eq {CREDIT_NOTE})"
        ),
        bulk=True,
        top=RECEIVABLES_LOOKED_AT,
    )
    found = []
    for row in rows:
        number, kind = ctx._int(row.get("InvoiceNumber")), ctx._int(row.get("TransactionType"))
        amount, account = ctx._decimal(row.get("AmountFC")), ctx._text(row.get("Account"))
        if number is None or kind is None or amount is None or account is None:
            continue
        found.append(
            _Receivable(
                id=str(row.get("ID") or ""),
                number=number,
                account=account,
                kind=kind,
                amount=amount,
                last_payment=bool(row.get("LastPaymentDate")),
            )
        )
    return found


def _outstanding(client: Any) -> dict[tuple[int, str], Decimal]:
    """ReceivablesList's open amount per (invoice number, account), rows of a split payment
    added up, over the first ``LIST_ROWS_LOOKED_AT`` rows."""
    rows = client.get_all(
        ctx.RECEIVABLES_LIST, select="HID,AccountId,Amount,InvoiceNumber", top=LIST_ROWS_LOOKED_AT
    )
    found: dict[tuple[int, str], Decimal] = {}
    for row in rows:
        number, account = ctx._int(row.get("InvoiceNumber")), ctx._text(row.get("AccountId"))
        amount = ctx._decimal(row.get("Amount"))
        if number is None or account is None or amount is None:
            continue
        found[(number, account)] = found.get((number, account), Decimal(0)) + amount
    return found


def _partly_paid(
    receivables: list[_Receivable], outstanding: dict[tuple[int, str], Decimal]
) -> Iterator[tuple[_Receivable, Decimal | None]]:
    """Open invoices that are partly paid by either sign: a LastPaymentDate, or a
    ReceivablesList amount below the Receivables amount. Yields each with its list amount."""
    for item in receivables:
        if item.kind != INVOICE:
            continue
        left = outstanding.get((item.number, item.account))
        below = left is not None and left != 0 and abs(left) < abs(item.amount)
        if item.last_payment or below:
            yield item, left


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _examples(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


# -- the probes -------------------------------------------------------------------------------


def receivable_sign(seen: Evidence) -> ProbeResult:
    name = "receivable_sign"
    rows = [SignedRow(r.number, r.kind, r.amount) for r in seen.receivables]
    reading = read_signs(rows)
    positive, negative = reading.counts.get("positive", 0), reading.counts.get("negative", 0)
    if not positive and not negative:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            "no open sales invoice or credit note with an amount in cashflow/Receivables",
            "run the check again once the division holds an open sales invoice",
        )
    counts = (
        f"{positive} open items follow it (invoice positive), {negative} the opposite "
        "(invoice negative)"
    )
    if negative:
        opposite = [
            f"{'invoice' if r.kind == INVOICE else 'credit note'} {r.invoice_number} AmountFC "
            f"{_money(r.amount)}"
            for r in rows
            if convention_of(r.kind, r.amount) == "negative"
        ]
        advice = (
            "runs read either sign (the kind from TransactionType, the amount from its "
            "magnitude), so nothing to do"
            if not positive
            else "the division mixes both signs; runs link nothing to the items of the "
            "minority sign and name them in the report: check those items in Exact"
        )
        return ProbeResult(name, Outcome.DID_NOT_HOLD, f"{counts}: {_examples(opposite)}", advice)
    return ProbeResult(name, Outcome.HELD, counts)


def partial_open_amount(seen: Evidence) -> ProbeResult:
    name = "partial_open_amount"
    receivables = seen.receivables
    partial = seen.partly_paid()
    judged = [(r, left) for r, left in partial if left is not None]
    if not judged:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            f"no partly paid open invoice among {len(receivables)} open receivables (looked for "
            "a LastPaymentDate, or a ReceivablesList amount below the Receivables amount)",
            "run the check again once the division holds a partly paid invoice",
        )
    full = [
        f"invoice {r.number}: Receivables {_money(r.amount)}, ReceivablesList {_money(left)}"
        for r, left in judged
        if abs(left) < abs(r.amount)
    ]
    same = [
        f"invoice {r.number}: both {_money(r.amount)}"
        for r, left in judged
        if abs(left) >= abs(r.amount)
    ]
    if same:
        return ProbeResult(
            name,
            Outcome.DID_NOT_HOLD,
            f"Receivables already shows the open amount of {len(same)} of {len(judged)} partly "
            f"paid invoices: {_examples(same)}",
            "the run takes a partly paid invoice's open amount from ReceivablesList, which "
            "is right under either reading; nothing to do",
        )
    return ProbeResult(
        name,
        Outcome.HELD,
        f"{len(full)} partly paid invoices, Receivables shows the full amount and "
        f"ReceivablesList the open amount: {_examples(full)}",
    )


def partial_last_payment_date(seen: Evidence) -> ProbeResult:
    name = "partial_last_payment_date"
    receivables = seen.receivables
    partial = seen.partly_paid()
    if not partial:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            f"no partly paid open invoice among {len(receivables)} open receivables (looked for "
            "a LastPaymentDate, or a ReceivablesList amount below the Receivables amount)",
            "run the check again once the division holds a partly paid invoice",
        )
    undated = [
        f"invoice {r.number}: Receivables {_money(r.amount)}, ReceivablesList {_money(left)}"
        for r, left in partial
        if not r.last_payment and left is not None
    ]
    if undated:
        return ProbeResult(
            name,
            Outcome.DID_NOT_HOLD,
            f"{len(undated)} of {len(partial)} partly paid invoices have no LastPaymentDate: "
            f"{_examples(undated)}",
            "a run would take such an invoice's full amount as open and could link a payment "
            "of the full amount to it",
        )
    return ProbeResult(
        name,
        Outcome.HELD,
        f"all {len(partial)} partly paid open invoices carry a LastPaymentDate "
        f"(e.g. invoice {partial[0][0].number})",
    )


def settlement_model(seen: Evidence) -> ProbeResult:
    name = "settlement_model"
    linked = seen.links
    if not linked:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            "no invoice linked by a live run yet (the booking ledger holds none)",
            "run the check again after the first live run",
        )
    status: dict[str, tuple[int | None, bool]] = {}
    ids = sorted({link.receivable_id for link in linked})
    for start in range(0, len(ids), IDS_PER_READ):
        batch = ids[start : start + IDS_PER_READ]
        rows = seen.client.get_all(
            ctx.RECEIVABLES,
            select="ID,InvoiceNumber,IsFullyPaid,Status",
            filter=" or ".join(f"ID eq {guid_literal(i)}" for i in batch),
            bulk=True,
        )
        for row in rows:
            status[str(row.get("ID") or "").lower()] = (
                ctx._int(row.get("Status")),
                bool(row.get("IsFullyPaid")),
            )
    open_links, settled, gone = [], 0, 0
    for link in linked:
        found = status.get(link.receivable_id.lower())
        if found is None:
            gone += 1
        elif found[0] == RECEIVABLE_MATCHED or found[1]:
            settled += 1
        else:
            open_links.append((link, found[0]))
    # An invoice is open again when someone deleted the entry that paid it: that says nothing
    # about settling, so only those whose entry Exact still holds count against the fact.
    removed = _entries_gone(seen.client, {link.entry_id for link, _ in open_links})
    still_open = [
        f"invoice {link.invoice_number} (clearing {link.clearing_id}, {_money(link.amount)}) is "
        f"Status {state}"
        for link, state in open_links
        if link.entry_id not in removed
    ]
    unpaid = len(open_links) - len(still_open)
    missing = f"; {gone} no longer in Receivables" if gone else ""
    if unpaid:
        missing += f"; {unpaid} open again because their entry was deleted in Exact"
    if still_open:
        return ProbeResult(
            name,
            Outcome.DID_NOT_HOLD,
            f"{len(still_open)} of {len(linked)} invoices linked by live runs are still open: "
            f"{_examples(still_open)}{missing}",
            "in Exact, look at these invoices and the Pay. bank entries that paid them; if the "
            "payment is there but not matched, Exact does not settle invoices by the invoice "
            "number on a bank line in this division and runs would leave every invoice open",
        )
    if not settled:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            f"none of the {len(linked)} linked invoices can be judged{missing}",
            "run the check again after the next live run",
        )
    return ProbeResult(
        name,
        Outcome.HELD,
        f"{settled} of {len(linked)} invoices linked by live runs are settled{missing}",
    )


def _entries_gone(client: Any, entry_ids: set[str | None]) -> set[str | None]:
    """The entries among these that Exact no longer holds (read only when some are asked)."""
    wanted = sorted(e for e in entry_ids if e)
    held: set[str] = set()
    for start in range(0, len(wanted), IDS_PER_READ):
        batch = wanted[start : start + IDS_PER_READ]
        rows = client.get_all(
            ctx.TRANSACTION_LINES,
            select="EntryID",
            filter=" or ".join(f"EntryID eq {guid_literal(e)}" for e in batch),
            bulk=True,
        )
        held.update(str(row.get("EntryID") or "").lower() for row in rows)
    return {e for e in entry_ids if e and e.lower() not in held}


PROBES: tuple[Probe, ...] = (
    Probe(
        "receivable_sign",
        "An open invoice is positive in cashflow/Receivables, a credit note negative",
        receivable_sign,
    ),
    Probe(
        "partial_open_amount",
        "A partly paid invoice shows its full amount in cashflow/Receivables and its open "
        "amount in ReceivablesList",
        partial_open_amount,
    ),
    Probe(
        "partial_last_payment_date",
        "A partly paid open invoice carries a LastPaymentDate",
        partial_last_payment_date,
    ),
    Probe(
        "settlement_model",
        "An invoice a live run linked by Account and OurRef at its full amount is no longer open",
        settlement_model,
    ),
)
PROBE_FACTS = {p.name: p.fact for p in PROBES}


def run_probes(client: Any, links: Callable[[int], list[LinkedInvoice]]) -> list[ProbeResult]:
    """Every probe, in order; a read Exact refuses makes that probe unable to tell, not the
    check fail (the rights themselves are checked before the probes)."""
    from target_exactonline.exact_client.errors import ExactError  # noqa: PLC0415
    from target_exactonline.exact_client.redaction import redact  # noqa: PLC0415

    seen = Evidence(client, links)
    results = []
    for probe in PROBES:
        try:
            results.append(probe.run(seen))
        except ExactError as exc:
            results.append(
                ProbeResult(
                    probe.name,
                    Outcome.COULD_NOT_TELL,
                    f"reading Exact failed: {redact(exc)}",
                    "fix the read right named above and run the check again",
                )
            )
    return results
