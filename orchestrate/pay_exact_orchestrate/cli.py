"""``pay-exact-run-customer <customer>``: one customer's booking run, as the orchestrator runs it.

Prints the outcome and the report's summary (``--json`` for machines). Exit codes: 0 booked or
nothing to book, 1 some clearings not booked or the run failed, 2 refused before starting
(a shared store not configured, an unknown customer, unsafe secrets).
"""

from __future__ import annotations

import argparse
import json
import sys

from pay_exact_orchestrate.bytecode import compile_plugins
from pay_exact_orchestrate.customer_run import (
    CustomerRefused,
    prepare_system_database,
    run_customer,
)
from pay_exact_orchestrate.secrets import SecretsError
from pay_exact_orchestrate.settings import OrchestrateSettings, SettingsMissing
from pay_exact_orchestrate.view import ProjectNotInstalled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pay-exact-run-customer", description=__doc__)
    parser.add_argument(
        "customer", nargs="?", help="the customer's environment name (its file's name)"
    )
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="create or migrate Meltano's system database and compile the installed plugins "
        "(once, after `meltano install` or an upgrade)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not args.prepare and not args.customer:
        parser.error("name a customer, or --prepare")
    try:
        if args.prepare:
            settings = OrchestrateSettings.from_environ()
            prepare_system_database(settings)
            compile_plugins(settings.project_dir)
            print("Meltano's system database is ready; the installed plugins are compiled")
            if not args.customer:
                return 0
        result = run_customer(args.customer)
    except (SettingsMissing, CustomerRefused, SecretsError, ProjectNotInstalled) as exc:
        print(f"pay-exact-run-customer: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(f"{result.customer}: {result.outcome.replace('_', ' ')} in {result.seconds:.1f} s")
        if result.summary is not None:
            print(f"  {result.summary.text}")
            print(f"  report: {result.summary.html}")
        for line in result.log_tail:
            print(f"  | {line}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
