"""Backend conformance: the same tests for every registered model on every backend.

Run here for ``cpu`` and ``cpu-events``, and for ``cuda`` where a real GPU is usable (skipped
otherwise). ``tests/test_cuda_kernels.py`` runs this module again in a
process with Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, blocks
shrunk to 8 x 1 threads so that tiny lattices span several blocks), where
``cuda`` is usable and ``WAVESIM_CONFORMANCE_BACKENDS=cuda`` skips the rest.

Each backend is held to the model's NumPy reference (state, cell for cell)
and to a NumPy readout of that reference's activity (binary and calcium
frames), so a backend cannot agree with another by sharing a bug with it.
Lattices and step counts are tiny: the simulator runs a few steps a second.
"""

import os

import numpy as np
import pytest

import wavesim as ws
from wavesim.backends import cuda_status
from wavesim.kernels.random import retina_keys

#: Per model: parameters under which a few hundred cells are active within a few steps. A registered
#: model without an entry fails test_every_model_has_conformance_parameters.
ACTIVE_PARAMS = {
    "amacrine": lambda: [ws.AmacrineParams(P_s=3.0, D_s=0.2, spont_rate_hz=0.5),
                         ws.AmacrineParams(P_s=5.0, H2=0.3, D_s=0.15, tau_K_s=0.05, spont_rate_hz=0.8)],
    # Steps of 0.025 s as the amacrine model's, short refractoriness so that cells fire again within the test:
    # one wave from step 0 (with the released script's quirks) and a continuous Poisson-started sheet.
    "directional": lambda: [
        ws.DirectionalParams(dt_s=0.025, q=5.0, t_wave_s=0.025, tau_off_s=0.05, tau_iei_s=0.1, angles="unwrapped",
                             inhibition_rounding="truncate", initiation_margin_cells=1),
        ws.DirectionalParams(dt_s=0.025, q=3.0, t_wave_s=0.05, tau_on_s=0.025, tau_off_s=0.1, tau_iei_s=0.05,
                             directionality="undirectional", mode="continuous", start_rate_hz=1.0),
    ],
}
SEEDS = [3, 4]
RETINAS = {
    "rectangle": ws.Retina(width_um=420, height_um=250),
    "disc": ws.Retina(width_um=420, height_um=300, shape="disc"),
}
STEPS = 12
#: Under Numba's CUDA simulator (a few steps a second) the state is checked on both shapes but each readout on
#: one of them: the step kernel does not depend on the readout, and each readout kernel runs on one shape.
UNDER_SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
SHAPE_KIND = ([("rectangle", "binary"), ("disc", "calcium")] if UNDER_SIMULATOR else
              [(shape, kind) for shape in sorted(RETINAS) for kind in ("binary", "calcium")])


def _backends():
    wanted = os.environ.get("WAVESIM_CONFORMANCE_BACKENDS", "cpu,cpu-events,cuda").split(",")
    out = []
    for name in wanted:
        usable, reason = cuda_status() if name == "cuda" else (True, "")
        marks = [pytest.mark.gpu, pytest.mark.skipif(not usable, reason=f"no usable CUDA GPU: {reason}")] \
            if name == "cuda" else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


pytestmark = pytest.mark.parametrize("backend", _backends())
MODELS = pytest.mark.parametrize("model", ws.list_models())


@pytest.fixture(autouse=True)
def _backend_runs_model(request):
    """Skip (model, backend) pairs the model does not run on (e.g. cpu-events is amacrine only)."""
    params = request.node.callspec.params if hasattr(request.node, "callspec") else {}
    if "model" in params and "backend" in params:
        if params["backend"] not in ws.get_model(params["model"]).backends:
            pytest.skip(f"backend {params['backend']} does not run model {params['model']}")


def _sim(model, backend, shape="rectangle", kind="binary", frame_period_s=0.05, seeds=SEEDS):
    readout = ws.Readout(um_per_pixel=30, frame_period_s=frame_period_s, kind=kind, calcium_tau_s=0.1)
    return ws.Simulation(ACTIVE_PARAMS[model](), seeds, retina=RETINAS[shape], readout=readout, backend=backend)


