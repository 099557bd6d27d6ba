"""The text task's data: Debian's `fortunes` corpus (one file per topic), a byte-level tokenizer
(ByT5's ids: byte + 3), each member's topic split into private train and test blocks, a
public part for the base model and a held-out part of every topic for reporting."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

FORTUNES_DIR = "/usr/share/games/fortunes"
"""Where Debian's `fortunes` package installs its topics (`scripts/setup.sh` installs it)."""
BYTE_OFFSET = 3
"""ByT5's byte ids: pad 0, eos 1, unk 2, then byte b as b + 3."""
VOCAB_SIZE = 256 + BYTE_OFFSET


class CorpusUnavailableError(RuntimeError):
    """The offline corpus is not installed (no apt on this machine, or a topic is missing)."""


def corpus_dir(configured: str | None = None) -> Path:
    """The fortunes directory: `configured`, else $FLOCK_FORTUNES_DIR, else Debian's path."""
    return Path(configured or os.environ.get("FLOCK_FORTUNES_DIR") or FORTUNES_DIR)


def corpus_missing(topics: list[str], directory: str | None = None) -> str | None:
    """Why the corpus cannot serve `topics` (None: it can); for tests to skip with."""
    root = corpus_dir(directory)
    if not root.is_dir():
        return f"no fortunes corpus at {root} (apt-get install fortunes; scripts/setup.sh does)"
    missing = [t for t in topics if not (root / t).is_file()]
    return f"fortunes topics missing from {root}: {', '.join(missing)}" if missing else None


def read_topic(topic: str, directory: str | None = None) -> list[str]:
    """The `%`-separated entries of one fortunes topic file, stripped, empty ones dropped."""
    path = corpus_dir(directory) / topic
    if not path.is_file():
        raise CorpusUnavailableError(corpus_missing([topic], directory) or str(path))
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [e.strip() + "\n" for e in text.split("\n%\n") if e.strip()]


def encode(text: str) -> np.ndarray:
    """Byte-level token ids of `text` (UTF-8 bytes + 3: the ids `ByT5Tokenizer()` gives)."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64) + BYTE_OFFSET


def decode(ids: list[int] | np.ndarray) -> str:
    """The text of byte-level ids (special ids dropped)."""
    raw = bytes(int(i) - BYTE_OFFSET for i in ids if int(i) >= BYTE_OFFSET)
    return raw.decode("utf-8", errors="replace")


def blocks(text: str, block_len: int) -> torch.Tensor:
    """Non-overlapping blocks of `block_len` token ids, int64 ``(n, block_len)``; the tail
    shorter than a block is dropped."""
    ids = encode(text)
    n = len(ids) // block_len
    if n == 0:
        raise ValueError(f"{len(ids)} tokens make no block of {block_len}")
    return torch.from_numpy(ids[: n * block_len].reshape(n, block_len).copy())


def split_entries(entries: list[str], *, seed: int, sizes: list[int]) -> tuple[list[str], ...]:
    """Shuffle `entries` by `seed` and deal them into consecutive parts of at least `sizes[i]`
    bytes each (the last part, size 0 or less, takes the rest). Entries stay whole."""
    order = list(entries)
    random.Random(seed).shuffle(order)
    parts: list[list[str]] = [[] for _ in sizes]
    part, filled = 0, 0
    for entry in order:
        while part < len(sizes) - 1 and sizes[part] > 0 and filled >= sizes[part]:
            part, filled = part + 1, 0
        parts[part].append(entry)
        filled += len(entry.encode("utf-8"))
    return tuple(parts)


@dataclass(frozen=True)
class TextParticipantData:
    """One member's private text as token blocks: ``x`` the ids, ``y`` the labels (the same
    ids: the model shifts them). Quacks like :class:`flock.learning.data.ParticipantData`."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    topic: str = ""

    @property
    def num_train(self) -> int:
        """Training blocks (the update's claimed sample count)."""
        return len(self.x_train)

    @property
    def num_test(self) -> int:
        """Private test blocks."""
        return len(self.x_test)


@dataclass(frozen=True)
class TextVocabulary:
    """What attacks and tolerances ask of a dataset: its number of classes (token ids)."""

    num_classes: int = VOCAB_SIZE


@dataclass(frozen=True)
class TextHoldout:
    """The held-out blocks of every member topic (reporting only)."""

    topics: dict[str, torch.Tensor]


@dataclass(frozen=True)
class TextSplits:
    """Every member's private data, the held-out text of each topic, the public text."""

    participants: list[TextParticipantData]
    holdout: TextHoldout
    public_text: str
    dataset: TextVocabulary = TextVocabulary()

    @property
    def smallest_test_split(self) -> int:
        """Test blocks of the member with the fewest."""
        return min(p.num_test for p in self.participants)


def public_text(public_topics: list[str], *, max_bytes: int, directory: str | None = None) -> str:
    """The public topics' entries, in file order, up to `max_bytes` per topic (0: all)."""
    pieces = []
    for topic in public_topics:
        text, size = [], 0
        for entry in read_topic(topic, directory):
            if max_bytes and size >= max_bytes:
                break
            text.append(entry)
            size += len(entry.encode("utf-8"))
        pieces.append("".join(text))
    return "".join(pieces)


def text_splits(
    *,
    topics: list[str],
    public_topics: list[str],
    participants: int,
    block_len: int,
    test_bytes: int,
    holdout_bytes: int,
    max_topic_bytes: int,
    public_max_bytes: int,
    seed: int,
    directory: str | None = None,
) -> TextSplits:
    """Member i gets topic ``topics[i]`` (one topic per member): its entries shuffled by `seed`, the
    first `holdout_bytes` held out for reporting, the next `test_bytes` the private test split,
    the rest (up to `max_topic_bytes` in all; 0: no cap) the private train split."""
    if participants > len(topics):
        raise ValueError(
            f"{participants} members need as many dataset.topics (one each), got {len(topics)}"
        )
    if overlap := set(topics) & set(public_topics):
        raise ValueError(f"topics {sorted(overlap)} are both private and public")
    members, holdout = [], {}
    for i in range(participants):
        topic = topics[i]
        entries = read_topic(topic, directory)
        train_size = max_topic_bytes - holdout_bytes - test_bytes if max_topic_bytes else 0
        if max_topic_bytes and train_size <= 0:
            raise ValueError("dataset.max_topic_bytes leaves no training text")
        held, test, train, _ = split_entries(
            entries, seed=seed * 7919 + i, sizes=[holdout_bytes, test_bytes, train_size, 0]
        )
        x_train, x_test = blocks("".join(train), block_len), blocks("".join(test), block_len)
        members.append(TextParticipantData(x_train, x_train, x_test, x_test, topic=topic))
        holdout[topic] = blocks("".join(held), block_len)
    return TextSplits(
        participants=members,
        holdout=TextHoldout(holdout),
        public_text=public_text(public_topics, max_bytes=public_max_bytes, directory=directory),
    )
