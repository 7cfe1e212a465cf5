"""``python -m adapters.cli``: the same as the console script."""

from adapters.cli import main

main()
