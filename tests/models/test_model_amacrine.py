"""The amacrine model's own science, and the model registry and parameter files."""

import numpy as np
import pytest

import wavesim as ws
from wavesim.errors import ParameterError
from wavesim.kernels.random import retina_keys
from wavesim.models import get_model, load_params_file, model_of, write_params_file
from wavesim.models.amacrine import normal_table_q16, quantise
from wavesim.models.amacrine_reference import ReferenceRetina


def test_reference_initial_thresholds_are_uniform_in_range():
    lat = ws.HexLattice(ws.Retina(width_um=2000, height_um=2000))
    ref = ReferenceRetina(lat, quantise([ws.preset("mouse")])[0], retina_keys([1])[0], normal_table_q16())
    th = ref.thresh / 2**20
    assert 0.5 <= th.min() and th.max() < 5.0
    assert abs(th.mean() - 2.75) < 0.1
    # Decay factors follow N(1, 0.2) in the bulk.
    bulk = ref.frac == 2**16
    factor = ref.decay[bulk] / (0.025 * 4.0 / 32.0 * 2**20)
    assert abs(factor.mean() - 1.0) < 0.02 and abs(factor.std() - 0.2) < 0.02


def test_registry_finds_models_by_name_and_by_parameters():
    model = get_model("amacrine")
    assert {"amacrine", "directional"} <= set(ws.list_models()) and get_model() is model
    assert model_of(ws.preset("turtle")) is model and model.preset("turtle") == ws.preset("turtle")
    assert model.state_fields == ("onset", "exc", "thresh", "decay")
    assert model.quantise([ws.preset("mouse")] * 2).shape[0] == 2
    known = r"\['amacrine', 'directional', 'lansdell2014', 'retinalchaos'\]"
    with pytest.raises(ParameterError, match=r"Unknown model 'nope'; choose one of " + known):
        get_model("nope")
    with pytest.raises(ParameterError, match=r"Unknown preset 'owl' of model 'amacrine'"):
        model.preset("owl")
    with pytest.raises(ParameterError, match="params must be the parameters of a registered model"):
        model_of({"P_s": 3.0})
    with pytest.raises(ParameterError, match="params must be the parameters of a registered model"):
        ws.Simulation({"P_s": 3.0}, [1], backend="cpu")


def test_parameter_files_name_their_model_and_round_trip(tmp_path):
    params = ws.AmacrineParams(P_s=28.0, H2=0.8)
    write_params_file(tmp_path / "p.toml", params, "mouse", "fitted\non two lines")
    text = (tmp_path / "p.toml").read_text()
    assert 'model = "amacrine"' in text and 'preset = "mouse"' in text and "# on two lines" in text
    assert load_params_file(tmp_path / "p.toml") == params
    (tmp_path / "q.toml").write_text('model = "nope"\n')
    with pytest.raises(ParameterError, match=r"q.toml: Unknown model 'nope'"):
        load_params_file(tmp_path / "q.toml")
    with pytest.raises(ParameterError, match="is a folder, not a TOML file"):
        load_params_file(tmp_path)
    (tmp_path / "b.toml").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ParameterError, match="b.toml"):
        load_params_file(tmp_path / "b.toml")
