"""What a run needs besides the model's parameters: one frozen, validated description.

A :class:`RunSpec` holds the simulated sheet (:class:`~wavesim.lattice.Retina`),
the frames (:class:`~wavesim.readout.Readout`), the timing (:class:`Timing`),
how many retinas to simulate at once and which backend to prefer. Every
entry point that runs a model (:class:`~wavesim.Simulation`, ``wavesim
generate``, :class:`~wavesim.data.LiveWaves`, fits, sweeps, the paper
scripts) starts from the model's own run description
(``get_model(name).run``), so each default is declared once: in the field of
the class it belongs to (``Retina.width_um``...), or, where a model's natural
run differs, in that model's ``run``.

>>> from wavesim import get_model
>>> get_model("directional").run.retina.spacing_um    # one cell a pixel, as in May et al. (2025)
50.0
>>> get_model("amacrine").run.updated(width_um=1000).retina.height_um   # a square unless told otherwise
1000.0
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from .errors import ParameterError
from .lattice import Retina
from .parameters import ValidatedParams, field
from .readout import Readout


@dataclasses.dataclass(frozen=True)
class Timing(ValidatedParams):
    """How long to run: a warm-up that is not recorded, then the movie.

    Parameters
    ----------
    duration_s : float (s)
        Length of each movie.
    warmup_s : float (s)
        Simulated time before the first frame (the original code warms up
        15 minutes, long enough for thresholds to forget their random start).
    """

    duration_s: float = field(60.0, unit="s", low=0.001, high=1e6, doc="length of each movie")
    warmup_s: float = field(900.0, unit="s", low=0.0, high=1e6, doc="simulated time before the first frame")


#: The parts of a run description and the classes that validate them.
_PARTS = {"retina": Retina, "readout": Readout, "timing": Timing}


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything a run needs besides the model's parameters.

    Parameters
    ----------
    retina : Retina
        The simulated sheet.
    readout : Readout
        How its state becomes frames.
    timing : Timing
        Warm-up and movie length.
    batch_size : int or None
        Retinas simulated at once; None: the engine's own default
        (:meth:`wavesim.backends.Engine.default_batch_size`).
    backend : str
        ``"auto"`` or the name of a registered engine
        (:func:`wavesim.backends.list_engines`).

    Neither ``batch_size`` nor ``backend`` changes a movie's bytes: every
    engine gives the same frames for the same seed.
    """

    retina: Retina = dataclasses.field(default_factory=Retina)
    readout: Readout = dataclasses.field(default_factory=Readout)
    timing: Timing = dataclasses.field(default_factory=Timing)
    batch_size: int | None = None
    backend: str = "auto"

    def __post_init__(self) -> None:
        from .backends import check_backend_name
        from .validate import check_int

        for name, cls in _PARTS.items():
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise ParameterError(f"RunSpec.{name} must be a {cls.__name__}, got {type(value).__name__}.")
        if self.batch_size is not None:
            object.__setattr__(self, "batch_size", check_int("batch size", self.batch_size, low=1,
                                                            what="retinas simulated at once"))
        check_backend_name(self.backend)

    @property
    def frame_shape(self) -> tuple[int, int]:
        """(height_px, width_px) of the frames, from the retina and the pixel size alone."""
        return self.readout.frame_shape(self.retina)

    def updated(self, **values: Any) -> "RunSpec":
        """A copy with the named settings changed; ``None`` values keep the current setting.

        Names are the fields of :class:`~wavesim.lattice.Retina`,
        :class:`~wavesim.readout.Readout` and :class:`Timing` (they do not
        overlap), ``batch_size`` and ``backend``. A new ``width_um`` without a
        ``height_um`` makes the sheet square.

        Raises
        ------
        ParameterError
            For an unknown name (listing the known ones) or a value out of range.
        """
        values = {k: v for k, v in values.items() if v is not None}
        if "width_um" in values and "height_um" not in values:
            values["height_um"] = values["width_um"]
        changes: dict[str, Any] = {}
        for part, cls in _PARTS.items():
            mine = {k: values.pop(k) for k in list(values) if k in _field_names(cls)}
            if mine:
                changes[part] = cls.from_dict(mine, base=getattr(self, part))
        for name in ("batch_size", "backend"):
            if name in values:
                changes[name] = values.pop(name)
        if values:
            known = sorted({n for cls in _PARTS.values() for n in _field_names(cls)} | {"batch_size", "backend"})
            raise ParameterError(f"Unknown run setting(s) {sorted(values)}; known settings are {known}.")
        return dataclasses.replace(self, **changes)

    def to_dict_with_units(self) -> dict[str, Any]:
        """The whole description as plain data with units (the form a store's provenance records)."""
        out: dict[str, Any] = {part: getattr(self, part).to_dict_with_units() for part in _PARTS}
        out["batch_size"] = self.batch_size
        out["backend"] = self.backend
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "RunSpec":
        """Rebuild from :meth:`to_dict_with_units` (missing parts take their class defaults)."""
        unknown = sorted(set(values) - set(_PARTS) - {"batch_size", "backend"})
        if unknown:
            raise ParameterError(f"Unknown RunSpec entries {unknown}; known ones are "
                                 f"{sorted([*_PARTS, 'batch_size', 'backend'])}.")
        parts = {name: part.from_dict(values[name]) for name, part in _PARTS.items() if name in values}
        return cls(**parts, batch_size=values.get("batch_size"), backend=values.get("backend", "auto"))


def _field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]
