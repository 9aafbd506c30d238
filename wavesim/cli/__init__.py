"""The ``wavesim`` command line: generate, info, verify, presets, render (and stats, compare, pretrain, fit, sweep, reproduce).

This package is the only place that parses ``argv``. Each module registers one
command with ``register(subparsers)``; the library functions it calls check
their arguments and raise :class:`wavesim.errors.WavesimError`, which
:func:`main` reports as one line ``wavesim CMD: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import WavesimError
from . import fit, generate, info, presets, render, reproduce, stats, sweep, train, verify

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other wavesim error."""

    def error(self, message):
        # argparse prints the whole usage first; the usage is one --help away.
        if message.endswith("expected one argument"):
            message += " (a value that starts with '-' goes as OPTION=VALUE)"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``wavesim`` argument parser with every command registered."""
    from .._version import __version__

    parser = _Parser(prog="wavesim", description="Simulate developmental retinal waves.")
    parser.add_argument("--version", action="version", version=f"wavesim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (generate, info, verify, presets, render, stats, fit, sweep, train, reproduce):
        command.register(sub)
    return parser


def main(argv=None) -> int:
    """Run one ``wavesim`` command; return its exit status (0, 2 on a user error, 130 on Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except WavesimError as exc:
        # Errors a user can cause: one line, no traceback.
        print(f"wavesim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"wavesim {args.command}: interrupted; complete movies are kept, rerun with --resume.", file=sys.stderr)
        return 130
