"""Two real processes that need a refresh at the same moment, sharing one token store.

Each process reads its tokens, then both are told to go once the sandbox clock has moved past
570 s. Exactly one refresh must reach Exact; the other process must find the new tokens under
the lock and use them; neither may see "Old refresh token used".
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox
from target_exactonline.exact_client.testing import require_postgres_url, unique_table_name
from target_exactonline.exact_client.token_store import SqlTokenStore, TokenSet

KEY = "acme"
T0 = 1_795_000_000.0

_WORKER = textwrap.dedent(
    """
    import json, sys
    import requests
    from target_exactonline.exact_client import ExactClient, ExactOAuth, ReauthorizeRequired
    from target_exactonline.exact_client.token_store import SqlTokenStore

    url, division, client_id, secret, store_url, table, key = sys.argv[1:]

    def clock():
        # The sandbox's clock, which the test drives.
        return requests.get(url + "/_admin/clock", timeout=10).json()["now"]

    store = SqlTokenStore(store_url, table_name=table)
    oauth = ExactOAuth(base_url=url, client_id=client_id, client_secret=secret,
                       store=store, key=key, clock=clock)
    client = ExactClient(url, int(division), auth=oauth, clock=clock)
    before = client.me()["UserID"]           # reads the tokens while they are fresh
    print("ready", flush=True)
    sys.stdin.readline()                    # go: the clock is now past 570 s
    try:
        me = client.me()
        result = {"ok": True, "user": me["UserID"] == before}
    except ReauthorizeRequired as exc:
        result = {"ok": False, "error": str(exc)}
    result.update(refreshes=oauth.refreshes, adopted=oauth.adopted)
    print(json.dumps(result), flush=True)
    store.close()
    """
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    table = unique_table_name("race")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tokens.sqlite'}"
    else:
        url = require_postgres_url()
    yield url, table
    cleanup = SqlTokenStore(url, table_name=table)
    cleanup.drop_schema()
    cleanup.close()


@pytest.mark.slow
def test_two_processes_racing_a_refresh_cause_one_refresh(
    exact_sandbox: ExactSandbox, store_spec: tuple[str, str]
) -> None:
    sandbox = exact_sandbox
    sandbox.freeze(at=T0)
    url, table = store_spec
    store = SqlTokenStore(url, table_name=table)
    minted = sandbox.mint_tokens()
    store.put(
        KEY,
        TokenSet(minted["access_token"], minted["refresh_token"], T0 + 600, T0),
    )
    store.close()
    # Slow the token endpoint so the second process is certain to arrive while the first one
    # holds the lock with its refresh in flight.
    sandbox.inject(action="delay", path="^/api/oauth2/token$", delay=1.0)

    args = [
        sandbox.url,
        str(sandbox.division),
        sandbox.client_id,
        sandbox.client_secret,
        url,
        table,
        KEY,
    ]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        sandbox.advance(580)
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()

    results = []
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert all(r["ok"] for r in results), results
    assert all(r["user"] for r in results)
    # Exactly one refresh reached Exact; the other process adopted it under the lock.
    token_calls = [e.status for e in sandbox.requests("/api/oauth2/token")]
    assert token_calls == [200]
    assert sorted((r["refreshes"], r["adopted"]) for r in results) == [(0, 1), (1, 0)]
    stored = SqlTokenStore(url, table_name=table)
    final = stored.load(KEY)
    stored.close()
    assert final is not None
    assert final.generation == 1
    assert final.refresh_token != minted["refresh_token"]
