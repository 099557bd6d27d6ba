"""`python -m flock.cli <command>`: the same as the `flock` command."""

from flock.cli import main

main()
