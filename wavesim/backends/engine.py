"""The interface every engine offers :class:`~wavesim.Simulation`.

An engine holds the state of a batch of retinas of one model and steps it.
It is built from the model's description (its rule, tables and quantised
parameters) and says what it can do through class attributes, so that
:class:`~wavesim.Simulation` calls it without probing:

- ``reads_pixel_subsets``: :meth:`Engine.read_frame` and
  :meth:`Engine.record_frames` take the pixel map of a few pixels (a fit's
  electrodes) and read only those cells;
- :meth:`Engine.records_frames`: whether a whole chunk of frames is stepped
  and read in one call (the event engines); otherwise :meth:`record_frames`
  advances and reads frame by frame.

Engines never see seeds, seconds or micrometres: the simulation turns those
into keys, steps and pixel maps first.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np


class Engine(abc.ABC):
    """A batch of retinas of one model on one device.

    Parameters
    ----------
    model : WaveModel
    tables : dict of str to ndarray
        The model's lattice tables (``model.tables(lattice)``).
    params : (B, P) int64 ndarray
        Quantised parameters, one row per retina.
    keys : (B,) uint64 ndarray
        Generator keys, one per retina.
    calcium_alpha_q30 : int
        ``dt / calcium_tau`` in units of 2**-30, or 0 to skip the calcium filter.
    pixel_map : PixelMap
        The frames' pixels.

    Attributes
    ----------
    t : int
        Model steps run so far.
    xp : module
        The array module of the engine's arrays (NumPy or CuPy).
    """

    #: The name ``backend=`` selects it by.
    name: ClassVar[str]
    #: :meth:`read_frame` and :meth:`record_frames` accept the pixel map of some pixels only.
    reads_pixel_subsets: ClassVar[bool] = False

    xp: Any = np
    t: int = 0

    @abc.abstractmethod
    def __init__(self, model, tables, params, keys, calcium_alpha_q30, pixel_map):
        ...

    @classmethod
    @abc.abstractmethod
    def default_batch_size(cls, cells_per_retina: int) -> int:
        """Retinas to simulate at once where a run does not say (``RunSpec.batch_size``)."""

    @abc.abstractmethod
    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps on every retina."""

    @abc.abstractmethod
    def read_frame(self, out, pixel_map=None) -> None:
        """Write the frame at step ``t`` of every retina into ``out`` (B, H, W) uint8 on the engine's device.

        ``pixel_map`` (default: the engine's) only where ``reads_pixel_subsets``.
        """

    def records_frames(self, pixel_map=None) -> bool:
        """Whether :meth:`record_frames` steps and reads a chunk in one call for ``pixel_map``."""
        return False

    def record_frames(self, out, targets: np.ndarray, pixel_map=None) -> None:
        """Advance to each step of ``targets`` (ascending) and write that frame into ``out[:, i]``.

        ``out`` is (B, n, H, W) uint8 on the engine's device. The default
        advances and reads frame by frame; engines that do better say so in
        :meth:`records_frames`.
        """
        extra = () if pixel_map is None else (pixel_map,)
        for i, target in enumerate(np.asarray(targets, dtype=np.int64)):
            self.advance(int(target) - self.t)
            self.read_frame(out[:, i], *extra)

    @abc.abstractmethod
    def state(self) -> dict[str, np.ndarray]:
        """Copies of the model's state fields on the host, each (B, R, C) int32, by name."""

    @abc.abstractmethod
    def export(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The complete state at step ``t`` on the host: fields (S, B, R, C) int32 and calcium (B, R, C) or None."""

    @abc.abstractmethod
    def load(self, fields: np.ndarray, calcium: np.ndarray | None, t: int) -> None:
        """Replace the state by one that :meth:`export` gave at step ``t``, on any engine."""

    def to_host(self, array) -> np.ndarray:
        """An array of this engine's device as a NumPy array."""
        return np.asarray(array)
