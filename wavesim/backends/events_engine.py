"""An event-driven CPU engine for the amacrine model, bit-identical to :class:`CPUEngine`."""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ParameterError
from ..kernels.amacrine_events import BUCKETS, build_events_runner
from .cpu_engine import CPUEngine


@functools.lru_cache(maxsize=None)
def events_runner(model):
    """The model's event-driven CPU loops, built once per process (and cached on disk by Numba)."""
    return build_events_runner(model.rule_key)


class EventsEngine(CPUEngine):
    """A batch of amacrine retinas in host memory, stepped by :mod:`wavesim.kernels.amacrine_events`.

    Each step updates only the cells near activity (see that module); the
    others are brought up to date when :meth:`state` is read. Frames need no
    catching up: lazy cells are off and their calcium does not move.
    Initial state, frames and parameters are as in :class:`CPUEngine`.

    Parameters
    ----------
    model : WaveModel
        Must be the ``amacrine`` model; others raise :class:`ParameterError`.
    tables, params, keys, calcium_alpha_q30, pixel_map
        As for :class:`CPUEngine`.
    """

    name = "cpu-events"
    xp = np

    def __init__(self, model, tables, params, keys, calcium_alpha_q30, pixel_map):
        if model.name != "amacrine":
            raise ParameterError(
                f"backend 'cpu-events' runs only the 'amacrine' model, got {model.name!r}; use backend='cpu'."
            )
        super().__init__(model, tables, params, keys, calcium_alpha_q30, pixel_map)
        self._events = events_runner(model)
        B, R, C = self.dims
        n = B * R * C
        self.inp = np.zeros(n, np.int32)  # kept between steps: the summed weight of depolarised neighbours
        self.code = np.zeros(n, np.uint8)
        self.last = np.zeros(n, np.int64)
        self.due = np.zeros(n, np.int64)
        self.nxt = np.zeros(n, np.int32)
        self.prv = np.zeros(n, np.int32)
        self.head = np.zeros(B * BUCKETS, np.int32)
        self.hot = np.zeros(n, np.int32)
        self.n_hot = np.zeros(B, np.int64)
        self.events = np.zeros(n, np.int32)
        #: Cell updates done so far, per retina (the dense engine does ``n_cells * t``).
        self.visits = np.zeros(B, np.int64)
        self._no_frames = np.zeros((B, 0, 1, 1), np.uint8)
        self._setup()

    def _setup(self) -> None:
        """Classify every cell as hot or lazy at step ``t``, from the state and the input ``inp`` of step ``t``."""
        self._events.setup(self.t, self._state_flat, *self.dims, self.params, self.ca, self.calcium_alpha_q30,
                           self.inp, self.code, self.last, self.due, self.nxt, self.prv, self.head, self.hot,
                           self.n_hot)

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps."""
        if n_steps > 0:
            self.record_frames(self._no_frames, np.array([self.t + n_steps]))

    def records_frames(self, pixel_map=None) -> bool:
        """Whether :meth:`record_frames` can read ``pixel_map``: always."""
        return True

    def record_frames(self, out: np.ndarray, targets: np.ndarray, pixel_map=None) -> None:
        """Advance to each step of ``targets`` (ascending) and write that frame into ``out[:, i]`` (B, n, H, W).

        Each retina runs all its steps and frames in one call (one parallel region per chunk).
        """
        targets = np.ascontiguousarray(targets, dtype=np.int64)
        pm = pixel_map or self.pixel_map
        t = self.tables
        self._events.record(
            self.t, targets, out, self._state_flat, *self.dims, self.ca, self.calcium_alpha_q30, self.inp, self.keys,
            self.params, self.site_flat, t["dr"], t["dc"], t["w"], t["table"], self.code, self.last, self.due,
            self.nxt, self.prv, self.head, self.hot, self.n_hot, self.events, self.visits,
            pm.pixel_ptr, pm.cell_rows, pm.cell_cols,
        )
        self.t = int(targets[-1]) if targets.size else self.t

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state fields, each (B, R, C) int32, by name (lazy cells brought up to date first)."""
        self._events.sync(self.t, self._state_flat, *self.dims, self.params, self.code, self.last)
        return super().state()

    def load(self, fields: np.ndarray, ca: np.ndarray | None, t: int) -> None:
        """Replace the state by one exported at step ``t``, and rebuild the event bookkeeping from it."""
        super().load(fields, ca, t)
        # The input this engine keeps between steps: the summed weights of the cells depolarised at t,
        # pushed as the dense loops push them before step t + 1.
        tb = self.tables
        inp = self.inp.reshape(self.dims)
        for phase in (0, 1):
            self._run.push(self.t, self._state_flat, *self.dims, inp, self.params, tb["dr"], tb["dc"], tb["w"], phase)
        self._setup()
