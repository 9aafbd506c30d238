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

from .cpu import _compiled
from .readout import build_readout
from .directional import P_CONTINUOUS, P_OFF_HI, P_ON_HI, P_SPREAD_AGE, build_rule


def build_events_runner(rule_key: str | None = None):
    """Compile ``setup``, ``advance`` and ``lit_frame`` for the directional rule."""
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

    def advance(t0, n_steps, state, B, R, C, ca, ca_alpha_q30, inp, keys, params, site, dr, dc, w, table, ring,
                ring_step, head, count, visits):
        """Run steps ``t0 + 1 .. t0 + n_steps``; ``inp`` (B, R * C) int32 is zero between calls."""
        plane = B * R * C
        K = dr.shape[1]
        cap = ring.shape[1]
        for b in prange(B):
            prow = params[b]
            key = keys[b]
            base = b * R * C
            spread_step_back = prow[P_SPREAD_AGE] + 1
            keep = window_c(prow)
            touched = np.empty(R * C, np.int32)
            for s in range(n_steps):
                t = t0 + s + 1
                # Drop what left the window, then push from the entries that spread at t - 1.
                while count[b] > 0 and ring_step[b, head[b]] <= t - 1 - keep:
                    head[b] = (head[b] + 1) % cap
                    count[b] -= 1
                n_touched = 0
                for e in range(count[b]):
                    slot = (head[b] + e) % cap
                    if ring_step[b, slot] != t - spread_step_back:
                        continue
                    src = ring[b, slot]
                    r = src // C
                    c = src - r * C
                    for k in range(K):
                        rr = r + dr[0, k]
                        cc = c + dc[0, k]
                        if rr >= 0 and rr < R and cc >= 0 and cc < C:
                            tgt = rr * C + cc
                            if inp[b, tgt] == 0:
                                touched[n_touched] = tgt
                                n_touched += 1
                            inp[b, tgt] += w[0, k]
                if prow[P_CONTINUOUS]:
                    for cell in range(R * C):
                        x = inp[b, cell]
                        inp[b, cell] = 0
                        step(state, plane, base + cell, t, x, key, cell, site, prow, table)
                        if np.int64(state[base + cell]) == t:
                            push_ring_c(b, cell, t, ring, ring_step, head, count)
                    visits[b] += R * C
                else:
                    for j in range(n_touched):
                        cell = touched[j]
                        x = inp[b, cell]
                        inp[b, cell] = 0
                        step(state, plane, base + cell, t, x, key, cell, site, prow, table)
                        if np.int64(state[base + cell]) == t:
                            push_ring_c(b, cell, t, ring, ring_step, head, count)
                    visits[b] += n_touched
                if ca_alpha_q30 > 0:
                    # The calcium filter moves in every cell every step: dense, as in the dense runner.
                    for cell in range(R * C):
                        if site[cell] != 0:
                            lit = 1 if active(state, plane, base + cell, t, prow) else 0
                            ca[base + cell] = calcium_step(ca[base + cell], lit, ca_alpha_q30)

    def lit_frame(out, t, state, B, R, C, params, pixel_of_cell, ring, ring_step, head, count):
        """Binary frames (B, H, W) when each pixel reads one cell of its own (``pixel_of_cell``, -1: none).

        A lit cell activated within the ring's window, so only the ring's entries are looked at.
        """
        plane = B * R * C
        cap = ring.shape[1]
        W = out.shape[2]
        for b in prange(B):
            prow = params[b]
            out[b] = 0
            for e in range(count[b]):
                slot = (head[b] + e) % cap
                cell = ring[b, slot]
                pix = pixel_of_cell[cell]
                if pix >= 0 and active(state, plane, b * R * C + cell, t, prow):
                    y = pix // W
                    out[b, y, pix - y * W] = 1

    return SimpleNamespace(
        setup=_compiled(setup, rule_key, True),
        advance=_compiled(advance, rule_key, True),
        lit_frame=_compiled(lit_frame, rule_key, True),
    )
