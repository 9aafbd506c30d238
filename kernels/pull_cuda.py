"""numba-cuda kernels for rules coupled through pulled fields: the CUDA side of :mod:`wavesim.kernels.pull_cpu`.

The same rule functions as on the CPU, compiled as device functions: a
pull kernel writes every cell's neighbour sums (mirrored at the sheet's
edges) into an int32 buffer, then a step kernel advances every cell with
its sums as a tuple. One thread per cell, grid (columns, rows, batch).
Integer arithmetic and tables make the result the CPU's, bit for bit
(tested under Numba's CUDA simulator, and compiled to PTX for sm_90).
:class:`wavesim.backends.pull_engines.PullCUDAEngine` runs them; frames
come from the readout kernel of :mod:`wavesim.kernels.cuda`, on the rule's
``active`` and the calcium the step kernel filters. A tiled step kernel
could fuse the pull into shared memory (not done).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from numba import cuda

from .cuda import build_readout_kernel
from .pull_cpu import build_graded_value, build_pull_helpers
from .readout import build_readout

THREADS_X, THREADS_Y = 16, 8

SIGNATURES = {
    "init_kernel": "void(int32[::1], int64[::1], uint64[::1], int64[:,::1], int32[::1], int32[::1])",
    "pull_kernel": "void(int32[::1], int64[::1], int32[::1], int64[::1], int32[::1], int32[::1], int32[:,::1])",
    "step_kernel": "void(int32[::1], int64[::1], int32[::1], int64, int32[::1], int64, uint64[::1], int64[:,::1], "
    "int32[::1], int32[::1])",
    "readout_kernel": "void(uint8[:,:,::1], int64, int32[::1], int64[::1], int32[::1], boolean, int64[:,::1], "
    "int64[::1], int32[::1], int32[::1])",
    "readout_graded_kernel": "void(uint8[:,:,::1], int64, int32[::1], int64[::1], int32[::1], boolean, int64[:,::1], "
    "int64[::1], int32[::1], int32[::1])",
}


def build_pull_cuda_kernels(build_rule):
    """``init_kernel``, ``pull_kernel``, ``step_kernel`` and ``readout_kernel`` of a rule with ``pull_fields``.

    ``shape`` is an int64 device array ``(B, R, C)``; ``fields`` holds the
    rule's ``pull_fields``; ``inp`` is (F, B, R, C) int32 scratch; the step
    kernel filters the flat calcium ``ca`` where ``ca_alpha_q30 > 0``.
    """
    device = cuda.jit(device=True, inline=True)
    rule = build_rule(device)
    init, step = rule.init, rule.step
    readout_fns = build_readout(device, rule.active)
    calcium_step = readout_fns.calcium_step
    n_fields = len(rule.pull_fields)
    mirror, inputs = build_pull_helpers(device, n_fields)

    @device
    def cell_of(shape):
        """(b, r, c) of this thread's cell, and whether the cell lies on the sheet."""
        c = cuda.blockIdx.x * THREADS_X + cuda.threadIdx.x
        r = cuda.blockIdx.y * THREADS_Y + cuda.threadIdx.y
        return cuda.blockIdx.z, r, c, r < shape[1] and c < shape[2]

    @cuda.jit
    def init_kernel(state, shape, keys, params, site, table):
        b, r, c, inside = cell_of(shape)
        if not inside:
            return
        R = shape[1]
        C = shape[2]
        cell = r * C + c
        init(state, np.uint64(shape[0] * R * C), np.uint64(b * R * C + cell), keys[b], cell, site, params[b], table)

    @cuda.jit
    def pull_kernel(state, shape, inp, fields, pull_dr, pull_dc, pull_w):
        b, r, c, inside = cell_of(shape)
        if not inside:
            return
        R = shape[1]
        C = shape[2]
        plane = shape[0] * R * C
        base = b * R * C
        for f in range(n_fields):
            src = fields[f] * plane + base
            total = np.int64(0)
            for k in range(pull_dr.shape[0]):
                rr = mirror(r + pull_dr[k], R)
                cc = mirror(c + pull_dc[k], C)
                total += np.int64(pull_w[f, k]) * np.int64(state[src + rr * C + cc])
            inp[f * plane + base + r * C + c] = total

    @cuda.jit
    def step_kernel(state, shape, inp, t, ca, ca_alpha_q30, keys, params, site, table):
        b, r, c, inside = cell_of(shape)
        if not inside:
            return
        R = shape[1]
        C = shape[2]
        plane = np.uint64(shape[0] * R * C)
        cell = r * C + c
        i = np.uint64(b * R * C + cell)
        now = step(state, plane, i, t, inputs(inp, plane, i), keys[b], cell, site, params[b], table)
        if now >= 0 and ca_alpha_q30 > 0:
            ca[i] = calcium_step(ca[i], now, ca_alpha_q30)

    graded_value = build_graded_value(device, rule.value)

    return SimpleNamespace(init_kernel=init_kernel, pull_kernel=pull_kernel, step_kernel=step_kernel,
                           readout_kernel=build_readout_kernel(readout_fns.pixel_value),
                           readout_graded_kernel=build_readout_kernel(graded_value),
                           n_fields=n_fields, fields=np.array(rule.pull_fields, dtype=np.int64))


def run_on_device(kernels, rows: int, cols: int, prows, keys, tables: dict, n_state_fields: int, n_steps: int,
                  state0=None):
    """Run ``n_steps`` steps of a batch on the device from its initial state (or ``state0``); return the state.

    ``state0`` and the result are flat (S, B, R, C) int32 host arrays. A
    plain driver (host arrays copied once each way) for tests and the
    simulator; the engines of phase 2 keep the state on the device.
    """
    B = len(prows)
    shape = cuda.to_device(np.array([B, rows, cols], dtype=np.int64))
    start = np.zeros(n_state_fields * B * rows * cols, dtype=np.int32) if state0 is None else state0
    state = cuda.to_device(np.ascontiguousarray(start, dtype=np.int32))
    inp = cuda.to_device(np.zeros(kernels.n_fields * B * rows * cols, dtype=np.int32))
    keys_d = cuda.to_device(np.ascontiguousarray(keys, dtype=np.uint64))
    params = cuda.to_device(np.ascontiguousarray(prows, dtype=np.int64))
    site = cuda.to_device(np.ascontiguousarray(tables["site"].reshape(-1), dtype=np.int32))
    table = cuda.to_device(np.ascontiguousarray(tables["table"], dtype=np.int32))
    fields = cuda.to_device(kernels.fields)
    no_calcium = cuda.to_device(np.zeros(1, dtype=np.int32))
    pull = [cuda.to_device(np.ascontiguousarray(tables[k], dtype=np.int32)) for k in ("pull_dr", "pull_dc", "pull_w")]
    grid = ((cols + THREADS_X - 1) // THREADS_X, (rows + THREADS_Y - 1) // THREADS_Y, B)
    block = (THREADS_X, THREADS_Y, 1)
    if state0 is None:
        kernels.init_kernel[grid, block](state, shape, keys_d, params, site, table)
    for t in range(1, n_steps + 1):
        kernels.pull_kernel[grid, block](state, shape, inp, fields, *pull)
        kernels.step_kernel[grid, block](state, shape, inp, t, no_calcium, 0, keys_d, params, site, table)
    return state.copy_to_host()
