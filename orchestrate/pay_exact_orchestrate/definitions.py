"""The Dagster definitions: ``dagster dev -m pay_exact_orchestrate.definitions``.

- ``customers``: a dynamic partition per customer, kept in step with the environments folder by
  ``customers_sensor`` (a file added is a partition added, a file removed a partition removed;
  customers sharing an Exact administration are refused and named in the sensor's log).
- ``customer_booking``: one partition is one customer's booking run (``customer_run.py``), with
  what it booked as metadata; retried with exponential back-off when the run itself failed
  (also in runs a backfill launches: the policy belongs to the asset).
- ``nightly_booking``: every customer at 03:00 Europe/Amsterdam, one run each, with a run key
  per night and customer so that a schedule tick evaluated twice books nobody twice.
- one run per customer at a time and a global cap: the run coordinator's limits in
  ``dagster.yaml`` (``dagster/partition`` is the customer on every run of this asset).
- ``booking_failures``: a run-failure sensor, running by default, naming customer and cause.
- ``customers_booked_recently``: a check that names the customers not booked for 36 hours.
"""

# No `from __future__ import annotations`: Dagster compares a context's annotation itself.
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from pay_exact_orchestrate.customer_run import CustomerRefused, CustomerRunResult, run_customer
from pay_exact_orchestrate.customers import read_customers
from pay_exact_orchestrate.secrets import SecretsError
from pay_exact_orchestrate.settings import (
    ENVIRONMENTS_DIR,
    PROJECT_DIR,
    REPOSITORY,
    SettingsMissing,
)
from pay_exact_orchestrate.view import ProjectNotInstalled

CUSTOMERS = "customers"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NIGHTLY_CRON = "0 3 * * *"
STALE_AFTER = timedelta(hours=36)
PARTITION_TAG = "dagster/partition"
BOOKING = dg.AssetKey("customer_booking")
# A run that failed as a whole (Meltano, a plugin, the network) is tried again 2, 6 and 14
# minutes after each failure (Dagster's exponential back-off, (2^n - 1) x 2 min, +- 2 min).
# Clearings that were not booked are not a reason: the target retries them on the next night,
# and a retry minutes later would meet the same data.
RETRY = dg.RetryPolicy(
    max_retries=3, delay=120, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

customers_partitions = dg.DynamicPartitionsDefinition(name=CUSTOMERS)


def environments_dir() -> Path:
    """The customers' files (the sensor needs no store settings to read them)."""
    configured = os.environ.get(ENVIRONMENTS_DIR)
    if configured:
        return Path(configured)
    return Path(os.environ.get(PROJECT_DIR) or REPOSITORY) / "environments"


# -- the booking ------------------------------------------------------------------------------


def booking_metadata(result: CustomerRunResult) -> dict[str, Any]:
    """What a customer's run shows in Dagster's UI."""
    metadata: dict[str, Any] = {
        "outcome": result.outcome,
        "seconds": dg.MetadataValue.float(result.seconds),
    }
    if result.cleared_runs:
        metadata["killed runs cleared"] = ", ".join(result.cleared_runs)
    summary = result.summary
    if summary is not None:
        metadata.update(
            {
                "clearings booked": summary.booked,
                "already booked": summary.count("already_booked"),
                "blocked": summary.count("blocked"),
                "failed": summary.count("failed"),
                "not attempted": summary.count("not_attempted"),
                "dry run": summary.dry_run,
                "Exact calls": summary.exact_calls if summary.exact_calls is not None else 0,
                "report": dg.MetadataValue.path(str(summary.html)),
                "summary": summary.text,
            }
        )
    if result.log_tail:
        metadata["log"] = dg.MetadataValue.md("```\n" + "\n".join(result.log_tail) + "\n```")
    return metadata


@dg.asset(
    partitions_def=customers_partitions,
    retry_policy=RETRY,
    kinds={"meltano"},
    check_specs=[dg.AssetCheckSpec("every_clearing_booked", asset=BOOKING)],
    description="One customer's Pay. payouts booked into Exact Online "
    "(meltano run tap-pay target-exactonline in a private view).",
)
def customer_booking(context: AssetExecutionContext) -> dg.MaterializeResult:
    customer = context.partition_key
    try:
        result = run_customer(customer)
    except (SettingsMissing, CustomerRefused, SecretsError, ProjectNotInstalled) as exc:
        # Configuration: trying again in minutes would meet the same configuration.
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    metadata = booking_metadata(result)
    context.log.info("%s: %s", customer, (result.summary.text if result.summary else "-"))
    if result.outcome == "failed":
        raise dg.Failure(
            description=f"{customer}: the run failed before writing a report "
            f"(exit {result.exit_code})",
            metadata=metadata,
        )
    not_booked = result.summary.not_booked if result.summary else 0
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="every_clearing_booked",
                passed=not_booked == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"not booked": not_booked},
                description="Clearings not booked are retried on the next run; the report "
                "says why each was not booked.",
            )
        ],
    )


# -- freshness and the jobs ---------------------------------------------------------------------


