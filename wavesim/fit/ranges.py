"""What a fit varies: the search range of each fitted parameter, and the point it starts from."""

from __future__ import annotations

import math
from typing import Mapping

from ..errors import ParameterError
from ..models import get_model, model_of

__all__ = ["DEFAULT_FITTED", "grid_step", "parameter_ranges", "start_point"]

#: The parameters the default model fits unless told otherwise.
DEFAULT_FITTED = get_model().fit_defaults


def parameter_ranges(names, ranges: Mapping[str, tuple[float, float]] | None = None,
                     base=None) -> dict[str, tuple[float, float]]:
    """The search range of each fitted parameter: given, else the model's fit range, else its allowed range.

    Parameters
    ----------
    names : sequence of str
        Parameters to fit.
    ranges : mapping of str to (low, high), optional
        User ranges; every name in it is fitted too.
    base : parameters of a registered model, optional
        The model whose parameters are fitted (default: the default model's
        default preset); supplies ``dt_s``: durations (fields in s) start at
        ``dt_s`` at least.

    Raises
    ------
    ParameterError
        For an unknown name, ``dt_s`` (the time step is not a model property
        to fit), or a range outside the allowed one.
    """
    base = base or get_model().preset()
    model = model_of(base)
    params_cls = model.params_cls
    ranges = dict(ranges or {})
    names = list(dict.fromkeys([*names, *ranges]))
    specs = params_cls.field_specs()
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ParameterError(
            f"Unknown {params_cls.__name__} parameter(s) {unknown} to fit; known ones are {sorted(specs)}."
        )
    if "dt_s" in names:
        raise ParameterError("dt_s cannot be fitted: it is the time step of the numerical scheme, not a property "
                             "of the retina; set it in the base parameters instead.")
    if not names:
        raise ParameterError("name at least one parameter to fit.")
    checked = params_cls.check_ranges(ranges)
    out = {}
    for name in names:
        low, high = checked.get(name, model.fit_ranges.get(name, (specs[name]["low"], specs[name]["high"])))
        if specs[name]["unit"] == "s":
            if high < base.dt_s:
                raise ParameterError(f"the range of {name} [{low}, {high}] s lies below dt_s = {base.dt_s} s.")
            low = max(low, base.dt_s)
        if name in model.whole_steps:
            low, high = _whole_steps(name, low, high, base.dt_s)
        out[name] = (float(low), float(high))
    return out


def _whole_steps(name: str, low: float, high: float, dt_s: float) -> tuple[float, float]:
    """``[low, high]`` narrowed to whole numbers of ``dt_s`` (the grid a fit then searches)."""
    first, last = math.ceil(low / dt_s - 1e-9), math.floor(high / dt_s + 1e-9)
    if first > last:
        raise ParameterError(f"the range of {name} [{low}, {high}] s holds no whole number of steps of dt_s = "
                             f"{dt_s} s; widen it.")
    return first * dt_s, last * dt_s


def grid_step(base, name: str) -> float | None:
    """The grid a fit searches ``name`` on: ``dt_s`` for the model's ``whole_steps``, else None (continuous)."""
    return base.dt_s if name in model_of(base).whole_steps else None


def start_point(base, ranges: Mapping[str, tuple[float, float]]) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The fitted parameters' values at the start of a fit: the base's, clipped into the search ranges.

    Parameters
    ----------
    base : parameters of a registered model
    ranges : mapping of str to (low, high)
        From :func:`parameter_ranges`.

    Returns
    -------
    start : dict of str to float
        The values the study's first trial evaluates.
    clipped : dict of str to [given, used]
        The parameters whose base value lies outside their range.

    Examples
    --------
    >>> import wavesim as ws
    >>> start_point(ws.preset("mouse"), {"P_s": (10.0, 20.0), "H1": (1.0, 8.0)})
    ({'P_s': 20.0, 'H1': 4.0}, {'P_s': [32.0, 20.0]})
    """
    start, clipped = {}, {}
    for name, (low, high) in ranges.items():
        given = float(getattr(base, name))
        start[name] = min(max(given, low), high)
        if start[name] != given:
            clipped[name] = [given, start[name]]
    return start, clipped
