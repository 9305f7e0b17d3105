"""`python -m corofy …` is the `corofy` command."""

from corofy.cli import main

main(prog_name="corofy")
