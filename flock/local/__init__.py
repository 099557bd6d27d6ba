"""The in-process alliance (`flock run`): every member in one process on one chain (embedded
EVM by default), the round driver, the dev-chain set-up and the run's reports."""
