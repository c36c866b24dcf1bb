"""``pay-exact-sandbox serve`` starts as a process, writes its urls file and stops on SIGTERM;
``generate`` writes a fixture file."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from pay_exact_sandbox.cli import main
from pay_exact_sandbox.generator import (
    FeeSettings,
    GeneratorParams,
    Merchant,
    RevenueGroup,
    generate,
)

COMMAND = [sys.executable, "-m", "pay_exact_sandbox.cli"]


def wait_for(path: Path, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 30  # a generous bound, not a measurement
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the sandbox never wrote its urls file")


def test_serve_writes_urls_and_stops_on_sigterm(tmp_path: Path) -> None:
    urls_file = tmp_path / "urls.json"
    process = subprocess.Popen(
        [*COMMAND, "serve", "--seed", "3", "--days", "2", "--urls-file", str(urls_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        urls = wait_for(urls_file, process)
        pay = urls["pay"]
        assert pay["api_url"] == pay["url"] + "/v2"
        response = requests.get(
            f"{pay['api_url']}/clearings/settlements",
            auth=(pay["token_code"], pay["api_token"]),
            timeout=5,
        )
        assert response.status_code == 200
        assert response.json()["total"] == 2
        log = requests.get(f"{pay['admin_url']}/requests", timeout=5).json()
        assert [e["path"] for e in log] == ["/v2/clearings/settlements"]
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert json.loads(stdout) == urls


def test_serve_a_fixture_on_a_chosen_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fixture = Path(__file__).parents[1] / "pay_exact_sandbox" / "fixtures" / "pay-minimal.json"
    urls_file = tmp_path / "urls.json"
    arguments = ["--fixture", str(fixture), "--pay-port", str(port), "--urls-file", str(urls_file)]
    process = subprocess.Popen(
        [*COMMAND, "serve", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pay = wait_for(urls_file, process)["pay"]
        assert pay["url"] == f"http://127.0.0.1:{port}"
        assert pay["token_code"] == "AT-1234-5678"
        records = requests.get(
            f"{pay['api_url']}/clearings/SK6Y-7PBP/records",
            auth=(pay["token_code"], pay["api_token"]),
            timeout=5,
        ).json()
        assert records["total"] == 3
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
    assert process.returncode == 0


def test_generate_writes_the_same_merchant_as_the_generator(tmp_path: Path) -> None:
    out = tmp_path / "merchant.json"
    assert (
        main(
            [
                "generate",
                "--out",
                str(out),
                "--seed",
                "12",
                "--days",
                "2",
                "--payments-per-clearing",
                "3-5",
                "--revenue-group",
                "Web:magento2",
                "--revenue-group",
                "Shop:lightspeed:own-bank",
                "--invoice-settlement",
                "weekly",
            ]
        )
        == 0
    )
    expected = generate(
        GeneratorParams(
            seed=12,
            days=2,
            payments_per_clearing=(3, 5),
            revenue_groups=(
                RevenueGroup("Web", "magento2"),
                RevenueGroup("Shop", "lightspeed", own_bank_account=True),
            ),
            fees=FeeSettings(invoice_settlement="weekly"),
        )
    )
    assert Merchant.load(out).dumps() == expected.dumps()


def test_bad_arguments_fail_with_a_message(tmp_path: Path, capsys) -> None:
    result = subprocess.run(
        [*COMMAND, "generate", "--out", str(tmp_path / "x.json"), "--revenue-group", "A:shopx"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "platform 'shopx' is not one of" in result.stderr
    assert main(["serve", "--fixture", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
