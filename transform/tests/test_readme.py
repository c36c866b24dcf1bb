"""The README's examples run and print what the README says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from pay_exact_transform import RecordKind

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


def test_readme_quotes_the_engines_own_explanations(kit):
    """The sentences the README quotes are what the engine writes in those cases."""
    text = " ".join(README.read_text().split())
    short = kit.line(
        kit.plan(
            [kit.pay("R1", "5.00", reference="12")], [kit.item("6007", "5.00", your_ref="12")]
        ),
        "R1",
    )
    journal = kit.line(
        kit.plan(
            [kit.pay("R1", "25.00", reference="ORD7002")],
            [kit.item("24700031", "25.00", your_ref="ORD7002", journal="71")],
            sales_journal="70",
        ),
        "R1",
    )
    credit = kit.line(
        kit.plan(
            [kit.pay("R1", "25.00", RecordKind.REFUND, reference="ORD1003")],
            [kit.item("25000109", "-25.00", customer="C-B", your_ref="ORD1003",
                      customer_code="10042", customer_name="Jansen BV")],
        ),
        "R1",
    )  # fmt: skip
    quotes = {
        "'12' is shorter than the 3 characters a reference needs": short,
        "invoice 24700031 carries reference ORD7002 but is in journal 71, which is not "
        "selected (the sales journal is 70)": journal,
        "matches only credit note 25000109": credit,
        "Jansen BV, account 10042": credit,
    }
    for quote, line in quotes.items():
        assert f'"{quote}"' in text, quote
        assert quote.lower() in line.explanation.lower(), (quote, line.explanation)
