"""The backend conformance suite, for every model and engine (needs pytest).

A model's tests subclass :class:`ConformanceSuite` once, naming the model and
parameters under which a tiny sheet is active within a few steps; pytest
then runs every check on every registered engine that runs the model: each
engine is held to the model's NumPy reference (state, cell for cell) and to
a NumPy readout of that reference's activity (binary and calcium frames),
so an engine cannot agree with another by sharing a bug with it::

    from wavesim.testing import ConformanceSuite

    class TestMyModelConformance(ConformanceSuite):
        model = "my-model"

        @staticmethod
        def active_params():
            return [MyParams(rate_hz=5.0), MyParams(rate_hz=9.0)]

``WAVESIM_CONFORMANCE_BACKENDS`` (comma-separated, default every registered
engine) picks the engines; ``cuda`` is skipped where no GPU (or Numba's
CUDA simulator, ``NUMBA_ENABLE_CUDASIM=1``) is usable. Lattices and step
counts are tiny: the simulator runs a few steps a second.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from .backends import cuda_status, list_engines
from .errors import ParameterError
from .kernels.random import retina_keys
from .lattice import Retina
from .models import get_model
from .readout import Readout
from .simulate import Simulation

#: Under Numba's CUDA simulator (a few steps a second) the state is checked on both shapes but each readout on
#: one of them: the step kernel does not depend on the readout, and each readout kernel runs on one shape.
UNDER_SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
SHAPE_KIND = ([("rectangle", "binary"), ("disc", "calcium")] if UNDER_SIMULATOR else
              [(shape, kind) for shape in ("disc", "rectangle") for kind in ("binary", "calcium")])


def conformance_backends() -> list:
    """The engines to check, as pytest parameters (``cuda`` skipped where unusable)."""
    wanted = os.environ.get("WAVESIM_CONFORMANCE_BACKENDS", ",".join(list_engines())).split(",")
    out = []
    for name in wanted:
        marks = []
        if name == "cuda":
            usable, reason = cuda_status()
            marks = [pytest.mark.skipif(not usable, reason=f"no usable CUDA GPU: {reason}")]
        out.append(pytest.param(name, marks=marks, id=name))
    return out


class ConformanceSuite:
    """The checks every engine must pass for a model; subclass it with ``model`` and ``active_params``."""

    #: The registered model's name.
    model: str = ""
    seeds = (3, 4)
    steps = 12
    retinas = {
        "rectangle": Retina(width_um=420, height_um=250),
        "disc": Retina(width_um=420, height_um=300, shape="disc"),
    }

    @staticmethod
    def active_params() -> list:
        """One parameter set per seed, under which a few hundred cells are active within ``steps`` frame periods."""
        raise NotImplementedError("a ConformanceSuite names parameters that make a tiny sheet active")

    @property
    def frame_unit_s(self) -> float:
        """The shortest frame period the checks read: one model step, or 1 ms where steps are shorter."""
        return max(self.active_params()[0].dt_s, 0.001)

    @pytest.fixture(params=conformance_backends())
    def backend(self, request):
        if request.param not in get_model(self.model).backends:
            pytest.skip(f"backend {request.param} does not run model {self.model}")
        return request.param

    def _sim(self, backend, shape="rectangle", kind="binary", frame_periods=2.0):
        # Frame periods in units of frame_unit_s: of 0.025 s steps, 2 and 2.4 give steps between frames that vary.
        readout = Readout(um_per_pixel=30, frame_period_s=frame_periods * self.frame_unit_s, kind=kind,
                          calcium_tau_s=0.1)
        return Simulation(self.active_params(), list(self.seeds), retina=self.retinas[shape], readout=readout,
                          backend=backend)

    @staticmethod
    def _frames(sim, n, chunk):
        return np.concatenate([sim.to_host(c) for _, c in sim.frames(n, chunk)], axis=1)

    def test_same_seeds_give_the_same_state_and_frames(self, backend):
        runs = []
        for _ in range(2):
            sim = self._sim(backend)
            sim.advance(self.steps)
            runs.append((sim.state(), self._frames(sim, 3, 2)))
        (state_a, frames_a), (state_b, frames_b) = runs
        assert all(np.array_equal(state_a[k], state_b[k]) for k in state_a)
        assert np.array_equal(frames_a, frames_b) and frames_a.any()

    def test_advance_zero_changes_nothing(self, backend):
        sim = self._sim(backend)
        sim.advance(self.steps // 2)
        before, frame_before = sim.state(), sim.to_host(sim.frame())
        sim.advance(0)
        assert sim.step == self.steps // 2
        after = sim.state()
        assert all(np.array_equal(before[k], after[k]) for k in before)
        assert np.array_equal(frame_before, sim.to_host(sim.frame()))

    def test_state_is_a_copy_with_one_int32_plane_per_field(self, backend):
        sim = self._sim(backend)
        sim.advance(2)
        state = sim.state()
        fields = get_model(self.model).state_fields
        assert tuple(state) == fields
        B, (R, C) = len(self.seeds), sim.lattice.shape
        assert all(v.dtype == np.int32 and v.shape == (B, R, C) for v in state.values())
        for v in state.values():
            v += 7
        again = sim.state()
        assert all(not np.array_equal(state[k], again[k]) for k in fields)

    def test_frames_do_not_depend_on_how_they_are_chunked_or_read(self, backend):
        # Frames 2.4 steps apart: frame k is at step floor(2.4 k), so the steps between frames vary.
        one_by_one = self._sim(backend, frame_periods=2.4)
        chunked = self._sim(backend, frame_periods=2.4)
        a = self._frames(one_by_one, 5, 1)
        b = self._frames(chunked, 5, 3)
        assert np.array_equal(a, b) and a.any()
        manual = self._sim(backend, frame_periods=2.4)
        for k in range(5):
            manual.advance(int(np.floor(k * manual.readout.frame_period_s / manual.dt_s + 1e-9)) - manual.step)
            assert np.array_equal(manual.to_host(manual.frame()), a[:, k])

    @pytest.mark.parametrize("shape,kind", SHAPE_KIND)
    def test_state_and_frames_equal_the_model_reference(self, backend, shape, kind):
        if shape not in self.retinas:
            # A model that runs on fewer sheets checks each readout on the ones it has.
            other = next(iter(self.retinas))
            if (other, kind) in SHAPE_KIND:
                pytest.skip(f"model {self.model} runs on {sorted(self.retinas)} sheets only")
            shape = other
        sim = self._sim(backend, shape, kind, frame_periods=1.0)
        model = get_model(self.model)
        tables = model.tables(sim.lattice)
        refs = [model.reference(sim.lattice, row, key, tables) for row, key in
                zip(model.quantise(sim.params), retina_keys(sim.seeds))]
        alpha_q30 = max(1, round(min(1.0, sim.dt_s / sim.readout.calcium_tau_s) * 2**30))
        ca = [np.zeros(sim.lattice.shape, np.int64) for _ in refs]
        active_cells = 0
        ref_step = sim.step
        for _, chunk in sim.frames(self.steps, 1):
            for _ in range(sim.step - ref_step):  # one step a frame, or more where steps are shorter than 1 ms
                for b, ref in enumerate(refs):
                    ref.step()
                    if kind == "calcium":
                        target = ref.active().astype(np.int64) << 16
                        ca[b] = np.where(ref.exists, ca[b] + (((target - ca[b]) * alpha_q30 + (1 << 29)) >> 30), 0)
            ref_step = sim.step
            state = sim.state()
            frame = sim.to_host(chunk)[:, 0]
            for b, ref in enumerate(refs):
                expected = ref.state()
                for name in expected:
                    assert np.array_equal(state[name][b], expected[name]), (name, b, sim.step)
                assert np.array_equal(frame[b], reference_frame(sim, ref.active(),
                                                                ca[b] if kind == "calcium" else None))
                active_cells += int(ref.active().sum())
        assert active_cells > 20  # the comparison covered real activity, not a silent sheet


    def test_graded_frames_equal_the_model_reference(self, backend):
        model = get_model(self.model)
        if model.graded_readout is None:
            with pytest.raises(ParameterError, match=f"model '{self.model}' has no graded readout"):
                self._sim(backend, next(iter(self.retinas)), "graded")
            return
        sim = self._sim(backend, next(iter(self.retinas)), "graded", frame_periods=1.0)
        tables = model.tables(sim.lattice)
        refs = [model.reference(sim.lattice, row, key, tables) for row, key in
                zip(model.quantise(sim.params), retina_keys(sim.seeds))]
        ref_step = sim.step
        for _, chunk in sim.frames(self.steps // 2, 1):
            for _ in range(sim.step - ref_step):
                for ref in refs:
                    ref.step()
            ref_step = sim.step
            frame = sim.to_host(chunk)[:, 0]
            for b, ref in enumerate(refs):
                # the graded value averages over a pixel as the filtered calcium does (both 2**-16)
                assert np.array_equal(frame[b], reference_frame(sim, None, ref.value())), (b, sim.step)
        assert frame.max() > 1  # graded values, not 0/1 activity


def reference_frame(sim, active, ca_q16) -> np.ndarray:
    """A frame of one retina from per-cell activity (bool) or calcium (2**-16), as the readout defines frames."""
    pm = sim.pixel_map
    H, W = sim.frame_shape
    out = np.zeros(H * W, np.uint8)
    for pix in range(H * W):
        rows = pm.cell_rows[pm.pixel_ptr[pix]:pm.pixel_ptr[pix + 1]]
        cols = pm.cell_cols[pm.pixel_ptr[pix]:pm.pixel_ptr[pix + 1]]
        n = rows.size
        if n == 0:
            continue
        if ca_q16 is not None:
            out[pix] = (int(ca_q16[rows, cols].sum()) * 255 + (n << 15)) // (n << 16)
        else:
            out[pix] = 1 if 2 * int(active[rows, cols].sum()) >= n else 0
    return out.reshape(H, W)
