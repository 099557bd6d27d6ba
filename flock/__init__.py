"""flock: federated-learning alliances governed by a smart contract."""
