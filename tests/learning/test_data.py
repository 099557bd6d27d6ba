"""Specifications of dataset loading, partitioning and private splits (flock.learning.data)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flock.learning.data import (
    DATASET_NAMES,
    Dataset,
    ParticipantData,
    holdout_split,
    load_dataset,
    make_participant_data,
    partition,
    split_train_test,
)

FAST = settings(max_examples=60, deadline=None)


def _id_dataset(n: int, *, num_classes: int = 3, feature_shape: tuple[int, ...] = (2,)) -> Dataset:
    """A synthetic dataset whose first feature is the sample's row id, so rows are traceable."""
    width = int(np.prod(feature_shape))
    features = np.zeros((n, width), dtype=np.float32)
    features[:, 0] = np.arange(n)
    labels = (np.arange(n) % num_classes).astype(np.int64)
    return Dataset(
        features=features, labels=labels, num_classes=num_classes, feature_shape=feature_shape
    )


def _assert_exact_cover(parts: list[np.ndarray], n: int) -> None:
    joined = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    assert joined.dtype == np.int64
    np.testing.assert_array_equal(np.sort(joined), np.arange(n))


def _label_skew(labels: np.ndarray, parts: list[np.ndarray], num_classes: int) -> float:
    """Mean total-variation distance between each part's label mix and the global mix."""
    global_mix = np.bincount(labels, minlength=num_classes) / len(labels)
    distances = []
    for part in parts:
        mix = np.bincount(labels[part], minlength=num_classes) / len(part)
        distances.append(0.5 * np.abs(mix - global_mix).sum())
    return float(np.mean(distances))


# --- load_dataset -----------------------------------------------------------------------------


def test_digits_loads_as_images_scaled_to_unit_interval() -> None:
    # Execute
    ds = load_dataset("digits")

    # Assert
    assert ds.features.shape == (1797, 64)
    assert ds.features.dtype == np.float32
    assert ds.labels.shape == (1797,)
    assert ds.labels.dtype == np.int64
    assert ds.num_classes == 10
    assert ds.feature_shape == (1, 8, 8)
    assert ds.features.min() == 0.0
    assert ds.features.max() == 1.0


