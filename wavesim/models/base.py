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
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import ParameterError


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
    lattice : callable
        ``lattice(retina)``: the lattice the model lives on (default :class:`~wavesim.lattice.HexLattice`).
    backends : tuple of str
        The backends that run it.
    run_defaults : mapping of str to float
        Defaults of the run settings where the model's differ from the
        amacrine model's (``spacing_um``, ``width_um``, ``warmup_s``,
        ``duration_s``, ``frame_period_s``, ``um_per_pixel``), for the CLI.
    single_wave : callable, optional
        ``single_wave(params) -> bool``: whether a movie of these parameters
        holds one wave from frame 0 (the store then records each movie's
        ``length_frames``, the first frame with nothing lit).
    cpu_backend : str
        The CPU engine ``backend="auto"`` picks where no GPU is usable.
    events_engine : str, optional
        ``"module:Class"`` of the model's ``cpu-events`` engine, where it has one.
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
    backends: tuple[str, ...] = ("cpu", "cuda")
    run_defaults: Mapping[str, float] = dataclasses.field(default_factory=dict)
    movie_records: Callable[..., dict[str, np.ndarray]] | None = None
    events_engine: str | None = None
    single_wave: Callable[[Any], bool] | None = None
    cpu_backend: str = "cpu"

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
        """A digest of the rule's source (its kernel module and the shared kernel helpers) for on-disk caches."""
        module = importlib.import_module(self.kernel_module)
        folder = Path(module.__file__).parent
        h = hashlib.sha256(self.name.encode())
        for path in (Path(module.__file__), folder / "random.py", folder / "readout.py"):
            h.update(path.read_bytes())
        return h.hexdigest()

    def default_retina(self):
        """The sheet this model runs on unless told otherwise (its ``run_defaults``, else ``Retina()``)."""
        from ..lattice import Retina

        d = self.run_defaults
        if not d:
            return Retina()
        return Retina(width_um=d["width_um"], height_um=d.get("height_um", d["width_um"]), spacing_um=d["spacing_um"])

    def default_readout(self):
        """The frames this model gives unless told otherwise (its ``run_defaults``, else ``Readout()``)."""
        from ..readout import Readout

        d = self.run_defaults
        if not d:
            return Readout()
        return Readout(um_per_pixel=d["um_per_pixel"], frame_period_s=d["frame_period_s"])

    def check_backend(self, backend: str) -> None:
        """Raise ParameterError if ``backend`` (resolved) does not run this model."""
        if backend not in self.backends:
            raise ParameterError(
                f"backend {backend!r} does not run model {self.name!r}; use one of {list(self.backends)}."
            )

    def check_params(self, params) -> None:
        if not isinstance(params, self.params_cls):
            raise ParameterError(
                f"model {self.name!r} takes {self.params_cls.__name__}, got {type(params).__name__}."
            )

    def __repr__(self) -> str:
        return f"WaveModel({self.name!r})"
