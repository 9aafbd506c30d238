"""Engines that run a model's rule, registered by name like the models.

``cpu`` (Numba loops over every cell) and ``cuda`` (numba-cuda kernels on
CuPy arrays) run any registered model: both are built from the model's rule,
with neighbour activity pushed, or, for a model whose ``coupling`` is
``"pull"``, neighbour sums of state fields pulled (:mod:`.pull_engines`).
``cpu-events`` is each model's own event-driven CPU engine, where the model
declares one (``WaveModel.event_engine``): it visits only the cells near
activity and gives the same bits as ``cpu``.

>>> from wavesim.backends import engines_for, list_engines
>>> list_engines()
['cpu', 'cpu-events', 'cuda']
>>> from wavesim import get_model
>>> engines_for(get_model("amacrine"))
['cpu', 'cpu-events', 'cuda']

Import nothing heavy here: ``import wavesim`` must work without CuPy or a GPU.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Callable

from ..errors import BackendUnavailableError, ParameterError
from .engine import Engine


@dataclasses.dataclass(frozen=True)
class EngineEntry:
    """A registered engine name: what it is and which class runs a given model (None: it does not)."""

    name: str
    summary: str
    engine_for: Callable[[object], type[Engine] | None]
    device: str  # "cpu" or "cuda"


def _cpu(model) -> type[Engine]:
    if getattr(model, "coupling", "push") == "pull":
        from .pull_engines import PullCPUEngine

        return PullCPUEngine
    from .cpu_engine import CPUEngine

    return CPUEngine


def _cuda(model) -> type[Engine]:
    if getattr(model, "coupling", "push") == "pull":
        from .pull_engines import PullCUDAEngine

        return PullCUDAEngine
    from .cuda_engine import CUDAEngine

    return CUDAEngine


_ENGINES: dict[str, EngineEntry] = {}


def register_engine(entry: EngineEntry) -> None:
    """Make ``entry`` selectable as ``backend=entry.name``.

    Raises
    ------
    ParameterError
        If the name is taken or is ``"auto"``.
    """
    if entry.name == "auto" or entry.name in _ENGINES:
        raise ParameterError(f"engine name {entry.name!r} is taken; registered: {list_engines()} and 'auto'.")
    _ENGINES[entry.name] = entry


for _entry in (
    EngineEntry("cpu", "Numba loops over every cell, any model", _cpu, "cpu"),
    EngineEntry("cpu-events", "the model's event-driven CPU engine: only cells near activity",
                lambda model: getattr(model, "event_engine", None), "cpu"),
    EngineEntry("cuda", "numba-cuda kernels on CuPy arrays, any model (or the CUDA simulator)", _cuda, "cuda"),
):
    register_engine(_entry)


def list_engines() -> list[str]:
    """Names of the registered engines, in registration order."""
    return list(_ENGINES)


def engine_entries() -> list[EngineEntry]:
    """The registered engines (for listings such as ``wavesim info``)."""
    return list(_ENGINES.values())


def backend_choices() -> tuple[str, ...]:
    """What ``backend=`` accepts: ``"auto"`` and every registered engine."""
    return ("auto", *_ENGINES)


def check_backend_name(name) -> str:
    """``name`` itself if ``backend=`` accepts it; else a ParameterError listing the choices."""
    if not isinstance(name, str) or name not in backend_choices():
        raise ParameterError(f"backend must be one of {backend_choices()}, got {name!r}.")
    return name


def engines_for(model) -> list[str]:
    """The registered engines that run ``model``."""
    return [e.name for e in _ENGINES.values() if e.engine_for(model) is not None]


@functools.lru_cache(maxsize=1)
def cuda_status() -> tuple[bool, str]:
    """``(usable, reason)``: whether the ``cuda`` backend can run here, and why not."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True, "Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1)"
    try:
        import cupy
    except ImportError:
        return False, "CuPy is not installed (pip install 'wavesim[cuda12]' or 'wavesim[cuda13]')"
    try:
        if not cupy.cuda.is_available():
            return False, "no CUDA GPU is visible to CuPy"
        from numba import cuda

        if not cuda.is_available():
            return False, "numba-cuda cannot reach the GPU driver"
    except Exception as exc:  # driver and runtime errors differ between CUDA versions
        return False, f"the GPU cannot be used: {exc}"
    return True, f"CUDA GPU: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}"


def resolve_backend(name: str, model=None) -> str:
    """Turn a backend name into a registered engine that runs ``model`` here.

    ``auto`` is ``cuda`` where a GPU is usable, else the model's event
    engine where it has one, else ``cpu``.

    Raises
    ------
    ParameterError
        For an unknown name, or an engine that does not run ``model``.
    BackendUnavailableError
        For ``cuda`` where no GPU (or simulator) is usable.
    """
    check_backend_name(name)
    if name == "auto":
        usable, _ = cuda_status()
        if usable:
            name = "cuda"
        else:
            name = "cpu-events" if model is not None and "cpu-events" in engines_for(model) else "cpu"
    elif _ENGINES[name].device == "cuda":
        usable, reason = cuda_status()
        if not usable:
            raise BackendUnavailableError(f"backend {name!r} is not usable here: {reason}. Use backend='cpu'.")
    if model is not None:
        engine_class(name, model)  # refuses an engine that does not run the model
    return name


def engine_class(name: str, model) -> type[Engine]:
    """The engine class that runs ``model`` under the resolved name ``name``.

    Raises
    ------
    ParameterError
        Naming the engines that do run the model.
    """
    check_backend_name(name)
    cls = _ENGINES[name].engine_for(model) if name != "auto" else None
    if cls is None:
        raise ParameterError(f"backend {name!r} does not run model {model.name!r}; use one of "
                             f"{['auto', *engines_for(model)]}.")
    return cls


def make_engine(name: str, model, **kwargs) -> Engine:
    """Build the engine of a resolved backend name for ``model`` (see :mod:`wavesim.simulate`)."""
    return engine_class(name, model)(model=model, **kwargs)


__all__ = ["Engine", "EngineEntry", "backend_choices", "check_backend_name", "cuda_status", "engine_class",
           "engine_entries", "engines_for", "list_engines", "make_engine", "register_engine", "resolve_backend"]
