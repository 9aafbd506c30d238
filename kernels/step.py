"""CUDA kernels of the default model: initialise, step, read out.

One thread per cell, a 32 x 8 tile of cells per block, one retina per
``blockIdx.z``. Each block loads the depolarisation flags of its tile plus a
halo of ``HALO`` cells into shared memory; if none is set (most blocks, most
of the time: waves are sparse) every cell's input is 0 and the 90-neighbour
pull is skipped, an exact shortcut. Otherwise each thread pulls its input
from the tile. The per-cell rule is the shared one of :mod:`wavesim.rule`.

State is updated in place within a step. A neighbour's flag for step
``t - 1`` is derived from its onset, and a cell that fires at ``t`` (the only
onset write) was off at ``t - 1`` by either value of the onset, so reading a
neighbour before or after its write gives the same input.
"""

from __future__ import annotations

import os

import numpy as np
from numba import cuda, int32

from wavesim.lattice import MAX_REACH
from wavesim.rule import ONSET_NEVER, build_readout, build_rule

_rule = build_rule(cuda.jit(device=True, inline=True))
_init_cell = _rule.init_cell
_cell_step = _rule.cell_step
_is_depolarised = _rule.is_depolarised
_calcium_step = _rule.calcium_step
_pixel_value = build_readout(cuda.jit(device=True, inline=True), _rule).pixel_value

def _tile_shape() -> tuple[int, int]:
    # Tests under the CUDA simulator shrink the tile so that tiny lattices
    # still span several blocks (and run in seconds, not minutes).
    text = os.environ.get("WAVESIM_CUDA_TILE", "32x8")
    try:
        x, y = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"WAVESIM_CUDA_TILE must look like 32x8, got {text!r}") from None
    return x, y


TILE_X, TILE_Y = _tile_shape()
HALO = MAX_REACH
SHARED_X = TILE_X + 2 * HALO
SHARED_Y = TILE_Y + 2 * HALO
SHARED_N = SHARED_X * SHARED_Y
THREADS = TILE_X * TILE_Y
#: Largest neighbour count per row parity (a disc of radius MAX_REACH spacings).
MAX_NEIGHBOURS = 2 * 128


@cuda.jit
def init_kernel(onset, exc, thresh, decay, ca, keys, params, frac, table):
    """Initial state of every cell of every retina (grid: cols, rows, batch)."""
    c = cuda.blockIdx.x * TILE_X + cuda.threadIdx.x
    r = cuda.blockIdx.y * TILE_Y + cuda.threadIdx.y
    b = cuda.blockIdx.z
    B, R, C = onset.shape
    if r >= R or c >= C:
        return
    if ca.shape[1] == R:
        ca[b, r, c] = 0
    f = frac[r, c]
    if f == 0:
        onset[b, r, c] = ONSET_NEVER
        exc[b, r, c] = 0
        thresh[b, r, c] = 0
        decay[b, r, c] = 0
        return
    o, e, th, d = _init_cell(keys[b], r * C + c, f, params[b], table)
    onset[b, r, c] = o
    exc[b, r, c] = e
    thresh[b, r, c] = th
    decay[b, r, c] = d


