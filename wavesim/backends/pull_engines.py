"""The ``cpu`` and ``cuda`` engines of models coupled through pulled fields (``WaveModel.coupling == "pull"``).

The continuous-state models (``lansdell2014``, ``retinalchaos``) couple
cells by diffusion: before every step each cell needs weighted sums of some
state fields over its neighbours (:mod:`wavesim.kernels.pull_cpu`,
:mod:`wavesim.kernels.pull_cuda`), where the discrete models push activity
flags. These engines are the push engines with those loops and kernels in
place of theirs; state, frames, calcium, export and load are the same, so
:class:`~wavesim.Simulation` and everything above it cannot tell them
apart. :func:`wavesim.backends.engine_class` picks them by the model's
``coupling``.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import BackendUnavailableError
from .cpu_engine import CPUEngine
from .cuda_engine import CUDAEngine, _quiet_grid_warnings


@functools.lru_cache(maxsize=None)
def pull_cpu_runner(model):
    """The model's pulled-field CPU loops, built once per process (and cached on disk by Numba)."""
    from ..kernels.pull_cpu import build_pull_cpu_runner, pull_rule_key

    return build_pull_cpu_runner(model.build_rule, rule_key=pull_rule_key(model.rule_key))


@functools.lru_cache(maxsize=None)
def pull_cuda_kernels(model):
    """The model's pulled-field CUDA kernels, built once per process (compiled at their first launch)."""
    from ..kernels.pull_cuda import build_pull_cuda_kernels

    return build_pull_cuda_kernels(model.build_rule)


class PullCPUEngine(CPUEngine):
    """A batch of retinas of a pulled-field model in host memory (one thread; see :mod:`wavesim.kernels.pull_cpu`).

    Parameters as :class:`~wavesim.backends.Engine`, and ``graded``: frames
    show the rule's ``value`` (the ``graded`` readout) instead of its activity.
    """

    name = "cpu"
    stencil = ("pull_dr", "pull_dc", "pull_w")

    def __init__(self, model, tables, params, keys, calcium_alpha_q30, pixel_map, graded: bool = False):
        super().__init__(model, tables, params, keys, calcium_alpha_q30, pixel_map)
        self.graded = bool(graded)
        if self.graded:
            self._readout = self._run.readout_graded

    @staticmethod
    def runner(model):
        return pull_cpu_runner(model)

    def scratch(self, B: int, R: int, C: int) -> np.ndarray:
        """The pulled sums, flat (F, B, R, C) int32: one plane per pulled field."""
        return np.zeros(self._run.n_fields * B * R * C, np.int32)


class PullCUDAEngine(CUDAEngine):
    """A batch of retinas of a pulled-field model in GPU memory: a pull and a step launch per step.

    Steps are launched one by one (no CUDA graphs yet): on a GPU each launch
    costs about 100 us of Python, which dominates on small sheets.
    """

    name = "cuda"

    def __init__(self, model, tables, params, keys, calcium_alpha_q30, pixel_map, graded: bool = False):
        try:
            from numba import cuda

            from ..kernels import pull_cuda as layout
        except ImportError as exc:
            raise BackendUnavailableError(
                f"backend 'cuda' needs numba-cuda: {exc}. Install wavesim[cuda12] or wavesim[cuda13]."
            ) from exc
        self.graded = bool(graded)
        self._k = pull_cuda_kernels(model)
        self._readout_kernel = self._k.readout_graded_kernel if self.graded else self._k.readout_kernel
        site = np.ascontiguousarray(tables["site"])
        self._device_arrays(cuda, model, site.shape, params, keys, calcium_alpha_q30, pixel_map)
        xp = self.xp
        B, R, C = self.shape
        host = {"site": site.reshape(-1), "table": tables["table"], "pull_dr": tables["pull_dr"],
                "pull_dc": tables["pull_dc"], "pull_w": tables["pull_w"], "fields": self._k.fields}
        self.tables = {k: self._dev(xp.asarray(np.ascontiguousarray(v))) for k, v in host.items()}
        self._inp = self._dev(xp.zeros(self._k.n_fields * B * R * C, dtype=np.int32))
        self._shape_dev = self._dev(xp.asarray(np.array(self.shape, dtype=np.int64)))
        self.grid = ((C + layout.THREADS_X - 1) // layout.THREADS_X, (R + layout.THREADS_Y - 1) // layout.THREADS_Y, B)
        self.block = (layout.THREADS_X, layout.THREADS_Y, 1)
        self.t = 0
        with _quiet_grid_warnings():
            self._k.init_kernel[self.grid, self.block](self._state_flat, self._shape_dev, self.keys, self.params,
                                                       self.tables["site"], self.tables["table"])

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps: a pull and a step launch each."""
        tb = self.tables
        with _quiet_grid_warnings():
            pull = self._k.pull_kernel[self.grid, self.block]
            step = self._k.step_kernel[self.grid, self.block]
            for _ in range(max(0, int(n_steps))):
                self.t += 1
                pull(self._state_flat, self._shape_dev, self._inp, tb["fields"], tb["pull_dr"], tb["pull_dc"],
                     tb["pull_w"])
                step(self._state_flat, self._shape_dev, self._inp, self.t, self._ca, self.calcium_alpha_q30,
                     self.keys, self.params, tb["site"], tb["table"])

    def load(self, fields: np.ndarray, ca: np.ndarray | None, t: int) -> None:
        """Replace the state by one exported at step ``t`` (on any backend): no flags to rebuild."""
        self._load_arrays(fields, ca, t)
