"""State and stepping of a batch of retinas on the CPU."""

from __future__ import annotations

import functools

import numpy as np

from ..kernels.cpu import build_cpu_runner
from .engine import Engine


@functools.lru_cache(maxsize=None)
def cpu_runner(model):
    """The model's batched CPU loops, built once per process (and cached on disk by Numba)."""
    return build_cpu_runner(model.build_rule, model.rule_key)


class CPUEngine(Engine):
    """A batch of retinas in host memory, advanced by :mod:`wavesim.kernels.cpu` loops built from a model's rule.

    Parameters
    ----------
    model : WaveModel
    tables : dict
        The model's lattice tables: ``dr``/``dc``/``w`` (2, K) int32, ``site`` (R, C) int32, ``table`` int32.
    params : (B, P) int64
        Quantised parameters, one row per retina.
    keys : (B,) uint64
        Generator keys, one per retina.
    calcium_alpha_q30 : int
        ``dt / calcium_tau`` in units of 2**-30, or 0 to skip the calcium filter.
    pixel_map : PixelMap
    """

    name = "cpu"
    xp = np
    #: :meth:`read_frame` takes a pixel map of some pixels only (:meth:`PixelMap.select`).
    reads_pixel_subsets = True

    @classmethod
    def default_batch_size(cls, cells_per_retina: int) -> int:
        """16 retinas: the CPU loops run in parallel over rows, so more retinas only cost memory."""
        return 16

    #: The lattice tables ``advance`` passes as the neighbour stencil.
    stencil = ("dr", "dc", "w")

    @staticmethod
    def runner(model):
        """The model's compiled loops (``init_state``, ``advance``, ``readout``)."""
        return cpu_runner(model)

    def __init__(self, model, tables, params, keys, calcium_alpha_q30, pixel_map):
        self.model = model
        self._run = self.runner(model)
        self._readout = self._run.readout
        self.tables = {k: np.ascontiguousarray(v) for k, v in tables.items()}
        self.site_flat = self.tables["site"].reshape(-1)  # a view: rules index sites as r * C + c
        self.params = np.ascontiguousarray(params, dtype=np.int64)
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)
        self.calcium_alpha_q30 = int(calcium_alpha_q30)
        self.pixel_map = pixel_map
        B = self.params.shape[0]
        R, C = self.tables["site"].shape
        self.dims = (B, R, C)
        self.state_array = np.empty((len(model.state_fields), B, R, C), np.int32)
        self._state_flat = self.state_array.reshape(-1)
        self.ca = np.zeros(B * R * C if self.calcium_alpha_q30 else 1, np.int32)
        self.inp = self.scratch(B, R, C)
        self.t = 0
        self._run.init_state(self._state_flat, *self.dims, self.keys, self.params, self.site_flat, self.tables["table"])

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps."""
        if n_steps <= 0:
            return
        self._run.advance(
            self.t, n_steps, self._state_flat, *self.dims, self.ca, self.calcium_alpha_q30, self.inp, self.keys,
            self.params, self.site_flat, *(self.tables[k] for k in self.stencil), self.tables["table"],
        )
        self.t += n_steps

    def scratch(self, B: int, R: int, C: int) -> np.ndarray:
        """The neighbour-input buffer ``advance`` fills: one pushed count per cell, (B, R, C) int32."""
        return np.zeros((B, R, C), np.int32)

    def read_frame(self, out: np.ndarray, pixel_map=None) -> None:
        """Write the current frame of every retina into ``out`` (B, H, W) uint8, of ``pixel_map`` (default the engine's)."""
        pm = pixel_map or self.pixel_map
        self._readout(
            out, self.t, self._state_flat, *self.dims, self.ca, self.calcium_alpha_q30 > 0, self.params,
            pm.pixel_ptr, pm.cell_rows, pm.cell_cols,
        )

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state fields, each (B, R, C) int32, by name."""
        return {name: self.state_array[s].copy() for s, name in enumerate(self.model.state_fields)}

    def export(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The complete state at step ``t``: fields (S, B, R, C) int32 and calcium (B, R, C) int32 or None."""
        fields = np.stack([f for f in self.state().values()])
        ca = self.ca.reshape(self.dims).copy() if self.calcium_alpha_q30 else None
        return fields, ca

    def load(self, fields: np.ndarray, ca: np.ndarray | None, t: int) -> None:
        """Replace the state by one that :meth:`export` gave at step ``t`` (on any backend)."""
        self.state_array[...] = fields
        if self.calcium_alpha_q30:
            self.ca[:] = ca.reshape(-1)
        self.inp[...] = 0  # the dense loops keep no input between steps
        self.t = int(t)
