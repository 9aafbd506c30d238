"""An event-driven CPU engine for the directional model, bit-identical to :class:`CPUEngine`."""

from __future__ import annotations

import functools

import numpy as np

from ..kernels import directional as rule
from .cpu_engine import CPUEngine


@functools.lru_cache(maxsize=None)
def events_runner(model):
    """The model's event-driven CPU loops, built once per process (and cached on disk by Numba)."""
    from ..kernels.directional_events import build_events_runner

    return build_events_runner(model.rule_key)


class DirectionalEventsEngine(CPUEngine):
    """A batch of directional retinas in host memory, stepped by :mod:`wavesim.kernels.directional_events`.

    In wave mode a step visits only the neighbours of the cells that spread;
    initial state, frames and parameters are as in :class:`CPUEngine`, and
    so is the state after every step.
    """

    name = "cpu-events"
    xp = np

    def __init__(self, model, tables, params, keys, calcium_alpha_q30, pixel_map):
        super().__init__(model, tables, params, keys, calcium_alpha_q30, pixel_map)
        self._events = events_runner(model)
        B, R, C = self.dims
        self.inp = np.zeros((B, R * C), np.int32)
        # A cell re-enters the ring at most once per refractory period: entries per cell in the window.
        p = self.params
        keep = np.maximum.reduce([p[:, rule.P_SPREAD_AGE], p[:, rule.P_ON_HI], p[:, rule.P_OFF_HI]]) + 1
        per_cell = int(np.max(-(-(keep + 1) // (p[:, rule.P_REFRACTORY] + 1))))
        self.ring = np.zeros((B, R * C * per_cell), np.int32)
        self.ring_step = np.zeros((B, R * C * per_cell), np.int64)
        self.head = np.zeros(B, np.int64)
        self.count = np.zeros(B, np.int64)
        #: Cell updates done so far, per retina (the dense engine does ``n_cells * t``).
        self.visits = np.zeros(B, np.int64)
        self._setup()
        self._pixel_of_cell = _pixel_of_cell(pixel_map, R, C)
        self._other_map = self._other_pixel_of_cell = None

    def _setup(self) -> None:
        """Fill the ring with the cells that activated within its window up to step ``t``, from the state."""
        self._events.setup(self.t, self._state_flat, *self.dims, self.params, self.ring, self.ring_step, self.head,
                           self.count)

    def load(self, fields: np.ndarray, ca: np.ndarray | None, t: int) -> None:
        """Replace the state by one exported at step ``t``, and rebuild the ring from it."""
        super().load(fields, ca, t)
        self._setup()

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps."""
        if n_steps <= 0:
            return
        t = self.tables
        self._events.advance(
            self.t, n_steps, self._state_flat, *self.dims, self.ca, self.calcium_alpha_q30, self.inp, self.keys, self.params, self.site_flat,
            t["dr"], t["dc"], t["w"], t["table"], self.ring, self.ring_step, self.head, self.count, self.visits,
        )
        self.t += n_steps

    def _ring_pixels(self, pixel_map):
        """The cell-to-pixel map that lets binary frames come from the ring alone, or None where they cannot."""
        if self.calcium_alpha_q30:
            return None
        if pixel_map is None:
            return self._pixel_of_cell
        if self._other_map is not pixel_map:  # a pixel subset is read frame after frame: map it once
            self._other_map, self._other_pixel_of_cell = pixel_map, _pixel_of_cell(pixel_map, *self.dims[1:])
        return self._other_pixel_of_cell

    def records_frames(self, pixel_map=None) -> bool:
        """Whether :meth:`record_frames` can read ``pixel_map`` (binary frames, one cell per pixel)."""
        return self._ring_pixels(pixel_map) is not None

    def record_frames(self, out: np.ndarray, targets: np.ndarray, pixel_map=None) -> None:
        """Advance to each step of ``targets`` (ascending) and write that frame into ``out[:, i]`` (B, n, H, W).

        Only where :meth:`records_frames` says so: each retina runs all its steps and frames in one call.
        """
        targets = np.ascontiguousarray(targets, dtype=np.int64)
        t = self.tables
        self._events.record(
            self.t, targets, out, self._state_flat, *self.dims, self.inp, self.keys, self.params, self.site_flat,
            t["dr"], t["dc"], t["w"], t["table"], self.ring, self.ring_step, self.head, self.count, self.visits,
            self._ring_pixels(pixel_map),
        )
        self.t = int(targets[-1]) if targets.size else self.t

    def read_frame(self, out: np.ndarray, pixel_map=None) -> None:
        """Write the current frame of every retina into ``out`` (B, H, W) uint8, of ``pixel_map`` (default the engine's)."""
        pixel_of_cell = self._ring_pixels(pixel_map)
        if pixel_of_cell is None:
            super().read_frame(out, pixel_map)
            return
        self._events.lit_frame(out, self.t, self._state_flat, *self.dims, self.params, pixel_of_cell,
                               self.ring, self.ring_step, self.head, self.count)


def _pixel_of_cell(pixel_map, R: int, C: int) -> np.ndarray | None:
    """Each cell's pixel (-1: none) where every pixel reads one cell of its own (the paper's grid), else None."""
    counts = np.diff(pixel_map.pixel_ptr)
    cells = pixel_map.cell_rows.astype(np.int64) * C + pixel_map.cell_cols
    if not counts.size or np.any(counts != 1) or np.unique(cells).size != cells.size:
        return None
    out = np.full(R * C, -1, np.int64)
    out[cells] = np.arange(cells.size)
    return out
