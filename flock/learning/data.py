"""Datasets, participant partitioning and private train/test splits for federated experiments."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from sklearn import datasets as sk_datasets

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IndexArray = npt.NDArray[np.int64]

DIGITS_MAX_PIXEL = 16.0
"""Largest pixel intensity of the sklearn 8x8 digits images (values lie in 0..16)."""

DATASET_NAMES: tuple[str, ...] = ("digits", "breast_cancer", "wine")
PARTITION_SCHEMES: tuple[str, ...] = ("iid", "dirichlet", "sampled")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled dataset held in memory.

    Attributes
    ----------
    features : numpy.ndarray
        Float32 array of shape ``(n, f)``; each row is one flattened sample.
    labels : numpy.ndarray
        Int64 array of shape ``(n,)`` with values in ``[0, num_classes)``.
    num_classes : int
        Number of classes of the task (not necessarily all present in ``labels``).
    feature_shape : tuple of int
        Shape of one sample as the models expect it, e.g. ``(1, 8, 8)`` for digits
        or ``(30,)`` for breast_cancer; its product equals ``f``.
    """

    features: FloatArray
    labels: IndexArray
    num_classes: int
    feature_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.features.dtype != np.float32:
            raise ValueError(
                "features must be a 2-D float32 array, got "
                f"{self.features.ndim}-D {self.features.dtype}"
            )
        if self.labels.ndim != 1 or self.labels.dtype != np.int64:
            raise ValueError(
                f"labels must be a 1-D int64 array, got {self.labels.ndim}-D {self.labels.dtype}"
            )
        if len(self.labels) != len(self.features):
            raise ValueError(
                f"features and labels disagree on sample count: "
                f"{len(self.features)} != {len(self.labels)}"
            )
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {self.num_classes}")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes})")
        if math.prod(self.feature_shape) != self.features.shape[1]:
            raise ValueError(
                f"feature_shape {self.feature_shape} does not match "
                f"{self.features.shape[1]} features per sample"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: npt.ArrayLike) -> Dataset:
        """Return the samples at ``indices`` as a new dataset (arrays are copied).

        Parameters
        ----------
        indices : array_like of int
            Row indices into this dataset.

        Returns
        -------
        Dataset
            Same ``num_classes`` and ``feature_shape``, selected rows only.
        """
        idx = np.asarray(indices, dtype=np.int64)
        return Dataset(
            features=self.features[idx],
            labels=self.labels[idx],
            num_classes=self.num_classes,
            feature_shape=self.feature_shape,
        )


