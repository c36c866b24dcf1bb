"""``tap-pay check``: the self-check of the Pay. facts a run relies on, on the merchant's account.

Reads only, a handful of calls. Each probe says whether its fact *held*, *did not hold*, or that
it *could not tell* (nothing to judge by), with what it saw:

- ``clearing_permission``: the token may read the clearing API (Pay. switches this permission
  on per merchant; without it Pay. answers 403, pay-api.md §3, §10).
- ``settlement_unit``: a settlement's own amount is in the unit ``settlement_amount_unit`` says,
  judged against its clearing lines, its "Funds:" text (``units.decide_unit``, the same rule the
  tap applies to every settlement) and, for one clearing, its payment records (pay-api.md §4.1:
  the docs example pairs value 250 with "Funds: 250.00").
- ``transaction_info_by_order_id``: a payment's details are found with the ``orderId`` that
  clearing records carry (pay-api.md §4.9 [?]), from the API the setting ``transaction_api``
  names (V2 Transaction:Info, the Order API, or both in turn); the enrichment
  (``enrich_transactions``) needs it.

Exit status 0 when no probe a run depends on did not hold, 1 otherwise, 2 for unusable
settings. A run depends on the first two always and on the third with ``enrich_transactions``.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import requests

from tap_pay.errors import MalformedResponseError, redact
from tap_pay.money import AmountUnit
from tap_pay.payload import Node, Origin
from tap_pay.records import SettlementParts, clearing_record_record, settlement_parts
from tap_pay.settings import Settings, SettingsError
from tap_pay.units import SETTING

SETTLEMENTS = "/clearings/settlements"
SETTLEMENTS_LOOKED_AT = 10  # one page (Pay.'s maximum page size there)
SHOWN = 3
TIMEOUT = 60


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
    advice: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None  # None: no answer at all
    body: Any
    detail: str


class PayReader:
    """GETs against Pay.'s GMS v2 API that never raise: every answer is something to judge."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.auth = (settings.token_code, settings.api_token)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "tap-pay check"})

    def get(self, path: str, params: dict[str, Any] | None = None, *, base: str = "") -> Answer:
        try:
            response = self.session.get(
                (base or self.settings.api_url) + path, params=params or {}, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            return Answer(None, None, self._redact(f"no answer from Pay. ({type(exc).__name__})"))
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            body = None
        detail = f"HTTP {response.status_code}"
        if isinstance(body, dict) and body.get("detail"):
            detail += f": {str(body['detail'])[:200]}"
        return Answer(response.status_code, body, self._redact(detail))

    def _redact(self, text: str) -> str:
        return redact(text, self.settings.secrets)


class Evidence:
    """What the probes read, each read once."""

    def __init__(self, reader: PayReader) -> None:
        self.reader = reader
        self.settings = reader.settings

    @cached_property
    def settlements(self) -> Answer:
        params: dict[str, Any] = {"page": 1, "limit": SETTLEMENTS_LOOKED_AT}
        if self.settings.merchant_code:
            params["merchant[eq]"] = self.settings.merchant_code
        return self.reader.get(SETTLEMENTS, params)

    def settlement_items(self) -> list[Any]:
        body = self.settlements.body
        if self.settlements.status != 200 or not isinstance(body, dict):
            return []
        items = body.get("settlements")
        return items if isinstance(items, list) else []

    @cached_property
    def sample_clearing(self) -> tuple[str, list[dict[str, Any]], Answer] | None:
        """The first clearing with lines: its id, its parsed lines and its records' answer."""
        for item in self.settlement_items():
            parts = _parsed(item)
            if parts is None:
                continue  # a malformed item is shown by settlement_unit
            for clearing_id, lines in parts.lines_by_clearing.items():
                if lines:
                    path = f"/clearings/{quote(clearing_id, safe='')}/records"
                    return clearing_id, lines, self.reader.get(path, {"page": 1, "limit": 10000})
        return None

    def records(self) -> list[dict[str, Any]]:
        sample = self.sample_clearing
        if sample is None or sample[2].status != 200 or not isinstance(sample[2].body, dict):
            return []
        clearing_id, _lines, answer = sample
        items = answer.body.get("clearingRecords")
        origin = Origin(f"/clearings/{clearing_id}/records")
        found = []
        for item in items if isinstance(items, list) else []:
            with suppress(MalformedResponseError):  # a malformed record is simply no evidence
                found.append(clearing_record_record(Node(item, origin), clearing_id))
        return found


def _parsed(item: Any, unit: AmountUnit = AmountUnit.MINOR) -> SettlementParts | None:
    try:
        return settlement_parts(Node(item, Origin(SETTLEMENTS)), None, unit)
    except MalformedResponseError:
        return None


def _examples(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


# -- the probes -------------------------------------------------------------------------------


def clearing_permission(seen: Evidence) -> ProbeResult:
    name = "clearing_permission"
    answer = seen.settlements
    if answer.status == 200:
        total = answer.body.get("total") if isinstance(answer.body, dict) else None
        return ProbeResult(
            name, Outcome.HELD, f"{SETTLEMENTS} answered 200 ({total} settlements in all)"
        )
    if answer.status == 403:
        return ProbeResult(
            name,
            Outcome.DID_NOT_HOLD,
            f"{SETTLEMENTS} answered {answer.detail}",
            f"ask Pay. to switch on the clearing API permission for token "
            f"{seen.settings.token_code}; until then every run stops on this 403",
        )
    if answer.status == 401:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            f"Pay. refused the credentials ({answer.detail})",
            "check token_code and api_token",
        )
    return ProbeResult(name, Outcome.COULD_NOT_TELL, f"{SETTLEMENTS}: {answer.detail}")


def settlement_unit(seen: Evidence) -> ProbeResult:
    name = "settlement_unit"
    setting = seen.settings.settlement_amount_unit
    items = seen.settlement_items()
    if not items:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            f"no settlement to judge by ({SETTLEMENTS}: {seen.settlements.detail})",
            "run the check again once Pay. has paid out at least once",
        )
    agree: list[str] = []
    apart: list[str] = []
    contradict: list[tuple[str, str]] = []
    for item in items:
        try:
            record = settlement_parts(Node(item, Origin(SETTLEMENTS)), None, setting).record
        except MalformedResponseError as exc:
            apart.append(redact(str(exc), seen.settings.secrets)[:200])
            continue
        lines_total = sum((line["amount"] for line in record["lines"]), Decimal(0))
        shown = f"settlement {record['code']} {record['amount']} {record['currency']}"
        if record["amountProblem"]:
            contradict.append((record["code"], record["amountProblem"]))
        elif record["lines"] and lines_total == record["amount"]:
            funds = record["fundsAmount"]
            agree.append(
                f"{shown} = its lines" + (f" = 'Funds: {funds}'" if funds is not None else "")
            )
        else:
            apart.append(f"{shown}, its lines {lines_total}: no unit explains the difference")
    records_seen = _records_against_lines(seen)
    if contradict:
        (first, problem), others = contradict[0], [code for code, _ in contradict[1:]]
        also = f" (the same for {_examples(others)})" if others else ""
        return ProbeResult(
            name,
            Outcome.DID_NOT_HOLD,
            f"{len(contradict)} of {len(items)} settlements contradict {SETTING}="
            f"{setting.value!r}: {first}: {problem}{also}",
            f"set {SETTING} to the unit named above; until then a run books no settlement whose "
            "unit is in doubt",
        )
    if not agree:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            f"no settlement whose amount equals its clearing lines: {_examples(apart)}",
        )
    tail = f"; {records_seen}" if records_seen else ""
    odd = f"; {len(apart)} do not add up: {_examples(apart)}" if apart else ""
    return ProbeResult(
        name,
        Outcome.HELD,
        f"{len(agree)} of {len(items)} settlements read in {setting.value} equal their lines: "
        f"{_examples(agree)}{tail}{odd}",
    )


