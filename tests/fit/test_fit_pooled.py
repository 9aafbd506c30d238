"""Pooled fits: one parameter set against several recordings, and scores on held-out recordings."""

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np
import pytest
from fit_setup import QUICK_GEOMETRY, RECORDED_ELECTRODES, quick_objective, quick_ranges, quick_recording
from helpers import fast_params

from wavesim.analysis import electrode_grid
from wavesim.errors import ParameterError
from wavesim.fit import PooledObjective, fit, simulate_arrays
from wavesim.fit.objective import Objective, SimulationSettings, VirtualArray

pytest.importorskip("optuna")

SIMULATION = SimulationSettings(n_retinas=2, seed=1, duration_s=60.0, **QUICK_GEOMETRY)


@functools.lru_cache(maxsize=None)
def other_recordings():
    """Two more virtual recordings of the quick problem's truth: one on a 2 x 3 array (a smaller retina),
    one on the 3 x 3 array minus a channel (the quick recording's retina), shorter."""
    truth = fast_params(spont_rate_hz=0.0, D_s=1.0)
    small = VirtualArray(electrode_grid(2, 3, 100.0), 200.0,
                         SimulationSettings(n_retinas=1, seed=98, **QUICK_GEOMETRY, **RECORDED_ELECTRODES)).recordings(truth)[0]
    gappy = VirtualArray(np.delete(electrode_grid(3, 3, 100.0), 4, axis=0), 240.0,
                         SimulationSettings(n_retinas=1, seed=97, **QUICK_GEOMETRY, **RECORDED_ELECTRODES)).recordings(truth)[0]
    return dataclasses.replace(small, source=Path("small.h5")), dataclasses.replace(gappy, source=Path("gappy.h5"))


def test_shared_retinas_give_each_array_its_own_movie():
    """Arrays on one retina size share a batch; each gets the pixels and frames it would simulate alone."""
    a = VirtualArray(electrode_grid(3, 3, 100.0), 30.0, SIMULATION)
    b = VirtualArray(np.delete(electrode_grid(3, 3, 100.0), 4, axis=0), 20.0, SIMULATION)
    c = VirtualArray(electrode_grid(2, 3, 100.0), 25.0, SIMULATION)
    assert a._retina_key() == b._retina_key() != c._retina_key()
    candidates = [fast_params(spont_rate_hz=0.0), fast_params(spont_rate_hz=0.0, P_s=2.5)]
    together = simulate_arrays([a, b, c], candidates)
    for array, frames in zip((a, b, c), together):
        np.testing.assert_array_equal(frames, array.simulate(candidates))
    assert together[0].any() and together[1].shape[1] == 80


def test_pooled_distance_is_the_mean_of_each_recording_per_retina():
    recordings = (quick_recording(), *other_recordings())
    pooled = PooledObjective(recordings, simulation=SIMULATION)
    candidates = [fast_params(spont_rate_hz=0.0, D_s=1.0), fast_params(spont_rate_hz=0.0, P_s=2.0, D_s=0.6)]
    evaluations = pooled.evaluate(candidates)
    for c, ev in enumerate(evaluations):
        alone = {r.name: Objective(r, simulation=SIMULATION).evaluate([candidates[c]])[0] for r in recordings}
        assert list(ev.recordings) == [r.name for r in recordings]
        for name, part in ev.recordings.items():
            assert part.retina_distances == alone[name].retina_distances
        expected = np.mean([alone[r.name].retina_distances for r in recordings], axis=0)
        assert ev.retina_distances == pytest.approx(expected)
        assert ev.distance == pytest.approx(expected.mean())
        assert ev.distance_sem == pytest.approx(np.std(expected, ddof=1) / np.sqrt(2))
        assert len(ev.statistics) == 2 * len(recordings)
    assert evaluations[0].distance < evaluations[1].distance  # the truth beats a distant candidate
    assert pooled.describe()["pooled"][1] == Objective(recordings[1], simulation=SIMULATION).describe()


def test_one_recording_pooled_equals_the_plain_objective():
    single = quick_objective()
    pooled = PooledObjective([quick_recording()], simulation=single.simulation)
    candidate = fast_params(spont_rate_hz=0.0, P_s=2.5)
    plain, both = single.evaluate([candidate])[0], pooled.evaluate([candidate])[0]
    assert (both.distance, both.distance_sem, both.terms) == (plain.distance, plain.distance_sem, plain.terms)


def test_pooled_fit_with_held_out_recordings(tmp_path):
    """Two recordings fitted together, one held out: per-recording and pooled distances, the figure."""
    small, gappy = other_recordings()
    result = fit([quick_recording(), small], tmp_path, hold_out=[gappy], base=fast_params(spont_rate_hz=0.0),
                 fitted=(), ranges=quick_ranges(), n_trials=3, batch_size=2, sampler_seed=0,
                 simulation=SIMULATION, progress=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["recording"].startswith("2 recordings")
    assert set(report["recordings"]) == {quick_recording().name, "small"}
    fitted = [part["fitted"]["distance"] for part in report["recordings"].values()]
    assert report["best_distance"] == pytest.approx(np.mean(fitted))
    held = report["held_out"]
    assert set(held["recordings"]) == {"gappy"}
    assert held["fitted"]["distance"] == pytest.approx(held["recordings"]["gappy"]["fitted"]["distance"])
    alone = Objective(gappy, simulation=SIMULATION).evaluate([result.best_params])[0]
    assert held["fitted"]["distance"] == pytest.approx(alone.distance)
    assert (tmp_path / "distances.png").stat().st_size > 0


def test_pooled_fit_bad_input(tmp_path):
    small, _ = other_recordings()
    common = dict(base=fast_params(spont_rate_hz=0.0), fitted=(), ranges=quick_ranges(), n_trials=1,
                  simulation=SIMULATION, progress=False)
    with pytest.raises(ParameterError, match="both fitted and held out"):
        fit([quick_recording(), small], tmp_path, hold_out=[small], **common)
    with pytest.raises(ParameterError, match="more than once"):
        fit([small, small], tmp_path, **common)
    assert not (tmp_path / "study.journal").exists()


def test_cli_pooled_fit_prints_each_recording(tmp_path, capsys):
    from wavesim.cli import main
    from wavesim.io.recordings import write_recording

    paths = [write_recording(r, tmp_path / f"{name}.h5")
             for r, name in zip((quick_recording(), *other_recordings()), ("quick", "small", "gappy"))]
    args = ["fit", str(paths[0]), str(paths[1]), "--hold-out", str(paths[2]), "--out", str(tmp_path / "out"),
            "--warmup-s", str(QUICK_GEOMETRY["warmup_s"]), "--margin-um", str(QUICK_GEOMETRY["margin_um"]),
            "--duration-s", "60", "--retinas", "1", "--backend", "cpu-events", "--no-progress", "--fit", "P_s",
            "--range", "P_s=2:4", "--trials", "2", "--sampler-seed", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    rows = {words[0]: words[1:] for words in map(str.split, out.splitlines())
            if words[:1] in (["quick"], ["small"], ["gappy"])}
    assert rows["quick"][0] == rows["small"][0] == "fitted" and rows["gappy"][:2] == ["held", "out"]
    assert "held out, pooled: preset" in out and "distances.png" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    held = report["held_out"]["recordings"]["gappy"]
    assert held["preset"]["distance"] == pytest.approx(float(rows["gappy"][2]), abs=1e-4)
