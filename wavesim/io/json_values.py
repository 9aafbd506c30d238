"""Python and NumPy values as strict JSON holds them, for the reports and metadata wavesim writes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["json_ready"]


def json_ready(value: Any) -> Any:
    """``value`` with arrays and tuples as lists, NumPy scalars as Python ones, non-finite numbers as None.

    Strict JSON has no NaN or Infinity; None (``null``) is how every reader
    of a wavesim report or metadata table sees a missing number. Mapping
    keys become strings, as JSON writes them.
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
