"""A participant's settings and key: where they come from, and the errors when they don't."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from flock.flower.worker import NodeSettings, read_key_file

KEY = "0x" + "11" * 32


def test_settings_from_a_supernode_config() -> None:
    s = NodeSettings.from_config(
        {"alliance-file": "/a.json", "state-dir": "/s", "partition-id": 2, "key-env": "K"}
    )
    assert (s.alliance_file, s.state_dir, s.partition_id, s.key_env) == ("/a.json", "/s", 2, "K")


def test_simulation_nodes_take_paths_from_the_run_config() -> None:
    s = NodeSettings.from_config(
        {"partition-id": 7, "num-partitions": 9},
        {"alliance-file": "/run/alliance.json", "nodes-dir": "/run/nodes"},
    )
    assert s.alliance_file == "/run/alliance.json"
    assert s.key_file == "/run/nodes/7/key" and s.state_dir == "/run/nodes/7/state"


def test_missing_alliance_file_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="alliance-file"):
        NodeSettings.from_config({"partition-id": 0})


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    s = NodeSettings("/a", "/s", 0, key_env="MEMBER_KEY")
    with pytest.raises(KeyError, match="MEMBER_KEY"):
        s.read_key()
    monkeypatch.setenv("MEMBER_KEY", KEY)
    assert s.read_key() == KEY


def test_key_file_hex_or_keystore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "key"
    plain.write_text(KEY + "\n")
    assert read_key_file(plain) == KEY

    keystore = tmp_path / "keystore.json"
    keystore.write_text(json.dumps(Account.encrypt(KEY, "correct horse", iterations=2)))
    monkeypatch.delenv("FLOCK_KEY_PASSWORD", raising=False)
    with pytest.raises(KeyError, match="FLOCK_KEY_PASSWORD"):
        read_key_file(keystore)
    monkeypatch.setenv("FLOCK_KEY_PASSWORD", "wrong")
    with pytest.raises(ValueError, match="cannot decrypt"):
        read_key_file(keystore)
    monkeypatch.setenv("FLOCK_KEY_PASSWORD", "correct horse")
    assert read_key_file(keystore) == KEY


def test_no_key_source_is_refused() -> None:
    with pytest.raises(KeyError, match="key-env or key-file"):
        NodeSettings("/a", "/s", 0).read_key()
