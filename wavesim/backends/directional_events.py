"""The directional model's event-driven CPU engine (``cpu-events``): each step visits only the cells a wave can reach.

Its loops and its engine class live here together: the engine belongs to
the model (``directional.MODEL.event_engine``) and may read its fields,
where the generic engines never do.

In wave mode a step can change only the neighbours of the cells that spread
at the previous step (every other cell has no input and nothing to draw), so
the runner keeps, per retina, the cells that activated within a window of
steps (long enough to spread and to stay lit) in a ring, and calls the
rule's ``step`` on the neighbours of those that spread. In continuous mode every resting cell draws its Poisson start
each step, so every cell is visited, as in the dense runner, but without
its push pass. The calcium filter, where asked for, is updated in every
cell every step. Either way the cells visited run the very ``step`` of
:mod:`wavesim.kernels.directional`, in the same order of draws, so the state
equals the dense runner's bit for bit.

Frames come from the dense readout of :mod:`wavesim.kernels.cpu`, except
binary frames where each pixel reads one cell of its own (the paper's grid):
``lit_frame`` draws those from the ring's cells only.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
from numba import njit, prange

from ..kernels.cpu import _compiled, runner_key
from ..kernels.readout import build_readout
from ..kernels import directional as rule
from ..kernels.directional import P_CONTINUOUS, P_OFF_HI, P_ON_HI, P_SPREAD_AGE, build_rule
from .cpu_engine import CPUEngine


def build_events_runner(rule_key: str | None = None):
    """Compile ``setup``, ``advance`` and ``lit_frame`` for the directional rule."""
    if rule_key is not None:
        rule_key = runner_key(rule_key, __file__)
    inlined = njit(inline="always")
    rule = build_rule(inlined)
    step, active = rule.step, rule.active
    calcium_step = build_readout(inlined, active).calcium_step

    def window(prow):
        # Steps a ring entry is kept: long enough to spread (age tau_ON) and to be lit (age <= on_hi, off_hi).
        return max(prow[P_SPREAD_AGE], prow[P_ON_HI], prow[P_OFF_HI]) + 1

    window_c = inlined(window)

    def setup(t, state, B, R, C, params, ring, ring_step, head, count):
        """Put the cells that activated in the ring's window (steps t - window + 1 .. t) into the ring, oldest first."""
        for b in prange(B):
            n = 0
            keep = window_c(params[b])
            for age in range(keep - 1, -1, -1):
                for cell in range(R * C):
                    if np.int64(state[b * R * C + cell]) == t - age:
                        ring[b, n] = cell
                        ring_step[b, n] = t - age
                        n += 1
            head[b] = 0
            count[b] = n

    def push_ring(b, cell, t, ring, ring_step, head, count):
        cap = ring.shape[1]
        slot = (head[b] + count[b]) % cap
        ring[b, slot] = cell
        ring_step[b, slot] = t
        count[b] += 1

    push_ring_c = inlined(push_ring)

    def retina_step(b, t, state, plane, R, C, ca, ca_alpha_q30, inp, key, prow, site, dr, dc, w, table, ring,
                    ring_step, head, count, visits, touched):
        """Advance retina ``b`` to the end of step ``t``."""
        cap = ring.shape[1]
        base = b * R * C
        keep = window_c(prow)
        # Drop what left the window, then push from the entries that spread at t - 1.
        while count[b] > 0 and ring_step[b, head[b]] <= t - 1 - keep:
            head[b] = (head[b] + 1) % cap
            count[b] -= 1
        n_touched = 0
        for e in range(count[b]):
            slot = (head[b] + e) % cap
            if ring_step[b, slot] != t - 1 - prow[P_SPREAD_AGE]:
                continue
            src = ring[b, slot]
            r = src // C
            c = src - r * C
            for k in range(dr.shape[1]):
                rr = r + dr[0, k]
                cc = c + dc[0, k]
                if rr >= 0 and rr < R and cc >= 0 and cc < C:
                    tgt = rr * C + cc
                    if inp[b, tgt] == 0:
                        touched[n_touched] = tgt
                        n_touched += 1
                    inp[b, tgt] += w[0, k]
        n_visit = R * C if prow[P_CONTINUOUS] else n_touched
        for j in range(n_visit):
            cell = j if prow[P_CONTINUOUS] else touched[j]
            x = inp[b, cell]
            inp[b, cell] = 0
            step(state, plane, base + cell, t, x, key, cell, site, prow, table)
            if np.int64(state[base + cell]) == t:
                push_ring_c(b, cell, t, ring, ring_step, head, count)
        visits[b] += n_visit
        if ca_alpha_q30 > 0:
            # The calcium filter moves in every cell every step: dense, as in the dense runner.
            for cell in range(R * C):
                if site[cell] != 0:
                    lit = 1 if active(state, plane, base + cell, t, prow) else 0
                    ca[base + cell] = calcium_step(ca[base + cell], lit, ca_alpha_q30)

    retina_step_c = inlined(retina_step)

    def draw_lit(frame, b, t, state, plane, R, C, prow, pixel_of_cell, ring, head, count):
        """Retina ``b``'s binary frame (H, W) at step ``t``: a lit cell activated within the ring's window."""
        cap = ring.shape[1]
        W = frame.shape[1]
        frame[:, :] = 0
        for e in range(count[b]):
            cell = ring[b, (head[b] + e) % cap]
            pix = pixel_of_cell[cell]
            if pix >= 0 and active(state, plane, b * R * C + cell, t, prow):
                y = pix // W
                frame[y, pix - y * W] = 1

    draw_lit_c = inlined(draw_lit)

    def advance(t0, n_steps, state, B, R, C, ca, ca_alpha_q30, inp, keys, params, site, dr, dc, w, table, ring,
                ring_step, head, count, visits):
        """Run steps ``t0 + 1 .. t0 + n_steps``; ``inp`` (B, R * C) int32 is zero between calls."""
        plane = B * R * C
        for b in prange(B):
            touched = np.empty(R * C, np.int32)
            for t in range(t0 + 1, t0 + n_steps + 1):
                retina_step_c(b, t, state, plane, R, C, ca, ca_alpha_q30, inp, keys[b], params[b], site, dr, dc, w,
                              table, ring, ring_step, head, count, visits, touched)

    def record(t0, targets, out, state, B, R, C, inp, keys, params, site, dr, dc, w, table, ring, ring_step,
               head, count, visits, pixel_of_cell):
        """Binary frames ``out[:, i]`` at steps ``targets[i]`` (ascending, from ``t0``), each retina in one go.

        Retinas are independent, so each runs all its steps and frames on one thread, with no barrier per step.
        """
        plane = B * R * C
        ca = np.zeros(1, np.int32)
        for b in prange(B):
            touched = np.empty(R * C, np.int32)
            t = t0
            for i in range(targets.size):
                while t < targets[i]:
                    t += 1
                    retina_step_c(b, t, state, plane, R, C, ca, 0, inp, keys[b], params[b], site, dr, dc, w, table,
                                  ring, ring_step, head, count, visits, touched)
                draw_lit_c(out[b, i], b, t, state, plane, R, C, params[b], pixel_of_cell, ring, head, count)

    def lit_frame(out, t, state, B, R, C, params, pixel_of_cell, ring, ring_step, head, count):
        """Binary frames (B, H, W) when each pixel reads one cell of its own (``pixel_of_cell``, -1: none)."""
        plane = B * R * C
        for b in prange(B):
            draw_lit_c(out[b], b, t, state, plane, R, C, params[b], pixel_of_cell, ring, head, count)

    return SimpleNamespace(
        setup=_compiled(setup, rule_key, True),
        advance=_compiled(advance, rule_key, True),
        record=_compiled(record, rule_key, True),
        lit_frame=_compiled(lit_frame, rule_key, True),
    )


# ---------------------------------------------------------------------- engine


@functools.lru_cache(maxsize=None)
def events_runner(model):
    """The model's event-driven CPU loops, built once per process (and cached on disk by Numba)."""
    return build_events_runner(model.rule_key)


class DirectionalEventsEngine(CPUEngine):
    """A batch of directional retinas in host memory, stepped by the event-driven loops above.

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

        Where :meth:`records_frames` says so, each retina runs all its steps and frames in one call;
        elsewhere frame by frame.
        """
        if not self.records_frames(pixel_map):
            super().record_frames(out, targets, pixel_map)
            return
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
