"""The directional model (May et al. 2025 after Teh et al. 2023): its kernel, its presets and the statistics its rules imply.

The backend conformance suite (tests/backends/test_conformance.py) holds every runner
to the NumPy reference on tiny sheets; here the presets run on the paper's
64 x 64 grid.
"""

import dataclasses
import math

import numpy as np
import pytest

import wavesim as ws
from wavesim.analysis.single_waves import direction_bias, single_wave_stats
from wavesim.errors import ParameterError
from wavesim.kernels import directional as rule
from wavesim.kernels.random import retina_keys
from wavesim.models import directional
from wavesim.models.directional_reference import _class_of

MODEL = ws.get_model("directional")
GRID = ws.Retina(width_um=3200, height_um=3200, spacing_um=50)
PIXELS = ws.Readout(um_per_pixel=50, frame_period_s=0.5)


def _movies(params, seeds, n_frames, backend="cpu-events"):
    sim = ws.Simulation(params, seeds, retina=GRID, readout=PIXELS, backend=backend)
    return np.concatenate([sim.to_host(c) for _, c in sim.frames(n_frames, n_frames)], axis=1)


def test_the_released_scripts_sigma_comes_from_its_own_objective():
    assert directional.released_script_sigma() == pytest.approx(directional.RELEASED_SCRIPT_SIGMA, abs=1e-4)
    # ... and that sigma does not give the intended local bias of 0.35.
    assert directional.local_bias_of(directional.RELEASED_SCRIPT_SIGMA) == pytest.approx(0.299, abs=1e-3)


@pytest.mark.parametrize("wave_class", range(8))
def test_teh2023_kernels_local_bias_is_b_within_one_percent(wave_class):
    rows = MODEL.quantise([MODEL.preset("teh2023")])[0]
    p = rows[rule.P_THR + 8 * wave_class : rule.P_THR + 8 * wave_class + 8].astype(float)
    p /= p.sum()
    beta = directional.direction_angles()
    resultant = (p * np.exp(1j * beta)).sum()
    assert abs(resultant) == pytest.approx(0.35, rel=0.01)
    assert np.angle(resultant) == pytest.approx(beta[wave_class], abs=1e-6)  # pointing along the wave's direction
    assert rows[rule.P_THR + 8 * wave_class : rule.P_THR + 8 * wave_class + 8].sum() / 2**32 == pytest.approx(2.4, rel=1e-6)


def test_may2025_totals_follow_the_unwrapped_formula():
    # Written from the script: rho = q g(beta - theta') / sum_gamma g(gamma), angles as cmath.phase gives them.
    sigma, q = 1.7258, 2.4
    phase = [math.atan2(dr, dc) for dr, dc in zip(ws.lattice.SQUARE_DR, ws.lattice.SQUARE_DC)]
    g = lambda a: math.exp(-a * a / (2 * sigma * sigma)) / (sigma * math.sqrt(2 * math.pi))  # noqa: E731
    norm = sum(g(a) for a in phase)
    rows = MODEL.quantise([MODEL.preset("may2025")])[0]
    totals = []
    for c, theta in enumerate(phase):
        expected = [min(1.0, q * g(beta - theta) / norm) for beta in phase]
        got = rows[rule.P_THR + 8 * c : rule.P_THR + 8 * c + 8] / 2**32
        np.testing.assert_allclose(got, expected, atol=1e-9)
        totals.append(sum(expected))
    assert totals[0] == pytest.approx(q) and totals[1] == pytest.approx(q)  # 0 and 45 degrees: symmetric kernels
    # Away from 0 and 45 degrees the unwrapped differences push neighbours into the Gaussian's tail:
    # 2.25 at 90 degrees, 1.95 at 135 and -90, 1.53 at +180 and -135 (and 1.06 at -180: the next test).
    np.testing.assert_allclose(totals[2:], [2.25, 1.95, 1.53, 1.53, 1.95, 2.25], atol=0.01)


