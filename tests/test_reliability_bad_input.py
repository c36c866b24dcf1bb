"""Bad input through the whole pipeline: malformed Pay. records, clearings that do not add up or
are cut short, negative payouts, unknown currencies, repeats, unicode and quotes, broken
Singer lines and hostile settings. Each gets a clear error that names the record and field (or
the setting), or a correct booking; the other clearings are booked; and once the input is
right again, nothing is missing and nothing is booked twice.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import simplejson
from pay_exact_sandbox.pay.sandbox import PaySandbox
from target_exactonline.report import Outcome


class Messages:
    """tap-pay's Singer messages, to break on purpose."""

    def __init__(self, text: str) -> None:
        self.items = [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line]

    def records(self, stream: str, clearing_id: str | None = None) -> Iterator[dict[str, Any]]:
        for message in self.items:
            if message["type"] == "RECORD" and message["stream"] == stream:
                record = message["record"]
                if clearing_id is None or record.get("clearingId") == clearing_id:
                    yield record

    def drop(self, stream: str, keep: Callable[[dict[str, Any]], bool]) -> None:
        self.items = [
            m
            for m in self.items
            if not (m["type"] == "RECORD" and m["stream"] == stream and not keep(m["record"]))
        ]

    def text(self) -> str:
        return "".join(simplejson.dumps(m, use_decimal=True) + "\n" for m in self.items)


def victim(kit: Any) -> str:
    return min(kit.clearing_ids)


def outcomes(run: Any) -> dict[str, Any]:
    assert run.target is not None
    assert run.target.result is not None, run.stderr[-2000:]
    return {c.clearing_id: c for c in run.target.result.report.clearings}


def fixed_then_done(books: Any, rows: Callable[..., None], **row: Any) -> None:
    """The bad run booked the others; with the right input the next run books the rest."""
    again = books.run()
    assert again.error is None, again.stderr[-2000:]
    tally = books.tally()
    assert tally.exactly_once, tally
    assert again.states == [books.kit.tap_state]
    rows(area="bad input", tally=tally, **row)


def expect_blocked(books: Any, run: Any, clearing_id: str, *words: str) -> str:
    """Only ``clearing_id`` was not booked; its reason holds ``words``; the state waits for it."""
    found = outcomes(run)
    reason = found[clearing_id].reason or ""
    assert found[clearing_id].outcome.is_problem, found[clearing_id]
    for word in words:
        assert word in reason, reason
    others = {k: v.outcome for k, v in found.items() if k != clearing_id}
    assert set(others.values()) == {Outcome.BOOKED}, others
    assert clearing_id not in books.entries()
    assert run.error is not None  # exit status 1: something was not booked
    # the state holds the tap back at the clearing's settlement date, so it is read again
    date = str(found[clearing_id].settlement_date)
    assert run.states, "state is written for what was booked"
    assert run.states[-1]["bookmarks"]["settlements"]["replication_key_value"] <= date
    return reason


def blocked_then_fixed(
    books: Any, rows: Callable[..., None], messages: Messages, target: str, *words: str, **row: Any
) -> None:
    """The broken ``messages`` block only ``target``; with the right input the next run books it."""
    run = books.run(text=messages.text())
    expect_blocked(books, run, target, *words)
    fixed_then_done(books, rows, **row)


def state_waits_for_the_unbooked(run: Any) -> None:
    """No state without a report; with one, the bookmark does not pass an unbooked clearing."""
    result = run.target.result if run.target is not None else None
    if result is None:
        assert run.states == []
        return
    unbooked = [c.settlement_date for c in result.report.clearings if c.outcome.is_problem]
    assert unbooked
    assert run.states[-1]["bookmarks"]["settlements"]["replication_key_value"] <= str(min(unbooked))


# -- malformed records ----------------------------------------------------------------------------

