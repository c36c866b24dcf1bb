"""`target-exactonline check` (and `--test`): plain findings, exit 0/1/2, reads only."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from target_exactonline.check import run
from target_exactonline.cli import main
from target_exactonline.sandbox_testing import store_target_tokens, target_config


def write_config(tmp_path: Path, exact: ExactSandbox, **changes: Any) -> str:
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    config = target_config(exact, store_url, **{"standard_debtor_code": "10042", **changes})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def connect(exact: ExactSandbox, tmp_path: Path) -> None:
    store_target_tokens(exact, f"sqlite:///{tmp_path / 'store.sqlite'}", issued_at=time.time())


def check(path: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run(["--config", path], stdout=out, environ={})
    return code, out.getvalue()


def test_everything_in_place(exact_sandbox: ExactSandbox, tmp_path: Path) -> None:
    connect(exact_sandbox, tmp_path)
    code, text = check(write_config(tmp_path, exact_sandbox))
    assert code == 0, text
    assert "MISSING" not in text
    for needed in (
        "Connected to Exact Online as Sandra Boekhouder.",
        f"Division {exact_sandbox.division} is accessible.",
        "Bank journal 25 (Pay.) in EUR.",
        "Sales journal 70 (Verkoopboek).",
        "GL account 1300 (Debiteuren) fits debtors.",
        "GL account 4390 (Kosten betaalprovider) fits psp costs.",
        "Standard debtor 10042 (Jansen BV).",
        "Can read open invoices.",
        "Can read booked ledger lines.",
        "Can read customers.",
        "Everything this target needs is in place.",
    ):
        assert needed in text, needed
    writes = [e for e in exact_sandbox.requests("/api/v1/") if e.method != "GET"]
    assert writes == []


def test_wrong_journals_and_gl_accounts_are_named(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    connect(exact_sandbox, tmp_path)
    path = write_config(
        tmp_path,
        exact_sandbox,
        bank_journal="70",
        sales_journal="25",
        gl_psp_costs="8000",
        gl_unassigned="9999",
        standard_debtor_code="55555",
    )
    code, text = check(path)
    assert code == 1
    lines = [line for line in text.splitlines() if line.startswith("MISSING")]
    assert lines == [
        "MISSING Journal '70' is a sales journal (type 20); the bank journal must be a bank "
        "journal (type 12).",
        "MISSING Journal '25' is a bank journal (type 12); the sales journal must be a sales "
        "journal (type 20).",
        "MISSING GL account '8000' (Omzet webwinkel) is type 110 (Revenue); the PSP costs GL must "
        "be a cost account (type 111, 120-126 or 130).",
        f"MISSING GL account '9999' (unassigned) does not exist in division "
        f"{exact_sandbox.division}.",
        f"MISSING Standard debtor 55555 does not exist in division {exact_sandbox.division}.",
    ]
    assert text.rstrip().endswith("bookings would fail.")


def test_no_stored_connection_says_to_authorize(
    exact_sandbox: ExactSandbox, tmp_path: Path
) -> None:
    code, text = check(write_config(tmp_path, exact_sandbox))
    assert code == 1
    assert "target-exactonline authorize --config" in text
    assert exact_sandbox.client_secret not in text


def test_no_access_to_the_division(exact_sandbox: ExactSandbox, tmp_path: Path) -> None:
    connect(exact_sandbox, tmp_path)
    exact_sandbox.inject(
        action="status",
        status=403,
        path="/financial/Journals",
        headers={"Reason": "NoDivisionAccess"},
        body={"error": {"code": "", "message": {"lang": "", "value": "Forbidden"}}},
    )
    code, text = check(write_config(tmp_path, exact_sandbox))
    assert code == 1
    assert (
        f"MISSING The connection has no access to division {exact_sandbox.division} "
        "(Exact says: NoDivisionAccess)."
    ) in text


def test_missing_read_right_names_the_scope(exact_sandbox: ExactSandbox, tmp_path: Path) -> None:
    connect(exact_sandbox, tmp_path)
    exact_sandbox.inject(
        action="status",
        status=403,
        path="/bulk/Cashflow/Receivables",
        body={
            "error": {"code": "", "message": {"lang": "", "value": "Application Scope Violated"}}
        },
    )
    code, text = check(write_config(tmp_path, exact_sandbox))
    assert code == 1
    assert (
        "MISSING No right to read open invoices: give the app the 'Financial receivables'" in text
    )


def test_bad_settings_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"client_id": "x", "client_secret": "secret-secret"}))
    out = io.StringIO()
    assert run(["--config", str(path)], stdout=out, environ={}) == 2
    assert out.getvalue().startswith("Setting problem: setting 'division'")


@pytest.mark.parametrize("style", [["check", "--config"], ["--test", "--config"]])
def test_cli_runs_the_check(
    exact_sandbox: ExactSandbox, tmp_path: Path, style: list[str], capsys: pytest.CaptureFixture
) -> None:
    connect(exact_sandbox, tmp_path)
    with pytest.raises(SystemExit) as done:
        main([*style, write_config(tmp_path, exact_sandbox)])
    assert done.value.code == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout is for state only
    assert "Everything this target needs is in place." in captured.err
