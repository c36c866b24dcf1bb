"""``tap-pay check``: the self-check of the Pay. facts a run relies on, on the merchant's account.

Reads only, a handful of calls. Each probe says whether its fact *held*, *did not hold*, or that
it *could not tell* (nothing to judge by), with what it saw:

- ``clearing_permission``: the token may read the clearing API (Pay. switches this permission
  on per merchant; without it Pay. answers 403, pay-api.md §3, §10).
- ``settlement_unit``: a settlement's own amount is in the unit ``settlement_amount_unit`` says,
  judged on the first settlement Pay. lists by its clearing lines, its "Funds:" text and the
  records of its clearings (``probes.probe_settlement_units``, the same unit rule the tap
  applies to every settlement; pay-api.md §4.1: the docs example pairs value 250 with
  "Funds: 250.00").
- ``transaction_info_by_order_id``: a payment's details are found with the ``orderId`` that
  clearing records carry (pay-api.md §4.9 [?]), from the API the setting ``transaction_api``
  names (V2 Transaction:Info, the Order API, or both in turn; ``probes.probe_transaction_info``);
  the enrichment (``enrich_transactions``) needs it.

Exit status 0 when no probe a run depends on did not hold, 1 otherwise, 2 for unusable
settings. A run depends on the first two always and on the third with ``enrich_transactions``.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import requests

from tap_pay.errors import MalformedResponseError, redact
from tap_pay.payload import Node, Origin
from tap_pay.probes import (
    HELD,
    NOT_HELD,
    UNKNOWN,
    probe_settlement_units,
    probe_transaction_info,
)
from tap_pay.records import SETTLEMENTS, clearing_record_record, settlement_parts
from tap_pay.settings import Settings, SettingsError
from tap_pay.streams import API_NAMES
from tap_pay.units import SETTING

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

    def get(self, path: str, params: dict[str, Any] | None = None) -> Answer:
        try:
            response = self.session.get(
                self.settings.api_url + path, params=params or {}, timeout=TIMEOUT
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
    """What the probes read, each read once; ``config`` is the tap's, for ``tap_pay.probes``."""

    def __init__(self, reader: PayReader, config: Mapping[str, Any]) -> None:
        self.reader = reader
        self.settings = reader.settings
        self.config = config

    @cached_property
    def settlements(self) -> Answer:
        params: dict[str, Any] = {"page": 1, "limit": 1}
        if self.settings.merchant_code:
            params["merchant[eq]"] = self.settings.merchant_code
        return self.reader.get(SETTLEMENTS, params)

    @cached_property
    def payment(self) -> dict[str, Any] | None:
        """One payment record (positive amount) of the first settlement Pay. lists."""
        body = self.settlements.body
        items = body.get("settlements") if isinstance(body, dict) else None
        if self.settlements.status != 200 or not isinstance(items, list) or not items:
            return None
        try:
            parts = settlement_parts(Node(items[0], Origin(SETTLEMENTS)), None)
        except MalformedResponseError:
            return None  # settlement_unit shows what is wrong with it
        for clearing in parts.clearings:
            clearing_id = clearing["clearingId"]
            path = f"/clearings/{quote(clearing_id, safe='')}/records"
            answer = self.reader.get(path, {"page": 1, "limit": 10000})
            found = answer.body.get("clearingRecords") if isinstance(answer.body, dict) else None
            for item in found if isinstance(found, list) else []:
                with suppress(MalformedResponseError):  # a malformed record is no evidence
                    record = clearing_record_record(Node(item, Origin(path)), clearing_id)
                    if record["amount"] > 0:
                        return record
        return None


_OUTCOMES = {HELD: Outcome.HELD, NOT_HELD: Outcome.DID_NOT_HOLD, UNKNOWN: Outcome.COULD_NOT_TELL}


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
    """The cross-sums of the first settlement Pay. lists (``probe_settlement_units``)."""
    name = "settlement_unit"
    probe = probe_settlement_units(seen.config)
    outcome = _OUTCOMES[probe.verdict]
    advice = None
    if outcome is Outcome.DID_NOT_HOLD:
        advice = (
            f"set {SETTING} as said above; until then a run books no settlement whose unit is "
            "in doubt"
            if probe.decision is not None and probe.decision.problem
            else "a run books no clearing of a settlement whose amounts disagree; ask Pay. "
            "about this settlement"
        )
    elif outcome is Outcome.COULD_NOT_TELL:
        advice = "run the check again once Pay. has paid out at least once"
    return ProbeResult(name, outcome, probe.detail, advice)


def transaction_info_by_order_id(seen: Evidence) -> ProbeResult:
    """One payment's details by its order id (``probe_transaction_info``)."""
    name = "transaction_info_by_order_id"
    payment = seen.payment
    if payment is None:
        return ProbeResult(
            name,
            Outcome.COULD_NOT_TELL,
            "no payment record to look up (looked at the clearings of the first settlement)",
            "run the check again once Pay. has paid out at least once",
        )
    probe = probe_transaction_info(seen.config, payment["orderId"])
    outcome = _OUTCOMES[probe.verdict]
    tried = ", ".join(f"{API_NAMES[api]} HTTP {status}" for api, status in probe.statuses.items())
    seen_text = (
        f"order {probe.order_id} of clearing record {payment['reportingId']}: {tried}; "
        f"{probe.detail}"
    )
    advice = None
    if outcome is Outcome.DID_NOT_HOLD:
        advice = (
            "the payment details cannot be found by the order id clearing records carry"
            + (
                "; try transaction_api 'auto', which also asks the Order API"
                if seen.settings.transaction_api != "auto"
                else ""
            )
            + "; otherwise leave enrich_transactions off and prefer a matching profile that "
            "needs no payment details"
        )
    return ProbeResult(name, outcome, seen_text, advice)


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


def run_probes(reader: PayReader, config: Mapping[str, Any]) -> list[ProbeResult]:
    seen = Evidence(reader, config)
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
        config = load_config(args.config)
        settings = Settings.from_config(config)
    except (SettingsError, OSError, ValueError) as exc:
        print(f"Setting problem: {exc}", file=out)
        return 2
    results = run_probes(PayReader(settings, session), config)
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
