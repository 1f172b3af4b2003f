"""``python -m sklearn_agn.benchmark``: the warm-start benchmark command."""

from ._cli import main

main()
