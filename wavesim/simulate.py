"""Run a batch of retinas and read them out as movies.

Data flow: parameters -> :class:`Simulation` (lattice, backend engine) ->
frames, produced chunk by chunk so that memory does not grow with a movie's
duration.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .backends import make_engine, resolve_backend
from .errors import ParameterError
from .kernels import random
from .lattice import Retina
from .models import model_of
from .readout import PixelMap, Readout, blur_frames, blur_weights_q
from .run import Timing
from .validate import check_int, check_seed


def movie_seeds(seed: int, movies: Sequence[int]) -> np.ndarray:
    """The seed of each movie of a dataset: a hash of (dataset seed, movie index).

    Movie ``m`` is the same whichever process, batch or range generates it.
    """
    return random.movie_seeds(check_seed("seed", seed), movies)


#: Host bytes per lattice site shared by a batch (site tables, positions, pixel map), a generous bound.
_BYTES_PER_SITE = 48
#: Host bytes per cell of each retina besides its state fields: calcium, input and the event engines' bookkeeping
#: (cell code, last and due steps, queue links, hot and event lists).
_BYTES_PER_CELL = 48


def available_memory_bytes() -> int | None:
    """Memory the system can give this process now (Linux ``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_memory(model, retina: Retina, n_retinas: int) -> None:
    """Refuse, before allocating anything, a batch whose state cannot fit in the available memory.

    Raises
    ------
    ParameterError
        Saying how much the batch needs and how much is available.
    """
    lattice = model.lattice(retina)  # rows and cols only; its tables are built on first use
    sites = lattice.rows * lattice.cols
    need = sites * (_BYTES_PER_SITE + n_retinas * (4 * len(model.state_fields) + _BYTES_PER_CELL))
    free = available_memory_bytes()
    if free is not None and need > free:
        raise ParameterError(
            f"a batch of {n_retinas} retina(s) of {retina.width_um:g} x {retina.height_um:g} um "
            f"({sites:,} lattice sites each) needs about {need / 2**30:.1f} GiB, but {free / 2**30:.1f} GiB of "
            f"memory is available; simulate a smaller retina or fewer retinas at once (--batch-size)."
        )


class Simulation:
    """A batch of independent retinas on one backend, read out as frames.

    Parameters
    ----------
    params : parameters of a registered model, or a sequence of them
        One parameter set for all retinas, or one per retina (one model, one ``dt_s``).
    seeds : sequence of int
        One seed per retina; the batch size is ``len(seeds)``.
    retina : Retina, optional
        Size and shape of the simulated sheet (default: the model's,
        ``model.run.retina``: 3.2 mm square; for ``directional`` the paper's
        64 x 64 grid of 50 um).
    readout : Readout, optional
        Pixel size, frame period and kind of frames (default: the model's, ``model.run.readout``).
    backend : str
        ``"auto"`` or a registered engine (:func:`wavesim.backends.list_engines`).
        ``auto`` picks ``cuda`` when a usable GPU is present, else the
        model's event engine (``cpu-events``) where it has one, else ``cpu``.
        ``cpu-events`` updates only the cells near activity and gives the
        same state and frames as ``cpu``.

    Examples
    --------
    >>> from wavesim import Simulation, Retina, Readout, preset
    >>> sim = Simulation(preset("mouse"), seeds=[0], retina=Retina(width_um=500, height_um=500),
    ...                  readout=Readout(um_per_pixel=50, frame_period_s=1.0), backend="cpu")
    >>> sim.advance_s(10.0)
    >>> sim.frame().shape
    (1, 10, 10)
    """

    def __init__(self, params, seeds, retina: Retina | None = None, readout: Readout | None = None, backend="auto"):
        seeds = [check_seed("seeds", s) for s in seeds]
        if not seeds:
            raise ParameterError("seeds must hold at least one seed (one per retina).")
        if not isinstance(params, (list, tuple)):
            params = [params] * len(seeds)
        params = list(params)
        if len(params) != len(seeds):
            raise ParameterError(
                f"params holds {len(params)} parameter sets but seeds holds {len(seeds)}; "
                f"give one of each per retina, or a single parameter set."
            )
        self.model = model_of(params[0])
        for p in params[1:]:
            if model_of(p) is not self.model:
                raise ParameterError(
                    f"all retinas of a batch must use one model; got {self.model.name!r} and {model_of(p).name!r}."
                )
        dts = {p.dt_s for p in params}
        if len(dts) != 1:
            raise ParameterError(f"all retinas of a batch must share dt_s; got {sorted(dts)}.")
        self.params = params
        self.seeds = seeds
        self.dt_s = dts.pop()
        self.retina = retina or self.model.run.retina
        self.readout = readout or self.model.run.readout
        self.backend = resolve_backend(backend, self.model)
        check_memory(self.model, self.retina, len(seeds))
        self.lattice = self.model.lattice(self.retina)
        if self.model.check_sheet is not None:
            self.model.check_sheet(self.lattice, params)
        self.pixel_map = PixelMap(self.lattice, self.readout.um_per_pixel)
        ca_alpha = calcium_alpha_q30(self.readout, self.dt_s)
        self.calcium_alpha_q30 = ca_alpha
        graded = {}
        if self.readout.kind == "graded":
            if self.model.graded_readout is None:
                raise ParameterError(f"model {self.model.name!r} has no graded readout (its state is discrete); "
                                     f"use Readout(kind='binary') or kind='calcium'.")
            graded = {"graded": True}  # only the engines of models with one take it
        self.engine = make_engine(
            self.backend,
            self.model,
            tables=self.model.tables(self.lattice),
            params=self.model.quantise(params),
            keys=random.retina_keys(seeds),
            calcium_alpha_q30=ca_alpha,
            pixel_map=self.pixel_map,
            **graded,
        )
        self.xp = self.engine.xp
        self._blur = blur_weights_q(self.readout.blur_um, self.readout.um_per_pixel)

    @property
    def batch_size(self) -> int:
        return len(self.seeds)

    @property
    def frame_shape(self) -> tuple[int, int]:
        """(height_px, width_px)."""
        return self.pixel_map.shape

    @property
    def step(self) -> int:
        """Model steps run so far."""
        return self.engine.t

    def steps_for(self, seconds: float) -> int:
        """Whole model steps in ``seconds`` (a tolerance absorbs float error in e.g. 0.1 / 0.025)."""
        return int(math.floor(seconds / self.dt_s + 1e-9))

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` model steps on every retina."""
        self.engine.advance(int(n_steps))

    def advance_s(self, seconds: float) -> None:
        """Run for ``seconds`` of simulated time (rounded down to whole steps)."""
        self.advance(self.steps_for(seconds))

    def frame(self):
        """The current frame of every retina, (B, H, W) uint8, on the backend's device."""
        out = self.xp.zeros((self.batch_size, *self.frame_shape), dtype=np.uint8)
        self.engine.read_frame(out)
        return blur_frames(out, self._blur, self.xp)

    def frames(self, n_frames: int, chunk_frames: int = 64, pixels=None) -> Iterator[tuple[int, object]]:
        """Record ``n_frames`` frames from now, yielding ``(first_frame, chunk)``.

        ``chunk`` is (B, n, H, W) uint8 on the backend's device with ``n <=
        chunk_frames``. Frame ``k`` shows the state at step
        ``start + floor(k * frame_period_s / dt_s)``, where ``start`` is the
        step at the call; frame 0 is the current state.

        ``pixels``, a pair ``(rows, cols)`` of P pixel coordinates, records
        those pixels only: chunks are (B, n, P), the values of
        ``chunk[:, :, rows, cols]`` of whole frames, read at a fraction of
        the cost on the CPU backends (e.g. a fit's electrode pixels).
        """
        if n_frames < 0 or chunk_frames < 1:
            raise ParameterError(f"n_frames must be >= 0 and chunk_frames >= 1, got {n_frames}, {chunk_frames}.")
        rows = cols = sub = None
        if pixels is not None:
            rows, cols = (np.asarray(a, dtype=np.int64).reshape(-1) for a in pixels)
            H, W = self.frame_shape
            if rows.shape != cols.shape or np.any((rows < 0) | (rows >= H) | (cols < 0) | (cols >= W)):
                raise ParameterError(f"pixels must be two equal-length arrays of rows < {H} and columns < {W} "
                                     f"(the frame is {H} x {W} pixels).")
            if self._blur.size == 0 and self.engine.reads_pixel_subsets:
                sub = self.pixel_map.select(rows * W + cols)
            else:
                rows, cols = self.xp.asarray(rows), self.xp.asarray(cols)  # picked from whole frames below
        start = self.step
        period = self.readout.frame_period_s
        shape = (1, len(rows)) if sub is not None else self.frame_shape
        for first in range(0, n_frames, chunk_frames):
            n = min(chunk_frames, n_frames - first)
            chunk = self.xp.zeros((self.batch_size, n, *shape), dtype=np.uint8)
            targets = [start + int(math.floor((first + i) * period / self.dt_s + 1e-9)) for i in range(n)]
            self.engine.record_frames(chunk, np.array(targets, dtype=np.int64), sub)
            if sub is not None:
                yield first, chunk[:, :, 0]
            elif rows is not None:
                yield first, blur_frames(chunk, self._blur, self.xp)[:, :, rows, cols]
            else:
                yield first, blur_frames(chunk, self._blur, self.xp)

    def to_host(self, array) -> np.ndarray:
        """A device array of this simulation as a NumPy array."""
        if self.xp is np:
            return array
        return self.engine.to_host(array)

    def state(self) -> dict[str, np.ndarray]:
        """The lattice state as NumPy arrays: each of the model's ``state_fields``, (B, R, C) int32."""
        return self.engine.state()

    def save_state(self) -> "SimulationState":
        """The complete state of every retina now, backend-independent (see :meth:`restore`)."""
        fields, ca = self.engine.export()
        return SimulationState(
            model=self.model.name, params=tuple(self.params), seeds=tuple(self.seeds), retina=self.retina,
            readout=self.readout, step=self.step, fields=fields, calcium=ca,
        )

    def restore(self, state: "SimulationState") -> None:
        """Continue from ``state``: ``restore(s)`` then N steps gives the bits of N more steps after :meth:`save_state`.

        ``state`` may come from any backend. It must hold this simulation's
        model, parameters, seeds, retina and time step; its readout may differ
        from this one's as long as the calcium filter is the same (none for binary frames).

        Raises
        ------
        ParameterError
            Naming what differs between ``state`` and this simulation.
        """
        if not isinstance(state, SimulationState):
            raise ParameterError(f"restore needs a SimulationState (from save_state or load), got {type(state).__name__}.")
        mine = {
            "model": self.model.name,
            "seeds": tuple(self.seeds),
            "retina": self.retina.to_dict(),
            "dt_s": self.dt_s,
            "calcium filter (readout kind, calcium_tau_s)": self.calcium_alpha_q30,
        }
        theirs = {
            "model": state.model,
            "seeds": tuple(state.seeds),
            "retina": state.retina.to_dict(),
            "dt_s": state.params[0].dt_s,
            "calcium filter (readout kind, calcium_tau_s)": calcium_alpha_q30(state.readout, state.params[0].dt_s),
        }
        differ = [f"{k} (state {theirs[k]!r}, simulation {mine[k]!r})" for k in mine if mine[k] != theirs[k]]
        if not differ and not np.array_equal(self.model.quantise(self.params), self.model.quantise(list(state.params))):
            differ.append("params (the parameter sets of its retinas)")
        if differ:
            raise ParameterError(f"cannot restore this state into this simulation: they differ in {'; '.join(differ)}.")
        self.engine.load(state.fields, state.calcium, state.step)

    @classmethod
    def from_state(cls, state: "SimulationState", backend: str = "auto") -> "Simulation":
        """A simulation of ``state``'s retinas on ``backend``, continuing from it."""
        sim = cls(list(state.params), state.seeds, retina=state.retina, readout=state.readout, backend=backend)
        sim.restore(state)
        return sim


def calcium_alpha_q30(readout: Readout, dt_s: float) -> int:
    """The calcium filter's ``dt / calcium_tau`` in units of 2**-30, or 0 for binary frames (no filter)."""
    if readout.kind != "calcium":
        return 0
    return max(1, round(min(1.0, dt_s / readout.calcium_tau_s) * 2**30))


#: Version of the layout of :meth:`SimulationState.save` files.
STATE_FORMAT = 1


@dataclasses.dataclass(frozen=True, eq=False)
class SimulationState:
    """The complete state of a batch of retinas at one step, as saved by :meth:`Simulation.save_state`.

    Backend-independent: a state saved on ``cpu`` restores on ``cuda`` or
    ``cpu-events`` and continues with the same bits.

    Attributes
    ----------
    model : str
    params : tuple of parameter sets, one per retina
    seeds : tuple of int
    retina : Retina
    readout : Readout
    step : int
        Model steps run before the state.
    fields : (S, B, R, C) int32 ndarray
        The model's ``state_fields``.
    calcium : (B, R, C) int32 ndarray or None
        The calcium filter of calcium readouts.
    """

    model: str
    params: tuple
    seeds: tuple
    retina: Retina
    readout: Readout
    step: int
    fields: np.ndarray
    calcium: np.ndarray | None

    @property
    def batch_size(self) -> int:
        return len(self.seeds)

    def select(self, index: Sequence[int]) -> "SimulationState":
        """The state of the retinas ``index`` (in that order)."""
        index = [int(i) for i in index]
        return dataclasses.replace(
            self, params=tuple(self.params[i] for i in index), seeds=tuple(self.seeds[i] for i in index),
            fields=self.fields[:, index], calcium=None if self.calcium is None else self.calcium[index],
        )

    @staticmethod
    def concat(states: Sequence["SimulationState"]) -> "SimulationState":
        """One batch of the retinas of ``states``, in order (same model, retina, readout and step)."""
        first = states[0]
        for s in states[1:]:
            if (s.model, s.step, s.retina, s.fields.shape[2:]) != (first.model, first.step, first.retina,
                                                                 first.fields.shape[2:]):
                raise ParameterError("states to join must share model, step and retina.")
        return dataclasses.replace(
            first, params=sum((tuple(s.params) for s in states), ()), seeds=sum((tuple(s.seeds) for s in states), ()),
            fields=np.concatenate([s.fields for s in states], axis=1),
            calcium=None if first.calcium is None else np.concatenate([s.calcium for s in states]),
        )

    def save(self, path) -> None:
        """Write the state to ``path`` (an ``.npz`` file), atomically: a reader sees the old file or the whole new one."""
        path = Path(path)
        meta = {
            "format": STATE_FORMAT, "model": self.model, "params": [p.to_dict() for p in self.params],
            "seeds": list(self.seeds), "retina": self.retina.to_dict(), "readout": self.readout.to_dict(),
            "step": int(self.step),
        }
        arrays = {"meta": np.array(json.dumps(meta)), "fields": self.fields}
        if self.calcium is not None:
            arrays["calcium"] = self.calcium
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)  # mostly quiet cells: a few % of the raw size
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path) -> "SimulationState":
        """Read a state written by :meth:`save`.

        Raises
        ------
        ParameterError
            If ``path`` is not such a file, or is damaged.
        """
        from .models import get_model

        try:
            with np.load(Path(path), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                fields = np.ascontiguousarray(z["fields"], dtype=np.int32)
                calcium = np.ascontiguousarray(z["calcium"], dtype=np.int32) if "calcium" in z.files else None
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise ParameterError(f"{path} is not a readable wavesim simulation state: {exc}") from None
        if meta.get("format") != STATE_FORMAT:
            raise ParameterError(f"{path} holds simulation state format {meta.get('format')!r}; this wavesim reads "
                                 f"format {STATE_FORMAT}.")
        model = get_model(meta["model"])
        params = tuple(model.params_cls.from_dict(p) for p in meta["params"])
        state = cls(model=model.name, params=params, seeds=tuple(int(s) for s in meta["seeds"]),
                    retina=Retina.from_dict(meta["retina"]), readout=Readout.from_dict(meta["readout"]),
                    step=int(meta["step"]), fields=fields, calcium=calcium)
        B = len(state.seeds)
        if fields.ndim != 4 or fields.shape[:2] != (len(model.state_fields), B) or len(params) != B or (
                calcium is not None and calcium.shape != fields.shape[1:]):
            raise ParameterError(f"{path} is damaged: its arrays do not match its {B} retina(s).")
        return state


def simulate_movies(
    params,
    seeds: Sequence[int],
    timing: Timing | None = None,
    retina: Retina | None = None,
    readout: Readout | None = None,
    backend: str = "auto",
    chunk_frames: int = 64,
) -> Iterator[tuple[int, np.ndarray]]:
    """Warm up a batch of retinas and yield their movies in chunks of frames on the host.

    ``timing``, ``retina`` and ``readout`` default to the model's (``model.run``).

    Yields
    ------
    first_frame : int
    frames : (B, n, H, W) uint8 ndarray
    """
    sim = Simulation(params, seeds, retina=retina, readout=readout, backend=backend)
    timing = timing or sim.model.run.timing
    sim.advance_s(timing.warmup_s)
    for first, chunk in sim.frames(n_frames(timing, sim.readout), chunk_frames):
        yield first, sim.to_host(chunk)


def n_frames(timing: Timing, readout: Readout) -> int:
    """Frames in a movie of ``timing.duration_s`` at ``readout.frame_period_s`` (at least 1)."""
    return max(1, int(round(timing.duration_s / readout.frame_period_s)))


def wave_sequence(params, seed: int, n_frames: int, *, retina: Retina | None = None, readout: Readout | None = None,
                  backend: str = "auto", batch: int = 256, max_wave_frames: int = 512) -> np.ndarray:
    """Single waves back to back, each until nothing is lit: the released script's dataset of May et al. (2025).

    Wave ``k`` is the movie of seed ``movie_seeds(seed, [k])`` (wave mode of
    a model with ``single_wave``), cut at its first dark frame; waves are
    concatenated in order until ``n_frames`` frames are filled. A wave longer
    than ``max_wave_frames`` is cut there.

    Returns
    -------
    (n_frames, H, W) uint8 ndarray
    """
    sim_model = model_of(params)
    if sim_model.single_wave is None or not sim_model.single_wave(params):
        raise ParameterError(f"wave_sequence needs single-wave parameters (e.g. model 'directional' in mode 'wave'); "
                             f"these {sim_model.name!r} parameters run continuously.")
    n_frames = check_int("n_frames", n_frames, low=1)
    pieces, have, first = [], 0, 0
    while have < n_frames:
        sim = Simulation(params, movie_seeds(seed, range(first, first + batch)), retina=retina, readout=readout,
                         backend=backend)
        chunks, ended = [], np.zeros(batch, bool)
        for _, chunk in sim.frames(max_wave_frames, 32):
            chunks.append(sim.to_host(chunk))
            ended |= ~chunks[-1].reshape(batch, chunks[-1].shape[1], -1).any(axis=2).any(axis=1) | ended
            if ended.all():  # a wave never restarts: once every wave is dark the rest is dark
                break
        movies = np.concatenate(chunks, axis=1)
        dark = ~movies.reshape(batch, movies.shape[1], -1).any(axis=2)
        for movie, d in zip(movies, dark):
            length = int(d.argmax()) if d.any() else movies.shape[1]
            pieces.append(movie[:length])
            have += length
            if have >= n_frames:
                break
        first += batch
    return np.concatenate(pieces)[:n_frames]
