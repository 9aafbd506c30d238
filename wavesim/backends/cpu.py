"""The ``cpu`` backend: Numba loops over cells that call the shared rule.

The neighbour input is pushed: each cell depolarised at the end of the
previous step adds its weights to its neighbours' inputs. Few cells are
depolarised at a time, so this does a few percent of the work of pulling
from all 90 neighbours. To push in parallel without races, rows are cut into
blocks taller than twice the neighbour reach and even and odd blocks are
pushed in two passes. Inputs are integers, so the order of the additions
does not change the result.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..rule import ONSET_ABSENT, build_readout, build_rule

_rule = build_rule(njit)
_readout = build_readout(njit, _rule)
_cell_step = _rule.cell_step
_init_cell = _rule.init_cell
_is_depolarised = _rule.is_depolarised
_calcium_step = _rule.calcium_step
_pixel_value = _readout.pixel_value

#: Rows per push block; must exceed twice the largest row offset (2 * 6).
PUSH_BLOCK_ROWS = 16


@njit(parallel=True, cache=True)
def init_state(onset, exc, thresh, decay, ca, keys, params, frac, table):
    """Fill the (B, R, C) state arrays with the initial state of every retina."""
    B, R, C = onset.shape
    track_calcium = ca.shape[1] == R
    for j in prange(B * R):
        b = j // R
        r = j % R
        prow = params[b]
        for c in range(C):
            if track_calcium:
                ca[b, r, c] = 0
            o, e, th, d = _init_cell(keys[b], r * C + c, frac[r, c], prow, table)
            onset[b, r, c] = o
            exc[b, r, c] = e
            thresh[b, r, c] = th
            decay[b, r, c] = d


@njit(parallel=True, cache=True)
def _push(t_prev, onset, inp, params, dr, dc, w, phase):
    B, R, C = onset.shape
    K = dr.shape[1]
    n_blocks = (R + PUSH_BLOCK_ROWS - 1) // PUSH_BLOCK_ROWS
    n_phase = (n_blocks - phase + 1) // 2
    for j in prange(B * n_phase):
        b = j // n_phase
        blk = 2 * (j % n_phase) + phase
        dsteps = params[b, 0]
        for r in range(blk * PUSH_BLOCK_ROWS, min(R, (blk + 1) * PUSH_BLOCK_ROWS)):
            p = r & 1
            for c in range(C):
                if not _is_depolarised(t_prev, onset[b, r, c], dsteps):
                    continue
                for k in range(K):
                    rr = r + dr[p, k]
                    cc = c + dc[p, k]
                    if rr >= 0 and rr < R and cc >= 0 and cc < C:
                        inp[b, rr, cc] += w[p, k]


@njit(parallel=True, cache=True)
def _update(t, onset, exc, thresh, decay, ca, ca_alpha_q30, inp, keys, params, frac, table):
    B, R, C = onset.shape
    for j in prange(B * R):
        b = j // R
        r = j % R
        prow = params[b]
        key = keys[b]
        dsteps = prow[0]
        for c in range(C):
            x = inp[b, r, c]
            inp[b, r, c] = 0
            o0 = onset[b, r, c]
            if o0 == ONSET_ABSENT:
                continue
            o, e, th, d = _cell_step(
                t, o0, exc[b, r, c], thresh[b, r, c], decay[b, r, c], x, key, r * C + c, frac, prow, table
            )
            onset[b, r, c] = o
            exc[b, r, c] = e
            thresh[b, r, c] = th
            decay[b, r, c] = d
            if ca_alpha_q30 > 0:
                ca[b, r, c] = _calcium_step(ca[b, r, c], _is_depolarised(t, o, dsteps), ca_alpha_q30)


@njit(cache=True)
def advance(t0, n_steps, onset, exc, thresh, decay, ca, ca_alpha_q30, inp, keys, params, frac, dr, dc, w, table):
    """Run steps ``t0 + 1 .. t0 + n_steps`` in place; ``frac`` is the flat (R * C) neighbour fraction."""
    for s in range(n_steps):
        t = t0 + s + 1
        _push(t - 1, onset, inp, params, dr, dc, w, 0)
        _push(t - 1, onset, inp, params, dr, dc, w, 1)
        _update(t, onset, exc, thresh, decay, ca, ca_alpha_q30, inp, keys, params, frac, table)


@njit(parallel=True, cache=True)
def readout(out, t, onset, ca, use_calcium, params, pixel_ptr, cell_rows, cell_cols):
    """Fill ``out`` (B, H, W) uint8 with the frame at the end of step ``t``."""
    B, H, W = out.shape
    for j in prange(B * H):
        b = j // H
        y = j % H
        dsteps = params[b, 0]
        for x in range(W):
            out[b, y, x] = _pixel_value(b, y * W + x, t, onset, ca, use_calcium, dsteps, pixel_ptr, cell_rows, cell_cols)