BROKEN_RECORDS = [
    ("B1", "a payment record without its amount", lambda r: r.pop("amount"), ["amount"]),
    ("B2", "a payment amount sent as text", lambda r: r.update(amount="12.50"), ["amount"]),
    (
        "B3",
        "a payment amount of 10^20",
        lambda r: r.update(amount=Decimal("1E+20")),
        ["too large"],
    ),
    ("B4", "a payment record without its key", lambda r: r.pop("reportingId"), ["reportingId"]),
    (
        "B5",
        "a payment record with a null currency",
        lambda r: r.update(currency=None),
        ["currency"],
    ),
]


@pytest.mark.parametrize("case", BROKEN_RECORDS, ids=[c[0] for c in BROKEN_RECORDS])
def test_a_malformed_record_blocks_its_clearing_by_name_and_the_rest_is_booked(
    books: Any, merchant_kit: Any, rows: Callable[..., None], case: tuple[Any, ...]
) -> None:
    ref, fault, breaks, words = case
    messages = Messages(merchant_kit.tap_output)
    target = victim(merchant_kit)
    record = next(messages.records("clearing_records", target))
    record_id = record["reportingId"]
    breaks(record)
    run = books.run(text=messages.text())
    reason = expect_blocked(books, run, target, *words)
    booked = sum(c.outcome is Outcome.BOOKED for c in outcomes(run).values())
    if "reportingId" not in words:
        assert record_id in reason  # the record is named
    fixed_then_done(
        books,
        rows,
        ref=ref,
        fault=fault,
        where="tap-pay output (clearing_records)",
        outcome=f"that clearing waits, the record and field named; the other {booked} booked; "
        "with the record right the next run booked it",
    )


def test_a_clearing_that_does_not_add_up_waits_and_can_be_booked_by_setting(
    books: Any, merchant_kit: Any, rows: Callable[..., None]
) -> None:
    messages = Messages(merchant_kit.tap_output)
    target = victim(merchant_kit)
    clearing = next(messages.records("clearings", target))
    clearing["amount"] += Decimal("0.01")
    run = books.run(text=messages.text())
    expect_blocked(books, run, target, str(clearing["amount"]))
    # booking the difference on the unassigned account, by setting
    allowed = books.run(text=messages.text(), book_inconsistent_difference=True)
    assert allowed.error is None, allowed.stderr[-2000:]
    assert outcomes(allowed)[target].outcome is Outcome.BOOKED
    tally = books.tally()
    assert tally.exactly_once
    lines = next(
        e["BankEntryLines"]
        for e in books.exact.runtime.store.bank_entries.values()
        if e["BankEntryLines"][0]["Description"].startswith(f"PX:{target}")
    )
    assert sum(line["AmountFC"] for line in lines) == 0
    assert any(line["GLAccountCode"] == "2090" and line["AmountFC"] for line in lines)
    rows(
        "B6",
        "bad input",
        fault="a clearing whose payout is 0.01 more than its lines",
        where="tap-pay output (clearings)",
        tally=tally,
        outcome="not booked, the totals shown; booked with the difference on unassigned once "
        "book_inconsistent_difference was on",
    )


def test_a_clearing_cut_short_waits_for_its_records(
    books: Any, merchant_kit: Any, rows: Callable[..., None]
) -> None:
    messages = Messages(merchant_kit.tap_output)
    target = victim(merchant_kit)
    first = next(messages.records("clearing_records", target))
    messages.drop("clearing_records", lambda r: r is first or r["clearingId"] != target)
    blocked_then_fixed(
        books,
        rows,
        messages,
        target,
        ref="B7",
        fault="the tap stopped after the first record of a clearing",
        where="tap-pay output (clearing_records)",
        outcome="incomplete clearing not booked and read again; the next full run booked it",
    )


def test_an_unknown_currency_is_refused_by_name(
    books: Any, merchant_kit: Any, rows: Callable[..., None]
) -> None:
    messages = Messages(merchant_kit.tap_output)
    target = victim(merchant_kit)
    for stream in ("clearings", "clearing_lines", "clearing_records"):
        for record in messages.records(stream, target):
            record["currency"] = "XYZ"
    blocked_then_fixed(
        books,
        rows,
        messages,
        target,
        "XYZ",
        ref="B8",
        fault="a clearing in currency XYZ",
        where="tap-pay output (a whole clearing)",
        outcome="not booked: the journal only takes EUR, named; the others booked",
    )


