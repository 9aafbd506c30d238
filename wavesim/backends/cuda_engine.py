"""State and stepping of a batch of retinas on a CUDA GPU (or Numba's CUDA simulator).

State lives in CuPy arrays; the kernels get zero-copy Numba views of them
made without the implicit stream synchronisation of
``__cuda_array_interface__``. Under ``NUMBA_ENABLE_CUDASIM=1`` the same
kernels run on NumPy arrays, which is how CI checks them without a GPU.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import BackendUnavailableError


class CUDAEngine:
    """A batch of retinas in GPU memory; same interface as :class:`~wavesim.backends.cpu_engine.CPUEngine`."""

    name = "cuda"

    def __init__(self, lattice_tables, params, keys, calcium_alpha_q30, pixel_map):
        try:
            from numba import cuda

            from ..kernels import step as kernels
        except ImportError as exc:
            raise BackendUnavailableError(
                f"backend 'cuda' needs numba-cuda: {exc}. Install wavesim[cuda12] or wavesim[cuda13]."
            ) from exc
        self._cuda = cuda
        self._k = kernels
        self.simulated = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
        if self.simulated:
            self.xp = np
        else:
            import cupy

            self.xp = cupy
        xp = self.xp
        tables = dict(lattice_tables)
        tables["tile_delta"] = kernels.tile_offsets(tables.pop("dr"), tables.pop("dc"))
        self.tables = {k: self._dev(xp.asarray(np.ascontiguousarray(v))) for k, v in tables.items()}
        self.params = self._dev(xp.asarray(np.ascontiguousarray(params, dtype=np.int64)))
        self.keys = self._dev(xp.asarray(np.ascontiguousarray(keys, dtype=np.uint64)))
        self.calcium_alpha_q30 = int(calcium_alpha_q30)
        self.pixel_ptr = self._dev(xp.asarray(pixel_map.pixel_ptr))
        self.cell_rows = self._dev(xp.asarray(pixel_map.cell_rows))
        self.cell_cols = self._dev(xp.asarray(pixel_map.cell_cols))
        self.n_pixels = pixel_map.height_px * pixel_map.width_px
        B = params.shape[0]
        R, C = lattice_tables["frac"].shape
        self.shape = (B, R, C)
        self._arrays = {k: xp.empty(self.shape, dtype=np.int32) for k in ("onset", "exc", "thresh", "decay")}
        self._arrays["ca"] = xp.zeros(self.shape if self.calcium_alpha_q30 else (B, 1, 1), dtype=np.int32)
        self._views = {k: self._dev(v) for k, v in self._arrays.items()}
        self.grid = ((C + kernels.TILE_X - 1) // kernels.TILE_X, (R + kernels.TILE_Y - 1) // kernels.TILE_Y, B)
        self.block = (kernels.TILE_X, kernels.TILE_Y, 1)
        self.t = 0
        v, t = self._views, self.tables
        kernels.init_kernel[self.grid, self.block](
            v["onset"], v["exc"], v["thresh"], v["decay"], v["ca"], self.keys, self.params, t["frac"], t["table"]
        )

    def _dev(self, a):
        if self.simulated:
            return a
        return self._cuda.as_cuda_array(a, sync=False)

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps: one kernel launch each."""
        v, tb = self._views, self.tables
        launch = self._k.step_kernel[self.grid, self.block]
        for _ in range(max(0, n_steps)):
            self.t += 1
            launch(
                self.t, v["onset"], v["exc"], v["thresh"], v["decay"], v["ca"], self.calcium_alpha_q30,
                self.keys, self.params, tb["frac"], tb["tile_delta"], tb["w"], tb["table"],
            )

    def read_frame(self, out) -> None:
        """Write the current frame of every retina into ``out`` (B, H, W) uint8 on the device."""
        threads = 128
        grid = ((self.n_pixels + threads - 1) // threads, self.shape[0])
        v = self._views
        # A contiguous buffer: the simulator cannot pass strided views to kernels.
        frame = self.xp.empty(out.shape, dtype=np.uint8)
        self._k.readout_kernel[grid, threads](
            self._dev(frame), self.t, v["onset"], v["ca"], self.calcium_alpha_q30 > 0, self.params,
            self.pixel_ptr, self.cell_rows, self.cell_cols,
        )
        out[...] = frame

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays (B, R, C) as NumPy arrays."""
        return {k: self.to_host(self._arrays[k]) for k in ("onset", "exc", "thresh", "decay")}

    def to_host(self, a) -> np.ndarray:
        if self.simulated:
            return np.array(a)
        return self.xp.asnumpy(a)
