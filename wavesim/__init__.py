"""wavesim: simulated developmental retinal waves, from the command line to PyTorch.

The simulator core imports neither CuPy nor torch; the ``cuda`` backend and
the torch datasets import them when used.
"""

from ._version import __version__
from .errors import (
    BackendUnavailableError,
    ParameterError,
    StoreCorruptError,
    StoreError,
    StoreExistsError,
    StoreNotFoundError,
    WavesimError,
)
from .lattice import HexLattice, Retina, SquareLattice
from .models import (DEFAULT_PRESET, PRESETS, AmacrineParams, DirectionalParams, Lansdell2014Params, RetinalChaosParams,
                     get_model, list_models, model_of, preset)
from .readout import Readout
from .run import RunSpec, Timing
from .simulate import Simulation, SimulationState, movie_seeds, simulate_movies


def __getattr__(name):
    # wavesim.open_dataset imports wavesim.io (about 1.5 s with scipy) only when first used.
    if name == "open_dataset":
        from .io.dataset import open_dataset

        return open_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "AmacrineParams",
    "DirectionalParams",
    "Lansdell2014Params",
    "RetinalChaosParams",
    "BackendUnavailableError",
    "DEFAULT_PRESET",
    "HexLattice",
    "SquareLattice",
    "PRESETS",
    "ParameterError",
    "Readout",
    "Retina",
    "RunSpec",
    "Simulation",
    "SimulationState",
    "StoreCorruptError",
    "StoreError",
    "StoreExistsError",
    "StoreNotFoundError",
    "Timing",
    "WavesimError",
    "__version__",
    "get_model",
    "list_models",
    "model_of",
    "movie_seeds",
    "open_dataset",
    "preset",
    "simulate_movies",
]
