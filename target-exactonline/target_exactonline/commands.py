"""The commands a message tells a person to run, in the words of how they run the target.

Under Meltano (``MELTANO_ENVIRONMENT`` is set) that is ``meltano --environment=<customer> invoke
...``; on its own it is the target's console script with its config file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def _environment(environ: Mapping[str, str] | None) -> str | None:
    return (environ if environ is not None else os.environ).get("MELTANO_ENVIRONMENT") or None


def authorize_command(environ: Mapping[str, str] | None = None) -> str:
    env = _environment(environ)
    if env:
        return f"meltano --environment={env} invoke target-exactonline:authorize"
    return "target-exactonline authorize --config <config file>"


def check_command(environ: Mapping[str, str] | None = None) -> str:
    env = _environment(environ)
    if env:
        return f"meltano --environment={env} invoke target-exactonline --test"
    return "target-exactonline check --config <config file>"
