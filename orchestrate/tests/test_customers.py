"""Which environment files are customers, and which are refused."""

from __future__ import annotations

from pathlib import Path

import yaml
from pay_exact_orchestrate.customers import COUNTRY_BY_HOST, read_customer, read_customers
from target_exactonline.exact_client.countries import EXACT_HOSTS

REPOSITORY = Path(__file__).resolve().parents[2]


def write(folder: Path, name: str, *, division: object = 1, **target: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.meltano.yml"
    config = {"division": division, **target}
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
    path.write_text(yaml.safe_dump(document))
    return path


def test_the_shipped_environments_are_customers() -> None:
    found = read_customers(REPOSITORY / "environments")
    assert found.refused == {}
    assert set(found.usable) >= {"acme", "bloom", "demo"}
    acme = found.usable["acme"]
    assert acme.administration == ("nl", "234567")
    assert acme.secret_prefix == "ACME_"


def test_two_customers_in_one_exact_administration_are_both_refused(tmp_path: Path) -> None:
    write(tmp_path, "north", division=42, exact_country="nl")
    write(tmp_path, "south", division=42)  # nl is the default country
    write(tmp_path, "west", division=42, exact_country="be")
    found = read_customers(tmp_path)
    assert set(found.usable) == {"west"}
    assert set(found.refused) == {"north", "south"}
    assert "Exact nl division 42" in found.refused["north"]
    assert "south" in found.refused["north"]
    assert "north" in found.refused["south"]


def test_unreadable_files_are_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "broken.meltano.yml").write_text("environments: [\n")
    write(tmp_path, "nodivision", division="")
    write(tmp_path, "Upper")
    other = write(tmp_path, "renamed")
    other.rename(tmp_path / "moved.meltano.yml")
    found = read_customers(tmp_path)
    assert found.usable == {}
    assert "cannot be read as YAML" in found.refused["broken"]
    assert "has no division" in found.refused["nodivision"]
    assert "lower-case" in found.refused["Upper"]
    assert "must be named 'moved'" in found.refused["moved"]


def test_the_country_comes_from_the_setting_else_the_host_else_nl(tmp_path: Path) -> None:
    test_host = write(tmp_path, "shop", division=7, exact_base_url="http://127.0.0.1:5000")
    assert read_customer(test_host).administration == ("nl", "7")
    on_be = write(tmp_path, "gent", division=7, exact_base_url="https://start.exactonline.be/")
    assert read_customer(on_be).administration == ("be", "7")
    both = write(
        tmp_path, "liege", division=7, exact_country="BE", exact_base_url="http://127.0.0.1:5000"
    )
    assert read_customer(both).administration == ("be", "7")


def test_two_test_hosts_with_one_division_and_country_are_refused(tmp_path: Path) -> None:
    # Each has its own host, but the shared store keys both as nl division 7.
    write(tmp_path, "one", division=7, exact_base_url="http://127.0.0.1:5000")
    write(tmp_path, "two", division=7, exact_base_url="http://127.0.0.1:5001")
    write(tmp_path, "three", division=7, exact_base_url="http://127.0.0.1:5002", exact_country="be")
    found = read_customers(tmp_path)
    assert set(found.usable) == {"three"}
    assert "Exact nl division 7 is also the administration of two" in found.refused["one"]


def test_an_unknown_country_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "atlantis", division=7, exact_country="xx")
    assert "exact_country must be one of" in read_customers(tmp_path).refused["atlantis"]


def test_the_host_table_matches_the_targets() -> None:
    assert {host: code for code, host in EXACT_HOSTS.items()} == COUNTRY_BY_HOST
