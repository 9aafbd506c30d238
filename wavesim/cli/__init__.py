"""The ``wavesim`` command line: generate, info, verify, presets, render (and stats, compare, pretrain, fit,
compare-models, sweep, reproduce).

This package is the only place that parses ``argv``. Each module registers one
command with ``register(subparsers)``; the library functions it calls check
their arguments and raise :class:`wavesim.errors.WavesimError`, which
:func:`main` reports as one line ``wavesim CMD: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from ..errors import WavesimError
from . import compare_models, fit, generate, info, presets, render, reproduce, stats, sweep, train, verify

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
    for command in (generate, info, verify, presets, render, stats, fit, compare_models, sweep, train,
                    reproduce):
        command.register(sub)
    for command_parser in sub.choices.values():
        command_parser.add_argument("-q", "--quiet", action="store_true",
                                    help="no progress bars and no notes on stderr; results and errors still print")
    return parser


@contextlib.contextmanager
def _notes_dropped(quiet: bool):
    """With ``quiet``, what the command writes to stderr (notes, bars, warnings) goes nowhere."""
    if not quiet:
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        yield


def main(argv=None) -> int:
    """Run one ``wavesim`` command; return its exit status (0, 2 on a user error, 130 on Ctrl-C).

    Progress bars are drawn only when stderr is a terminal
    (:func:`~wavesim.cli._output.show_progress`), so logs of batch jobs hold
    no bars. With ``--quiet`` the command's notes on stderr are dropped; its
    results (stdout) and errors still print.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    # What provenance records: this command line, also when main() is called with argv of its own.
    args.command_line = ["wavesim", *(sys.argv[1:] if argv is None else argv)]
    stderr = sys.stderr
    try:
        with _notes_dropped(args.quiet):
            return args.func(args)
    except WavesimError as exc:
        # Errors a user can cause: one line, no traceback.
        print(f"wavesim {args.command}: error: {exc}", file=stderr)
        return 2
    except KeyboardInterrupt:
        print(f"wavesim {args.command}: interrupted; complete movies are kept, rerun with --resume.", file=stderr)
        return 130
