"""Designs of a parameter sweep: a full grid, or a seeded Latin hypercube over ranges.

A design names the parameters it varies and lists its points, each a
``{name: value}`` mapping that overrides a base parameter set. Names, values
and ranges are checked against the model's parameter class (its field specs
hold the allowed ranges), and every point is built into a parameter set
before anything runs, so that a bad point fails at once.

>>> from wavesim.models import get_model
>>> base = get_model("amacrine").preset("mouse")
>>> d = SweepDesign.grid(base, {"H1": [2.0, 4.0], "P_s": [16.0, 32.0, 64.0]})
>>> len(d.points), d.points[1]
(6, {'H1': 2.0, 'P_s': 32.0})
>>> r = SweepDesign.random(base, {"H1": (2.0, 6.0)}, n_points=4, design_seed=0)
>>> all(2.0 <= p["H1"] <= 6.0 for p in r.points)
True
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..validate import check_int, check_seed, is_bool
from ..models import model_of
from ..parameters import check_value

KINDS = ("grid", "random")
SCALES = ("linear", "log")

__all__ = ["KINDS", "SCALES", "SweepDesign", "grid_values"]


def grid_values(low: float, high: float, n: int, scale: str = "linear") -> list[float]:
    """``n`` values from ``low`` to ``high`` inclusive, evenly spaced (``linear``) or in geometric steps (``log``).

    >>> grid_values(2, 6, 5)
    [2.0, 3.0, 4.0, 5.0, 6.0]
    >>> grid_values(10, 1000, 3, "log")
    [10.0, 100.0, 1000.0]
    """
    if scale not in SCALES:
        raise ParameterError(f"the scale of a grid must be one of {SCALES}, got {scale!r}.")
    if is_bool(n) or not (isinstance(n, (int, np.integer)) and n >= 2):
        raise ParameterError(f"a grid from {low:g} to {high:g} needs at least 2 points, got {n!r}.")
    if not low < high:
        raise ParameterError(f"a grid needs low < high, got {low:g} to {high:g}.")
    if scale == "log":
        if low <= 0:
            raise ParameterError(f"a log-spaced grid needs low > 0, got {low:g}.")
        values = np.geomspace(low, high, n)
    else:
        values = np.linspace(low, high, n)
    values[0], values[-1] = low, high  # exact ends, whatever the rounding inside
    return [float(v) for v in values]


def _specs_of(base) -> tuple[str, dict[str, dict[str, Any]]]:
    cls = model_of(base).params_cls
    return cls.__name__, cls.field_specs()


def _check_names(base, names: Sequence[str], *, numeric: bool) -> None:
    owner, specs = _specs_of(base)
    known = sorted(n for n, m in specs.items() if not (numeric and "choices" in m))
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ParameterError(f"Unknown {owner} parameter(s) {unknown} to sweep; known ones are {known}.")
    if numeric:
        named = [n for n in names if "choices" in specs[n]]
        if named:
            raise ParameterError(f"{owner}.{named[0]} takes one of {list(specs[named[0]]['choices'])}, not a number; "
                                 f"a random design draws numbers: list its values in a grid instead.")
    if "dt_s" in names:
        # one Simulation batch shares one time step, and dt_s is the scheme's, not the retina's
        raise ParameterError("dt_s cannot be swept: it is the time step of the numerical scheme, shared by a batch, "
                             "not a property of the retina; set it in the base parameters (--params) instead.")
    if not names:
        raise ParameterError("a sweep needs at least one parameter to vary.")


@dataclasses.dataclass(frozen=True)
class SweepDesign:
    """The points of a sweep over parameters of one model.

    Build it with :meth:`grid` or :meth:`random`, which check everything.

    Attributes
    ----------
    kind : {"grid", "random"}
    model : str
        The registered model whose parameters are swept.
    parameters : tuple of str
        The varied parameters, in the order given.
    axes : dict
        ``grid``: ``{name: [values]}``; ``random``: ``{name: {"low", "high", "scale"}}``.
    n_points : int
    design_seed : int or None
        Seed of the random design (None for a grid).
    points : tuple of dict
        ``{name: value}`` per point, in run order (a grid varies its last
        parameter fastest).
    """

    kind: str
    model: str
    parameters: tuple[str, ...]
    axes: dict[str, Any]
    n_points: int
    design_seed: int | None
    points: tuple[dict[str, Any], ...]

    @classmethod
    def grid(cls, base, values: Mapping[str, Sequence[Any]]) -> "SweepDesign":
        """Every combination of the given values of each parameter.

        Parameters
        ----------
        base : parameters of a registered model
            The values of the parameters not swept.
        values : mapping of str to sequence
            Values of each swept parameter (numbers, or names of a choice
            parameter), in the parameter's unit.

        Raises
        ------
        ParameterError
            For an unknown or unsweepable parameter, an empty or repeating list,
            a value outside the parameter's range, or a point that is no valid
            parameter set (e.g. ``tau_K_s`` below ``dt_s``).
        """
        names = list(values)
        _check_names(base, names, numeric=False)
        owner, specs = _specs_of(base)
        axes = {}
        for name in names:
            given = list(values[name])
            if not given:
                raise ParameterError(f"the grid of {owner}.{name} holds no value; give at least one.")
            checked = [check_value(owner, name, v, specs[name]) for v in given]
            repeated = sorted({str(v) for v in checked if checked.count(v) > 1})
            if repeated:
                raise ParameterError(f"the grid of {owner}.{name} repeats {', '.join(repeated)}; give each value once.")
            axes[name] = checked
        points = tuple(dict(zip(names, combo)) for combo in itertools.product(*(axes[n] for n in names)))
        design = cls("grid", model_of(base).name, tuple(names), axes, len(points), None, points)
        design.check_points(base)
        return design

    @classmethod
    def random(cls, base, ranges: Mapping[str, Sequence[Any]], n_points: int, design_seed: int = 0) -> "SweepDesign":
        """A Latin hypercube of ``n_points`` points over the parameters' ranges (scipy.stats.qmc, seeded).

        Each range is divided into ``n_points`` strata of equal width
        (equal ratio on a log scale), and each stratum of each parameter
        holds exactly one point. Whole-number parameters are rounded down
        after scaling ``[low, high + 1)``.

        Parameters
        ----------
        base : parameters of a registered model
        ranges : mapping of str to (low, high) or (low, high, scale)
            ``scale`` is ``"linear"`` (default) or ``"log"``.
        n_points : int
        design_seed : int
            The same seed gives the same points.
        """
        from scipy.stats import qmc

        names = list(ranges)
        _check_names(base, names, numeric=True)
        owner, specs = _specs_of(base)
        n_points = check_int("n_points", n_points, low=1, what="points of the random design")
        design_seed = check_seed("design_seed", design_seed)
        axes = {}
        for name in names:
            pair = tuple(ranges[name])
            if len(pair) not in (2, 3):
                raise ParameterError(f"the range of {owner}.{name} must be (low, high) or (low, high, scale), "
                                     f"got {ranges[name]!r}.")
            scale = pair[2] if len(pair) == 3 else "linear"
            if scale not in SCALES:
                raise ParameterError(f"the scale of {owner}.{name} must be one of {SCALES}, got {scale!r}.")
            low, high = (check_value(owner, name, v, specs[name]) for v in pair[:2])
            if not low < high:
                raise ParameterError(f"the range of {owner}.{name} needs low < high, got {low:g} to {high:g}.")
            if scale == "log" and low <= 0:
                raise ParameterError(f"the log-scaled range of {owner}.{name} needs low > 0, got {low:g}.")
            axes[name] = {"low": low, "high": high, "scale": scale}
        generator = np.random.default_rng(int(design_seed))
        try:
            sampler = qmc.LatinHypercube(d=len(names), rng=generator)
        except TypeError:  # scipy < 1.15 names it seed
            sampler = qmc.LatinHypercube(d=len(names), seed=generator)
        unit = sampler.random(int(n_points))
        columns = {}
        for j, name in enumerate(names):
            low, high, scale = axes[name]["low"], axes[name]["high"], axes[name]["scale"]
            u = unit[:, j]
            if specs[name].get("integer"):
                if scale == "log":
                    column = np.floor(np.exp(np.log(low) + u * (np.log(high + 1) - np.log(low))))
                else:
                    column = np.floor(low + u * (high + 1 - low))
                columns[name] = [int(min(v, high)) for v in column]
            elif scale == "log":
                columns[name] = [float(v) for v in np.exp(np.log(low) + u * (np.log(high) - np.log(low)))]
            else:
                columns[name] = [float(v) for v in low + u * (high - low)]
        points = tuple({name: columns[name][i] for name in names} for i in range(int(n_points)))
        design = cls("random", model_of(base).name, tuple(names), axes, int(n_points), int(design_seed), points)
        design.check_points(base)
        return design

    def params(self, base, index: int):
        """The full parameter set of point ``index``: ``base`` with the point's values."""
        return model_of(base).params_cls.from_dict(self.points[index], base=base)

    def check_points(self, base) -> None:
        """Build every point's parameter set; raise ParameterError naming the first invalid point."""
        if model_of(base).name != self.model:
            raise ParameterError(f"this design sweeps model {self.model!r}, but the base parameters are of model "
                                 f"{model_of(base).name!r}.")
        for i in range(self.n_points):
            try:
                self.params(base, i)
            except ParameterError as exc:
                raise ParameterError(f"sweep point {i} ({self.describe_point(i)}): {exc}") from None

    def describe_point(self, index: int) -> str:
        """``"H1=2, P_s=16"``: the point's values."""
        return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                         for k, v in self.points[index].items())

    def varied(self) -> tuple[str, ...]:
        """The parameters that take more than one value over the points."""
        return tuple(n for n in self.parameters if len({p[n] for p in self.points}) > 1)

    def is_log(self, name: str) -> bool:
        """Whether parameter ``name`` was spaced geometrically (a log range, or a grid of positive values
        with a constant ratio between neighbours)."""
        axis = self.axes[name]
        if self.kind == "random":
            return axis["scale"] == "log"
        v = np.array([x for x in axis if isinstance(x, (int, float))], float)
        if v.size < 3 or v.size != len(axis) or np.any(v <= 0):
            return False
        ratios, steps = v[1:] / v[:-1], np.diff(v)
        return bool(np.allclose(ratios, ratios[0], rtol=1e-6) and not np.allclose(steps, steps[0], rtol=1e-6))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description, points included (what a resumed sweep must match)."""
        return {"kind": self.kind, "model": self.model, "parameters": list(self.parameters), "axes": self.axes,
                "n_points": self.n_points, "design_seed": self.design_seed,
                "points": [dict(p) for p in self.points]}