def test_may2025_keeps_the_scripts_own_kernel_for_minus_180_degrees():
    # The script's theta' = -180 row, from its formula: differences beta + pi, unwrapped.
    sigma, q = 1.7258, 2.4
    phase = [math.atan2(dr, dc) for dr, dc in zip(ws.lattice.SQUARE_DR, ws.lattice.SQUARE_DC)]
    g = lambda a: math.exp(-a * a / (2 * sigma * sigma))  # noqa: E731
    expected = np.array([q * g(beta + math.pi) for beta in phase]) / sum(g(a) for a in phase)
    for preset in ("may2025", "may2025-undirectional"):
        rows = MODEL.quantise([MODEL.preset(preset)])[0]
        assert rows[rule.P_MINUS_180] == 1
        got = rows[rule.P_THR + 8 * 8 : rule.P_THR + 8 * 9] / 2**32
        np.testing.assert_allclose(got, expected, atol=1e-9)
        assert got.sum() == pytest.approx(1.06, abs=0.005)
        assert np.argmax(got) == 5 and ws.lattice.SQUARE_DR[5] == -1 and ws.lattice.SQUARE_DC[5] == -1  # up-left
        assert got[4] == pytest.approx(0.0006, abs=5e-5)  # left, where +180's kernel peaks
        plus_180 = rows[rule.P_THR + 8 * 4 : rule.P_THR + 8 * 5] / 2**32
        assert plus_180.sum() == pytest.approx(1.53, abs=0.005) and np.argmax(plus_180) == 4
    # Wrapped angles (teh2023, continuous): -180 and +180 degrees are one direction, one kernel.
    for preset in ("teh2023", "teh2023-undirectional", "continuous"):
        rows = MODEL.quantise([MODEL.preset(preset)])[0]
        assert rows[rule.P_MINUS_180] == 0
        assert np.array_equal(rows[rule.P_THR + 64 : rule.P_THR + 72], rows[rule.P_THR + 32 : rule.P_THR + 40])


def test_minus_180_class_follows_the_scripts_rounding():
    wave_class = rule.build_rule(__import__("numba").njit).wave_class
    split, merged = np.zeros(rule.N_PARAMS, np.int64), np.zeros(rule.N_PARAMS, np.int64)
    split[rule.P_MINUS_180] = 1
    rng = np.random.default_rng(1)
    points = np.concatenate([rng.integers(-64 << 16, 64 << 16, size=(3000, 2)),
                             rng.integers(-3, 4, size=(200, 2)) << 16, [[0, -5 << 16], [-1 << 16, -5 << 16]]])
    seen = set()
    for dy, dx in points:
        # The script: theta' = (2 pi / 8) floor(8 theta / (2 pi) + 0.5), theta = cmath.phase(dx + i dy).
        k = math.floor(8 * math.atan2(dy, dx) / (2 * math.pi) + 0.5)
        assert wave_class(int(dy), int(dx), split) == (8 if k == -4 else k % 8), (dy, dx)
        assert wave_class(int(dy), int(dx), merged) == k % 8
        seen.add(k)
    assert {-4, 4} <= seen  # both branches of 180 degrees were tried


@pytest.mark.parametrize("preset, seed", [("may2025", 542), ("may2025-undirectional", 19)])
def test_a_minus_180_wave_spreads_with_its_kernel_on_every_runner(preset, seed):
    params = MODEL.preset(preset)
    sim = ws.Simulation(params, [seed], retina=GRID, readout=PIXELS, backend="cpu")
    events = ws.Simulation(params, [seed], retina=GRID, readout=PIXELS, backend="cpu-events")
    key = retina_keys([seed])[0]
    records = MODEL.movie_records(sim.lattice, MODEL.quantise([params]), np.array([key]))
    assert records["direction_deg"][0] == -180.0
    ref = MODEL.reference(sim.lattice, MODEL.quantise([params])[0], key, MODEL.tables(sim.lattice))
    assert ref.state()["wave"].max() == 8
    for _ in range(20):
        sim.advance(1)
        events.advance(1)
        ref.step()
        assert np.array_equal(sim.state()["onset"][0], ref.state()["onset"])
        assert np.array_equal(events.state()["wave"][0], ref.state()["wave"])
    assert (sim.state()["wave"][0] == 8).sum() > 1  # the wave spread with class 8


