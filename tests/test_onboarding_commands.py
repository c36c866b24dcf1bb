"""The commands the onboarding guide tells a new customer to run exist as written: every
``meltano ... invoke <plugin>:<command>`` names a command of that plugin in meltano.yml, and
every plain ``invoke <plugin> --flag`` a plugin there. (tests/test_meltano_customers.py runs
them against the sandboxes.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
INVOKE = re.compile(r"meltano --environment=\S+ invoke ([a-z-]+)(?::([a-z-]+))?")


def plugins() -> dict[str, set[str]]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    found = {}
    for kind in ("extractors", "loaders"):
        for plugin in project["plugins"].get(kind, []):
            found[plugin["name"]] = set(plugin.get("commands", {}))
    return found


def test_every_invoke_in_the_onboarding_guide_names_a_real_plugin_command() -> None:
    text = (ROOT / "docs" / "onboarding.md").read_text()
    invoked = INVOKE.findall(text)
    known = plugins()
    assert ("tap-pay", "check") in invoked  # the Pay. self-check is part of onboarding
    assert ("target-exactonline", "") in invoked  # ... and the target's check (--test)
    for plugin, command in invoked:
        assert plugin in known, plugin
        if command:
            assert command in known[plugin], f"{plugin}:{command} is not in meltano.yml"