def test_a_negative_payout_is_booked_as_money_back_from_transit(
    books: Any, merchant_kit: Any, rows: Callable[..., None]
) -> None:
    """Refunds larger than the day's payments: Pay. collects from the merchant."""
    messages = Messages(merchant_kit.tap_output)
    refund_line = next(
        r for r in messages.records("clearing_lines") if r["clearingLineTypeName"] == "Refund"
    )
    target = refund_line["clearingId"]
    records = list(messages.records("clearing_records", target))
    refund = next(r for r in records if r["amount"] < 0)
    payment = min((r for r in records if r["amount"] > 0), key=lambda r: r["amount"])
    messages.drop("clearing_records", lambda r: r["clearingId"] != target or r in (refund, payment))
    fee = next(
        r
        for r in messages.records("clearing_lines", target)
        if "settlement" in r["clearingLineTypeName"].lower()
    )
    credit = next(
        r for r in messages.records("clearing_lines", target) if r["direction"] == "CREDIT"
    )
    credit.update(amount=payment["amount"], transactions=1)
    keep = (credit, refund_line, fee)
    messages.drop("clearing_lines", lambda r: r["clearingId"] != target or r in keep)
    payout = payment["amount"] + refund_line["amount"] + fee["amount"]
    assert payout < 0
    clearing = next(messages.records("clearings", target))
    clearing.update(amount=payout, lineCount=3, announcedTransactions=2)
    run = books.run(text=messages.text())
    assert run.error is None, run.stderr[-3000:]
    entry = next(
        e
        for e in books.exact.runtime.store.bank_entries.values()
        if e["BankEntryLines"][0]["Description"].startswith(f"PX:{target}")
    )
    transit = [
        line["AmountFC"] for line in entry["BankEntryLines"] if line["GLAccountCode"] == "2050"
    ]
    assert transit == [-payout]  # positive: the money comes back from the transit account
    tally = books.tally()
    assert tally.exactly_once
    rows(
        "B9",
        "bad input",
        fault=f"a negative payout ({payout} EUR: a refund larger than the payments)",
        where="tap-pay output (one clearing rebuilt)",
        tally=tally,
        outcome="booked, the payout line positive on the transit account",
    )


def test_repeated_records_and_hostile_text_are_booked_once_as_they_are(
    books: Any, merchant_kit: Any, rows: Callable[..., None]
) -> None:
    messages = Messages(merchant_kit.tap_output)
    hostile = "O'Brien \"B.V.\" — Bestelling №4711 ü 注文 <b>&amp;</b> '; DROP TABLE x; --"
    for record in messages.records("clearing_records"):
        record["description"] = hostile
    # every record and every state message delivered twice, as Singer may
    messages.items = [copy.deepcopy(m) for m in messages.items for _ in range(2)]
    run = books.run(text=messages.text())
    assert run.error is None, run.stderr[-3000:]
    assert {c.outcome for c in outcomes(run).values()} == {Outcome.BOOKED}
    tally = books.tally()
    assert tally.exactly_once
    assert run.target.collector.duplicates["clearing_records"] == len(
        list(Messages(merchant_kit.tap_output).records("clearing_records"))
    )
    html = next(books.tmp.glob("reports/*.html")).read_text()
    assert "<b>&amp;</b>" not in html  # shown, escaped
    rows(
        "B10",
        "bad input",
        fault="every message twice; quotes, unicode and markup in every description",
        where="tap-pay output (all streams)",
        tally=tally,
        outcome="repeats merged, all booked once; the report escapes the text",
    )


