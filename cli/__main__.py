"""`python -m cli` is the same command line as `insight-recall`."""

from cli.main import main

main()
