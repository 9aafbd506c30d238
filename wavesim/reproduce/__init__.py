"""Published experiments as their authors ran them: ``wavesim reproduce PAPER --size cpu|paper --out DIR``.

Each paper is a module with ``add_arguments(parser)`` and ``run(args) -> int``,
imported on first use (they load torch).
"""

from __future__ import annotations

import importlib

from ..errors import ParameterError

__all__ = ["PAPERS", "get_paper"]

#: Paper name -> module path.
PAPERS = {"may2025": "wavesim.reproduce.may2025", "ligeralde2023": "wavesim.reproduce.ligeralde2023"}


def get_paper(name: str):
    """The module of paper ``name`` (:data:`PAPERS`), with its ``add_arguments`` and ``run``."""
    if name not in PAPERS:
        raise ParameterError(f"paper must be one of {tuple(PAPERS)}, got {name!r}.")
    return importlib.import_module(PAPERS[name])
