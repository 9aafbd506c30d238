"""`wavesim compare-models`: every model fitted to the same recordings with one budget, compared on held-out ones."""

import functools
import json
import math

import pytest
from fit_setup import QUICK_GEOMETRY, RECORDED_ELECTRODES, quick_recording
from helpers import fast_params

import wavesim as ws
from wavesim.analysis import electrode_grid
from wavesim.errors import ParameterError
from wavesim.fit.compare import _deviation, parse_model_choices
from wavesim.fit.objective import SimulationSettings, VirtualArray
from wavesim.io.recordings import write_recording

pytest.importorskip("optuna")


@functools.lru_cache(maxsize=None)
def held_out_recording():
    """Another virtual recording of the quick problem's truth (another retina), to hold out."""
    array = VirtualArray(electrode_grid(3, 3, 100.0), 240.0,
                         SimulationSettings(n_retinas=1, seed=97, **QUICK_GEOMETRY, **RECORDED_ELECTRODES))
    return array.recordings(fast_params(spont_rate_hz=0.0, D_s=1.0))[0]


def _cli(tmp_path, *extra):
    from wavesim.cli import main

    fitted = write_recording(quick_recording(), tmp_path / "fitted.h5")
    held = write_recording(held_out_recording(), tmp_path / "held.h5")
    return main(["compare-models", str(fitted), "--hold-out", str(held), "--out", str(tmp_path / "out"),
                 "--models", "amacrine,directional", "--trials", "2", "--retinas", "1", "--duration-s", "60",
                 "--warmup-s", "10", "--margin-um", "100", "--backend", "cpu-events", "--workers", "1",
                 "--pruning", "none", "--no-progress", *extra])


def test_cli_compares_models_on_held_out_recordings_and_resumes(tmp_path, capsys):
    assert _cli(tmp_path) == 0
    printed = capsys.readouterr().out
    out = tmp_path / "out"
    comparison = json.loads((out / "comparison.json").read_text())
    assert {s["model"] for s in comparison["scores"]} == {"amacrine", "directional"}
    assert comparison["recordings"] == ["fitted"] and comparison["held_out"] == ["held"]
    for score in comparison["scores"]:
        report = json.loads((out / score["model"] / "report.json").read_text())
        assert score["n_trials_complete"] == report["n_trials_complete"] == 2
        assert score["distance"] == report["best_distance"] <= report["preset_distance"]
        assert score["held_out_distance"] == report["held_out"]["fitted"]["distance"]
        assert set(score["held_out"]) == {"held"} and set(score["recordings"]) == {"fitted"}
        assert set(score["terms"]) == set(report["best_terms"])
        assert f"| {score['model']} ({score['preset']}) |" in printed
    directional = next(s for s in comparison["scores"] if s["model"] == "directional")
    assert directional["preset"] == "continuous" and "start_rate_hz" in directional["fitted_parameters"]
    ranked = [s["held_out_distance"] for s in comparison["scores"]]
    assert ranked == sorted(ranked)
    assert "| held | held out |" in printed and (out / "models.png").stat().st_size > 0
    assert (out / "comparison.md").read_text().strip() in printed

    assert _cli(tmp_path) == 0  # each study already holds its trials: the same comparison again
    assert json.loads((out / "comparison.json").read_text()) == comparison


def test_models_default_to_every_registered_model_from_its_fit_preset():
    pairs = parse_model_choices(None)
    assert [name for name, _ in pairs] == ws.list_models()
    for name, preset in pairs:
        model = ws.get_model(name)
        assert preset == model.fit_start_preset and model.check_fittable(model.preset(preset)) is None
    assert parse_model_choices("lansdell2014:pharmacology, amacrine") == [("lansdell2014", "pharmacology"),
                                                                          ("amacrine", "mouse")]


@pytest.mark.parametrize("text, message", [
    ("amacrine,nosuch", r"Unknown model 'nosuch'"),
    ("amacrine:nosuch", r"Unknown preset 'nosuch' of model 'amacrine'"),
    ("amacrine,amacrine:chick", r"model\(s\) \['amacrine'\] named twice"),
    (" , ", r"name at least one model"),
])
def test_bad_model_choices_fail_before_any_fit(tmp_path, capsys, text, message):
    with pytest.raises(ParameterError, match=message):
        parse_model_choices(text)
    from wavesim.cli import main

    args = ["compare-models", str(write_recording(quick_recording(), tmp_path / "r.h5")), "--out",
            str(tmp_path / "out"), "--models", text]
    assert main(args) == 2 and not (tmp_path / "out").exists()
    assert "wavesim compare-models: error:" in capsys.readouterr().err


def test_deviation_says_how_a_fit_misses_each_statistic():
    recorded = {"median_iwi_s": 60.0, "mean_size_fraction": 0.3, "ci_distance_um": [100.0, 200.0, 250.0, 300.0],
                "ci_mean": [10.0, 4.0, 3.0, None]}
    # bins pair by distance: the simulated profile has a 150 um bin the recording lacks, and no 250 um bin
    simulated = {"median_iwi_s": 30.0, "mean_size_fraction": 0.5, "ci_distance_um": [100.0, 150.0, 200.0, 300.0],
                 "ci_mean": [5.0, 7.0, 4.0, 2.0]}
    assert _deviation("iwi", recorded, simulated) == 0.5
    assert _deviation("size", recorded, simulated) == pytest.approx(0.2)
    assert _deviation("ci", recorded, simulated) == pytest.approx(math.sqrt(0.5))  # geometric mean of 0.5 and 1
    assert math.isnan(_deviation("speed", recorded, simulated)) and math.isnan(_deviation("iwi", recorded, None))
