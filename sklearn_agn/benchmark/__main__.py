"""``python -m sklearn_agn.benchmark``: the warm-start benchmark command."""

import sys

from . import main

sys.exit(main())