@pytest.mark.parametrize(
    ("name", "n", "f", "classes"), [("breast_cancer", 569, 30, 2), ("wine", 178, 13, 3)]
)
def test_tabular_datasets_are_zscored_over_the_whole_dataset(
    name: str, n: int, f: int, classes: int
) -> None:
    # Execute
    ds = load_dataset(name)

    # Assert
    assert ds.features.shape == (n, f)
    assert ds.feature_shape == (f,)
    assert ds.num_classes == classes
    np.testing.assert_allclose(ds.features.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(ds.features.std(axis=0), 1.0, atol=1e-4)


def test_unknown_dataset_name_raises_listing_valid_names() -> None:
    # Execute / Assert
    with pytest.raises(ValueError, match="unknown dataset") as info:
        load_dataset("mnist")
    for name in DATASET_NAMES:
        assert name in str(info.value)


def test_loaded_dataset_is_cached_and_read_only() -> None:
    # Prepare
    ds = load_dataset("wine")

    # Execute / Assert
    assert load_dataset("wine") is ds
    with pytest.raises(ValueError):
        ds.features[0, 0] = 42.0
    with pytest.raises(ValueError):
        ds.labels[0] = 1


def test_dataset_rejects_inconsistent_arrays() -> None:
    # Prepare
    features = np.zeros((4, 6), dtype=np.float32)
    labels = np.zeros(4, dtype=np.int64)

    # Execute / Assert
    with pytest.raises(ValueError, match="feature_shape"):
        Dataset(features=features, labels=labels, num_classes=2, feature_shape=(5,))
    with pytest.raises(ValueError, match="sample count"):
        Dataset(features=features, labels=labels[:3], num_classes=2, feature_shape=(6,))
    with pytest.raises(ValueError, match="float32"):
        Dataset(
            features=features.astype(np.float64), labels=labels, num_classes=2, feature_shape=(6,)
        )
    with pytest.raises(ValueError, match="labels must lie"):
        Dataset(features=features, labels=labels + 2, num_classes=2, feature_shape=(6,))


# --- partition --------------------------------------------------------------------------------


@FAST
@given(data=st.data(), n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_iid_partition_covers_every_index_exactly_once(
    data: st.DataObject, n: int, seed: int
) -> None:
    # Prepare
    num_parts = data.draw(st.integers(1, n), label="num_parts")
    labels = np.zeros(n, dtype=np.int64)

    # Execute
    parts = partition(labels, num_parts, scheme="iid", seed=seed, min_size=1)

    # Assert
    assert len(parts) == num_parts
    _assert_exact_cover(parts, n)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1


@FAST
@given(
    data=st.data(),
    n=st.integers(1, 300),
    num_classes=st.integers(1, 10),
    alpha=st.floats(0.01, 100.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_dirichlet_partition_covers_every_index_exactly_once(
    data: st.DataObject, n: int, num_classes: int, alpha: float, seed: int
) -> None:
    # Prepare
    num_parts = data.draw(st.integers(1, n), label="num_parts")
    labels = np.random.default_rng(seed).integers(0, num_classes, size=n)

    # Execute
    parts = partition(labels, num_parts, scheme="dirichlet", alpha=alpha, seed=seed, min_size=0)

    # Assert
    assert len(parts) == num_parts
    _assert_exact_cover(parts, n)


def test_dirichlet_partition_gives_every_part_at_least_min_size() -> None:
    # Prepare
    labels = load_dataset("digits").labels

    # Execute
    parts = partition(labels, 20, scheme="dirichlet", alpha=0.1, seed=3, min_size=10)

    # Assert
    assert min(len(p) for p in parts) >= 10
    _assert_exact_cover(parts, len(labels))


def test_dirichlet_with_small_alpha_skews_labels_far_more_than_iid() -> None:
    # Prepare
    labels = load_dataset("digits").labels

    # Execute
    iid = partition(labels, 10, scheme="iid", seed=0)
    skewed = partition(labels, 10, scheme="dirichlet", alpha=0.1, seed=0)

    # Assert
    iid_skew = _label_skew(labels, iid, 10)
    dirichlet_skew = _label_skew(labels, skewed, 10)
    assert iid_skew < 0.1
    assert dirichlet_skew > 0.5
    assert dirichlet_skew > 4 * iid_skew


@pytest.mark.parametrize("scheme", ["iid", "dirichlet"])
def test_partition_is_reproducible_for_a_seed_and_changes_with_it(scheme: str) -> None:
    # Prepare
    labels = load_dataset("wine").labels

    # Execute
    first = partition(labels, 4, scheme=scheme, seed=11)
    again = partition(labels, 4, scheme=scheme, seed=11)
    other = partition(labels, 4, scheme=scheme, seed=12)

    # Assert
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        len(a) != len(b) or not np.array_equal(a, b) for a, b in zip(first, other, strict=True)
    )


@pytest.mark.parametrize(
    ("num_parts", "kwargs", "message"),
    [
        (0, {}, "num_parts must be >= 1"),
        (11, {}, "must not exceed"),
        (2, {"scheme": "dirichlet", "alpha": 0.0}, "alpha must be > 0"),
        (2, {"scheme": "dirichlet", "alpha": -1.0}, "alpha must be > 0"),
        (2, {"scheme": "shards"}, "unknown scheme"),
        (4, {"min_size": 3}, "at least 3 samples"),
        (2, {"min_size": -1}, "min_size"),
        (2, {"max_retries": 0}, "max_retries"),
    ],
)
def test_partition_rejects_invalid_arguments(num_parts: int, kwargs: dict, message: str) -> None:
    # Prepare
    labels = np.arange(10) % 2

    # Execute / Assert
    with pytest.raises(ValueError, match=message):
        partition(labels, num_parts, **kwargs)


def test_partition_rejects_non_integer_labels() -> None:
    # Execute / Assert
    with pytest.raises(ValueError, match="integers"):
        partition(np.linspace(0, 1, 10), 2)


def test_dirichlet_gives_up_after_bounded_retries() -> None:
    # Prepare: two classes with near-zero alpha put each class into a single part,
    # so at most two of ten parts can ever be non-empty.
    labels = np.arange(100) % 2

    # Execute / Assert
    with pytest.raises(ValueError, match="in 3 draws"):
        partition(labels, 10, scheme="dirichlet", alpha=1e-3, min_size=5, max_retries=3)


# --- split_train_test / holdout_split -----------------------------------------------------------


def test_split_train_test_is_disjoint_complete_and_seeded() -> None:
    # Prepare
    indices = np.arange(100, 140)

    # Execute
    train, test = split_train_test(indices, test_fraction=0.25, seed=5)
    train_again, test_again = split_train_test(indices, test_fraction=0.25, seed=5)
    _, test_other = split_train_test(indices, test_fraction=0.25, seed=6)

    # Assert
    assert len(test) == 10
    assert len(train) == 30
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), indices)
    np.testing.assert_array_equal(train, train_again)
    np.testing.assert_array_equal(test, test_again)
    assert not np.array_equal(test, test_other)


@FAST
@given(n=st.integers(2, 60), test_fraction=st.floats(0.001, 0.999), seed=st.integers(0, 1000))
def test_split_train_test_keeps_both_sides_non_empty(
    n: int, test_fraction: float, seed: int
) -> None:
    # Execute
    train, test = split_train_test(np.arange(n), test_fraction=test_fraction, seed=seed)

    # Assert
    assert len(train) >= 1
    assert len(test) >= 1
    assert len(train) + len(test) == n


@pytest.mark.parametrize(
    ("indices", "fraction"), [(np.arange(1), 0.5), (np.arange(10), 0.0), (np.arange(10), 1.0)]
)
def test_split_train_test_rejects_impossible_splits(indices: np.ndarray, fraction: float) -> None:
    # Execute / Assert
    with pytest.raises(ValueError):
        split_train_test(indices, test_fraction=fraction, seed=0)


def test_holdout_split_keeps_holdout_disjoint_from_participant_pool() -> None:
    # Prepare
    ds = _id_dataset(50, feature_shape=(1, 2, 1))

    # Execute
    pool, holdout = holdout_split(ds, holdout_fraction=0.2, seed=1)

    # Assert
    pool_ids, holdout_ids = pool.features[:, 0], holdout.features[:, 0]
    assert len(holdout) == 10
    assert len(pool) == 40
    assert np.intersect1d(pool_ids, holdout_ids).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([pool_ids, holdout_ids])), np.arange(50))
    assert holdout.feature_shape == ds.feature_shape
    assert holdout.num_classes == ds.num_classes
    np.testing.assert_array_equal(holdout.labels, holdout_ids.astype(np.int64) % 3)


