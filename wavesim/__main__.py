"""``python -m wavesim``: the same as the ``wavesim`` console script."""

import sys

from .cli import main

sys.exit(main())