def _frames(sim, n, chunk):
    return np.concatenate([sim.to_host(c) for _, c in sim.frames(n, chunk)], axis=1)


def test_every_model_has_conformance_parameters(backend):
    assert set(ws.list_models()) <= set(ACTIVE_PARAMS)


@MODELS
def test_same_seeds_give_the_same_state_and_frames(model, backend):
    runs = []
    for _ in range(2):
        sim = _sim(model, backend)
        sim.advance(STEPS)
        runs.append((sim.state(), _frames(sim, 3, 2)))
    (state_a, frames_a), (state_b, frames_b) = runs
    assert all(np.array_equal(state_a[k], state_b[k]) for k in state_a)
    assert np.array_equal(frames_a, frames_b) and frames_a.any()


@MODELS
def test_advance_zero_changes_nothing(model, backend):
    sim = _sim(model, backend)
    sim.advance(STEPS // 2)
    before, frame_before = sim.state(), sim.to_host(sim.frame())
    sim.advance(0)
    assert sim.step == STEPS // 2
    after = sim.state()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert np.array_equal(frame_before, sim.to_host(sim.frame()))


@MODELS
def test_state_is_a_copy_with_one_int32_plane_per_field(model, backend):
    sim = _sim(model, backend)
    sim.advance(2)
    state = sim.state()
    fields = ws.get_model(model).state_fields
    assert tuple(state) == fields
    B, (R, C) = len(SEEDS), sim.lattice.shape
    assert all(v.dtype == np.int32 and v.shape == (B, R, C) for v in state.values())
    for v in state.values():
        v += 7
    again = sim.state()
    assert all(not np.array_equal(state[k], again[k]) for k in fields)


@MODELS
def test_frames_do_not_depend_on_how_they_are_chunked_or_read(model, backend):
    # 0.06 s frames on 0.025 s steps: frame k is at step floor(2.4 k), so the steps between frames vary.
    one_by_one = _sim(model, backend, frame_period_s=0.06)
    chunked = _sim(model, backend, frame_period_s=0.06)
    a = _frames(one_by_one, 5, 1)
    b = _frames(chunked, 5, 3)
    assert np.array_equal(a, b) and a.any()
    manual = _sim(model, backend, frame_period_s=0.06)
    for k in range(5):
        manual.advance(int(np.floor(k * 0.06 / manual.dt_s + 1e-9)) - manual.step)
        assert np.array_equal(manual.to_host(manual.frame()), a[:, k])


def _references(sim, model):
    m = ws.get_model(model)
    tables = m.tables(sim.lattice)
    return [m.reference(sim.lattice, row, key, tables) for row, key in
            zip(m.quantise(sim.params), retina_keys(sim.seeds))]


def _numpy_frame(sim, active, ca_q16):
    """Frames of one retina from per-cell activity (bool) or calcium (2**-16), as the readout defines them."""
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


@MODELS
@pytest.mark.parametrize("shape,kind", SHAPE_KIND)
def test_state_and_frames_equal_the_model_reference(model, backend, shape, kind):
    sim = _sim(model, backend, shape, kind, frame_period_s=0.025)
    refs = _references(sim, model)
    alpha_q30 = max(1, round(min(1.0, sim.dt_s / sim.readout.calcium_tau_s) * 2**30))
    ca = [np.zeros(sim.lattice.shape, np.int64) for _ in refs]
    active_cells = 0
    for k, (_, chunk) in enumerate(sim.frames(STEPS, 1)):
        if k:
            for b, ref in enumerate(refs):
                ref.step()
                if kind == "calcium":
                    target = ref.active().astype(np.int64) << 16
                    ca[b] = np.where(ref.exists, ca[b] + (((target - ca[b]) * alpha_q30 + (1 << 29)) >> 30), 0)
        state = sim.state()
        frame = sim.to_host(chunk)[:, 0]
        for b, ref in enumerate(refs):
            expected = ref.state()
            for name in expected:
                assert np.array_equal(state[name][b], expected[name]), (name, b, sim.step)
            assert np.array_equal(frame[b], _numpy_frame(sim, ref.active(), ca[b] if kind == "calcium" else None))
            active_cells += int(ref.active().sum())
    assert active_cells > 20  # the comparison covered real activity, not a silent sheet
