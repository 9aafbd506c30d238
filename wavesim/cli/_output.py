"""What a command writes to the terminal besides its results: progress bars."""

from __future__ import annotations

import argparse
import sys


def show_progress(args: argparse.Namespace) -> bool:
    """Whether a command draws progress bars: only on a terminal, and not with --quiet or --no-progress.

    A batch job's log file is no terminal, so its log holds no bars.
    """
    return not (getattr(args, "quiet", False) or getattr(args, "no_progress", False)) and sys.stderr.isatty()
