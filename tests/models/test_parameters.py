import pytest

import wavesim as ws
from wavesim.models import load_params_file
from wavesim.errors import ParameterError


def test_presets_have_the_published_values():
    m = ws.preset("mouse")
    assert (m.H1, m.H2, m.D_s, m.P_s, m.tau_K_s) == (4.0, 0.75, 2.30, 32.0, 0.35)
    t = ws.preset("turtle")
    assert (t.H1, t.H2, t.D_s, t.P_s, t.tau_K_s) == (4.0, 0.70, 1.00, 23.0, 0.20)
    assert set(ws.PRESETS) == {"mouse", "ferret", "rabbit", "chick", "turtle"}


def test_depolarisation_ends_first_step_strictly_after_D():
    assert ws.preset("mouse").depolarisation_steps == 93  # 2.30 s / 25 ms = 92 -> 93
    assert ws.AmacrineParams(D_s=1.01).depolarisation_steps == 41


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"P_s": -1}, r"AmacrineParams.P_s = -1.0 s is outside the allowed range \[1.0, 2000.0\] s"),
        ({"H2": 11}, r"AmacrineParams.H2 = 11.0 is outside the allowed range \[0.0, 10.0\]\."),
        ({"D_s": "long"}, r"AmacrineParams.D_s must be a number in s, got 'long'"),
        ({"tau_K_s": 0.01}, r"tau_K_s = 0.01 s is shorter than dt_s = 0.025 s"),
        ({"spont_rate_hz": float("nan")}, r"spont_rate_hz must be finite"),
    ],
)
def test_bad_parameter_names_value_and_range(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        ws.AmacrineParams(**kwargs)


def test_unknown_names_and_presets_are_errors():
    with pytest.raises(ParameterError, match=r"Unknown AmacrineParams parameter\(s\) \['H3'\]"):
        ws.AmacrineParams.from_dict({"H3": 1.0})
    with pytest.raises(ParameterError, match="Unknown preset 'cat'"):
        ws.preset("cat")
    with pytest.raises(ValueError, match="Retina.shape must be one of"):
        ws.Retina(shape="hexagon")
    with pytest.raises(ParameterError, match="Readout.kind must be one of"):
        ws.Readout(kind="voltage")


def test_round_trip_with_units():
    p = ws.AmacrineParams(P_s=28.0)
    assert ws.AmacrineParams.from_dict(p.to_dict_with_units()) == p
    with pytest.raises(ParameterError, match="given in 'ms' but must be in 's'"):
        ws.AmacrineParams.from_dict({"D_s": {"value": 2300, "unit": "ms"}})
    r = ws.Retina(width_um=900, shape="disc")
    assert ws.Retina.from_dict(r.to_dict_with_units()) == r


def test_params_file(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('preset = "ferret"\n[parameters]\nP_s = 40.0\n')
    p = load_params_file(f)
    assert p.P_s == 40.0 and p.D_s == ws.preset("ferret").D_s
    f.write_text("[parameters]\nP_s = 0.5\n")
    with pytest.raises(ParameterError, match=r"p.toml: AmacrineParams.P_s = 0.5 s is outside"):
        load_params_file(f)
    f.write_text("[parameters\n")
    with pytest.raises(ParameterError, match="is not valid TOML"):
        load_params_file(f)
    with pytest.raises(ParameterError, match="does not exist"):
        load_params_file(tmp_path / "missing.toml")
    f.write_text("temperature = 3\n")
    with pytest.raises(ParameterError, match=r"unknown top-level key\(s\) \['temperature'\]"):
        load_params_file(f)
