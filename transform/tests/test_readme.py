"""The README's examples run and print what the README says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run_and_show_their_output():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 3
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(README), "exec"), {})  # noqa: S102 - our own documentation
        expected = [line[2:] for line in block.splitlines() if line.startswith("# ")]
        assert out.getvalue().splitlines() == expected


def test_readme_lists_every_reason_code_and_profile():
    from pay_exact_transform import PROFILES, BlockReason, Reason

    text = README.read_text()
    for code in [*Reason, *BlockReason]:
        assert f"`{code.value}`" in text, code
    for name in PROFILES:
        assert f"`{name}`" in text, name
