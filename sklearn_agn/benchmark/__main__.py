"""``python -m sklearn_agn.benchmark``: the warm-start benchmark command."""

from . import main

main()
