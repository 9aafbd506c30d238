"""What a wave model is to the rest of wavesim: a description, not a fork of the runners.

A :class:`WaveModel` names its parameter class and presets, its per-cell
state fields, how a list of parameter sets becomes integer rows for the
kernels, the lattice tables its rule reads, and the module in ``kernels/``
whose ``build_rule(jit)`` returns its ``init`` / ``step`` / ``active``
functions. Engines build their loops and kernels from that rule
(:mod:`wavesim.kernels.cpu`, :mod:`wavesim.kernels.cuda`); nothing outside
``wavesim/models/`` and ``kernels/`` names a model's fields.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import re
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..run import RunSpec


@dataclasses.dataclass(frozen=True, eq=False)
class WaveModel:
    """One registered wave model.

    Parameters
    ----------
    name : str
        Registry name, as in ``wavesim generate --model NAME`` and a store's ``attrs["model"]``.
    summary : str
        One line for listings.
    params_cls : type
        Its frozen, validated parameter class (a ``ValidatedParams`` with a ``dt_s`` field).
    presets : mapping of str to params_cls
    default_preset : str
    state_fields : tuple of str
        Names of the int32 planes of the (S, B, R, C) state.
    quantise : callable
        ``quantise(params_list) -> (B, P) int64`` rows the rule reads as ``prow``.
    tables : callable
        ``tables(lattice) -> dict`` of ``dr``, ``dc``, ``w`` (2, K) int32
        neighbour offsets and weights, ``site`` (R, C) int32 per-site table
        (0 where no cell is) and ``table`` (N,) int32.
    kernel_module : str
        Module whose ``build_rule(jit)`` returns the rule (``init``, ``step``, ``active``).
    reference : callable
        ``reference(lattice, prow, key, tables)``: a NumPy retina with
        ``step()`` and ``state()``, written independently of the rule.
    fit_defaults : tuple of str
        The parameters ``wavesim fit`` tunes unless told otherwise.
    fit_ranges : mapping of str to (float, float)
        Where a fit searches a parameter unless told otherwise (default for
        a parameter not named here: its whole allowed range).
    fit_preset : str, optional
        The preset a fit starts from unless told otherwise (None: ``default_preset``):
        one whose movies hold spontaneous waves to compare with a recording.
    graded_readout : str, optional
        The state field a ``graded`` readout shows (the rule's ``value``:
        the field mapped onto 0..65535), e.g. ``"v"``; None where the model
        has no graded readout.
    check_sheet : callable, optional
        ``check_sheet(lattice, params_list)``: raises a ParameterError where
        these parameters cannot run on this sheet (e.g. an explicit
        diffusion step unstable at its spacing); None: any sheet.
    whole_steps : tuple of str
        Parameters (durations in s) that must be whole numbers of ``dt_s``;
        fits search them on that grid.
    lattice : callable
        ``lattice(retina)``: the lattice the model lives on (default :class:`~wavesim.lattice.HexLattice`).
    run : RunSpec
        How the model runs unless told otherwise: its natural sheet, frames
        and timing (default ``RunSpec()``, the class defaults of
        :class:`~wavesim.lattice.Retina`, :class:`~wavesim.readout.Readout`
        and :class:`~wavesim.run.Timing`).
    single_wave : callable, optional
        ``single_wave(params) -> bool``: whether a movie of these parameters
        holds one wave from frame 0 (the store then records each movie's
        ``length_frames``, the first frame with nothing lit).
    event_engine : type, optional
        The model's event-driven CPU engine (an :class:`~wavesim.backends.Engine`
        named ``cpu-events``), where it has one; ``backend="auto"`` picks it
        where no GPU is usable.
    coupling : {"push", "pull"}
        How cells hear their neighbours. ``"push"`` (default): the rule's
        ``step`` takes one int, the summed weights ``w`` of the neighbours
        active at the previous step (:mod:`wavesim.kernels.cpu`). ``"pull"``:
        the rule names ``PULL_FIELDS`` and its ``step`` takes a tuple of
        weighted sums of those state fields over the neighbours
        (``pull_dr``, ``pull_dc``, ``pull_w`` tables), mirrored at the
        sheet's edges: diffusion of continuous state
        (:mod:`wavesim.kernels.pull_cpu`; the continuous-state models).
    movie_records : callable, optional
        ``movie_records(lattice, prows, keys) -> dict`` of per-movie arrays
        (first axis: movie) that the store keeps beside the frames, e.g. a
        wave's initiation point; None where the model has none.
    """

    name: str
    summary: str
    params_cls: type
    presets: Mapping[str, Any]
    default_preset: str
    state_fields: tuple[str, ...]
    quantise: Callable[[Sequence[Any]], np.ndarray]
    tables: Callable[[Any], dict[str, np.ndarray]]
    kernel_module: str
    reference: Callable[..., Any]
    fit_defaults: tuple[str, ...]
    lattice: Callable[[Any], Any] = None
    run: RunSpec = dataclasses.field(default_factory=RunSpec)
    movie_records: Callable[..., dict[str, np.ndarray]] | None = None
    event_engine: type | None = None
    single_wave: Callable[[Any], bool] | None = None
    coupling: str = "push"
    fit_ranges: Mapping[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    whole_steps: tuple[str, ...] = ()
    check_sheet: Callable[[Any, Sequence[Any]], None] | None = None
    graded_readout: str | None = None
    fit_preset: str | None = None

    @property
    def fit_start_preset(self) -> str:
        """The preset a fit starts from unless told otherwise."""
        return self.fit_preset or self.default_preset

    def check_fittable(self, params) -> None:
        """Raise a ParameterError where movies of ``params`` cannot be fitted to a recording (one wave from
        frame 0 per movie, no spontaneous waves)."""
        if self.single_wave is not None and self.single_wave(params):
            raise ParameterError(
                f"{type(params).__name__} in single-wave mode start one wave at frame 0 of each movie and no "
                f"spontaneous waves, so there is nothing to compare with a recording; start the fit from "
                f"preset {self.fit_start_preset!r} (the fit's default for model {self.name}) or parameters "
                f"whose waves start on their own.")

    def record_fields(self, params) -> dict[str, np.dtype]:
        """Names and dtypes of the per-movie records a store of these parameters keeps (may be empty)."""
        fields: dict[str, np.dtype] = {}
        if self.movie_records is not None:
            empty = self.movie_records(None, np.zeros((0, 1), np.int64), np.zeros(0, np.uint64))
            fields.update({name: np.asarray(v).dtype for name, v in empty.items()})
        if self.single_wave is not None and self.single_wave(params):
            fields["length_frames"] = np.dtype(np.int32)
        return fields

    def __post_init__(self):
        if self.coupling not in ("push", "pull"):
            raise ParameterError(f"WaveModel.coupling must be 'push' or 'pull', got {self.coupling!r}.")
        if self.graded_readout is not None and self.graded_readout not in self.state_fields:
            raise ParameterError(f"WaveModel.graded_readout must be one of {self.state_fields}, got "
                                 f"{self.graded_readout!r}.")
        object.__setattr__(self, "fit_ranges", dict(self.params_cls.check_ranges(dict(self.fit_ranges))))
        for preset in (self.default_preset, self.fit_start_preset):
            self.preset(preset)
        if self.lattice is None:
            from ..lattice import HexLattice

            object.__setattr__(self, "lattice", HexLattice)

    def preset(self, name: str | None = None):
        """The parameters of a named preset (default: the model's default preset)."""
        name = self.default_preset if name is None else name
        try:
            return self.presets[name]
        except KeyError:
            raise ParameterError(
                f"Unknown preset {name!r} of model {self.name!r}; choose one of {sorted(self.presets)}."
            ) from None

    def build_rule(self, jit):
        """The rule compiled with ``jit`` (``numba.njit`` or a CUDA device decorator)."""
        return importlib.import_module(self.kernel_module).build_rule(jit)

    @functools.cached_property
    def rule_key(self) -> str:
        """A digest of the rule's source (its kernel module and the shared kernel helpers it uses) for on-disk caches."""
        from .. import kernels

        module = importlib.import_module(self.kernel_module)
        shared = Path(kernels.__file__).parent  # the rule may live in another package; the helpers live here
        source = Path(module.__file__).read_bytes()
        h = hashlib.sha256(self.name.encode())
        h.update(source)
        helpers = ["random", "readout"]
        # Other shared helpers only where the rule imports them, so that adding one changes no other model's key.
        helpers += sorted(set(re.findall(rb"from (?:\.|wavesim\.kernels\.)(\w+) import", source)
                              ) - {b"random", b"readout"})
        for name in helpers:
            name = name.decode() if isinstance(name, bytes) else name
            if (shared / f"{name}.py").exists():
                h.update((shared / f"{name}.py").read_bytes())
        return h.hexdigest()

    @property
    def backends(self) -> list[str]:
        """The registered engines that run this model (:func:`wavesim.backends.engines_for`)."""
        from ..backends import engines_for

        return engines_for(self)

    def check_params(self, params) -> None:
        if not isinstance(params, self.params_cls):
            raise ParameterError(
                f"model {self.name!r} takes {self.params_cls.__name__}, got {type(params).__name__}."
            )

    def __repr__(self) -> str:
        return f"WaveModel({self.name!r})"
