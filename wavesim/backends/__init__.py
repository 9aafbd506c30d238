"""Backends that run the shared rule: ``cpu`` (Numba), ``cpu-events`` (Numba, event-driven) and ``cuda`` (numba-cuda on CuPy).

Import nothing heavy here: ``import wavesim`` must work without CuPy or a GPU.
"""

from __future__ import annotations

import functools
import os

from ..errors import BackendUnavailableError, ParameterError

BACKENDS = ("auto", "cpu", "cpu-events", "cuda")


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
    """Turn a backend name into ``cpu``, ``cpu-events`` or ``cuda``, checking availability.

    ``auto`` is ``cuda`` where a GPU is usable, else the model's CPU engine
    (``model.cpu_backend``; ``cpu`` without a model).
    """
    if name not in BACKENDS:
        raise ParameterError(f"backend must be one of {BACKENDS}, got {name!r}.")
    if name in ("cpu", "cpu-events"):
        return name
    usable, reason = cuda_status()
    if name == "cuda" and not usable:
        raise BackendUnavailableError(f"backend 'cuda' is not usable here: {reason}. Use backend='cpu'.")
    return "cuda" if usable else (model.cpu_backend if model is not None else "cpu")


def make_engine(name: str, **kwargs):
    """Build the engine of a resolved backend name (see :mod:`wavesim.simulate`)."""
    if name == "cpu":
        from .cpu_engine import CPUEngine

        return CPUEngine(**kwargs)
    if name == "cpu-events":
        import importlib

        model = kwargs["model"]
        if model.events_engine is None:
            raise ParameterError(f"backend 'cpu-events' does not run model {model.name!r}; use backend='cpu'.")
        module, cls = model.events_engine.split(":")
        return getattr(importlib.import_module(module), cls)(**kwargs)
    if name == "cuda":
        from .cuda_engine import CUDAEngine

        return CUDAEngine(**kwargs)
    raise ParameterError(f"backend must be 'cpu', 'cpu-events' or 'cuda' here, got {name!r}.")
