import numpy as np
import pytest

import wavesim as ws
from wavesim.errors import ParameterError
from helpers import fast_params

SMALL = ws.Retina(width_um=600, height_um=600)


def _movie(seeds, params=None, readout=None, chunk=7, n=30, backend="cpu"):
    sim = ws.Simulation(params or fast_params(), seeds=seeds, retina=SMALL,
                        readout=readout or ws.Readout(um_per_pixel=30, frame_period_s=0.1), backend=backend)
    sim.advance(200)
    return np.concatenate([c for _, c in sim.frames(n, chunk)], axis=1)


def test_same_seed_same_bytes_and_other_seed_differs():
    a = _movie([5])
    b = _movie([5])
    c = _movie([6])
    assert a.tobytes() == b.tobytes()
    assert a.any() and not np.array_equal(a, c)


def test_retina_does_not_depend_on_its_batch_or_chunking():
    alone = _movie([5], chunk=30)
    batched = _movie([9, 5, 3], chunk=4)
    assert np.array_equal(alone[0], batched[1])


def test_each_batch_element_carries_its_own_parameters():
    quiet = ws.AmacrineParams(P_s=2000.0)
    mixed = _movie([5, 5], params=[fast_params(), quiet])
    assert np.array_equal(mixed[0], _movie([5])[0])
    assert mixed[1].sum() == 0  # thresholds of 0.5..5 take > 250 s to decay with P = 2000 s


def test_frame_times_follow_the_frame_period_not_dt():
    sim = ws.Simulation(fast_params(), seeds=[1], retina=SMALL,
                        readout=ws.Readout(um_per_pixel=30, frame_period_s=0.1), backend="cpu")
    list(sim.frames(11))
    assert sim.step == 40  # frame 10 at 1.0 s = step 40


def test_calcium_readout_is_smooth_and_scaled():
    ro = ws.Readout(um_per_pixel=30, frame_period_s=0.1, kind="calcium", calcium_tau_s=0.5, blur_um=30)
    ca = _movie([5], readout=ro, n=60)
    binary = _movie([5], n=60)
    assert ca.max() <= 255 and ca.max() > 50
    # Calcium rises where cells are active and decays after.
    assert ca[binary > 0].mean() > ca[binary == 0].mean()


def test_bad_simulation_arguments():
    with pytest.raises(ParameterError, match="params holds 2 parameter sets but seeds holds 1"):
        ws.Simulation([fast_params(), fast_params()], seeds=[1], retina=SMALL, backend="cpu")
    with pytest.raises(ParameterError, match=r"seeds must be an integer in \[0, 2\*\*63\), got -1"):
        ws.Simulation(fast_params(), seeds=[-1], retina=SMALL, backend="cpu")
    with pytest.raises(ParameterError, match="backend must be one of"):
        ws.Simulation(fast_params(), seeds=[1], retina=SMALL, backend="tpu")
    with pytest.raises(ParameterError, match="all retinas of a batch must share dt_s"):
        ws.Simulation([fast_params(), fast_params(dt_s=0.01)], seeds=[1, 2], retina=SMALL, backend="cpu")
    with pytest.raises(ParameterError, match="um_per_pixel = 5000.0 is larger than the retina"):
        ws.Simulation(fast_params(), seeds=[1], retina=SMALL,
                      readout=ws.Readout(um_per_pixel=5000), backend="cpu")


def _largest_wave(movie, um_per_pixel, frame_period_s):
    from scipy import ndimage

    lab, n = ndimage.label(movie, structure=np.ones((3, 3, 3)))
    sizes = np.bincount(lab.ravel())[1:]
    wave = lab == (np.argmax(sizes) + 1)
    onset = np.where(wave.any(0), wave.argmax(0), -1)
    ys, xs = np.nonzero(onset >= 0)
    t = onset[ys, xs] * frame_period_s
    first = t <= t.min() + frame_period_s
    y0, x0 = ys[first].mean(), xs[first].mean()
    dist = np.hypot(ys - y0, xs - x0) * um_per_pixel
    late = t - t.min() >= 2.0
    speed = np.median(dist[late] / (t[late] - t.min()))
    return ys.size, speed


def test_mouse_waves_recruit_hundreds_of_cells_and_travel_50_to_1000_um_per_s(mouse_movie):
    cells, speed_um_per_s = _largest_wave(mouse_movie, 34.0, 0.25)
    assert cells >= 200  # pixels of 34 um hold about one cell each
    assert 50 <= speed_um_per_s <= 1000


@pytest.mark.parametrize("backend", ["cpu", "cpu-events"])
@pytest.mark.parametrize("model", ["amacrine", "directional"])
@pytest.mark.parametrize("kind,blur_um", [("binary", 0.0), ("calcium", 0.0), ("calcium", 40.0)])
def test_recording_some_pixels_gives_those_pixels_of_whole_frames(backend, model, kind, blur_um):
    params = ([fast_params(spont_rate_hz=0.5), fast_params(P_s=5.0, H2=0.3, D_s=0.3)] if model == "amacrine" else
              [ws.preset(model="directional"), ws.get_model("directional").presets["continuous"]])
    readout = ws.Readout(um_per_pixel=30, frame_period_s=0.06, kind=kind, blur_um=blur_um)

    def run(pixels):
        sim = ws.Simulation(params, [1, 2], retina=ws.Retina(width_um=900, height_um=600), readout=readout,
                            backend=backend)
        sim.advance(40)
        frames = np.concatenate([c for _, c in sim.frames(30, 7, pixels=pixels)], axis=1)
        return frames, sim.state()

    whole, state = run(None)
    H, W = whole.shape[2:]
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, H, 13), rng.integers(0, W, 13)
    some, state_after_some = run((rows, cols))
    assert some.shape == (2, 30, 13) and whole.any()
    assert np.array_equal(some, whole[:, :, rows, cols])
    assert all(np.array_equal(state[k], state_after_some[k]) for k in state)
    with pytest.raises(ParameterError, match="rows < 20 and columns < 30"):
        next(ws.Simulation(params, [1, 2], retina=ws.Retina(width_um=900, height_um=600), readout=readout,
                           backend=backend).frames(3, pixels=([0, 20], [0, 0])))
