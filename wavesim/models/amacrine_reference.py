"""A plain-NumPy reference of the default model, for tests on small lattices.

Written independently of the rule in :mod:`wavesim.kernels.amacrine`
(vectorised over cells, dense neighbour sums) from the model's description,
so that a test comparing it with the compiled backends checks the rule
itself, not a copy of it. Only the random draws are shared: they come from
the one counter-based generator, :func:`wavesim.kernels.random.uniform_u32`.
Slow: use it for a few thousand cells and a few thousand steps.
"""

from __future__ import annotations

import numpy as np

from ..kernels.amacrine import (
    P_ALPHA_Q30,
    P_DECAY_BASE_Q36,
    P_DSTEPS,
    P_H2C_Q30,
    P_JITTER_Q16,
    P_RISE0_Q20,
    P_SPONT_U32,
)
from ..kernels.random import uniform_u32
from ..lattice import HexLattice, _shift

NEVER = -(1 << 30)
ABSENT = -(1 << 31)


class ReferenceRetina:
    """One retina stepped with whole-array NumPy operations.

    Parameters
    ----------
    lattice : HexLattice
    prow : (N_PARAMS,) int64
        Quantised parameters (:func:`wavesim.models.amacrine.quantise`).
    key : int
        Generator key (:func:`wavesim.kernels.random.retina_keys`).
    table : int32 array
        :func:`wavesim.models.amacrine.normal_table_q16`.
    """

    def __init__(self, lattice: HexLattice, prow: np.ndarray, key: int, table: np.ndarray):
        self.lattice = lattice
        self.p = [int(v) for v in prow]
        self.key = int(key)
        self.table = table.astype(np.int64)
        self.exists = lattice.exists
        self.frac = lattice.neighbour_fraction_q16.astype(np.int64)
        self.cells = np.arange(lattice.rows * lattice.cols).reshape(lattice.shape)
        u = uniform_u32(self.key, 1, 0, self.cells)
        self.onset = np.full(lattice.shape, NEVER, dtype=np.int64)
        self.exc = np.zeros(lattice.shape, dtype=np.int64)
        self.thresh = np.where(self.exists, (1 << 19) + ((u * (9 << 19)) >> 32), 0)
        self.decay = np.where(self.exists, self._decay(0), 0)
        self.t = 0

    def _decay(self, step: int) -> np.ndarray:
        u = uniform_u32(self.key, 2, step, self.cells)
        lo = self.table[u >> 16]
        hi = self.table[(u >> 16) + 1]
        z = lo + (((hi - lo) * (u & 0xFFFF)) >> 16)
        factor = np.maximum(65536 + ((self.p[P_JITTER_Q16] * z) >> 16), 0)
        scaled = (self.frac * factor) >> 16
        return (self.p[P_DECAY_BASE_Q36] * scaled + (1 << 31)) >> 32

    def depolarised(self, t: int | None = None) -> np.ndarray:
        """(rows, cols) bool: cells depolarised at the end of step ``t`` (default: now)."""
        t = self.t if t is None else t
        age = t - self.onset
        return self.exists & (age >= 0) & (age < self.p[P_DSTEPS])

    def active(self) -> np.ndarray:
        """(rows, cols) bool: cells depolarised now (what the readout sees)."""
        return self.depolarised()

    def input_q20(self) -> np.ndarray:
        """Summed weight of the currently depolarised neighbours of every cell (dense pull)."""
        dr, dc, w = self.lattice.offsets
        active = self.depolarised().astype(np.int64)
        total = np.zeros(self.lattice.shape, dtype=np.int64)
        parity = np.arange(self.lattice.rows) % 2
        for p in (0, 1):
            rows = parity == p
            for k in range(dr.shape[1]):
                total[rows] += int(w[p, k]) * _shift(active, int(dr[p, k]), int(dc[p, k]))[rows]
        return total

    def step(self) -> None:
        """Advance to the end of the next step."""
        p = self.p
        inp = self.input_q20()
        t = self.t + 1
        age = t - self.onset
        was_on = self.exists & (age >= 1) & (age <= p[P_DSTEPS])
        ending = was_on & (age == p[P_DSTEPS])
        staying = was_on & ~ending
        off = self.exists & ~was_on

        self.exc = np.where(ending, 0, self.exc)
        self.decay = np.where(ending, self._decay(t), self.decay)
        filtered = self.exc + (((inp - self.exc) * p[P_ALPHA_Q30] + (1 << 29)) >> 30)
        filtered = np.maximum(filtered, 0)
        self.exc = np.where(off, filtered, self.exc)
        fire = off & (self.exc >= self.thresh)
        if p[P_SPONT_U32] > 0:
            fire |= off & (uniform_u32(self.key, 3, t, self.cells) < p[P_SPONT_U32])
        self.onset = np.where(fire, t, self.onset)
        on_now = staying | fire
        rise = p[P_RISE0_Q20] + ((inp * p[P_H2C_Q30] + (1 << 29)) >> 30)
        new_thresh = self.thresh - self.decay + np.where(on_now, rise, 0)
        self.thresh = np.where(self.exists, np.clip(new_thresh, 0, (1 << 31) - 1), 0)
        self.t = t

    def state(self) -> dict[str, np.ndarray]:
        """State as int32 arrays, in the backends' layout (no batch axis)."""
        onset = np.where(self.exists, self.onset, ABSENT)
        return {
            "onset": onset.astype(np.int32),
            "exc": np.where(self.exists, self.exc, 0).astype(np.int32),
            "thresh": self.thresh.astype(np.int32),
            "decay": self.decay.astype(np.int32),
        }