def test_integer_direction_rounding_equals_the_scripts_float_rounding():
    classify = rule.build_rule(__import__("numba").njit).angle_class
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.integers(-64 << 16, 64 << 16, size=(4000, 2)),
                             rng.integers(-3, 4, size=(200, 2)) << 16,  # whole pixels, axes and diagonals
                             [[0, 0], [0, -5 << 16], [5 << 16, 0]]])
    for dy, dx in points:
        assert classify(int(dy), int(dx)) == _class_of(int(dy), int(dx)), (dy, dx)


@pytest.mark.parametrize("preset", ["may2025", "teh2023", "continuous"])
def test_presets_on_the_papers_grid_equal_the_reference_and_cpu_events_equals_cpu(preset):
    params, seeds, steps = MODEL.preset(preset), [5, 6], 45
    dense = ws.Simulation(params, seeds, retina=GRID, readout=PIXELS, backend="cpu")
    events = ws.Simulation(params, seeds, retina=GRID, readout=PIXELS, backend="cpu-events")
    tables = MODEL.tables(dense.lattice)
    refs = [MODEL.reference(dense.lattice, row, key, tables) for row, key in
            zip(MODEL.quantise([params] * 2), retina_keys(seeds))]
    lit = 0
    for _ in range(steps):
        for sim in (dense, events):
            sim.advance(1)
        for ref in refs:
            ref.step()
        a, b = dense.state(), events.state()
        frame_a, frame_b = dense.frame(), events.frame()
        assert np.array_equal(frame_a, frame_b)
        for i, ref in enumerate(refs):
            expected = ref.state()
            for name in expected:
                assert np.array_equal(a[name][i], expected[name]) and np.array_equal(b[name][i], expected[name])
            assert np.array_equal(frame_a[i], ref.active().astype(np.uint8))
        lit += int(frame_a.sum())
    assert lit > 200


def test_cpu_events_visits_only_a_wave_and_its_neighbours():
    sim = ws.Simulation(MODEL.preset("teh2023"), [1, 2, 3], retina=GRID, readout=PIXELS, backend="cpu-events")
    sim.advance(200)
    reached = (sim.state()["onset"] >= 0).sum(axis=(1, 2))
    assert np.all(sim.engine.visits <= 8 * reached) and np.all(sim.engine.visits > 0)


def test_every_may2025_activation_lights_its_pixel_for_exactly_four_frames():
    movies = _movies(MODEL.preset("may2025"), list(range(40)), 200)
    stats = single_wave_stats(movies)
    assert stats.ended.all()
    for m in range(len(movies)):
        lit = movies[m].reshape(200, -1).T.astype(np.int8)  # (pixel, time)
        edges = np.diff(np.pad(lit, ((0, 0), (1, 1))), axis=1)
        starts, ends = np.nonzero(edges == 1), np.nonzero(edges == -1)
        runs = ends[1] - starts[1]
        assert runs.size and np.all(runs == 4), (m, np.unique(runs))
    # Frame 0 holds the initiation pixel alone.
    assert np.all(movies[:, 0].reshape(len(movies), -1).sum(axis=1) == 1)


def test_store_records_and_frame_zero_agree():
    seeds = [11, 12, 13]
    sim = ws.Simulation(MODEL.preset("may2025"), seeds, retina=GRID, readout=PIXELS, backend="cpu")
    records = MODEL.movie_records(sim.lattice, MODEL.quantise(sim.params), retina_keys(seeds))
    first = sim.frame()
    for b in range(3):
        (r,), (c,) = np.nonzero(first[b])
        assert (records["initiation_row"][b], records["initiation_col"][b]) == (r, c)
        assert r <= 62 and c <= 62  # the released script's initiation range
        assert records["inhibition_row"][b] == int(records["inhibition_row"][b])  # truncated to whole pixels
        assert records["direction_deg"][b] in {-135.0, -90.0, -45.0, 0.0, 45.0, 90.0, 135.0, 180.0}