def stale_customers(
    customers: Iterable[str], last_booked: dict[str, float], now: float
) -> list[str]:
    """Customers whose last booking run finished more than 36 hours before ``now``."""
    cutoff = now - STALE_AFTER.total_seconds()
    return sorted(c for c in customers if last_booked.get(c, float("-inf")) < cutoff)


def recent_bookings(instance: dg.DagsterInstance, since: float) -> dict[str, float]:
    """Customer -> time of its newest booking since ``since`` (one paged read)."""
    found: dict[str, float] = {}
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=BOOKING, after_timestamp=since),
            limit=1000,
            cursor=cursor,
        )
        for record in page.records:
            partition = record.partition_key
            if partition is not None:
                found[partition] = max(found.get(partition, 0.0), record.timestamp)
        if not page.has_more:
            return found
        cursor = page.cursor


@dg.asset_check(
    asset=BOOKING,
    description="Every customer was booked in the last 36 hours.",
)
def customers_booked_recently(context: AssetCheckExecutionContext) -> dg.AssetCheckResult:
    now = datetime.now(UTC).timestamp()
    customers = context.instance.get_dynamic_partitions(CUSTOMERS)
    booked = recent_bookings(context.instance, now - STALE_AFTER.total_seconds())
    stale = stale_customers(customers, booked, now)
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "not booked for 36 hours": dg.MetadataValue.md(
                "\n".join(f"- {c}" for c in stale) or "none"
            ),
            "customers": len(customers),
        },
    )


booking_job = dg.define_asset_job(
    "book_customers",
    # The booking and its own check; the 36-hour check runs on its own schedule.
    selection=dg.AssetSelection.assets(customer_booking)
    - dg.AssetSelection.checks(customers_booked_recently),
    # One step per run: running it in the run's own process saves a Python start per customer.
    executor_def=dg.in_process_executor,
    description="Book one customer (a partition).",
)

freshness_job = dg.define_asset_job(
    "check_customers_booked",
    selection=dg.AssetSelection.checks(customers_booked_recently),
    description="Flags customers not booked for 36 hours.",
)

freshness_schedule = dg.ScheduleDefinition(
    name="hourly_booked_check",
    job=freshness_job,
    cron_schedule="15 * * * *",
    execution_timezone="Europe/Amsterdam",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

# -- the customers ------------------------------------------------------------------------------


def partition_requests(
    known: Iterable[str], folder: Path
) -> tuple[list[str], list[str], dict[str, str]]:
    """(to add, to delete, refused with reasons): partitions in step with the files."""
    found = read_customers(folder)
    known_set = set(known)
    add = sorted(set(found.usable) - known_set)
    # A refused customer keeps its partition (and history); its runs refuse until it is fixed.
    delete = sorted(known_set - set(found.usable) - set(found.refused))
    return add, delete, found.refused


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Keeps the customer partitions in step with the environment files.",
)
def customers_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    folder = environments_dir()
    known = context.instance.get_dynamic_partitions(CUSTOMERS)
    add, delete, refused = partition_requests(known, folder)
    for reason in refused.values():
        context.log.error("Refused: %s", reason)
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if add:
        requests.append(dg.AddDynamicPartitionsRequest(CUSTOMERS, add))
    if delete:
        requests.append(dg.DeleteDynamicPartitionsRequest(CUSTOMERS, delete))
    skip = None
    if not requests:
        skip = "customers unchanged" + (
            f"; refused: {', '.join(sorted(refused))}" if refused else ""
        )
    return dg.SensorResult(dynamic_partitions_requests=requests, skip_reason=skip)


# -- the night ----------------------------------------------------------------------------------


def nightly_requests(night: datetime, customers: Sequence[str]) -> Iterator[dg.RunRequest]:
    """One run per customer; the run key makes a tick that is evaluated again book nobody twice."""
    day = night.astimezone(AMSTERDAM).date().isoformat()
    for customer in sorted(customers):
        yield dg.RunRequest(run_key=f"{day}:{customer}", partition_key=customer)


@dg.schedule(
    cron_schedule=NIGHTLY_CRON,
    execution_timezone="Europe/Amsterdam",
    job=booking_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every customer, every night at 03:00 Amsterdam time.",
)
def nightly_booking(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    night = context.scheduled_execution_time or datetime.now(UTC)
    yield from nightly_requests(night, context.instance.get_dynamic_partitions(CUSTOMERS))


# -- when something is wrong --------------------------------------------------------------------


def failure_message(run: dg.DagsterRun, error: str | None) -> str:
    customer = run.tags.get(PARTITION_TAG, "(no customer)")
    return f"Booking run {run.run_id} of customer {customer} failed: {error or 'no message'}"


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitored_jobs=[booking_job],
    description="Names the customer and the cause of every failed booking run.",
)
def booking_failures(context: dg.RunFailureSensorContext) -> None:
    error = context.failure_event.message if context.failure_event else None
    context.log.error(failure_message(context.dagster_run, error))


defs = dg.Definitions(
    assets=[customer_booking],
    asset_checks=[customers_booked_recently],
    jobs=[booking_job, freshness_job],
    schedules=[nightly_booking, freshness_schedule],
    sensors=[customers_sensor, booking_failures],
)
