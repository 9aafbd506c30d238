"""`wavesim fit --model NAME` for every model, and what fits of the continuous models rely on (ranges, saved states)."""

import dataclasses
import json

import numpy as np
import pytest
from fit_setup import quick_recording

import wavesim as ws
from wavesim.errors import ParameterError
from wavesim.fit import fit
from wavesim.fit.ranges import grid_step, parameter_ranges
from wavesim.io.recordings import write_recording
from wavesim.models import load_params_file


@pytest.mark.parametrize("name", ws.list_models())
def test_every_model_names_what_a_fit_tunes_within_valid_ranges(name):
    model = ws.get_model(name)
    base = model.preset(model.fit_start_preset)
    ranges = parameter_ranges(model.fit_defaults, base=base)
    assert list(ranges) == list(model.fit_defaults)
    for parameter, (low, high) in ranges.items():
        assert low < high
        assert (low, high) == model.fit_ranges.get(parameter, (low, high))
    for corner in (0, 1):  # the declared ranges keep the parameters' relations, at every corner
        model.params_cls(**{**base.to_dict(), **{k: v[corner] for k, v in model.fit_ranges.items()}})


def test_a_fit_refuses_single_wave_parameters_and_starts_where_waves_are_spontaneous(tmp_path):
    model = ws.get_model("directional")
    assert model.fit_start_preset == "continuous" and not model.single_wave(model.preset(model.fit_start_preset))
    with pytest.raises(ParameterError, match=r"single-wave mode .* start the fit from preset 'continuous'"):
        fit(quick_recording(), tmp_path, model="directional", base_name="may2025", n_trials=1)
    assert not list(tmp_path.iterdir())  # refused before the study was opened


def test_whole_step_parameters_are_searched_on_the_step_grid():
    base = ws.get_model("directional").preset()  # dt_s = 0.5 s
    assert parameter_ranges(["tau_iei_s"], {"tau_iei_s": (10.2, 20.9)}, base) == {"tau_iei_s": (10.5, 20.5)}
    assert grid_step(base, "tau_iei_s") == 0.5 and grid_step(base, "q") is None
    with pytest.raises(ParameterError, match=r"range of tau_iei_s \[10.1, 10.3\] s holds no whole number of steps"):
        parameter_ranges(["tau_iei_s"], {"tau_iei_s": (10.1, 10.3)}, base)


def test_cli_fits_a_continuous_model(tmp_path, capsys):
    from wavesim.cli import main

    path = write_recording(quick_recording(), tmp_path / "rec.h5")
    args = ["fit", str(path), "--model", "lansdell2014", "--out", str(tmp_path / "out"), "--warmup-s", "2",
            "--margin-um", "100", "--duration-s", "20", "--retinas", "1", "--backend", "cpu", "--no-progress",
            "--trials", "2", "--sampler-seed", "0"]
    assert main(args) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["n_trials_complete"] == 2
    assert set(report["fitted_parameters"]) == set(ws.get_model("lansdell2014").fit_defaults)
    assert report["ranges"]["tau_S_s"] == [20.0, 120.0]  # the model's fit range, not the field's allowed one
    assert "noise_rate_hz" in capsys.readouterr().out
    best = load_params_file(tmp_path / "out" / "best_params.toml")
    assert isinstance(best, ws.Lansdell2014Params)


@pytest.mark.parametrize("name", ["lansdell2014", "retinalchaos"])
def test_a_continuous_model_continues_from_a_saved_state_bit_for_bit(name):
    model = ws.get_model(name)
    h = model.run.retina.spacing_um
    retina = ws.Retina(width_um=8.5 * h, height_um=6.5 * h, spacing_um=h, dendrite_radius_um=h)
    readout = ws.Readout(um_per_pixel=h, frame_period_s=0.01, kind="calcium", calcium_tau_s=0.05)
    params = dataclasses.replace(model.preset(), dt_s=1e-3, **CONTINUE_FROM[name])
    whole = ws.Simulation(params, [5, 6], retina=retina, readout=readout, backend="cpu")
    whole.advance(30)
    part = ws.Simulation(params, [5, 6], retina=retina, readout=readout, backend="cpu")
    part.advance(18)
    resumed = ws.Simulation.from_state(part.save_state(), backend="cpu")
    resumed.advance(12)
    assert all(np.array_equal(whole.state()[k], resumed.state()[k]) for k in model.state_fields)
    assert np.array_equal(whole.frame(), resumed.frame())


#: Parameters under which the continuing sheets change (noisy), at 1 ms steps.
CONTINUE_FROM = {"lansdell2014": dict(noise_rate_hz=10.0, noise_period_s=0.01),
                 "retinalchaos": dict(tau_n_ms=20.0, C_m_pF=30.0, sigma_pA_per_sqrt_ms=10.0, c_threshold=0.085)}


def test_a_simulation_refuses_an_unstable_diffusion_step_on_its_sheet():
    fast = ws.Lansdell2014Params(D_um2_per_s=2e5, dt_s=0.002, C_m_pF=400.0)  # D dt = 400 um^2
    retina = ws.Retina(width_um=300, height_um=300, spacing_um=20, dendrite_radius_um=20)  # 400 / 20^2 = 1
    with pytest.raises(ParameterError, match=r"D_um2_per_s \* dt_s / spacing_um\*\*2 = 1 exceeds 0.25 at spacing_um = 20"):
        ws.Simulation(fast, [0], retina=retina, backend="cpu")



@pytest.mark.parametrize("name", ws.list_models())
def test_a_fit_simulates_each_model_on_its_own_cells(name, monkeypatch):
    """Both ways a fit simulates (a batch; rung by rung) use the model's cells under the layout's sheet."""
    from wavesim.fit import Objective, Rung, SimulationSettings, staged, virtual

    model = ws.get_model(name)
    params = model.preset(model.fit_start_preset)
    recording = quick_recording()  # simulated before the spy, with the amacrine model
    used = []

    def recorded(*args, **kwargs):
        used.append(kwargs["retina"])
        return ws.Simulation(*args, **kwargs)

    monkeypatch.setattr(virtual, "Simulation", recorded)
    monkeypatch.setattr(staged, "Simulation", recorded)
    duration_s = 0.5
    objective = Objective(recording, simulation=SimulationSettings(
        n_retinas=1, margin_um=100.0, warmup_s=0.0, duration_s=duration_s, backend="cpu"))
    objective.evaluate([params])
    with staged.StagedEvaluator(objective, [Rung(0.0, 1.0, duration_s)], "cpu", workers=1) as evaluator:
        evaluator.score(evaluator.start([params]), 0)

    own, sheet = model.run.retina, objective.array.retina
    assert len(used) == 2
    for retina in used:
        assert (retina.spacing_um, retina.dendrite_radius_um, retina.shape) == (
            own.spacing_um, own.dendrite_radius_um, own.shape)
        assert (retina.width_um, retina.height_um) == (sheet.width_um, sheet.height_um)