def _records_against_lines(seen: Evidence) -> str | None:
    """One clearing's payment records against the lines that count them (cents both, [C]):
    shown beside the settlements as a further witness of the lines' unit.

    [I] The lines that cover records are those with a transaction count; a line without one
    (a fee invoice settled against the balance) has no records.
    """
    sample = seen.sample_clearing
    records = seen.records()
    if sample is None or not records:
        return None
    clearing_id, lines, _answer = sample
    covered = [line for line in lines if line["transactions"]]
    lines_total = sum((line["amount"] for line in covered), Decimal(0))
    records_total = sum((r["amount"] for r in records), Decimal(0))
    verdict = "equal" if records_total == lines_total else "differ"
    return (
        f"clearing {clearing_id}: its {len(records)} records add up to {records_total} and its "
        f"payment lines to {lines_total} ({verdict})"
    )


# Where the enrichment asks for a payment's details (streams.TransactionsStream).
DETAIL_APIS = {
    "transactions": ("Transaction:Info", "/transactions/{}"),
    "orders": ("Order:Status", "/orders/{}/status"),
}


def transaction_info_by_order_id(seen: Evidence) -> ProbeResult:
    name = "transaction_info_by_order_id"
    records = [r for r in seen.records() if r["amount"] > 0]
    if not records:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            "no payment record to look up (looked at the first clearing of the newest settlements)",
            "run the check again once Pay. has paid out at least once",
        )
    order_id = records[0]["orderId"]
    choice = seen.settings.transaction_api
    apis = ["transactions", "orders"] if choice == "auto" else [choice]
    said = []
    for api in apis:
        label, template = DETAIL_APIS[api]
        base = seen.settings.order_api_url if api == "orders" else ""
        answer = seen.reader.get(template.format(quote(order_id, safe="")), base=base)
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status == 200 and body.get("orderId") == order_id:
            said.append(f"{label} answered 200 with that orderId")
            return ProbeResult(
                name,
                Outcome.HELD,
                f"order {order_id} of clearing record {records[0]['reportingId']}: "
                + "; ".join(said),
            )
        if answer.status == 200:
            said.append(f"{label} answered another payment (orderId {body.get('orderId')!r})")
        elif answer.status == 404:
            said.append(f"{label} answered {answer.detail}")
        else:
            return ProbeResult(
                name, Outcome.COULD_NOT_TELL, f"{label} for order {order_id}: {answer.detail}"
            )
    return ProbeResult(
        name,
        Outcome.DID_NOT_HOLD,
        f"order {order_id} of clearing record {records[0]['reportingId']}: " + "; ".join(said),
        "the payment details cannot be found by the order id clearing records carry"
        + (
            "; try transaction_api 'auto', which also asks the Order API"
            if choice != "auto"
            else ""
        )
        + "; otherwise leave enrich_transactions off and prefer a matching profile that needs "
        "no payment details",
    )