# --- make_participant_data ----------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["iid", "dirichlet"])
def test_participant_data_partitions_the_pool_into_private_train_and_test(scheme: str) -> None:
    # Prepare
    ds = _id_dataset(120, feature_shape=(1, 2, 2))

    # Execute
    participants = make_participant_data(
        ds, 4, scheme=scheme, alpha=1.0, test_fraction=0.25, seed=7
    )

    # Assert
    assert len(participants) == 4
    seen = []
    for p in participants:
        assert isinstance(p, ParticipantData)
        assert p.x_train.dtype == torch.float32 and p.y_train.dtype == torch.int64
        assert p.x_train.shape[1:] == (1, 2, 2) and p.x_test.shape[1:] == (1, 2, 2)
        assert p.num_train >= 1 and p.num_test >= 1
        train_ids = p.x_train[:, 0, 0, 0].long()
        test_ids = p.x_test[:, 0, 0, 0].long()
        assert torch.equal(p.y_train, train_ids % 3)
        assert torch.equal(p.y_test, test_ids % 3)
        seen.extend(train_ids.tolist() + test_ids.tolist())
    assert sorted(seen) == list(range(120))


def test_participant_data_is_reproducible_for_a_seed() -> None:
    # Prepare
    ds = load_dataset("digits")

    # Execute
    first = make_participant_data(ds, 3, scheme="dirichlet", alpha=0.5, test_fraction=0.2, seed=4)
    again = make_participant_data(ds, 3, scheme="dirichlet", alpha=0.5, test_fraction=0.2, seed=4)

    # Assert
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
        assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_test, b.y_test)


def test_participant_data_digits_tensors_have_image_shape() -> None:
    # Prepare
    pool, _ = holdout_split(load_dataset("digits"), seed=0)

    # Execute
    participants = make_participant_data(pool, 5, test_fraction=0.25, seed=0)

    # Assert
    assert sum(p.num_train + p.num_test for p in participants) == len(pool)
    for p in participants:
        assert p.x_train.shape == (p.num_train, 1, 8, 8)
        assert p.x_test.shape == (p.num_test, 1, 8, 8)
        assert p.num_test == pytest.approx(0.25 * (p.num_train + p.num_test), abs=1)


def test_participant_data_requires_room_for_a_test_split() -> None:
    # Execute / Assert
    with pytest.raises(ValueError, match="min_size"):
        make_participant_data(_id_dataset(20), 2, min_size=1)


def test_sampled_partition_gives_more_parts_than_samples_each_its_own_distinct_sample() -> None:
    # Prepare
    labels = np.arange(30) % 3

    # Execute
    parts = partition(labels, 100, scheme="sampled", size=8, seed=1)
    again = partition(labels, 100, scheme="sampled", size=8, seed=1)

    # Assert
    assert len(parts) == 100
    assert all(len(p) == 8 and len(set(p.tolist())) == 8 for p in parts)
    assert all(0 <= p.min() and p.max() < 30 for p in parts)
    assert len({tuple(p.tolist()) for p in parts}) > 90  # independent draws, not one copy
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    with pytest.raises(ValueError, match="size"):
        partition(labels, 100, scheme="sampled", size=31)
