"""Specification of the aggregator registry."""

import pytest

import flock.aggregation as aggregation
from flock.aggregation import AGGREGATORS, UnknownAggregatorError, get_aggregator

CONFIG_NAMES = [
    "bulyan",
    "centered_clipping",
    "consensus",
    "fedavg",
    "geometric_median",
    "krum",
    "median",
    "multikrum",
    "trimmed_mean",
]


def test_registry_holds_exactly_the_config_names() -> None:
    assert sorted(AGGREGATORS) == CONFIG_NAMES


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_each_name_maps_to_the_function_of_that_name(name: str) -> None:
    assert get_aggregator(name) is getattr(aggregation, name)
    assert AGGREGATORS[name] is getattr(aggregation, name)


def test_unknown_name_raises_a_key_error_listing_the_valid_names() -> None:
    with pytest.raises(UnknownAggregatorError) as caught:
        get_aggregator("fedprox")

    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == (
        "unknown aggregator 'fedprox'; valid names: " + ", ".join(CONFIG_NAMES)
    )


def test_names_are_case_sensitive() -> None:
    with pytest.raises(KeyError):
        get_aggregator("FedAvg")


def test_package_exports_are_sorted_and_resolvable() -> None:
    assert aggregation.__all__ == sorted(aggregation.__all__)
    for name in aggregation.__all__:
        assert hasattr(aggregation, name)
