"""The amacrine model's event-driven CPU engine (``cpu-events``), bit-identical to the dense ``cpu`` engine.

Its loops and its engine class live here together: the engine belongs to
the model (``amacrine.MODEL.event_engine``) and may read its fields, where
the generic engines (:mod:`~wavesim.backends.cpu_engine`,
:mod:`~wavesim.backends.cuda_engine`) never do.

The dense runner (:mod:`wavesim.kernels.cpu`) pushes the weights of every
depolarised cell and updates every cell every step. Here each step visits
only the *hot* cells; every other cell is *lazy* and changes in a way known
in advance, so it is left alone until it has to be visited.

A cell is lazy at the end of step ``t`` when it is off (not depolarised at
the end of ``t``), its input is 0 and, with the calcium readout, its calcium
is a fixed point of the zero-activity filter (the rounding stops the decay a
few units above 0). Then each further quiet step only runs its excitation
``exc`` through the zero-input filter, which settles within some 15
``tau_K / dt`` steps on a fixed point (``((0 - exc) * alpha + 2**29) >> 30 == 0``), and
lowers its threshold by ``decay`` (clamped at 0: ``max(0, T - k * decay)``
after ``k`` steps). So the step at which it fires on its own is known when
it goes lazy: replay the filter until ``exc`` settles (firing on the way if
``exc`` reaches the threshold), then it fires at the first step whose
entering threshold is ``<= exc``, ``ceil((T - exc) / decay)`` steps on, or
never when ``decay == 0``. That step goes into a bucket queue (a ring of
:data:`BUCKETS` doubly linked lists indexed by step; a cell further ahead
than the ring waits through a lap of it). Waking a lazy cell replays its
filter again (until it settles) and moves its threshold in one subtraction.

The input is kept incrementally: a cell that fires adds its weights to its
neighbours' inputs after the step, one that switches off subtracts them. A
lazy cell whose input becomes non-zero is brought up to date and turns hot.
With Poisson drive on (``spont > 0``) each step also draws for every lazy
cell (the draw is a pure function of key, step and cell, so it can be taken
without updating the cell) and wakes those whose draw fires: a sweep over
the sheet of one hash per lazy cell, where the dense rule does a full update.

Frames need no catching up: lazy cells are off, and their calcium (a fixed
point) does not move, so the calcium readout is exact too, at the price of
keeping cells hot until their calcium settles. Reading the state brings
every lazy cell up to date (:func:`build_events_runner`'s ``sync``).

Retinas of a batch are independent and run in parallel; one retina runs on
one thread.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
from numba import njit, prange

from ..errors import ParameterError

from ..kernels.amacrine import (ONSET_ABSENT, P_ALPHA_Q30, P_DSTEPS, P_SPONT_U32, STREAM_SPONTANEOUS, build_rule)
from ..kernels.cpu import _compiled, runner_key
from ..kernels.random import build_random
from ..kernels.readout import build_readout
from .cpu_engine import CPUEngine

#: Buckets of the step queue (a power of two); a lazy cell due later than this many steps ahead waits a lap.
BUCKETS = 1 << 12

LAZY = 1  # codes of a cell: 0 no cell at this site, 1 lazy, 2 hot
HOT = 2


def build_events_runner(rule_key: str | None = None):
    """The event-driven CPU loops of the amacrine rule: ``setup``, ``record`` (steps and frames) and ``sync``.

    Parameters
    ----------
    rule_key : str, optional
        A digest of the rule's source (the model's ``rule_key``); with it the loops are cached on disk.
    """
    inlined = njit(inline="always")
    rule = build_rule(inlined)
    cell_step, active, filter_exc = rule.cell_step, rule.active, rule.filter_exc
    draw_u32 = build_random(inlined).draw_u32
    readout = build_readout(inlined, active)
    calcium_step, pixel_value = readout.calcium_step, readout.pixel_value
    key = None if rule_key is None else runner_key(rule_key, __file__)
    mask = BUCKETS - 1

    @inlined
    def link(i, b, due, nxt, prv, head):
        slot = b * BUCKETS + (due[i] & mask)
        first = head[slot]
        nxt[i] = first
        prv[i] = -1
        if first >= 0:
            prv[first] = i
        head[slot] = i

    @inlined
    def unlink(i, b, due, nxt, prv, head):
        if due[i] < 0:  # never due: in no bucket
            return
        p = prv[i]
        n = nxt[i]
        if p >= 0:
            nxt[p] = n
        else:
            head[b * BUCKETS + (due[i] & mask)] = n
        if n >= 0:
            prv[n] = p

    @inlined
    def catch_up(i, s, state, plane, last, alpha_q30):
        """Bring lazy cell ``i`` to the end of step ``s``: its excitation decayed and its threshold fell."""
        p = np.uint64(plane)
        j = np.uint64(i)
        k = s - last[i]
        exc = np.int64(state[p + j])
        for _ in range(k):
            following = filter_exc(exc, np.int64(0), alpha_q30)
            if following == exc:  # settled: the rest of the steps leave it there
                break
            exc = following
        state[p + j] = exc
        thresh = np.int64(state[p + p + j]) - k * np.int64(state[p + p + p + j])
        if thresh < 0:
            thresh = np.int64(0)
        state[p + p + j] = thresh
        last[i] = s

    @inlined
    def wake(i, b, n, s, state, plane, alpha_q30, code, last, due, nxt, prv, head, hot, n_hot):
        """Lazy cell ``i`` turns hot, up to date at the end of step ``s``, and joins retina ``b``'s hot list."""
        unlink(i, b, due, nxt, prv, head)
        catch_up(i, s, state, plane, last, alpha_q30)
        code[i] = HOT
        hot[b * n + n_hot[b]] = i
        n_hot[b] += 1

    @inlined
    def settle(i, b, t, state, plane, prow, inp, ca, ca_alpha_q30, code, last, due, nxt, prv, head):
        """At the end of step ``t``: make hot cell ``i`` lazy if it may be, queue it, and say whether it did."""
        if inp[i] != 0:
            return False
        p = np.uint64(plane)
        j = np.uint64(i)
        if active(state, plane, i, t, prow):
            return False
        if ca_alpha_q30 > 0 and calcium_step(ca[i], 0, ca_alpha_q30) != ca[i]:  # calcium still decaying
            return False
        alpha_q30 = prow[P_ALPHA_Q30]
        exc = np.int64(state[p + j])
        thresh = np.int64(state[p + p + j])
        decay = np.int64(state[p + p + p + j])
        # Replay the quiet steps t + 1, t + 2, ... until the excitation settles; then the threshold alone decides.
        ahead = 1
        while True:
            following = filter_exc(exc, np.int64(0), alpha_q30)
            if following == exc:
                if thresh <= exc:
                    when = t + ahead
                elif decay == 0:
                    when = np.int64(-1)
                else:
                    when = t + ahead + (thresh - exc + decay - 1) // decay
                break
            exc = following
            if exc >= thresh:
                when = t + ahead
                break
            thresh = thresh - decay
            if thresh < 0:
                thresh = np.int64(0)
            ahead += 1
        if when == t + 1:  # fires next step: stays hot
            return False
        code[i] = LAZY
        last[i] = t
        due[i] = when
        if when >= 0:
            link(i, b, due, nxt, prv, head)
        return True

    def setup(t, state, B, R, C, params, ca, ca_alpha_q30, inp, code, last, due, nxt, prv, head, hot, n_hot):
        """Classify every cell of an initial state (no cell depolarised, all inputs 0) at the end of step ``t``."""
        plane = B * R * C
        n = R * C
        for b in prange(B):
            prow = params[b]
            n_hot[b] = 0
            for s in range(BUCKETS):
                head[b * BUCKETS + s] = -1
            for cell in range(n):
                i = b * n + cell
                if state[i] == ONSET_ABSENT:
                    code[i] = 0
                    continue
                code[i] = HOT
                if not settle(i, b, t, state, plane, prow, inp, ca, ca_alpha_q30, code, last, due, nxt, prv, head):
                    hot[b * n + n_hot[b]] = i
                    n_hot[b] += 1

    def retina_step(b, t, state, plane, R, C, ca, ca_alpha_q30, inp, keys, params, site, dr, dc, w, table, code,
                    last, due, nxt, prv, head, hot, n_hot, events):
        """Advance retina ``b`` to the end of step ``t``; return how many cells it updated."""
        n = R * C
        base = b * n
        prow = params[b]
        key = keys[b]
        dsteps = prow[P_DSTEPS]
        alpha_q30 = prow[P_ALPHA_Q30]
        p = np.uint64(plane)
        # Lazy cells due now, and with Poisson drive those whose draw fires, turn hot.
        i = head[b * BUCKETS + (t & mask)]
        while i >= 0:
            following = nxt[i]
            if due[i] == t:
                wake(i, b, n, t - 1, state, plane, alpha_q30, code, last, due, nxt, prv, head, hot, n_hot)
            i = following
        spont = prow[P_SPONT_U32]
        if spont > 0:
            for cell in range(n):
                i = base + cell
                if code[i] == LAZY and np.int64(draw_u32(key, STREAM_SPONTANEOUS, t, cell)) < spont:
                    wake(i, b, n, t - 1, state, plane, alpha_q30, code, last, due, nxt, prv, head, hot, n_hot)
        # Update the hot cells; note who fires (from the front of events) and who switches off (from the back).
        visited = n_hot[b]
        n_fired = 0
        n_off = 0
        for k in range(n_hot[b]):
            i = hot[base + k]
            j = np.uint64(i)
            o0 = state[j]
            o, e, th, d, now = cell_step(t, o0, state[p + j], state[p + p + j], state[p + p + p + j], inp[i], key,
                                         i - base, site, prow, table)
            state[j] = o
            state[p + j] = e
            state[p + p + j] = th
            state[p + p + p + j] = d
            if ca_alpha_q30 > 0:
                ca[i] = calcium_step(ca[i], 1 if now else 0, ca_alpha_q30)
            if o != o0:
                events[base + n_fired] = i
                n_fired += 1
            elif np.int64(t) - np.int64(o0) == dsteps:
                n_off += 1
                events[base + n - n_off] = i
        # Their weights enter (or leave) the neighbours' inputs of the next step; lazy neighbours wake.
        K = dr.shape[1]
        for k in range(n_fired + n_off):
            if k < n_fired:
                i = events[base + k]
                sign = 1
            else:
                i = events[base + n - 1 - (k - n_fired)]
                sign = -1
            cell = i - base
            r = cell // C
            c = cell - r * C
            par = r & 1
            for m in range(K):
                rr = r + dr[par, m]
                cc = c + dc[par, m]
                if rr >= 0 and rr < R and cc >= 0 and cc < C:
                    nb = base + rr * C + cc
                    inp[nb] += sign * w[par, m]
                    if code[nb] == LAZY:
                        wake(nb, b, n, t, state, plane, alpha_q30, code, last, due, nxt, prv, head, hot, n_hot)
        # Hot cells that may go lazy leave the list.
        kept = 0
        for k in range(n_hot[b]):
            i = hot[base + k]
            if not settle(i, b, t, state, plane, prow, inp, ca, ca_alpha_q30, code, last, due, nxt, prv, head):
                hot[base + kept] = i
                kept += 1
        n_hot[b] = kept
        return visited

    retina_step_c = njit(inline="always")(retina_step)

    def record(t0, targets, out, state, B, R, C, ca, ca_alpha_q30, inp, keys, params, site, dr, dc, w, table, code,
               last, due, nxt, prv, head, hot, n_hot, events, visits, pixel_ptr, cell_rows, cell_cols):
        """Run to each step ``targets[i]`` (ascending, from ``t0``) and write frame ``out[:, i]`` (B, n, H, W) there.

        Retinas are independent, so each runs all its steps and frames on one
        thread: one parallel region per call instead of one per frame. With
        ``n = 0`` it only steps (to the last target); ``visits[b]`` adds the
        cells retina ``b`` updated. One loop for both keeps one compiled copy of the step.
        """
        plane = B * R * C
        H = out.shape[2]
        W = out.shape[3]
        for b in prange(B):
            prow = params[b]
            t = t0
            for f in range(targets.size):
                while t < targets[f]:
                    t += 1
                    visits[b] += retina_step_c(b, t, state, plane, R, C, ca, ca_alpha_q30, inp, keys, params, site,
                                               dr, dc, w, table, code, last, due, nxt, prv, head, hot, n_hot, events)
                if f >= out.shape[1]:
                    continue
                for y in range(H):
                    for x in range(W):
                        out[b, f, y, x] = pixel_value(state, plane, b, y * W + x, t, ca, ca_alpha_q30 > 0, prow,
                                                      pixel_ptr, cell_rows, cell_cols, R, C)

    def sync(t, state, B, R, C, params, code, last):
        """Bring every lazy cell to the end of step ``t``; they stay lazy and queued."""
        plane = B * R * C
        n = R * C
        for i in prange(plane):
            if code[i] == LAZY:
                catch_up(i, t, state, plane, last, params[i // n, P_ALPHA_Q30])

    return SimpleNamespace(
        setup=_compiled(setup, key, True),
        record=_compiled(record, key, True),
        sync=_compiled(sync, key, True),
    )


# ---------------------------------------------------------------------- engine


@functools.lru_cache(maxsize=None)
def events_runner(model):
    """The model's event-driven CPU loops, built once per process (and cached on disk by Numba)."""
    return build_events_runner(model.rule_key)


class AmacrineEventsEngine(CPUEngine):
    """A batch of amacrine retinas in host memory, stepped by the event-driven loops above.

    Each step updates only the cells near activity (module docstring); the
    others are brought up to date when :meth:`state` is read. Frames need no
    catching up: lazy cells are off and their calcium does not move.
    Initial state, frames and parameters are as in :class:`CPUEngine`.

    Parameters
    ----------
    model : WaveModel
        Must be the ``amacrine`` model; others raise :class:`ParameterError`.
    tables, params, keys, calcium_alpha_q30, pixel_map
        As for :class:`CPUEngine`.
    """

    name = "cpu-events"
    xp = np

    def __init__(self, model, tables, params, keys, calcium_alpha_q30, pixel_map):
        if model.name != "amacrine":
            raise ParameterError(
                f"backend 'cpu-events' runs only the 'amacrine' model, got {model.name!r}; use backend='cpu'."
            )
        super().__init__(model, tables, params, keys, calcium_alpha_q30, pixel_map)
        self._events = events_runner(model)
        B, R, C = self.dims
        n = B * R * C
        self.inp = np.zeros(n, np.int32)  # kept between steps: the summed weight of depolarised neighbours
        self.code = np.zeros(n, np.uint8)
        self.last = np.zeros(n, np.int64)
        self.due = np.zeros(n, np.int64)
        self.nxt = np.zeros(n, np.int32)
        self.prv = np.zeros(n, np.int32)
        self.head = np.zeros(B * BUCKETS, np.int32)
        self.hot = np.zeros(n, np.int32)
        self.n_hot = np.zeros(B, np.int64)
        self.events = np.zeros(n, np.int32)
        #: Cell updates done so far, per retina (the dense engine does ``n_cells * t``).
        self.visits = np.zeros(B, np.int64)
        self._no_frames = np.zeros((B, 0, 1, 1), np.uint8)
        self._setup()

    def _setup(self) -> None:
        """Classify every cell as hot or lazy at step ``t``, from the state and the input ``inp`` of step ``t``."""
        self._events.setup(self.t, self._state_flat, *self.dims, self.params, self.ca, self.calcium_alpha_q30,
                           self.inp, self.code, self.last, self.due, self.nxt, self.prv, self.head, self.hot,
                           self.n_hot)

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps."""
        if n_steps > 0:
            self.record_frames(self._no_frames, np.array([self.t + n_steps]))

    def records_frames(self, pixel_map=None) -> bool:
        """Whether :meth:`record_frames` can read ``pixel_map``: always."""
        return True

    def record_frames(self, out: np.ndarray, targets: np.ndarray, pixel_map=None) -> None:
        """Advance to each step of ``targets`` (ascending) and write that frame into ``out[:, i]`` (B, n, H, W).

        Each retina runs all its steps and frames in one call (one parallel region per chunk).
        """
        targets = np.ascontiguousarray(targets, dtype=np.int64)
        pm = pixel_map or self.pixel_map
        t = self.tables
        self._events.record(
            self.t, targets, out, self._state_flat, *self.dims, self.ca, self.calcium_alpha_q30, self.inp, self.keys,
            self.params, self.site_flat, t["dr"], t["dc"], t["w"], t["table"], self.code, self.last, self.due,
            self.nxt, self.prv, self.head, self.hot, self.n_hot, self.events, self.visits,
            pm.pixel_ptr, pm.cell_rows, pm.cell_cols,
        )
        self.t = int(targets[-1]) if targets.size else self.t

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state fields, each (B, R, C) int32, by name (lazy cells brought up to date first)."""
        self._events.sync(self.t, self._state_flat, *self.dims, self.params, self.code, self.last)
        return super().state()

    def load(self, fields: np.ndarray, ca: np.ndarray | None, t: int) -> None:
        """Replace the state by one exported at step ``t``, and rebuild the event bookkeeping from it."""
        super().load(fields, ca, t)
        # The input this engine keeps between steps: the summed weights of the cells depolarised at t,
        # pushed as the dense loops push them before step t + 1.
        tb = self.tables
        inp = self.inp.reshape(self.dims)
        for phase in (0, 1):
            self._run.push(self.t, self._state_flat, *self.dims, inp, self.params, tb["dr"], tb["dc"], tb["w"], phase)
        self._setup()
