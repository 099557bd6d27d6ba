"""The text task's alliance data from the `dataset=text` config (see flock.learning.text)."""

from __future__ import annotations

from omegaconf import DictConfig

from flock.learning.text import TextSplits, text_splits


def text_alliance_data(cfg: DictConfig) -> TextSplits:
    """Every member's topic split, the held-out text of each topic and the public text."""
    d = cfg.dataset
    return text_splits(
        topics=[str(t) for t in d.topics],
        public_topics=[str(t) for t in d.public_topics],
        participants=int(cfg.participants),
        block_len=int(d.block_len),
        test_bytes=int(d.test_bytes),
        holdout_bytes=int(d.holdout_bytes),
        max_topic_bytes=int(d.max_topic_bytes),
        public_max_bytes=int(d.public_max_bytes),
        seed=int(cfg.seed),
        directory=d.get("directory"),
    )
