"""State and stepping of a batch of retinas on a CUDA GPU (or Numba's CUDA simulator).

State lives in CuPy arrays; the kernels get zero-copy Numba views of them
made without the implicit stream synchronisation of
``__cuda_array_interface__``. Under ``NUMBA_ENABLE_CUDASIM=1`` the same
kernels run on NumPy arrays, which is how CI checks them without a GPU.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings

import numpy as np

from ..errors import BackendUnavailableError, ParameterError
from .engine import Engine

#: Steps per captured CUDA graph.
GRAPH_STEPS = 64
#: Cells per launch where a run does not say: on an H100, 16.8 M cells ran at 4.0e10 cell-updates/s against
#: 3.5e10 at 4.2 M (benchmarks/results_h100.txt).
FILL_CELLS = 1 << 24
#: Retinas per launch at most (the grid's z extent is 65,535).
MAX_BATCH = 4096


@functools.lru_cache(maxsize=None)
def cuda_kernels(model):
    """The model's batched CUDA kernels, built once per process (compiled at their first launch)."""
    from ..kernels.cuda import build_cuda_kernels

    return build_cuda_kernels(model.build_rule)


class CUDAEngine(Engine):
    """A batch of retinas in GPU memory (one launch per step for the whole batch)."""

    name = "cuda"

    @classmethod
    def default_batch_size(cls, cells_per_retina: int) -> int:
        """Enough retinas to fill the GPU: about 16.8 million cells per launch, at most 4,096 retinas."""
        return max(1, min(MAX_BATCH, -(-FILL_CELLS // max(1, cells_per_retina))))

    def __init__(self, model, tables, params, keys, calcium_alpha_q30, pixel_map):
        try:
            from numba import cuda

            from ..kernels import cuda as layout
        except ImportError as exc:
            raise BackendUnavailableError(
                f"backend 'cuda' needs numba-cuda: {exc}. Install wavesim[cuda12] or wavesim[cuda13]."
            ) from exc
        self._k = cuda_kernels(model)
        self._readout_kernel = self._k.readout_kernel
        tables = dict(tables)
        site = np.ascontiguousarray(tables.pop("site"))
        self._device_arrays(cuda, model, site.shape, params, keys, calcium_alpha_q30, pixel_map)
        xp = self.xp
        dr, dc = tables.pop("dr"), tables.pop("dc")
        tables["w"] = layout.pull_weights(dr, dc, tables["w"])
        tables["tile_delta"] = layout.tile_offsets(dr, dc)
        self.tables = {k: self._dev(xp.asarray(np.ascontiguousarray(v))) for k, v in tables.items()}
        B, R, C = self.shape
        flag_shape = layout.padded_flags_shape(*self.shape)
        self._shape_dev = self._dev(xp.asarray(np.array([*self.shape, *flag_shape[1:]], dtype=np.int64)))
        # Both flag buffers start at zero; the init kernel sets the cells that spread at t = 0 in the one
        # that step 1 reads.
        self._flag_arrays = [xp.zeros(int(np.prod(flag_shape)), dtype=np.uint8) for _ in range(2)]
        self._flags = [self._dev(a) for a in self._flag_arrays]
        self.tables["site"] = self._dev(xp.asarray(site.reshape(-1)))
        tiles_y, tiles_x = layout.step_grid(R, C)
        self.grid = (tiles_x, tiles_y, B)
        self.block = (layout.THREADS_X, layout.THREADS_Y, 1)
        init_grid = ((C + layout.THREADS_X - 1) // layout.THREADS_X, (R + layout.THREADS_Y - 1) // layout.THREADS_Y, B)
        self._cell_grid = init_grid
        self._clock_array = xp.zeros(1, dtype=np.int64)
        self.clock = self._dev(self._clock_array)
        self._launched = False
        self._step_graphs = {}
        self.t = 0
        with _quiet_grid_warnings():
            self._k.init_kernel[init_grid, self.block](
                self._state_flat, self._shape_dev, self.keys, self.params, self.tables["site"], self.tables["table"],
                self._flags[0],
            )
            self._k.seed_kernel[(B + 31) // 32, 32](
                self._state_flat, self._shape_dev, self.keys, self.params, self.tables["site"], self.tables["table"],
                self._flags[0],
            )

    def _device_arrays(self, cuda, model, sheet_shape, params, keys, calcium_alpha_q30, pixel_map) -> None:
        """The arrays every CUDA engine keeps on the device: parameters, keys, pixel map, state and calcium."""
        self.model = model
        self._cuda = cuda
        self.simulated = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
        if self.simulated:
            self.xp = np
        else:
            import cupy

            self.xp = cupy
        xp = self.xp
        self.params = self._dev(xp.asarray(np.ascontiguousarray(params, dtype=np.int64)))
        self.keys = self._dev(xp.asarray(np.ascontiguousarray(keys, dtype=np.uint64)))
        self.calcium_alpha_q30 = int(calcium_alpha_q30)
        self.pixel_ptr = self._dev(xp.asarray(pixel_map.pixel_ptr))
        self.cell_rows = self._dev(xp.asarray(pixel_map.cell_rows))
        self.cell_cols = self._dev(xp.asarray(pixel_map.cell_cols))
        self.n_pixels = pixel_map.height_px * pixel_map.width_px
        B = params.shape[0]
        R, C = sheet_shape
        self.shape = (B, R, C)
        self.state_array = xp.empty((len(model.state_fields), B, R, C), dtype=np.int32)
        self._state_flat = self._dev(self.state_array.reshape(-1))
        self._ca_array = xp.zeros(B * R * C if self.calcium_alpha_q30 else 1, dtype=np.int32)
        self._ca = self._dev(self._ca_array)

    def _dev(self, a):
        if self.simulated:
            return a
        return self._cuda.as_cuda_array(a, sync=False)

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps: one kernel launch each, replayed from CUDA graphs.

        Launching a Numba kernel from Python costs about 100 us, more than a
        step of 4 M cells takes on an H100, so steps run from captured graphs
        of ``GRAPH_STEPS`` launches, plus one graph per shorter count (such as
        the steps between two frames), each captured once.
        """
        n = max(0, int(n_steps))
        if n and not self._launched:
            # The first launch loads the module, which is not allowed while capturing a graph.
            self._enqueue(1, 0)
            self._launched = True
            n -= 1
        if self.simulated:
            self._enqueue(n, 0)
            return
        while n > 0:
            count = min(n, GRAPH_STEPS)
            self._graph(count).launch()
            self.t += count
            n -= count

    def _enqueue(self, n_steps: int, stream) -> None:
        """Queue ``n_steps`` step launches and the clock update on ``stream``."""
        if n_steps <= 0:
            return
        tb = self.tables
        with _quiet_grid_warnings():
            launch = self._k.step_kernel[self.grid, self.block, stream]
            for k in range(1, n_steps + 1):
                launch(
                    self.clock, k, self._shape_dev, self._flags[0], self._flags[1], self._state_flat, self._ca,
                    self.calcium_alpha_q30, self.keys, self.params, tb["site"], tb["tile_delta"], tb["w"],
                    tb["table"],
                )
            self._k.advance_clock_kernel[1, 1, stream](self.clock, n_steps)
        self.t += n_steps

    def _graph(self, n_steps: int):
        """The graph of ``n_steps`` step launches and the clock update, captured on first use."""
        if n_steps not in self._step_graphs:
            capture = self.xp.cuda.Stream(non_blocking=False)
            t_before = self.t
            capture.begin_capture()
            try:
                self._enqueue(n_steps, self._cuda.external_stream(capture.ptr))
            finally:
                self._step_graphs[n_steps] = capture.end_capture()
            self.t = t_before  # capturing ran nothing
        return self._step_graphs[n_steps]

    def read_frame(self, out, pixel_map=None) -> None:
        """Write the current frame of every retina into ``out`` (B, H, W) uint8 on the device."""
        if pixel_map is not None:
            raise ParameterError("the cuda engine reads whole frames only (reads_pixel_subsets is False).")
        threads = 128
        grid = ((self.n_pixels + threads - 1) // threads, self.shape[0])
        # A contiguous buffer: the simulator cannot pass strided views to kernels.
        frame = self.xp.empty(out.shape, dtype=np.uint8)
        with _quiet_grid_warnings():
            self._readout_kernel[grid, threads](
                self._dev(frame), self.t, self._state_flat, self._shape_dev, self._ca, self.calcium_alpha_q30 > 0,
                self.params, self.pixel_ptr, self.cell_rows, self.cell_cols,
            )
        out[...] = frame

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state fields, each (B, R, C) int32 NumPy, by name."""
        host = self.to_host(self.state_array)
        return {name: host[s].copy() for s, name in enumerate(self.model.state_fields)}

    def export(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The complete state at step ``t``: fields (S, B, R, C) int32 and calcium (B, R, C) int32 or None, on the host."""
        fields = self.to_host(self.state_array).copy()
        ca = self.to_host(self._ca_array).reshape(self.shape).copy() if self.calcium_alpha_q30 else None
        return fields, ca

    def load(self, fields: np.ndarray, ca: np.ndarray | None, t: int) -> None:
        """Replace the state by one exported at step ``t`` (on any backend), with the flags step ``t + 1`` reads."""
        self._load_arrays(fields, ca, t)
        self._clock_array[...] = self.t
        for a in self._flag_arrays:
            a[...] = 0
        # Step t + 1 reads the flags of t from buffer 0 when t is even (see step_kernel), and rewrites the other.
        with _quiet_grid_warnings():
            self._k.flags_kernel[self._cell_grid, self.block](
                self._state_flat, self._shape_dev, self.params, self.t, self._flags[self.t & 1],
            )

    def _load_arrays(self, fields: np.ndarray, ca: np.ndarray | None, t: int) -> None:
        """The state fields and calcium of an export onto the device, and the step count."""
        xp = self.xp
        self.state_array[...] = xp.asarray(np.ascontiguousarray(fields, dtype=np.int32))
        if self.calcium_alpha_q30:
            self._ca_array[...] = xp.asarray(np.ascontiguousarray(ca, dtype=np.int32).reshape(-1))
        self.t = int(t)

    def to_host(self, a) -> np.ndarray:
        if self.simulated:
            return np.array(a)
        return self.xp.asnumpy(a)


@contextlib.contextmanager
def _quiet_grid_warnings():
    """Silence numba-cuda's small-grid performance warning for these launches only (small lattices are legitimate)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Grid size .* will likely result in GPU under-utilization")
        yield
