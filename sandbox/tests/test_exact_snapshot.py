"""``serve --state-dir``: the Exact division is saved when the sandbox stops and loaded when it
starts again from the same seed, so a booking made in one run is there in the next."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import requests
from pay_exact_sandbox.exact.jsonout import dumps
from pay_exact_sandbox.exact.service import ExactService, exact_data_for
from pay_exact_sandbox.generator import GeneratorParams, generate

PARAMS = GeneratorParams(seed=5, days=2, payments_per_clearing=(3, 4))


def service(state_dir: Path, seed: int = PARAMS.seed) -> ExactService:
    merchant = generate(GeneratorParams(seed=seed, days=2, payments_per_clearing=(3, 4)))
    data = exact_data_for(merchant, fixture=None, seed=seed, division=777)
    return ExactService(data, state_dir=state_dir).start()


def book(sandbox: ExactService) -> dict:
    """A balanced bank entry in the Pay. journal (25), through the API."""
    token = sandbox.runtime.oauth.mint(sandbox.config.clients[0].client_id)["access_token"]
    gl = {g["Code"]: g["ID"] for g in sandbox.runtime.store.gl_accounts.values()}
    line = {"Date": "2025-03-04T00:00:00", "Description": "PX:SNAPSHOT"}
    body = {
        "JournalCode": "25",
        "Currency": "EUR",
        "BankEntryLines": [
            {**line, "GLAccount": gl["2090"], "AmountFC": Decimal("12.34")},
            {**line, "GLAccount": gl["2050"], "AmountFC": Decimal("-12.34")},
        ],
    }
    answer = requests.post(
        f"{sandbox.credentials()['api_url']}/financialtransaction/BankEntries",
        data=dumps(body),
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json(parse_float=Decimal)["d"]


def test_a_booking_survives_a_restart_from_the_same_seed(tmp_path: Path) -> None:
    first = service(tmp_path)
    assert first.credentials()["restored"] is False
    entry = book(first)
    before = len(first.runtime.store.transaction_lines)
    first.stop()
    assert (tmp_path / "exact-777.json").exists()

    second = service(tmp_path)
    try:
        assert second.credentials()["restored"] is True
        store = second.runtime.store
        assert entry["EntryID"] in store.bank_entries
        assert len(store.transaction_lines) == before
        # numbering goes on where it stopped: the next entry gets the next number
        number = store.bank_entries[entry["EntryID"]]["EntryNumber"]
        assert store.bank_entries[book(second)["EntryID"]]["EntryNumber"] == number + 1
    finally:
        second.stop()


def test_a_snapshot_of_another_seed_is_not_loaded(tmp_path: Path) -> None:
    first = service(tmp_path)
    book(first)
    first.stop()

    other = service(tmp_path, seed=6)
    try:
        assert other.credentials()["restored"] is False
        assert not any(
            line["Description"] == "PX:SNAPSHOT"
            for entry in other.runtime.store.bank_entries.values()
            for line in entry["BankEntryLines"]
        )
    finally:
        other.stop()