@cuda.jit
def step_kernel(clock, k, shape, flags_odd, flags_even, onset, exc, thresh, decay, ca, ca_alpha_q30, keys, params,
                frac, tile_delta, w, table):
    """Advance every cell of every retina to the end of step ``t = clock[0] + k``.

    State arrays are flat views of (B, R, C) arrays, ``shape = (B, R, C)``.
    ``flags_odd`` / ``flags_even`` are (B, R', C') uint8 depolarisation flags
    with a zero border of ``HALO`` cells (and padding to whole tiles): a step
    reads the flags of ``t - 1`` from one and writes those of ``t`` into the
    other, so the tile load is a plain byte copy with no bounds tests. The
    step count lives in device memory so that a CUDA graph of many launches
    (each with its own ``k``) can be replayed as time goes on.
    """
    t = clock[0] + k
    if t & 1:
        flags_in = flags_odd
        flags_out = flags_even
    else:
        flags_in = flags_even
        flags_out = flags_odd
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    c0 = cuda.blockIdx.x * TILE_X
    r0 = cuda.blockIdx.y * TILE_Y
    b = cuda.blockIdx.z
    R = shape[1]
    C = shape[2]
    tile = cuda.shared.array(SHARED_N, int32)
    nbr_delta = cuda.shared.array(MAX_NEIGHBOURS, int32)
    nbr_weight = cuda.shared.array(MAX_NEIGHBOURS, int32)
    local_any = 0
    lr = ty
    while lr < SHARED_Y:
        lc = tx
        while lc < SHARED_X:
            a = flags_in[b, r0 + lr, c0 + lc]
            tile[lr * SHARED_X + lc] = a
            local_any |= a
            lc += TILE_X
        lr += TILE_Y
    any_active = cuda.syncthreads_or(local_any)
    r = r0 + ty
    c = c0 + tx
    inp = 0
    if any_active:
        # Both parities' neighbour tables into shared memory: read once per block, broadcast per thread.
        n_nbr = tile_delta.shape[1]
        i = ty * TILE_X + tx
        while i < 2 * n_nbr:
            q = 1 if i >= n_nbr else 0
            nbr_delta[i] = tile_delta[q, i - q * n_nbr]
            nbr_weight[i] = w[q, i - q * n_nbr]
            i += THREADS
        cuda.syncthreads()
        centre = (ty + HALO) * SHARED_X + tx + HALO
        first = (r & 1) * n_nbr
        for kk in range(first, first + n_nbr):
            if tile[centre + nbr_delta[kk]]:
                inp += nbr_weight[kk]
    if r >= R or c >= C:
        return
    f = frac[r * C + c]
    if f == 0:
        return
    i = (b * R + r) * C + c
    o0 = onset[i]
    e0 = exc[i]
    th0 = thresh[i]
    d0 = decay[i]
    dsteps = params[b, 0]
    o, e, th, d = _cell_step(t, o0, e0, th0, d0, inp, keys[b], r * C + c, f, params[b], table)
    # Write only what changed: a quiet cell's exc, onset and decay stay put.
    if o != o0:
        onset[i] = o
    if e != e0:
        exc[i] = e
    if th != th0:
        thresh[i] = th
    if d != d0:
        decay[i] = d
    now = _is_depolarised(t, o, dsteps)
    flags_out[b, r + HALO, c + HALO] = 1 if now else 0
    if ca_alpha_q30 > 0:
        ca[i] = _calcium_step(ca[i], now, ca_alpha_q30)


@cuda.jit
def advance_clock_kernel(clock, n_steps):
    """``clock[0] += n_steps`` (one thread), after a block of step launches."""
    if cuda.grid(1) == 0:
        clock[0] += n_steps


@cuda.jit
def readout_kernel(out, t, onset, ca, use_calcium, params, pixel_ptr, cell_rows, cell_cols):
    """Frame at the end of step ``t`` into ``out`` (B, H, W) uint8 (grid: pixels, batch)."""
    pix = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    b = cuda.blockIdx.y
    B, H, W = out.shape
    if pix >= H * W:
        return
    y = pix // W
    out[b, y, pix - y * W] = _pixel_value(
        b, pix, t, onset, ca, use_calcium, params[b, 0], pixel_ptr, cell_rows, cell_cols
    )


def padded_flags_shape(batch: int, rows: int, cols: int) -> tuple[int, int, int]:
    """Shape of the depolarisation-flag buffers: whole tiles plus a zero border of HALO."""
    n_y = (rows + TILE_Y - 1) // TILE_Y
    n_x = (cols + TILE_X - 1) // TILE_X
    return (batch, n_y * TILE_Y + 2 * HALO, n_x * TILE_X + 2 * HALO)


def tile_offsets(dr: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """Neighbour offsets (2, K) as steps in the flattened shared tile."""
    if max(np.abs(dr).max(), np.abs(dc).max()) > HALO:
        raise ValueError(f"neighbour reach exceeds the kernel halo of {HALO} cells")
    if 2 * dr.shape[1] > MAX_NEIGHBOURS:
        raise ValueError(f"{dr.shape[1]} neighbours per cell exceed the kernel's {MAX_NEIGHBOURS // 2}")
    return (dr * SHARED_X + dc).astype(np.int32)


#: Kernels and the signatures they are compiled with, for PTX checks without a GPU.
SIGNATURES = {
    "init_kernel": "void(int32[:,:,::1], int32[:,:,::1], int32[:,:,::1], int32[:,:,::1], int32[:,:,::1], "
    "uint64[::1], int64[:,::1], int32[:,::1], int32[::1])",
    "advance_clock_kernel": "void(int64[::1], int64)",
    "step_kernel": "void(int64[::1], int64, int64[::1], uint8[:,:,::1], uint8[:,:,::1], int32[::1], int32[::1], int32[::1], int32[::1], int32[::1], "
    "int64, uint64[::1], int64[:,::1], int32[::1], int32[:,::1], int32[:,::1], int32[::1])",
    "readout_kernel": "void(uint8[:,:,:], int64, int32[:,:,::1], int32[:,:,::1], boolean, int64[:,::1], "
    "int64[::1], int32[::1], int32[::1])",
}
