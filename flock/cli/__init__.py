"""Command line `flock <command>`: run, deploy, alliance, participant, coordinator, store,
dashboard (flock.cli.*)."""

from __future__ import annotations

import sys

USAGE = """usage: flock <command> [hydra overrides...]

commands:
  run       run a local alliance (default: digits, 10 participants, 10 rounds, embedded chain)
  pretrain  train and store the language-model task's base model once (+experiment=lora_lm)
  deploy    deploy token (optional), factory and a task to an RPC endpoint; print addresses
  alliance  launch a real multi-process alliance on Flower (anvil, coordinator, N participants)
  participant  run one participant process (long-lived Flower gRPC client); see --help
  coordinator  relay a deployed alliance's rounds to connected participants; see --help
  store     the alliance's blob service and tools: store serve | push | cid; see --help
  dashboard a read-only web page watching one task live (--alliance-file | --run-dir); see --help
"""


def main() -> None:
    """Dispatch `flock <command>`."""
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help"}:
        print(USAGE)
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    command = sys.argv.pop(1)
    if command == "run":
        from flock.cli.run import run_app

        run_app()
    elif command == "pretrain":
        from flock.cli.pretrain import pretrain_app

        pretrain_app()
    elif command == "deploy":
        from flock.cli.deploy import deploy_app

        deploy_app()
    elif command == "alliance":
        from flock.cli.alliance import alliance_main

        alliance_main()
    elif command == "participant":
        from flock.cli.nodes import participant_main

        participant_main()
    elif command == "coordinator":
        from flock.cli.nodes import coordinator_main

        coordinator_main()
    elif command == "store":
        from flock.cli.store import store_main

        store_main()
    elif command == "dashboard":
        from flock.cli.dashboard import dashboard_main

        dashboard_main()
    else:
        print(f"unknown command {command!r}\n{USAGE}", file=sys.stderr)
        sys.exit(2)