def _zscore(x: npt.NDArray[np.float64]) -> FloatArray:
    """Standardise each column to zero mean and unit variance (constant columns stay at 0)."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return ((x - mean) / std).astype(np.float32)


def _load_digits() -> Dataset:
    bunch = sk_datasets.load_digits()
    return Dataset(
        features=(bunch.data / DIGITS_MAX_PIXEL).astype(np.float32),
        labels=bunch.target.astype(np.int64),
        num_classes=len(bunch.target_names),
        feature_shape=(1, 8, 8),
    )


def _load_tabular(loader: Callable[[], Any]) -> Dataset:
    bunch = loader()
    features = np.asarray(bunch.data, dtype=np.float64)
    return Dataset(
        features=_zscore(features),
        labels=np.asarray(bunch.target, dtype=np.int64),
        num_classes=len(bunch.target_names),
        feature_shape=(features.shape[1],),
    )


_LOADERS: dict[str, Callable[[], Dataset]] = {
    "digits": _load_digits,
    "breast_cancer": functools.partial(_load_tabular, sk_datasets.load_breast_cancer),
    "wine": functools.partial(_load_tabular, sk_datasets.load_wine),
}


@functools.lru_cache(maxsize=len(DATASET_NAMES))
def load_dataset(name: str) -> Dataset:
    """Load one of the small scikit-learn datasets that ship with the wheel (no network).

    Normalisation is schema-level and public: digits pixels are divided by 16 (their
    known maximum); the tabular datasets are z-scored with the mean and standard
    deviation of the *whole* published dataset. These statistics are public
    knowledge about the dataset, not derived from any participant's private split,
    so they leak nothing about who holds which samples.

    Parameters
    ----------
    name : str
        One of ``"digits"``, ``"breast_cancer"``, ``"wine"``.

    Returns
    -------
    Dataset
        The full dataset; its arrays are read-only and the object is cached, so
        repeated calls are cheap and return the same instance.

    Raises
    ------
    ValueError
        If ``name`` is not a supported dataset.
    """
    try:
        loader = _LOADERS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; valid names: {', '.join(DATASET_NAMES)}"
        ) from None
    dataset = loader()
    dataset.features.setflags(write=False)
    dataset.labels.setflags(write=False)
    logger.debug(
        "loaded dataset %s: %d samples, %d classes", name, len(dataset), dataset.num_classes
    )
    return dataset


def _derive_seed(*keys: int) -> int:
    """Derive an independent 63-bit seed from a tuple of non-negative integers."""
    state = np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0]
    return int(state >> np.uint64(1))


def _partition_iid(n: int, num_parts: int, rng: np.random.Generator) -> list[IndexArray]:
    return list(np.array_split(rng.permutation(n).astype(np.int64), num_parts))


def _partition_dirichlet_once(
    labels: IndexArray, num_parts: int, alpha: float, rng: np.random.Generator
) -> list[IndexArray]:
    chunks: list[list[IndexArray]] = [[] for _ in range(num_parts)]
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls)).astype(np.int64)
        proportions = rng.dirichlet(np.full(num_parts, alpha))
        cuts = np.floor(np.cumsum(proportions)[:-1] * len(members)).astype(np.int64)
        for part, chunk in enumerate(np.split(members, cuts)):
            chunks[part].append(chunk)
    return [np.concatenate(c) if c else np.empty(0, dtype=np.int64) for c in chunks]


def partition(
    labels: npt.ArrayLike,
    num_parts: int,
    *,
    scheme: str = "iid",
    alpha: float = 0.5,
    seed: int = 0,
    min_size: int = 2,
    max_retries: int = 1000,
    size: int | None = None,
) -> list[IndexArray]:
    """Split sample indices among participants.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        Class label of every sample.
    num_parts : int
        Number of participants, ``1 <= num_parts <= n``.
    scheme : {"iid", "dirichlet"}
        ``"iid"`` shuffles and cuts into near-equal parts. ``"dirichlet"`` draws,
        for every class, the share of that class each part receives from
        ``Dirichlet(alpha)``; small ``alpha`` gives highly skewed label mixes.
        ``"sampled"`` gives each part its own random sample of ``size`` indices (distinct
        within a part, shared between parts): more parts than samples, for scale runs.
    alpha : float
        Dirichlet concentration (``> 0``); only used by ``"dirichlet"``.
    seed : int
        Seed of the random permutation / proportions.
    min_size : int
        Every part must receive at least this many samples. For ``"iid"`` this is
        checked up front; for ``"dirichlet"`` the draw is repeated until it holds.
    max_retries : int
        ``"dirichlet"`` only: how many draws to attempt before giving up.

    Returns
    -------
    list of numpy.ndarray
        ``num_parts`` sorted int64 index arrays; together they contain every index
        in ``range(n)`` exactly once (``"sampled"``: ``size`` distinct indices each).

    Raises
    ------
    ValueError
        On invalid arguments, or if no Dirichlet draw met ``min_size`` within
        ``max_retries`` attempts.
    """
    label_arr = np.asarray(labels)
    if label_arr.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {label_arr.shape}")
    if label_arr.size and not np.issubdtype(label_arr.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {label_arr.dtype}")
    label_arr = label_arr.astype(np.int64)
    n = len(label_arr)
    if scheme not in PARTITION_SCHEMES:
        raise ValueError(
            f"unknown scheme {scheme!r}; valid schemes: {', '.join(PARTITION_SCHEMES)}"
        )
    if num_parts < 1:
        raise ValueError(f"num_parts must be >= 1, got {num_parts}")
    if scheme == "sampled":
        if size is None or not min_size <= size <= n:
            raise ValueError(f"sampled parts need {min_size} <= size <= {n}, got {size}")
        rng = np.random.default_rng(seed)
        return [
            np.sort(rng.choice(n, size, replace=False)).astype(np.int64) for _ in range(num_parts)
        ]
    if num_parts > n:
        raise ValueError(f"num_parts ({num_parts}) must not exceed the number of samples ({n})")
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    if max_retries < 1:
        raise ValueError(f"max_retries must be >= 1, got {max_retries}")

    if min_size * num_parts > n:
        raise ValueError(
            f"cannot give each of {num_parts} parts at least {min_size} samples out of {n}"
        )

    rng = np.random.default_rng(seed)
    if scheme == "iid":
        return [np.sort(p) for p in _partition_iid(n, num_parts, rng)]

    for attempt in range(1, max_retries + 1):
        parts = _partition_dirichlet_once(label_arr, num_parts, alpha, rng)
        smallest = min(len(p) for p in parts)
        if smallest >= min_size:
            logger.debug("dirichlet partition accepted after %d draw(s)", attempt)
            return [np.sort(p) for p in parts]
    raise ValueError(
        f"no Dirichlet(alpha={alpha}) partition into {num_parts} parts gave every part "
        f">= {min_size} samples in {max_retries} draws; raise alpha or lower num_parts/min_size"
    )


def split_train_test(
    indices: npt.ArrayLike, *, test_fraction: float = 0.25, seed: int
) -> tuple[IndexArray, IndexArray]:
    """Randomly split one participant's indices into private train and test sets.

    Parameters
    ----------
    indices : array_like of int
        The participant's sample indices (at least 2).
    test_fraction : float
        Share of samples put in the test set, in ``(0, 1)``; the test size is
        rounded and clamped so that both sets are non-empty.
    seed : int
        Seed of the random split.

    Returns
    -------
    tuple of numpy.ndarray
        ``(train, test)``: disjoint, sorted int64 arrays whose union is ``indices``.

    Raises
    ------
    ValueError
        If fewer than 2 indices are given or ``test_fraction`` is outside ``(0, 1)``.
    """
    idx = np.asarray(indices, dtype=np.int64).ravel()
    if len(idx) < 2:
        raise ValueError(f"need at least 2 indices to split, got {len(idx)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = min(max(round(len(idx) * test_fraction), 1), len(idx) - 1)
    shuffled = np.random.default_rng(seed).permutation(idx)
    return np.sort(shuffled[n_test:]), np.sort(shuffled[:n_test])


def holdout_split(
    dataset: Dataset, *, holdout_fraction: float = 0.2, seed: int
) -> tuple[Dataset, Dataset]:
    """Set aside a public evaluation holdout that no participant ever trains or tests on.

    Parameters
    ----------
    dataset : Dataset
        The full dataset.
    holdout_fraction : float
        Share of samples kept out, in ``(0, 1)``; both parts are non-empty.
    seed : int
        Seed of the random split.

    Returns
    -------
    tuple of Dataset
        ``(pool, holdout)``: ``pool`` is partitioned among participants; ``holdout``
        is used only to report the global model's accuracy.
    """
    if not 0 < holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    pool_idx, holdout_idx = split_train_test(
        np.arange(len(dataset)), test_fraction=holdout_fraction, seed=seed
    )
    return dataset.subset(pool_idx), dataset.subset(holdout_idx)


@dataclass(frozen=True, eq=False)
class ParticipantData:
    """One participant's private data as tensors ready for training.

    Attributes
    ----------
    x_train, x_test : torch.Tensor
        Float32 features of shape ``(n, *feature_shape)``.
    y_train, y_test : torch.Tensor
        Int64 labels of shape ``(n,)``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def __post_init__(self) -> None:
        for split, x, y in (
            ("train", self.x_train, self.y_train),
            ("test", self.x_test, self.y_test),
        ):
            if x.dtype != torch.float32 or y.dtype != torch.int64:
                raise ValueError(f"{split}: expected float32 features and int64 labels")
            if y.ndim != 1 or len(x) != len(y) or len(y) == 0:
                raise ValueError(f"{split}: need equally many (>0) features and 1-D labels")

    @property
    def num_train(self) -> int:
        """Number of training samples (reported as the update's weight)."""
        return len(self.y_train)

    @property
    def num_test(self) -> int:
        """Number of private test samples."""
        return len(self.y_test)