@pytest.mark.parametrize("preset, undirected_bias", [("teh2023", (0.0, 0.05)), ("may2025", (0.12, 1.0))])
def test_undirectional_waves_have_no_net_direction_unless_the_angles_are_unwrapped(preset, undirected_bias):
    params = dataclasses.replace(MODEL.preset(preset), directionality="undirectional")
    directions = []
    for start in range(0, 2000, 500):
        stats = single_wave_stats(_movies(params, list(range(start, start + 500)), 120))
        directions.append(stats.direction_rad)
    bias = direction_bias(np.concatenate(directions))
    low, high = undirected_bias
    assert low <= bias < high


def test_directional_waves_run_away_from_the_nose():
    stats = single_wave_stats(_movies(MODEL.preset("teh2023"), list(range(300)), 120))
    mean_direction = np.angle(np.nanmean(np.exp(1j * stats.direction_rad)))
    # The nose sits at column 8 of 64, mid-height: waves run, on average, towards +x (0 rad).
    assert abs(mean_direction) < 0.3 and stats.direction_bias > 0.4


@pytest.mark.parametrize("bad, words", [
    ({"mode": "continuous"}, "start_rate_hz must be > 0"),
    ({"start_rate_hz": 0.1}, "applies to mode='continuous'"),
    ({"tau_iei_s": 0.75}, "whole number of steps"),
    ({"t_wave_s": 0.0, "tau_iei_s": 0.0}, "at least one step"),
    ({"angles": "sideways"}, "must be one of"),
    ({"q": 9}, "outside the allowed range"),
])
def test_bad_parameters_are_refused_with_the_reason(bad, words):
    with pytest.raises(ParameterError, match=words):
        ws.DirectionalParams(**bad)


def test_pull_weights_reverse_the_push_for_direction_masks_and_keep_symmetric_weights():
    from wavesim.kernels.cuda import pull_weights

    dr, dc, w = ws.SquareLattice(GRID).offsets
    pulled = pull_weights(dr, dc, w)
    assert np.array_equal(pulled[0], [1 << ((k + 4) % 8) for k in range(8)])
    hex_dr, hex_dc, hex_w = ws.HexLattice(ws.Retina()).offsets
    assert np.array_equal(pull_weights(hex_dr, hex_dc, hex_w), hex_w)


def test_generate_writes_a_directional_store_with_its_records_and_it_streams(tmp_path):
    from wavesim.cli import main
    from wavesim.data import WaveClips
    from wavesim.io.store import open_store

    path = tmp_path / "waves.zarr"
    assert main(["generate", str(path), "--model", "directional", "--preset", "may2025", "--movies", "5",
                 "--duration-s", "40", "--backend", "cpu-events", "--no-progress"]) == 0
    store = open_store(path)
    assert store.frame_shape == (64, 64) and store.n_frames == 80  # the paper's grid and 0.5 s frames
    records = store.records()
    movies = np.stack([store.read_movie(m) for m in range(5)])
    stats = single_wave_stats(movies)
    np.testing.assert_array_equal(records["length_frames"], stats.length_frames)
    for m in range(5):
        (r,), (c,) = np.nonzero(movies[m, 0])
        assert (records["initiation_row"][m], records["initiation_col"][m]) == (r, c)
    clips = WaveClips(path, clip_frames=11, batch_size=2, seed=0)
    batch = next(iter(clips))
    assert tuple(batch["clips"].shape[-2:]) == (64, 64)


def test_live_waves_stream_continuous_directional_waves_and_refuse_single_waves():
    from wavesim.data import LiveWaves

    live = LiveWaves(MODEL.preset("continuous"), n_retinas=2, batch_size=2, backend="cpu", batches_per_epoch=2,
                     warmup_s=30)
    batches = list(live)
    assert batches[0]["clips"].shape == (2, 11, 64, 64) and any(b["clips"].any() for b in batches)
    with pytest.raises(ParameterError, match="mode='continuous'"):
        LiveWaves(MODEL.preset("may2025"))


