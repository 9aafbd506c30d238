"""Saved simulation states and the warm-state cache: restore + N steps is N more steps, bit for bit."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import fast_params

import wavesim as ws
from wavesim.errors import ParameterError
from wavesim.warm_cache import WarmCache, warm_up

#: Backends to check; the CUDA simulator run below sets it to "cuda,cpu".
BACKENDS = os.environ.get("WAVESIM_WARM_BACKENDS", "cpu,cpu-events").split(",")

AMACRINE = dict(params=fast_params(), retina=ws.Retina(width_um=300, height_um=250), steps=35)
CASES = {
    "amacrine-binary": dict(AMACRINE, readout=ws.Readout(um_per_pixel=50, frame_period_s=0.1)),
    "amacrine-calcium": dict(AMACRINE, readout=ws.Readout(um_per_pixel=50, frame_period_s=0.1, kind="calcium")),
    "directional-wave": dict(params=ws.preset(model="directional"), retina=ws.Retina(width_um=500, height_um=400),
                             readout=None, steps=8),
    "directional-continuous": dict(params=ws.get_model("directional").presets["continuous"],
                                   retina=ws.Retina(width_um=500, height_um=400), readout=None, steps=40),
}


def _some_cell_just_fired(sim):
    """Whether a cell's onset (both models' first state field) lies within the last 3 steps."""
    age = sim.step - sim.state()[sim.model.state_fields[0]].astype(np.int64)
    return bool(((age >= 0) & (age < 3)).any())


def _run(sim, n_frames):
    frames = np.concatenate([sim.to_host(c) for _, c in sim.frames(n_frames, 5)], axis=1)
    return frames, sim.state()


def _assert_same(a, b):
    assert np.array_equal(a[0], b[0])
    assert a[1].keys() == b[1].keys()
    for name in a[1]:
        assert np.array_equal(a[1][name], b[1][name]), name


@pytest.mark.parametrize("case", sorted(CASES))
def test_restore_then_n_steps_equals_n_more_steps_on_every_backend(case, tmp_path):
    c = CASES[case]
    n_frames = 4 if "cuda" in BACKENDS else 12
    # The CUDA simulator runs a few steps a second: there the state is reached on the CPU, restored on cuda,
    # and cuda's own save after its frames is checked against the CPU's.
    for saved_on in [b for b in BACKENDS if b != "cuda"]:
        sim = ws.Simulation(c["params"], [5, 9], retina=c["retina"], readout=c["readout"], backend=saved_on)
        sim.advance(c["steps"])
        # Save mid-activity (a cell that began firing within 3 steps), so that a restore must rebuild what
        # the engines keep between steps (inputs, event queues, CUDA activity flags).
        while not _some_cell_just_fired(sim):
            assert sim.step < c["steps"] + 300
            sim.advance(1)
        state = sim.save_state()
        state.save(tmp_path / "state.npz")
        expected = _run(sim, n_frames)
        after = sim.save_state()
        for restored_on in BACKENDS:
            restored = ws.Simulation.from_state(ws.SimulationState.load(tmp_path / "state.npz"), backend=restored_on)
            _assert_same(_run(restored, n_frames), expected)
            saved_again = restored.save_state()
            assert saved_again.step == after.step and np.array_equal(saved_again.fields, after.fields)
            assert (saved_again.calcium is None) == (after.calcium is None)
            assert after.calcium is None or np.array_equal(saved_again.calcium, after.calcium)
        # Restoring rewinds a simulation that ran on.
        sim.restore(state)
        assert sim.step == state.step
        _assert_same(_run(sim, n_frames), expected)
        if state.calcium is not None:
            assert state.calcium.shape == state.fields.shape[1:] and state.calcium.any()


def test_restore_refuses_another_retina_and_names_what_differs():
    c = CASES["amacrine-binary"]
    sim = ws.Simulation(c["params"], [5], retina=c["retina"], readout=c["readout"], backend="cpu")
    state = sim.save_state()
    other = ws.Simulation(c["params"], [6], retina=c["retina"], readout=c["readout"], backend="cpu")
    with pytest.raises(ParameterError, match="seeds"):
        other.restore(state)
    other = ws.Simulation(fast_params(P_s=2.5), [5], retina=c["retina"], readout=c["readout"], backend="cpu")
    with pytest.raises(ParameterError, match="params"):
        other.restore(state)
    calcium = ws.Readout(um_per_pixel=50, frame_period_s=0.5, kind="calcium")
    other = ws.Simulation(c["params"], [5], retina=c["retina"], readout=calcium, backend="cpu")
    with pytest.raises(ParameterError, match="calcium filter"):
        other.restore(state)


def test_a_damaged_state_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a state")
    with pytest.raises(ParameterError, match="not a readable wavesim simulation state"):
        ws.SimulationState.load(bad)


def test_warm_up_from_the_cache_equals_a_warm_up_without_it(tmp_path):
    c = CASES["amacrine-calcium"]
    cache = WarmCache(tmp_path / "warm")

    def warmed(seeds, use_cache):
        sim = ws.Simulation(c["params"], seeds, retina=c["retina"], readout=c["readout"], backend="cpu")
        hits = warm_up(sim, c["steps"], cache if use_cache else None)
        return hits, _run(sim, 8)

    hits, plain = warmed([1, 2, 3], False)
    assert hits == 0 and not cache.root.exists()
    hits, first = warmed([1, 2], True)  # stores retinas 1 and 2
    assert hits == 0 and len(list(cache.root.rglob("*.npz"))) == 2
    hits, mixed = warmed([1, 2, 3], True)  # 1 and 2 restored, 3 simulated on its own and stored
    assert hits == 2 and len(list(cache.root.rglob("*.npz"))) == 3
    _assert_same(mixed, plain)
    hits, again = warmed([1, 2, 3], True)
    assert hits == 3
    _assert_same(again, plain)
    # A damaged file is a miss, simulated again and rewritten.
    victim = next(cache.root.rglob("*.npz"))
    victim.write_bytes(b"damaged")
    hits, repaired = warmed([1, 2, 3], True)
    assert hits == 2
    _assert_same(repaired, plain)


def test_the_cache_deletes_the_least_recently_used_states_past_its_size_limit(tmp_path):
    c = CASES["amacrine-binary"]
    probe = WarmCache(tmp_path / "warm")
    sim = ws.Simulation(c["params"], [1], retina=c["retina"], readout=c["readout"], backend="cpu")
    warm_up(sim, c["steps"], probe)
    one_file = next(probe.root.rglob("*.npz")).stat().st_size
    cache = WarmCache(tmp_path / "warm", max_bytes=int(2.5 * one_file))

    def warmed(seed):
        sim = ws.Simulation(c["params"], [seed], retina=c["retina"], readout=c["readout"], backend="cpu")
        return warm_up(sim, c["steps"], cache), cache.path(cache.key(sim, 0, c["steps"]))

    _, first = warmed(1)
    _, second = warmed(2)
    os.utime(first, (1, 1))  # seed 1 used least recently
    os.utime(second, (2, 2))
    warmed(3)  # a third file passes the limit: seed 1's goes
    assert not first.exists() and second.exists()
    assert warmed(1)[0] == 0  # simulated again
    assert warmed(3)[0] == 1
    with pytest.raises(ParameterError, match="at least 0 bytes"):
        WarmCache(tmp_path, max_bytes=-1)


def test_generate_writes_the_same_store_with_and_without_the_warm_cache(tmp_path, monkeypatch):
    from wavesim.generate import generate_store
    from wavesim.io.store import DatasetSpec, WaveStore

    monkeypatch.setenv("WAVESIM_CACHE", str(tmp_path / "cache"))
    run = ws.RunSpec(retina=ws.Retina(width_um=400, height_um=300), readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5),
                     timing=ws.Timing(duration_s=5, warmup_s=20), backend="cpu", batch_size=2)
    spec = DatasetSpec(params=fast_params(), run=run, seed=7, n_movies=5)
    runs = {}
    for name, use_cache in (("plain", False), ("cold", True), ("warm", True)):
        generate_store(tmp_path / f"{name}.zarr", spec, progress=False,
                       warm_cache=use_cache, command_line=["test"])
        runs[name] = tmp_path / f"{name}.zarr"
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 5
    # A resumed store restores the warm-ups of its unfinished movies.
    partial = tmp_path / "resumed.zarr"
    generate_store(partial, spec, movies=range(0, 2), progress=False, command_line=["test"])
    generate_store(partial, spec, resume=True, progress=False, command_line=["test"])
    runs["resumed"] = partial
    stores = {name: WaveStore(path) for name, path in runs.items()}
    plain = stores.pop("plain")
    for name, store in stores.items():
        assert np.array_equal(store.movies[:], plain.movies[:]), name
        assert store.complete_mask().all()
        ours, theirs = store.records(), plain.records()
        for record in theirs:
            assert np.array_equal(ours[record], theirs[record], equal_nan=True), (name, record)
    assert plain.movies[:].any()
    for chunk in sorted(p.relative_to(runs["plain"]) for p in (runs["plain"] / "movies").rglob("*") if p.is_file()):
        for name in ("cold", "warm", "resumed"):
            assert (runs[name] / chunk).read_bytes() == (runs["plain"] / chunk).read_bytes(), (name, chunk)


def test_the_environment_variable_turns_the_warm_cache_off(monkeypatch, tmp_path):
    from wavesim.warm_cache import default_warm_cache

    monkeypatch.setenv("WAVESIM_CACHE", str(tmp_path))
    assert default_warm_cache().root == tmp_path / "warm"
    assert default_warm_cache(enabled=False) is None
    monkeypatch.setenv("WAVESIM_NO_WARM_CACHE", "1")
    assert default_warm_cache() is None


@pytest.mark.skipif("cuda" in BACKENDS, reason="this is the run under the simulator")
def test_round_trip_on_cuda_under_the_simulator():
    pytest.importorskip("numba.cuda")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", WAVESIM_CUDA_TILE="8x1", WAVESIM_WARM_BACKENDS="cuda,cpu")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::RuntimeWarning",
         "backends/test_warm_state.py", "-k", "every_backend and (directional-wave or amacrine-calcium)"],
        env=env, capture_output=True, text=True, timeout=900, cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout, result.stdout[-2000:]


def test_fit_candidates_and_live_waves_are_the_same_with_and_without_the_warm_cache(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from wavesim.analysis import electrode_grid
    from wavesim.data import LiveWaves
    from wavesim.fit.objective import SimulationSettings, VirtualArray

    monkeypatch.setenv("WAVESIM_CACHE", str(tmp_path / "cache"))
    settings = SimulationSettings(n_retinas=2, seed=4, margin_um=100.0, warmup_s=10.0, backend="cpu")
    candidates = [fast_params(), fast_params(P_s=2.5)]
    runs = [VirtualArray(electrode_grid(3, 3, 100.0), 30.0, settings, warm_cache=use).simulate(candidates)
            for use in (False, True, True)]
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 4  # 2 candidates x 2 retinas, stored once
    assert runs[0].any() and all(np.array_equal(run, runs[0]) for run in runs[1:])

    live = dict(n_retinas=2, retina=ws.Retina(width_um=600, height_um=500), warmup_s=10.0, clip_frames=3,
                readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5), batches_per_epoch=2, backend="cpu")
    clips = [[b["clips"] for b in LiveWaves(fast_params(P_s=3.5), warm_cache=use, **live)] for use in (False, True, True)]
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 6
    for run in clips[1:]:
        assert all(torch.equal(a, b) for a, b in zip(run, clips[0]))