@dataclass(frozen=True, slots=True)
class Probe:
    name: str
    fact: str
    run: Callable[[Evidence], ProbeResult]


PROBES: tuple[Probe, ...] = (
    Probe(
        "clearing_permission",
        "The API token may read Pay.'s clearing API",
        clearing_permission,
    ),
    Probe(
        "settlement_unit",
        f"A settlement's amount is in the unit {SETTING} says, as its clearing lines, its "
        "'Funds:' text and its records show",
        settlement_unit,
    ),
    Probe(
        "transaction_info_by_order_id",
        "A payment's details are found with a clearing record's orderId (Transaction:Info, or "
        "the Order API, as transaction_api says)",
        transaction_info_by_order_id,
    ),
)


def depended_on(settings: Settings) -> frozenset[str]:
    """The probes a run of these settings depends on."""
    names = {"clearing_permission", "settlement_unit"}
    if settings.enrich_transactions:
        names.add("transaction_info_by_order_id")
    return frozenset(names)


def run_probes(reader: PayReader) -> list[ProbeResult]:
    seen = Evidence(reader)
    return [probe.run(seen) for probe in PROBES]


# -- the command ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-pay check",
        description="Check, with reads only, the Pay. facts a run relies on.",
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="JSON config file (repeatable), or ENV for TAP_PAY_* variables",
    )
    return parser


def load_config(sources: list[str]) -> dict[str, Any]:
    """The tap's config as its own command line reads it: JSON files in order, and ``ENV``
    for ``TAP_PAY_*`` variables (as Meltano passes them), parsed by the SDK."""
    from tap_pay.tap import TapPay  # noqa: PLC0415 - the SDK's own variable parsing

    config: dict[str, Any] = {}
    for source in sources:
        if source == "ENV":
            continue
        loaded = json.loads(Path(source).read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise SettingsError(f"config file {source} must hold a JSON object")
        config.update(loaded)
    tap = TapPay(
        config=config,
        parse_env_config="ENV" in sources,
        validate_config=False,
        setup_mapper=False,
    )
    return dict(tap.config)


def run(
    argv: list[str],
    *,
    stdout: TextIO | None = None,
    session: requests.Session | None = None,
) -> int:
    out = stdout or sys.stderr
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_config(load_config(args.config))
    except (SettingsError, OSError, ValueError) as exc:
        print(f"Setting problem: {exc}", file=out)
        return 2
    results = run_probes(PayReader(settings, session))
    needed = depended_on(settings)
    failed = []
    for result in results:
        fact = next(p.fact for p in PROBES if p.name == result.name)
        where = "" if result.name in needed else " (runs with these settings do not depend on it)"
        advice = f" {result.advice[:1].upper()}{result.advice[1:]}." if result.advice else ""
        label = result.outcome.label
        print(
            f"{label + ' ':<8}{result.name}: {fact}{where}. Seen: {result.seen}.{advice}",
            file=out,
        )
        if result.name in needed and result.outcome is Outcome.DID_NOT_HOLD:
            failed.append(result.name)
    if failed:
        print(
            f"A fact a run relies on did not hold ({', '.join(failed)}); fix it before the "
            "first live run.",
            file=out,
        )
        return 1
    print("No fact a run relies on was seen not to hold.", file=out)
    return 0
