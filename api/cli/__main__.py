"""`python -m api.cli`: the same `zel` command."""

from api.cli import main

main()
