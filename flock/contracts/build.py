"""Compile contracts/ with the pinned solc; write the ABI/bytecode shipped as package data."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES_DIR = REPO_ROOT / "contracts"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
SOLC_WRAPPER = REPO_ROOT / "scripts" / "solc.js"
#: Contracts whose artifacts the Python client needs.
CONTRACTS = ("FlockToken", "TaskFactory", "AllianceTask")
#: Compiler settings; must match foundry.toml so forge tests and Python run the same bytecode.
SETTINGS = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "viaIR": True,
    "outputSelection": {
        "*": {
            "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "userdoc", "devdoc"]
        }
    },
}


class CompilationError(RuntimeError):
    """The Solidity compiler reported errors."""


def source_files() -> list[Path]:
    """Solidity sources of the project (tests excluded), sorted."""
    return sorted(p for p in SOURCES_DIR.glob("*.sol"))


def sources_digest() -> str:
    """sha256 over the project's Solidity sources and the compiler settings."""
    digest = hashlib.sha256(json.dumps(SETTINGS, sort_keys=True).encode())
    for path in source_files():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def compile_sources() -> dict[str, dict]:
    """Run solc (standard JSON) over contracts/ and return {name: {abi, bytecode, ...}}."""
    request = {
        "language": "Solidity",
        "sources": {f"contracts/{p.name}": {"content": p.read_text()} for p in source_files()},
        "settings": SETTINGS,
    }
    proc = subprocess.run(
        ["node", str(SOLC_WRAPPER), "--standard-json"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise CompilationError(f"solc failed ({proc.returncode}): {proc.stderr.strip()}")
    output = json.loads(proc.stdout[proc.stdout.index("{") :])
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    artifacts = {}
    for file_contracts in output["contracts"].values():
        for name, data in file_contracts.items():
            if name in CONTRACTS:
                artifacts[name] = {
                    "contractName": name,
                    "abi": data["abi"],
                    "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                    "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                    # the NatSpec, for integrators who read the artifact instead of the source
                    "userdoc": data.get("userdoc", {}),
                    "devdoc": data.get("devdoc", {}),
                }
    missing = set(CONTRACTS) - set(artifacts)
    if missing:
        raise CompilationError(f"contracts missing from compiler output: {sorted(missing)}")
    return artifacts


def write_artifacts(artifacts: dict[str, dict], digest: str) -> None:
    """Write one JSON file per contract plus the digest of the sources they came from."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for name, data in artifacts.items():
        (ARTIFACTS_DIR / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
    (ARTIFACTS_DIR / "sources.json").write_text(
        json.dumps({"sourcesDigest": digest, "settings": SETTINGS}, indent=1) + "\n"
    )


def shipped_digest() -> str | None:
    """Digest recorded with the shipped artifacts, or None when there are none."""
    path = ARTIFACTS_DIR / "sources.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["sourcesDigest"]


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate artifacts, or with --check fail when they are stale."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if artifacts are stale")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    digest = sources_digest()
    if args.check:
        if shipped_digest() != digest:
            log.error("contract artifacts are stale: run python -m flock.contracts.build")
            return 1
        log.info("contract artifacts are up to date")
        return 0
    write_artifacts(compile_sources(), digest)
    log.info("wrote %d artifacts to %s", len(CONTRACTS), ARTIFACTS_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