def _to_tensors(dataset: Dataset, idx: IndexArray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(dataset.features[idx]))
    y = torch.from_numpy(np.ascontiguousarray(dataset.labels[idx]))
    return x.reshape(len(idx), *dataset.feature_shape), y


def make_participant_data(
    dataset: Dataset,
    num_parts: int,
    *,
    scheme: str = "iid",
    alpha: float = 0.5,
    test_fraction: float = 0.25,
    seed: int = 0,
    min_size: int = 2,
    size: int | None = None,
) -> list[ParticipantData]:
    """Partition a dataset among participants and split each share into train/test.

    Parameters
    ----------
    dataset : Dataset
        Data to distribute (typically the ``pool`` from :func:`holdout_split`).
    num_parts : int
        Number of participants.
    scheme, alpha, min_size, size :
        Passed to :func:`partition`; ``min_size`` must be >= 2 so that every share
        can be split into non-empty train and test sets.
    test_fraction : float
        Passed to :func:`split_train_test`.
    seed : int
        Seeds the partition; participant ``i``'s split uses a seed derived from
        ``(seed, i)``, so splits are reproducible and independent across participants.

    Returns
    -------
    list of ParticipantData
        One entry per participant, in partition order.
    """
    if min_size < 2:
        raise ValueError(f"min_size must be >= 2 to allow a train/test split, got {min_size}")
    parts = partition(
        dataset.labels,
        num_parts,
        scheme=scheme,
        alpha=alpha,
        seed=seed,
        min_size=min_size,
        size=size,
    )
    result = []
    for i, part in enumerate(parts):
        train_idx, test_idx = split_train_test(
            part, test_fraction=test_fraction, seed=_derive_seed(seed, i)
        )
        x_train, y_train = _to_tensors(dataset, train_idx)
        x_test, y_test = _to_tensors(dataset, test_idx)
        result.append(
            ParticipantData(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        )
    return result
