"""``wavesim reproduce PAPER``: a paper's experiments as the paper ran them (:mod:`wavesim.reproduce`)."""

from __future__ import annotations

import argparse

from ..reproduce import PAPERS, get_paper


def register(subparsers) -> None:
    """Add the ``reproduce`` command, one sub-command per paper, to ``subparsers``."""
    p = subparsers.add_parser(
        "reproduce", help="run a paper's experiments as the paper ran them (may2025, ligeralde2023)",
        description="Run one paper's comparison, its conditions and controls, at the CPU size or the paper's; "
                    "'wavesim reproduce PAPER --help' lists a paper's options.")
    papers = p.add_subparsers(dest="paper", required=True, metavar="PAPER")
    for name in PAPERS:
        try:
            module = get_paper(name)
        except Exception as exc:  # a paper whose module is missing still gets a command that says why
            sub = papers.add_parser(name, help=f"(not available: {exc})", add_help=False)
            sub.add_argument("rest", nargs=argparse.REMAINDER, help="the paper's options")
            sub.set_defaults(func=_unavailable(name))
            continue
        # the docstring's first line, without reST markup (the CLI reference renders it as reST)
        summary = (module.__doc__ or name).splitlines()[0].replace("``", "")
        sub = papers.add_parser(name, help=summary, description=summary)
        module.add_arguments(sub)
        sub.set_defaults(func=module.run)


def _unavailable(name):
    def run(args) -> int:
        get_paper(name)  # raises the ParameterError that names the choices
        return 2

    return run

