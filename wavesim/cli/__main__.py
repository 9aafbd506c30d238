"""``python -m wavesim.cli``: the same as the ``wavesim`` console script."""

import sys

from . import main

sys.exit(main())
