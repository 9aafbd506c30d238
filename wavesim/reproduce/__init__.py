"""The papers' experiments as the papers ran them, one module per paper (``wavesim reproduce PAPER``).

Each paper module exposes ``add_arguments(parser)`` (its command-line
options) and ``run(args) -> int`` (the exit status); :func:`get_paper`
imports it on demand, so importing this package loads no torch.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import ParameterError

__all__ = ["PAPERS", "get_paper"]

#: Paper name -> the module that runs its experiments (imported by :func:`get_paper`).
PAPERS = {"may2025": "wavesim.reproduce.may2025", "ligeralde2023": "wavesim.reproduce.ligeralde2023"}


def get_paper(name: str) -> ModuleType:
    """The module of paper ``name`` (:data:`PAPERS`), imported.

    Raises
    ------
    wavesim.errors.ParameterError
        If ``name`` is not one of :data:`PAPERS`, or its module is not part of this installation.
    """
    if name not in PAPERS:
        raise ParameterError(f"paper must be one of {sorted(PAPERS)}, got {name!r}.")
    try:
        return importlib.import_module(PAPERS[name])
    except ModuleNotFoundError as exc:
        if exc.name != PAPERS[name]:
            raise
        raise ParameterError(f"the experiments of {name!r} ({PAPERS[name]}) are not part of this wavesim "
                             f"installation; choose one of {sorted(p for p in PAPERS if p != name)}.") from None