def test_a_broken_singer_line_books_nothing_and_writes_no_state(
    books: Any, merchant_kit: Any, rows: Callable[..., None]
) -> None:
    lines = merchant_kit.tap_output.splitlines(keepends=True)
    broken = "".join(lines[: len(lines) // 2]) + '{"type": "RECORD", "stream": "clea\n'
    run = books.run_process(text=broken)
    assert run.returncode not in (0, None)
    assert run.states == []
    assert books.entries() == {}
    assert "Traceback" not in run.stderr.splitlines()[-1]
    fixed_then_done(
        books,
        rows,
        ref="B11",
        fault="a Singer line cut in half",
        where="target input",
        outcome="the run stopped before booking, no state; the next run booked all",
    )


NOTHING = "a clear error naming the setting, nothing written; with it right the next run booked all"
HOSTILE_SETTINGS = [
    ("S1", {"gl_psp_costs": "4999"}, "4999", "a PSP costs GL that does not exist", NOTHING),
    ("S2", {"bank_journal": "70"}, "70", "a sales journal as the bank journal", NOTHING),
    (
        "S3",
        {"bank_journal": "25' or 1 eq 1 or Code eq '"},
        "25' or 1",
        "OData in the journal code",
        NOTHING,
    ),
    ("S4", {"matching_profile": "custom"}, "matching_fields", "custom profile, no fields", NOTHING),
    (
        "S5",
        {"matching_regex": "(", "matching_profile": "custom", "matching_fields": ["reference"]},
        "matching_regex",
        "an invalid matching regex",
        NOTHING,
    ),
    (
        "S6",
        {"standard_debtor_code": "NOPE'\"", "create_relations": False},
        "NOPE",
        "a standard debtor that does not exist",
        "only the clearing that needs it waits, the setting named; the others booked; then all",
    ),
    ("S7", {"division": 999999}, "999999", "a division the connection has no access to", NOTHING),
]


@pytest.mark.parametrize("case", HOSTILE_SETTINGS, ids=[c[0] for c in HOSTILE_SETTINGS])
def test_hostile_settings_write_nothing_and_say_which_setting(
    books: Any, merchant_kit: Any, rows: Callable[..., None], case: tuple[Any, ...]
) -> None:
    ref, changes, named, fault, outcome = case
    run = books.run(**changes)
    assert run.error is not None
    said = str(run.error) + run.stderr
    assert named in said, said[-3000:]
    writes = [e for e in books.exact.requests("/api/v1/") if e.method != "GET"]
    if ref != "S6":  # an unknown standard debtor only blocks the payments that need it
        assert writes == []
    state_waits_for_the_unbooked(run)
    fixed_then_done(books, rows, ref=ref, fault=fault, where="settings", outcome=outcome)


# -- what Pay. states against what its lines say ---------------------------------------------------


def _served(kit: Any, change: Callable[[dict[str, Any]], None], **sandbox: Any) -> PaySandbox:
    """A Pay. sandbox on the kit's merchant with ``change`` applied to a copy of its data."""
    pay = copy.deepcopy(kit.merchant.pay)
    change(pay)
    return PaySandbox(dataclasses.replace(kit.merchant, pay=pay), **sandbox)


def test_a_settlement_pay_states_a_euro_above_its_lines_books_none_of_its_clearings(
    books: Any, merchant_kit: Any, rows: Callable[..., None], tap_on: Callable[..., str]
) -> None:
    """The sandbox serves a settlement whose amount and "Funds:" text are one euro more than
    its lines: every clearing in it waits, also when the tap reads only one revenue group."""
    tampered = merchant_kit.merchant.pay["settlements"][0]
    victims = {c["clearingId"] for c in tampered["clearings"]}

    def one_euro_more(pay: dict[str, Any]) -> None:
        settlement = pay["settlements"][0]
        settlement["amount"]["value"] += 100
        stated = Decimal(settlement["amount"]["value"]).scaleb(-2)
        head = settlement["description"].split("Funds:")[0]
        settlement["description"] = f"{head}Funds: {stated}"

    with _served(merchant_kit, one_euro_more) as pay:
        text = tap_on(pay)
        group = next(
            line["turnoverGroup"]["code"]
            for c in tampered["clearings"]
            for line in c["clearingLines"]
        )
        one_group = tap_on(pay, revenue_groups=[group])
    run = books.run(text=text)
    found = outcomes(run)
    stated = Decimal(tampered["amount"]["value"] + 100).scaleb(-2)
    for clearing_id in victims:
        reason = found[clearing_id].reason or ""
        assert found[clearing_id].outcome is Outcome.BLOCKED, found[clearing_id]
        assert reason.startswith("totals_inconsistent"), reason
        assert f"paid {stated} EUR" in reason  # the stated amount beside the lines' sum
        assert f"add up to {stated - 1} EUR" in reason
    assert {v.outcome for k, v in found.items() if k not in victims} == {Outcome.BOOKED}
    assert not victims & set(books.entries())
    assert run.states[-1]["bookmarks"]["settlements"]["replication_key_value"] <= str(
        tampered["settlementDate"]
    )
    # With a revenue-group filter the tap reads only some of its clearings; still none books.
    partial = outcomes(books.run(text=one_group))
    judged = [c for c in partial.values() if c.clearing_id in victims]
    assert judged
    assert all(c.outcome is Outcome.BLOCKED for c in judged)
    assert not victims & set(books.entries())
    fixed_then_done(
        books,
        rows,
        ref="B12",
        fault="Pay. states a settlement 1.00 EUR above its lines (amount and Funds: text)",
        where="Pay. sandbox (one settlement)",
        outcome=f"its {len(victims)} clearing(s) not booked (totals_inconsistent, both amounts "
        "shown), also with a revenue-group filter; the others booked; once Pay.'s data agreed "
        "the next run booked them",
    )


def test_settlement_amounts_in_another_unit_than_the_setting_book_nothing_until_it_is_set(
    books: Any, merchant_kit: Any, rows: Callable[..., None], tap_on: Callable[..., str]
) -> None:
    with _served(merchant_kit, lambda pay: None, settlement_amount_unit="euros") as pay:
        wrong = tap_on(pay)  # settlement_amount_unit left at cents
        right = tap_on(pay, settlement_amount_unit="euros")
    run = books.run(text=wrong)
    found = outcomes(run)
    assert {c.outcome for c in found.values()} == {Outcome.BLOCKED}
    for outcome in found.values():
        reason = outcome.reason or ""
        assert reason.startswith("amount_unit_in_doubt"), reason
        assert "set settlement_amount_unit to 'euros'" in reason
    assert books.entries() == {}
    assert run.states == [] or all(
        s["bookmarks"]["settlements"]["replication_key_value"]
        <= str(min(c.settlement_date for c in found.values()))
        for s in run.states
    )
    again = books.run(text=right)
    assert again.error is None, again.stderr[-2000:]
    tally = books.tally()
    assert tally.exactly_once, tally
    rows(
        "B13",
        "bad input",
        fault="Pay. sends settlement amounts in euros; settlement_amount_unit says cents",
        where="Pay. sandbox (every settlement) and tap setting",
        tally=tally,
        outcome="nothing booked, each clearing names the setting; with it set to euros the "
        "next run booked all",
    )


def test_sub_cent_fee_rates_are_read_and_the_run_books_everything(
    books: Any, merchant_kit: Any, rows: Callable[..., None], tap_on: Callable[..., str]
) -> None:
    """Pay.'s spec example prices a fee part at 0.0195 EUR; that used to stop the tap with no
    records for any stream."""

    def sub_cent(pay: dict[str, Any]) -> None:
        for line in pay["invoiceLines"]:
            for part in line["lines"]:
                part["costs"]["revenue"] = Decimal("0.0195")
                part["amount"] = Decimal("0.0195")

    with _served(merchant_kit, sub_cent) as pay:
        text = tap_on(pay)
    costs = [
        part["costs"] for line in Messages(text).records("invoice_lines") for part in line["lines"]
    ]
    assert costs
    assert set(costs) == {Decimal("0.0195")}
    run = books.run(text=text)
    assert run.error is None, run.stderr[-2000:]
    assert {c.outcome for c in outcomes(run).values()} == {Outcome.BOOKED}
    tally = books.tally()
    assert tally.exactly_once, tally
    rows(
        "B14",
        "bad input",
        fault="fee parts priced below a cent (0.0195 EUR, as in Pay.'s spec example)",
        where="Pay. sandbox (/invoicelines)",
        tally=tally,
        outcome="every stream read, rates kept exact; all clearings booked",
    )