@pytest.mark.parametrize("preset", ["may2025", "continuous"])
def test_cpu_events_recorded_chunks_equal_the_dense_engines_frames(preset):
    params = MODEL.preset(preset)
    dense, events = (ws.Simulation(params, [7, 8, 9], retina=GRID, readout=PIXELS, backend=b) for b in ("cpu", "cpu-events"))
    assert events.engine.records_frames()
    a = np.concatenate([c for _, c in dense.frames(50, 7)], axis=1)
    b = np.concatenate([c for _, c in events.frames(50, 7)], axis=1)
    assert np.array_equal(a, b) and a.any()
    for name, values in dense.state().items():
        assert np.array_equal(values, events.state()[name])


def test_auto_picks_the_event_driven_engines_without_a_gpu():
    from wavesim.backends import cuda_status

    if cuda_status()[0]:
        pytest.skip("a GPU is usable here: auto picks cuda")
    assert ws.Simulation(MODEL.preset(), [0], retina=GRID, readout=PIXELS).backend == "cpu-events"
    assert ws.Simulation(ws.preset("mouse"), [0], retina=ws.Retina(width_um=400, height_um=400)).backend == "cpu-events"


def test_clips_within_waves_end_before_each_movies_wave(tmp_path):
    from wavesim.cli import main
    from wavesim.data import WaveClips
    from wavesim.io.store import open_store

    path = tmp_path / "waves.zarr"
    assert main(["generate", str(path), "--model", "directional", "--movies", "6", "--duration-s", "50",
                 "--no-progress"]) == 0
    lengths = open_store(path).records()["length_frames"]
    clips = WaveClips(path, clip_frames=5, clip_step=5, batch_size=1, shuffle=False, within_waves=True)
    expected = sum(max(0, (min(n, 100) - 5) // 5 + 1) for n in lengths)
    assert clips.n_items == expected < WaveClips(path, clip_frames=5, batch_size=1).n_items
    for i in range(clips.n_items):
        info = clips.clip(i)
        assert info["frames"][-1] < lengths[info["movie"]]
    with pytest.raises(ParameterError, match="within_waves needs stores of single-wave movies"):
        amacrine = tmp_path / "amacrine.zarr"
        main(["generate", str(amacrine), "--movies", "1", "--duration-s", "10", "--warmup-s", "0",
              "--width-um", "500", "--no-progress"])
        WaveClips(amacrine, clip_frames=5, within_waves=True)


def test_wave_sequence_puts_whole_waves_back_to_back_whatever_the_batch():
    from wavesim.simulate import wave_sequence

    params = MODEL.preset("may2025")
    a = wave_sequence(params, 3, 600, batch=16)
    b = wave_sequence(params, 3, 600, batch=7)
    assert a.shape == (600, 64, 64) and np.array_equal(a, b)
    lit = a.reshape(600, -1).any(axis=1)
    assert lit.all()  # waves are cut at their first dark frame
    # Each wave starts with its initiation pixel alone.
    assert a[0].sum() == 1
    with pytest.raises(ParameterError, match="single-wave parameters"):
        wave_sequence(MODEL.preset("continuous"), 0, 10)


@pytest.mark.parametrize("preset", sorted(MODEL.presets))
def test_parameter_files_round_trip_names_and_none(tmp_path, preset):
    from wavesim.models import load_params_file, write_params_file

    params = MODEL.preset(preset)
    write_params_file(tmp_path / "p.toml", params, "may2025")  # a base preset whose sigma_rad differs
    assert load_params_file(tmp_path / "p.toml") == params


def test_presets_command_lists_the_directional_models_names_and_choices(capsys):
    from wavesim.cli import main

    assert main(["presets", "--model", "directional"]) == 0
    out = capsys.readouterr().out
    assert "unwrapped" in out and "one of wave, continuous" in out and "1.7258" in out
