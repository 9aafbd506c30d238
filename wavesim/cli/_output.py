"""What a command writes besides its results: progress bars on the terminal, its command line in provenance."""

from __future__ import annotations

import argparse
import sys


def show_progress(args: argparse.Namespace) -> bool:
    """Whether a command draws progress bars: only on a terminal, and not with --quiet or --no-progress.

    A batch job's log file is no terminal, so its log holds no bars.
    """
    return not (getattr(args, "quiet", False) or getattr(args, "no_progress", False)) and sys.stderr.isatty()


def command_line(args: argparse.Namespace) -> list[str]:
    """The command line that provenance records (set by :func:`wavesim.cli.main`; else this process's)."""
    return list(getattr(args, "command_line", None) or ["wavesim", *sys.argv[1:]])
