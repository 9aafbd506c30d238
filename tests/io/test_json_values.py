"""Reports and metadata are strict JSON: no NaN or Infinity, NumPy values as Python ones."""

import json
import math

import numpy as np

from wavesim.io.json_values import json_ready


def _strict(text):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_become_null_and_numpy_values_python_ones():
    value = {"nan": math.nan, "inf": np.float64(np.inf), "count": np.int64(3), "table": np.arange(3, dtype=np.int32),
             "pair": (np.float32(0.5), -math.inf), 7: {"nested": [np.nan, np.bool_(True)]}}
    ready = json_ready(value)
    assert ready == {"nan": None, "inf": None, "count": 3, "table": [0, 1, 2], "pair": [0.5, None],
                     "7": {"nested": [None, True]}}
    assert type(ready["count"]) is int and type(ready["7"]["nested"][1]) is bool
    assert _strict(json.dumps(ready)) == ready
