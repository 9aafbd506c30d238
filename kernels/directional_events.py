"""An event-driven CPU runner of the directional rule: each step visits only the cells a wave can reach.

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

from types import SimpleNamespace

import numpy as np
from numba import njit, prange

from .cpu import _compiled, runner_key
from .readout import build_readout
from .directional import P_CONTINUOUS, P_OFF_HI, P_ON_HI, P_SPREAD_AGE, build_rule


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
