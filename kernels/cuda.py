"""numba-cuda kernels that run any model's rule over a batch of retinas.

:func:`build_cuda_kernels` compiles a model's rule as inlined device
functions and returns the kernels that initialise, step and read out a
batch. State is one flat (S, B, R, C) int32 array, so the kernels' code
and signatures do not depend on the model.

Step kernel: a 32 x 8 block of threads, 4 cells per thread along y, one
retina per ``blockIdx.z``. Each block loads the activity flags of its tile
plus a halo of ``HALO`` cells into shared memory; if none is set (most
blocks, most of the time: waves are sparse) every cell's input is 0 and the
~90-neighbour pull is skipped, an exact shortcut. Otherwise each thread
pulls its input from the tile.

State is updated in place within a step. A neighbour's activity at
``t - 1`` comes from the flag buffer of ``t - 1``, not from its state, so
the order in which cells are written within a step does not matter.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
from numba import cuda, int32

from wavesim.lattice import MAX_REACH

from .readout import build_readout


def _tile_shape() -> tuple[int, int]:
    # Threads per block as "XxY". Tests under the CUDA simulator shrink the block so that tiny lattices
    # still span several blocks (and run in seconds, not minutes).
    text = os.environ.get("WAVESIM_CUDA_TILE", "32x8")
    try:
        x, y = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"WAVESIM_CUDA_TILE must look like 32x8, got {text!r}") from None
    return x, y


THREADS_X, THREADS_Y = _tile_shape()
#: Cells per thread along y: a block updates a TILE_X x TILE_Y tile of cells.
CELLS_Y = 4
TILE_X = THREADS_X
TILE_Y = THREADS_Y * CELLS_Y
HALO = MAX_REACH
SHARED_X = TILE_X + 2 * HALO
SHARED_Y = TILE_Y + 2 * HALO
SHARED_N = SHARED_X * SHARED_Y
THREADS = THREADS_X * THREADS_Y
#: Largest neighbour count per row parity (a disc of radius MAX_REACH spacings).
MAX_NEIGHBOURS = 2 * 128
#: Blocks of the step kernel resident per SM. The kernel is latency-bound, so occupancy pays: without
#: this bound ptxas gave it 70 registers (3 blocks of 256 threads per SM) and it ran 17% slower on an
#: H100 than at 64 registers (4 blocks), which it fits without spilling.
STEP_BLOCKS_PER_SM = 4
#: ``launch_bounds`` (threads per block, blocks per SM) of the kernels that set them, for PTX checks too.
LAUNCH_BOUNDS = {"step_kernel": (THREADS, STEP_BLOCKS_PER_SM)}

#: Kernels and the signatures they are compiled with, for PTX checks without a GPU.
SIGNATURES = {
    "init_kernel": "void(int32[::1], int64[::1], uint64[::1], int64[:,::1], int32[::1], int32[::1], uint8[::1])",
    "seed_kernel": "void(int32[::1], int64[::1], uint64[::1], int64[:,::1], int32[::1], int32[::1], uint8[::1])",
    "flags_kernel": "void(int32[::1], int64[::1], int64[:,::1], int64, uint8[::1])",
    "advance_clock_kernel": "void(int64[::1], int64)",
    "step_kernel": "void(int64[::1], int64, int64[::1], uint8[::1], uint8[::1], int32[::1], int32[::1], int64, "
    "uint64[::1], int64[:,::1], int32[::1], int32[:,::1], int32[:,::1], int32[::1])",
    "readout_kernel": "void(uint8[:,:,::1], int64, int32[::1], int64[::1], int32[::1], boolean, int64[:,::1], "
    "int64[::1], int32[::1], int32[::1])",
}


def build_cuda_kernels(build_rule):
    """The batched CUDA kernels of one model, from its ``build_rule``.

    Returns a namespace of ``init_kernel``, ``step_kernel``,
    ``advance_clock_kernel`` and ``readout_kernel`` (see each one's
    docstring); ``shape`` arguments are int64 device arrays
    ``(B, R, C[, padded rows, padded cols])``.
    """
    device = cuda.jit(device=True, inline=True)
    rule = build_rule(device)
    init, step, active = rule.init, rule.step, rule.active
    # As in kernels/cpu.py: a rule may spread from other cells than it shows (``spreading``, and a step
    # that returns ``spreads | lit << 1``).
    spreading = getattr(rule, "spreading", active)
    seed = getattr(rule, "seed", None) or device(_no_seed)
    step_flags = getattr(rule, "step_flags", False)
    lit_shift = 1 if step_flags else 0
    flag_mask = 1 if step_flags else 0xFF
    readout_fns = build_readout(device, active)
    pixel_value, calcium_step = readout_fns.pixel_value, readout_fns.calcium_step

    @cuda.jit
    def init_kernel(state, shape, keys, params, site, table, flags0):
        """Initial state of every cell of every retina (one thread per cell; grid: cols, rows, batch).

        ``flags0`` gets the cells that spread at step 0 (the flag buffer the first step reads).
        """
        c = cuda.blockIdx.x * THREADS_X + cuda.threadIdx.x
        r = cuda.blockIdx.y * THREADS_Y + cuda.threadIdx.y
        b = cuda.blockIdx.z
        R = shape[1]
        C = shape[2]
        if r >= R or c >= C:
            return
        plane = np.uint64(shape[0] * R * C)
        cell = r * C + c
        i = np.uint64(b * R * C + cell)
        init(state, plane, i, keys[b], cell, site, params[b], table)
        if spreading(state, plane, i, 0, params[b]):
            flags0[np.uint64((b * shape[3] + r + HALO) * shape[4] + c + HALO)] = 1

    @cuda.jit
    def seed_kernel(state, shape, keys, params, site, table, flags0):
        """After ``init_kernel``: the rule's ``seed`` once per retina (one thread each), and its flag at step 0."""
        b = cuda.grid(1)
        if b >= shape[0]:
            return
        R = shape[1]
        C = shape[2]
        plane = np.uint64(shape[0] * R * C)
        cell = seed(state, plane, b * R * C, keys[b], site, params[b], table)
        if cell >= 0 and spreading(state, plane, np.uint64(b * R * C + cell), 0, params[b]):
            r = cell // C
            flags0[np.uint64((b * shape[3] + r + HALO) * shape[4] + cell - r * C + HALO)] = 1

    @cuda.jit
    def flags_kernel(state, shape, params, t, flags):
        """Set in ``flags`` (zero before) the cells that spread at step ``t``: the buffer step ``t + 1`` reads.

        A restored state needs it; every step rewrites the other buffer's flag of every cell.
        """
        c = cuda.blockIdx.x * THREADS_X + cuda.threadIdx.x
        r = cuda.blockIdx.y * THREADS_Y + cuda.threadIdx.y
        b = cuda.blockIdx.z
        R = shape[1]
        C = shape[2]
        if r >= R or c >= C:
            return
        plane = np.uint64(shape[0] * R * C)
        i = np.uint64(b * R * C + r * C + c)
        if spreading(state, plane, i, t, params[b]):
            flags[np.uint64((b * shape[3] + r + HALO) * shape[4] + c + HALO)] = 1

    @_kernel(LAUNCH_BOUNDS["step_kernel"])
    def step_kernel(clock, k, shape, flags_odd, flags_even, state, ca, ca_alpha_q30, keys, params, site,
                    tile_delta, w, table):
        """Advance every cell of every retina to the end of step ``t = clock[0] + k``.

        Each thread updates ``CELLS_Y`` cells of one column of its block's
        tile. ``flags_odd`` / ``flags_even`` are flat (B, R', C') uint8
        activity flags with a zero border of ``HALO`` cells and padding to
        whole tiles: a step reads the flags of ``t - 1`` from one and writes
        those of ``t`` into the other, so the tile load is a plain byte copy
        with no bounds tests. Indices are cast to unsigned where arrays are
        accessed, which spares the integer instructions of Numba's
        negative-index wraparound. The step count lives in device memory so
        that a CUDA graph of many launches (each with its own ``k``) can be
        replayed as time goes on.
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
        padded_rows = shape[3]
        padded_cols = shape[4]
        plane = np.uint64(shape[0] * R * C)
        tile = cuda.shared.array(SHARED_N, int32)
        nbr_delta = cuda.shared.array(MAX_NEIGHBOURS, int32)
        nbr_weight = cuda.shared.array(MAX_NEIGHBOURS, int32)
        row_active = cuda.shared.array(SHARED_Y, int32)
        tid = ty * THREADS_X + tx
        i = tid
        while i < SHARED_Y:
            row_active[np.uint64(i)] = 0
            i += THREADS
        cuda.syncthreads()
        local_any = 0
        block_base = (b * padded_rows + r0) * padded_cols + c0
        lr = ty
        while lr < SHARED_Y:
            row = block_base + lr * padded_cols
            lc = tx
            while lc < SHARED_X:
                a = np.int32(flags_in[np.uint64(row + lc)])
                tile[np.uint64(lr * SHARED_X + lc)] = a
                if a:
                    row_active[np.uint64(lr)] = 1
                local_any |= a
                lc += THREADS_X
            lr += THREADS_Y
        any_active = cuda.syncthreads_or(local_any)
        n_nbr = tile_delta.shape[1]
        if any_active:
            # Both parities' neighbour tables into shared memory: read once per block, broadcast per thread.
            i = tid
            while i < 2 * n_nbr:
                q = 1 if i >= n_nbr else 0
                nbr_delta[np.uint64(i)] = tile_delta[q, np.uint64(i - q * n_nbr)]
                nbr_weight[np.uint64(i)] = w[q, np.uint64(i - q * n_nbr)]
                i += THREADS
            cuda.syncthreads()
        c = c0 + tx
        if c >= C:
            return
        key = keys[np.uint64(b)]
        prow = params[b]
        for j in range(CELLS_Y):
            ly = ty + j * THREADS_Y
            r = r0 + ly
            if r >= R:
                return
            inp = 0
            near = 0
            if any_active:
                # Skip the pull for a row of cells with no active cell within reach.
                q = ly
                while q <= ly + 2 * HALO:
                    near |= row_active[np.uint64(q)]
                    q += 1
            if near:
                centre = (ly + HALO) * SHARED_X + tx + HALO
                first = (r & 1) * n_nbr
                for kk in range(first, first + n_nbr):
                    if tile[np.uint64(centre + nbr_delta[np.uint64(kk)])]:
                        inp += nbr_weight[np.uint64(kk)]
            cell = r * C + c
            i = np.uint64(b * R * C + cell)
            now = step(state, plane, i, t, inp, key, cell, site, prow, table)
            if now < 0:
                continue
            flags_out[np.uint64(block_base + (ly + HALO) * padded_cols + tx + HALO)] = now & flag_mask
            if ca_alpha_q30 > 0:
                ca[i] = calcium_step(ca[i], now >> lit_shift, ca_alpha_q30)

    @cuda.jit
    def advance_clock_kernel(clock, n_steps):
        """``clock[0] += n_steps`` (one thread), after a block of step launches."""
        if cuda.grid(1) == 0:
            clock[0] += n_steps

    readout_kernel = build_readout_kernel(pixel_value)

    return SimpleNamespace(init_kernel=init_kernel, seed_kernel=seed_kernel, flags_kernel=flags_kernel,
                           step_kernel=step_kernel,
                           advance_clock_kernel=advance_clock_kernel, readout_kernel=readout_kernel)


def build_readout_kernel(pixel_value):
    """The readout kernel around a compiled ``pixel_value`` (:func:`wavesim.kernels.readout.build_readout`)."""

    @cuda.jit
    def readout_kernel(out, t, state, shape, ca, use_calcium, params, pixel_ptr, cell_rows, cell_cols):
        """Frame at the end of step ``t`` into ``out`` (B, H, W) uint8 (grid: pixels, batch)."""
        pix = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        b = cuda.blockIdx.y
        H = out.shape[1]
        W = out.shape[2]
        if pix >= H * W:
            return
        R = shape[1]
        C = shape[2]
        plane = shape[0] * R * C
        y = pix // W
        out[b, y, pix - y * W] = pixel_value(state, plane, b, pix, t, ca, use_calcium, params[b], pixel_ptr,
                                             cell_rows, cell_cols, R, C)

    return readout_kernel


def _no_seed(state, plane, base, key, site, prow, table):
    """A rule's ``seed`` where it has none: nothing to start once per retina."""
    return -1


