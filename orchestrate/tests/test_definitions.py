"""The Dagster definitions: they load, partitions follow the files, the night's run keys, the
run queue's limits from dagster.yaml, the checks and the failure sensor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.test_utils import create_run_for_test, instance_for_test
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)
from pay_exact_orchestrate import definitions as d
from pay_exact_orchestrate.dagster_night import NIGHT_NOW_SCHEDULE, night_now_requests

DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"


def customer_file(folder: Path, name: str, division: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = {"division": division, "exact_country": "nl"}
    document = {
        "environments": [
            {
                "name": name,
                "config": {
                    "plugins": {"loaders": [{"name": "target-exactonline", "config": config}]}
                },
            }
        ]
    }
    (folder / f"{name}.meltano.yml").write_text(yaml.safe_dump(document))


def test_the_definitions_load() -> None:
    dg.Definitions.validate_loadable(d.defs)
    repository = d.defs.get_repository_def()
    assert {"book_customers", "check_customers_booked"} <= {
        j.name for j in repository.get_all_jobs()
    }
    assert isinstance(d.customer_booking.partitions_def, dg.DynamicPartitionsDefinition)
    policy = d.customer_booking.op.retry_policy
    assert policy is not None
    assert policy.max_retries >= 2
    assert policy.backoff is dg.Backoff.EXPONENTIAL
    assert d.nightly_booking.execution_timezone == "Europe/Amsterdam"
    assert d.booking_failures.default_status is dg.DefaultSensorStatus.RUNNING
    assert d.customers_sensor.default_status is dg.DefaultSensorStatus.RUNNING
    # A booking run books and checks its own customer; the 36-hour check over all customers
    # runs on its own schedule, not in every customer's run.
    checks = d.booking_job.selection.resolve_checks(d.defs.resolve_asset_graph())
    assert {c.name for c in checks} == {"every_clearing_booked"}
    assert d.defs.resolve_job_def("book_customers").executor_def.name == "in_process"


def sense(instance: dg.DagsterInstance) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance)
    result = d.customers_sensor(context)
    assert isinstance(result, dg.SensorResult)
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(d.CUSTOMERS, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(d.CUSTOMERS, key)
    return result


def test_partitions_follow_the_environment_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "environments"
    monkeypatch.setenv("PAY_EXACT_ENVIRONMENTS_DIR", str(folder))
    customer_file(folder, "acme", 1)
    customer_file(folder, "bloom", 2)
    with dg.instance_for_test() as instance:
        sense(instance)
        assert sorted(instance.get_dynamic_partitions(d.CUSTOMERS)) == ["acme", "bloom"]

        customer_file(folder, "cedar", 3)
        (folder / "acme.meltano.yml").unlink()
        sense(instance)
        assert sorted(instance.get_dynamic_partitions(d.CUSTOMERS)) == ["bloom", "cedar"]

        unchanged = sense(instance)
        assert not unchanged.dynamic_partitions_requests
        assert "unchanged" in (unchanged.skip_reason.skip_message or "")


def test_customers_sharing_an_administration_are_refused_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "environments"
    monkeypatch.setenv("PAY_EXACT_ENVIRONMENTS_DIR", str(folder))
    customer_file(folder, "acme", 1)
    customer_file(folder, "twin", 7)
    customer_file(folder, "copy", 7)
    add, delete, refused = d.partition_requests([], folder)
    assert (add, delete) == (["acme"], [])
    assert sorted(refused) == ["copy", "twin"]
    assert "division 7" in refused["twin"]
    assert "copy" in refused["twin"]
    with dg.instance_for_test() as instance:
        sense(instance)
        assert instance.get_dynamic_partitions(d.CUSTOMERS) == ["acme"]
        # The refusal stays in the sensor's word while nothing else changes.
        again = sense(instance)
        assert "refused: copy, twin" in (again.skip_reason.skip_message or "")
        # A customer that ran before keeps its partition (and history) while refused.
        customer_file(folder, "acme", 7)
        sense(instance)
        assert instance.get_dynamic_partitions(d.CUSTOMERS) == ["acme"]


def test_the_night_has_one_run_key_per_date_and_customer() -> None:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(d.CUSTOMERS, ["bloom", "acme"])
        # 01:00 UTC on 29 March 2026 is 03:00 in Amsterdam, the night summer time starts.
        night = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=night)
        requests = list(d.nightly_booking(context))
    assert [(r.run_key, r.partition_key) for r in requests] == [
        ("2026-03-29:acme", "acme"),
        ("2026-03-29:bloom", "bloom"),
    ]
    # Late in the evening UTC is already the next night in Amsterdam.
    late = list(d.nightly_requests(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), ["acme"]))
    assert late[0].run_key == "2026-07-02:acme"


def test_the_measured_nights_minutely_schedule_requests_the_night_once() -> None:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(d.CUSTOMERS, ["bloom", "acme"])
        first = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
        requests = night_now_requests(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=first)
        )
        assert [r.partition_key for r in requests] == ["acme", "bloom"]
        create_run_for_test(
            instance, job_name="book_customers", tags={"dagster/schedule_name": NIGHT_NOW_SCHEDULE}
        )
        # A minute later the same night's run keys are new keys to Dagster (matched with the
        # tick's time): the schedule must not queue every customer again.
        later = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 12, 5, 2, 1, tzinfo=UTC)
        )
        assert isinstance(night_now_requests(later), dg.SkipReason)


# -- the run queue ------------------------------------------------------------------------------


def queue_settings() -> dict[str, Any]:
    shipped = yaml.safe_load(DAGSTER_YAML.read_text())
    return {
        "run_coordinator": shipped["run_coordinator"],
        "run_launcher": {"module": "dagster._core.test_utils", "class": "MockedRunLauncher"},
    }


def queued(instance: dg.DagsterInstance, customer: str, status: Any = None) -> str:
    run = create_run_for_test(
        instance,
        job_name="book_customers",
        run_id=str(uuid.uuid4()),
        status=status or dg.DagsterRunStatus.QUEUED,
        tags={d.PARTITION_TAG: customer},
        remote_job_origin=RemoteJobOrigin(
            repository_origin=RemoteRepositoryOrigin(
                code_location_origin=RegisteredCodeLocationOrigin("pay-exact"),
                repository_name="__repository__",
            ),
            job_name="book_customers",
        ),
    )
    return run.run_id


def dequeue(instance: dg.DagsterInstance) -> list[str]:
    """What the daemon would start now, by customer, under the shipped limits."""
    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
    runs = daemon._get_runs_to_dequeue(  # the daemon's own choice, without launching
        instance, instance.get_concurrency_config(), fixed_iteration_time=None
    )
    return sorted(run.tags[d.PARTITION_TAG] for run in runs)


def test_two_queued_runs_of_one_customer_never_run_at_once() -> None:
    with instance_for_test(overrides=queue_settings()) as instance:
        running = queued(instance, "acme", dg.DagsterRunStatus.STARTED)
        queued(instance, "acme")
        queued(instance, "acme")
        queued(instance, "bloom")
        # acme is running: only bloom may start.
        assert dequeue(instance) == ["bloom"]
        # acme's run ended: one (not two) of its queued runs may start.
        instance.report_run_failed(instance.get_run_by_id(running))
        assert dequeue(instance).count("acme") == 1


def test_no_more_than_the_global_cap_run_at_once() -> None:
    with instance_for_test(overrides=queue_settings()) as instance:
        for i in range(7):
            queued(instance, f"shop{i}")
        cap = yaml.safe_load(DAGSTER_YAML.read_text())["run_coordinator"]["config"]
        assert len(dequeue(instance)) == cap["max_concurrent_runs"] == 4


# -- checks and failures ------------------------------------------------------------------------


def test_customers_not_booked_for_36_hours_are_named() -> None:
    now = datetime(2026, 12, 4, 12, tzinfo=UTC).timestamp()
    hour = 3600.0
    last = {"acme": now - 35 * hour, "bloom": now - 37 * hour}
    assert d.stale_customers(["acme", "bloom", "cedar"], last, now) == ["bloom", "cedar"]


def test_the_booked_check_reads_the_materializations() -> None:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(d.CUSTOMERS, ["acme", "bloom"])
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=d.BOOKING, partition="acme")
        )
        result = d.customers_booked_recently(dg.build_asset_check_context(instance=instance))
    assert not result.passed
    assert "bloom" in result.metadata["not booked for 36 hours"].value
    assert "acme" not in result.metadata["not booked for 36 hours"].value


def test_a_failed_run_is_named_by_customer() -> None:
    run = dg.DagsterRun(job_name="book_customers", run_id="r1", tags={d.PARTITION_TAG: "acme"})
    assert d.failure_message(run, "exit 2") == ("Booking run r1 of customer acme failed: exit 2")


def test_a_customer_that_cannot_run_fails_at_once_without_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MELTANO_DATABASE_URI", "PAY_EXACT_STORE_URL", "PAY_EXACT_REPORTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(d.CUSTOMERS, ["acme"])
        result = dg.materialize(
            [d.customer_booking], partition_key="acme", instance=instance, raise_on_error=False
        )
        assert not result.success
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert len(failures) == 1  # no retry
        assert "MELTANO_DATABASE_URI" in str(failures[0].step_failure_data.error)
