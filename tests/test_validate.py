"""One behaviour for every scalar argument: NumPy scalars are numbers, booleans are not."""

import math

import numpy as np
import pytest

import wavesim as ws
from wavesim.errors import ParameterError
from wavesim.validate import check_bool, check_choice, check_int, check_number, check_path, check_seed


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_python_and_numpy_integers_are_integers(value):
    out = check_int("n", value, low=1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, np.float64(3.0), "3", None])
def test_bools_floats_text_and_none_are_not_integers(value):
    with pytest.raises(ParameterError, match=r"n must be a positive integer, got .*\((bool|float|float64|str|NoneType)\)"):
        check_int("n", value, low=1)


def test_integer_bounds_read_as_english_and_name_what_is_counted():
    with pytest.raises(ParameterError, match=r"^n must be a positive integer \(retinas at once\), got 0\.$"):
        check_int("n", 0, low=1, what="retinas at once")
    with pytest.raises(ParameterError, match=r"^k must be a non-negative integer, got -1\.$"):
        check_int("k", -1, low=0)
    with pytest.raises(ParameterError, match=r"^k must be an integer in \[2, 8\], got 9\.$"):
        check_int("k", 9, low=2, high=8)
    assert check_int("k", None, low=0, optional=True) is None


@pytest.mark.parametrize("value", [2, 2.5, np.float32(2.5), np.int16(2)])
def test_real_numbers(value):
    out = check_number("x", value, low=0, low_open=True)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize(("value", "message"), [
    (True, r"x must be a number in s, got True \(bool\)"),
    (math.nan, r"x must be a finite number in s, got nan"),
    (math.inf, r"x must be a finite number in s, got inf"),
    (0.0, r"x must be > 0 s, got 0.0 s"),
    ("1", r"x must be a number in s, got '1' \(str\)"),
])
def test_not_real_numbers_or_out_of_range(value, message):
    with pytest.raises(ParameterError, match=message):
        check_number("x", value, low=0, low_open=True, unit="s")


def test_seeds_choices_bools_and_paths(tmp_path):
    assert check_seed("seed", np.int64(2**62)) == 2**62
    for bad in (-1, 2**63, True, 1.0):
        with pytest.raises(ParameterError, match=r"seed must be an integer in \[0, 2\*\*63\)"):
            check_seed("seed", bad)
    assert check_choice("kind", "binary", ("binary", "calcium")) == "binary"
    with pytest.raises(ParameterError, match=r"kind must be one of \['binary', 'calcium'\], got 'grey'"):
        check_choice("kind", "grey", ("binary", "calcium"))
    with pytest.raises(ParameterError, match=r"flag must be True or False, got 1 \(int\)"):
        check_bool("flag", 1)
    assert check_bool("flag", np.bool_(False)) is False
    assert check_path("out", str(tmp_path), kind="dir") == tmp_path
    with pytest.raises(ParameterError, match="does not exist"):
        check_path("recording", tmp_path / "missing.h5", exists=True)
    with pytest.raises(ParameterError, match=r"out must be a path .*got 3 \(int\)"):
        check_path("out", 3)


def test_parameter_classes_share_the_behaviour():
    assert ws.AmacrineParams(P_s=np.int64(30)).P_s == 30.0
    with pytest.raises(ParameterError, match=r"AmacrineParams.P_s must be a number in s, got True \(bool\)"):
        ws.AmacrineParams(P_s=True)
    with pytest.raises(ParameterError, match=r"batch size must be a positive integer \(retinas simulated at once\), "
                                             r"got True \(bool\)"):
        ws.RunSpec(batch_size=True)
    assert ws.RunSpec(batch_size=np.int64(4)).batch_size == 4