def _kernel(launch_bounds):
    # Numba's CUDA simulator takes no launch bounds: they only steer the register allocation of ptxas.
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return cuda.jit
    return cuda.jit(launch_bounds=launch_bounds)


def padded_flags_shape(batch: int, rows: int, cols: int) -> tuple[int, int, int]:
    """Shape of the activity-flag buffers: whole tiles plus a zero border of HALO."""
    n_y, n_x = step_grid(rows, cols)
    return (batch, n_y * TILE_Y + 2 * HALO, n_x * TILE_X + 2 * HALO)


def step_grid(rows: int, cols: int) -> tuple[int, int]:
    """Tiles of the step kernel along y and x."""
    return (rows + TILE_Y - 1) // TILE_Y, (cols + TILE_X - 1) // TILE_X


def pull_weights(dr: np.ndarray, dc: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weights (2, K) for pulling: entry ``[p, k]`` is what the neighbour at offset ``k`` of a row of parity ``p`` pushes.

    The CPU pushes ``w[q, k]`` from a cell in a row of parity ``q`` to the cell
    at its offset ``k``; a pull must add, for each neighbour, the weight that
    neighbour pushes back along the reverse offset. Symmetric weights (the
    amacrine model's overlaps) come out unchanged; direction bit masks (the
    directional model's ``1 << k``) come out as the opposite directions.
    """
    out = np.empty_like(w)
    for p in (0, 1):
        for k in range(dr.shape[1]):
            q = (p + int(dr[p, k])) % 2
            back = np.nonzero((dr[q] == -dr[p, k]) & (dc[q] == -dc[p, k]))[0]
            if back.size != 1:
                raise ValueError("neighbour tables must hold the reverse of every offset exactly once")
            out[p, k] = w[q, back[0]]
    return out


def tile_offsets(dr: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """Neighbour offsets (2, K) as steps in the flattened shared tile."""
    if max(np.abs(dr).max(), np.abs(dc).max()) > HALO:
        raise ValueError(f"neighbour reach exceeds the kernel halo of {HALO} cells")
    if 2 * dr.shape[1] > MAX_NEIGHBOURS:
        raise ValueError(f"{dr.shape[1]} neighbours per cell exceed the kernel's {MAX_NEIGHBOURS // 2}")
    return (dr * SHARED_X + dc).astype(np.int32)
