"""State and stepping of a batch of retinas on the CPU."""

from __future__ import annotations

import numpy as np

from . import cpu


class CPUEngine:
    """A batch of retinas in host memory, advanced by :mod:`wavesim.backends.cpu`.

    Parameters
    ----------
    lattice_tables : dict
        ``frac`` (R, C) int32, ``dr``/``dc``/``w`` (2, K) int32, ``table`` int32.
    params : (B, N_PARAMS) int64
        Quantised parameters, one row per retina.
    keys : (B,) uint64
        Generator keys, one per retina.
    calcium_alpha_q30 : int
        ``dt / calcium_tau`` in units of 2**-30, or 0 to skip the calcium filter.
    pixel_map : PixelMap
    """

    name = "cpu"
    xp = np

    def __init__(self, lattice_tables, params, keys, calcium_alpha_q30, pixel_map):
        self.tables = {k: np.ascontiguousarray(v) for k, v in lattice_tables.items()}
        self.frac_flat = self.tables["frac"].reshape(-1)  # a view: the rule indexes cells as r * C + c
        self.params = np.ascontiguousarray(params, dtype=np.int64)
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)
        self.calcium_alpha_q30 = int(calcium_alpha_q30)
        self.pixel_ptr = pixel_map.pixel_ptr
        self.cell_rows = pixel_map.cell_rows
        self.cell_cols = pixel_map.cell_cols
        B = self.params.shape[0]
        R, C = self.tables["frac"].shape
        shape = (B, R, C)
        self.onset = np.empty(shape, np.int32)
        self.exc = np.empty(shape, np.int32)
        self.thresh = np.empty(shape, np.int32)
        self.decay = np.empty(shape, np.int32)
        self.ca = np.zeros(shape if self.calcium_alpha_q30 else (B, 1, 1), np.int32)
        self.inp = np.zeros(shape, np.int32)
        self.t = 0
        t = self.tables
        cpu.init_state(self.onset, self.exc, self.thresh, self.decay, self.ca, self.keys, self.params, t["frac"], t["table"])

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps."""
        if n_steps <= 0:
            return
        t = self.tables
        cpu.advance(
            self.t, n_steps, self.onset, self.exc, self.thresh, self.decay, self.ca, self.calcium_alpha_q30,
            self.inp, self.keys, self.params, self.frac_flat, t["dr"], t["dc"], t["w"], t["table"],
        )
        self.t += n_steps

    def read_frame(self, out: np.ndarray) -> None:
        """Write the current frame of every retina into ``out`` (B, H, W) uint8."""
        cpu.readout(
            out, self.t, self.onset, self.ca, self.calcium_alpha_q30 > 0, self.params,
            self.pixel_ptr, self.cell_rows, self.cell_cols,
        )

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays (B, R, C) as NumPy arrays."""
        return {k: getattr(self, k).copy() for k in ("onset", "exc", "thresh", "decay")}
