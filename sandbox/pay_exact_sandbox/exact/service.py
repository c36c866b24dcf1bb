"""The Exact sandbox as a service of ``pay-exact-sandbox serve``: one division seeded from the
merchant's Exact side (or a fixture's ``exact`` section), on a localhost port, optionally kept
between runs in a state folder (see ``snapshot``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pay_exact_sandbox.generator import Merchant
from pay_exact_sandbox.harness import ServedApp

from . import snapshot
from .app import ExactRuntime, create_exact_app
from .config import ExactConfig
from .data import ExactData
from .jsonout import loads


def exact_data_for(
    merchant: Merchant, *, fixture: Path | None, seed: int, division: int | None
) -> ExactData:
    """A fixture's own ``exact`` section when it has one, else the merchant's generated side."""
    if fixture is not None and "exact" in loads(fixture.read_bytes()):
        return ExactData.load(fixture)
    # The generator's Exact side is imported only when a merchant needs one.
    from pay_exact_sandbox.generator.exact_side import (  # noqa: PLC0415
        ExactSideParams,
        build_exact_data,
    )

    params = ExactSideParams(seed=seed)
    if division is not None:
        params = ExactSideParams(seed=seed, division_code=division)
    return build_exact_data(merchant, params)


class ExactService:
    """A served Exact sandbox; ``credentials()`` is what a client needs to connect."""

    def __init__(
        self,
        data: ExactData,
        *,
        port: int = 0,
        config: ExactConfig | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.config = config or ExactConfig()
        self.app = create_exact_app(data, config=self.config)
        self._seed = snapshot.fingerprint(data)
        self._snapshot = (
            state_dir / f"exact-{self.division}.json" if state_dir is not None else None
        )
        self.restored = False
        if self._snapshot is not None:
            why_not = snapshot.restore(self.runtime.store, self._snapshot, self._seed)
            self.restored = why_not is None
            if why_not is not None and self._snapshot.exists():
                print(f"pay-exact-sandbox: starting Exact fresh: {why_not}", file=sys.stderr)
        self._served = ServedApp(self.app, port=port)

    @property
    def runtime(self) -> ExactRuntime:
        return self.app.extensions["exact_sandbox"]

    @property
    def division(self) -> int:
        return self.runtime.store.code

    @property
    def url(self) -> str:
        return self._served.url

    def start(self) -> ExactService:
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()
        if self._snapshot is not None:
            snapshot.save(self.runtime.store, self._snapshot, self._seed)

    def credentials(self) -> dict[str, Any]:
        client = self.config.clients[0]
        return {
            "url": self.url,
            "api_url": f"{self.url}/api/v1/{self.division}",
            "admin_url": f"{self.url}/_admin",
            "division": self.division,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "redirect_uri": client.redirect_uris[0],
            "restored": self.restored,
        }
