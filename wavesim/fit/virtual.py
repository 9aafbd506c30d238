"""Virtual electrode arrays: a recording's layout on simulated retinas, and how candidates are simulated.

:class:`SimulationSettings` says how each candidate is simulated and
sampled; a :class:`VirtualArray` centres a recording's electrode layout on
simulated retinas and turns the activity at its electrodes' pixels into
virtual spike trains; :func:`simulate_arrays` simulates the retinas of
several arrays in shared batches.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from ..analysis.electrodes import electrode_spikes
from ..analysis.params import spec_range
from ..analysis.synchrony import SharedSynchrony
from ..backends import backend_choices
from ..errors import ParameterError
from ..io.recordings import MEARecording
from ..lattice import Retina
from ..models import model_of
from ..parameters import ValidatedParams, choice_field, field, field_like
from ..readout import Readout
from ..run import Timing
from ..simulate import Simulation, movie_seeds
from ..warm_cache import default_warm_cache, warm_up

__all__ = ["ELECTRODE_MODELS", "RECORDED_ELECTRODE_SETTINGS", "SimulationSettings", "VirtualArray",
           "simulate_arrays"]

#: How virtual electrodes fire (SimulationSettings.electrodes).
ELECTRODE_MODELS = ("burst", "poisson", "synchronous")
#: The settings of each electrode model that a recording supplies where they are None.
RECORDED_ELECTRODE_SETTINGS = {"burst": ("burst_rate_hz", "burst_decay_s"),
             "synchronous": ("burst_rate_hz", "burst_decay_s", "sync_gain_variance", "sync_length_um", "sync_time_s")}


def _from_recording(spec: str, unit: str, doc: str):
    """An optional field (None: the recording's) with the range of an analysis argument spec."""
    low, high = spec_range(spec)
    return field(None, unit=unit, low=low, high=high, optional=True, doc=f"{doc} (None: the recording's)")


@dataclasses.dataclass(frozen=True)
class SimulationSettings(ValidatedParams):
    """How each candidate is simulated and sampled.

    Parameters
    ----------
    n_retinas : int
        Retinas per candidate (the same seeds for every candidate).
    seed : int
        Derives the retina seeds and the virtual-electrode seeds.
    margin_um : float (um)
        Simulated retina beyond the electrode layout on every side, so that
        waves enter the array from outside as in a whole retina.
    um_per_pixel : float (um)
        Readout pixel size.
    frame_period_s : float (s)
        Readout frame period.
    warmup_s : float (s)
        Simulated time before sampling starts.
    duration_s : float or None (s)
        Sampled time per retina; None: the recording's duration.
    electrodes : {"burst", "poisson", "synchronous"}
        How a virtual electrode fires while its pixel is active
        (:func:`~wavesim.analysis.electrodes.electrode_spikes`): as a
        ganglion cell's burst, at a rate that starts at ``burst_rate_hz``
        when the pixel turns active and decays with ``burst_decay_s``
        (``"burst"``); as such a burst whose rate is also multiplied by a
        gain shared with the active electrodes nearby, so that electrodes
        active in the same wave fire with shared fine timing
        (``"synchronous"``, :class:`~wavesim.analysis.synchrony.SharedSynchrony`);
        or at the constant Poisson rate ``rate_hz`` (``"poisson"``).
    rate_hz : float (1/s)
        Poisson rate of a virtual electrode on an active pixel (``electrodes="poisson"``).
    burst_rate_hz : float or None (1/s)
        Rate at a burst's start; None: the recording's
        (:func:`~wavesim.analysis.estimate_burst_electrodes`).
    burst_decay_s : float or None (s)
        Decay time of the burst rate; None: the recording's.
    sync_gain_variance, sync_length_um, sync_time_s : float or None
        The shared gain of ``"synchronous"`` electrodes: its variance, the
        length (um) over which it decorrelates and the time bins (s) in
        which it is constant; None: the recording's
        (:func:`~wavesim.analysis.synchrony.estimate_shared_synchrony`).
    backend : {"auto", "cpu", "cpu-events", "cuda"}
    """

    n_retinas: int = field(2, unit="1", low=1, high=100_000, integer=True, doc="retinas per candidate")
    seed: int = field(0, unit="1", low=0, high=2**63 - 1, integer=True, doc="seed of retinas and electrodes")
    margin_um: float = field(500.0, unit="um", low=0.0, high=100_000.0, doc="retina beyond the electrode layout")
    um_per_pixel: float = field_like(Readout, "um_per_pixel", 34.0)
    frame_period_s: float = field_like(Readout, "frame_period_s", 0.25)
    warmup_s: float = field_like(Timing, "warmup_s", 900.0)
    duration_s: float | None = field_like(Timing, "duration_s", None, optional=True)
    electrodes: str = choice_field("burst", choices=ELECTRODE_MODELS, doc="virtual electrode spike model")
    rate_hz: float = field(20.0, unit="1/s", low=0.001, high=10_000.0, doc="virtual electrode rate on an active pixel")
    burst_rate_hz: float | None = field(None, unit="1/s", low=0.001, high=10_000.0, optional=True,
                                        doc="virtual electrode rate at a burst's start (None: the recording's)")
    burst_decay_s: float | None = field(None, unit="s", low=0.005, high=100.0, optional=True,
                                        doc="decay time of the burst rate (None: the recording's)")
    sync_gain_variance: float | None = _from_recording("sync_gain_variance", "1", "variance of the shared gain")
    sync_length_um: float | None = _from_recording("sync_length_um", "um", "decorrelation length of the shared gain")
    sync_time_s: float | None = _from_recording("sync_time_s", "s", "time bin of the shared gain")
    backend: str = choice_field("auto", choices=backend_choices(), doc="simulation backend")


class VirtualArray:
    """A recording's electrode layout centred on simulated retinas, and its virtual spike trains.

    Parameters
    ----------
    positions_um : ndarray, shape (n, 2)
        Electrode positions (um), e.g. a recording's ``positions_um``.
    duration_s : float (s)
        Sampled time per retina.
    simulation : SimulationSettings
    activity_threshold : float, optional
        As in :class:`~wavesim.analysis.AnalysisParams`.
    warm_cache : bool
        Restore the warm-ups of candidates simulated before (the same
        parameters, e.g. a repeated or resumed study) from the warm-state
        cache, and store new ones (:mod:`wavesim.warm_cache`). Distances are the same either way.
    """

    def __init__(self, positions_um: np.ndarray, duration_s: float, simulation: SimulationSettings,
                 activity_threshold: float | None = None, warm_cache: bool = True):
        s = self.simulation = simulation
        self.warm_cache = warm_cache
        self.positions_um = np.asarray(positions_um, dtype=float)
        self.duration_s = float(duration_s)
        self.activity_threshold = activity_threshold
        low, high = self.positions_um.min(axis=0), self.positions_um.max(axis=0)
        size_um = (high - low) + 2 * s.margin_um + s.um_per_pixel
        width_px, height_px = (int(math.ceil(v / s.um_per_pixel)) for v in size_um)
        self.retina = Retina(width_um=width_px * s.um_per_pixel, height_um=height_px * s.um_per_pixel)
        self.readout = Readout(um_per_pixel=s.um_per_pixel, frame_period_s=s.frame_period_s, kind="binary")
        # the pixel each electrode reads, with the layout's centre on the retina's centre
        shift = np.array([width_px, height_px]) * s.um_per_pixel / 2 - (low + high) / 2
        col = np.rint((self.positions_um[:, 0] + shift[0]) / s.um_per_pixel - 0.5).astype(np.int64)
        row = np.rint((self.positions_um[:, 1] + shift[1]) / s.um_per_pixel - 0.5).astype(np.int64)
        pixels, electrode_pixel = np.unique(row * width_px + col, return_inverse=True)
        self._electrode_pixel = electrode_pixel.ravel()
        #: the pixels the electrodes read, as row * width_px + col, sorted
        self.pixel_codes = pixels
        self._width_px = width_px
        self.n_frames = max(1, int(round(self.duration_s / s.frame_period_s)))

    @property
    def retina_seeds(self) -> list[int]:
        """The retina seeds every candidate is simulated with (common random numbers)."""
        return [int(x) for x in movie_seeds(self.simulation.seed, range(self.simulation.n_retinas))]

    def simulate(self, candidates: Sequence) -> np.ndarray:
        """Activity at the electrode pixels: (k * n_retinas, n_frames, n_pixels) uint8.

        All candidates and retinas run in one :class:`Simulation` batch, one
        parameter set per batch element; only the electrode pixels leave the device.
        """
        return simulate_arrays([self], candidates)[0]

    def retina_for(self, params) -> Retina:
        """The retina a candidate ``params`` is simulated on: this array's sheet with its model's own cells.

        The cell spacing, reach of excitation and shape are those of the
        model's run (``WaveModel.run.retina``), so that each model's fronts
        move at the speed they have on its own grid (e.g. the directional
        model's one cell per step is 100 um/s only on its 50 um cells).
        """
        own = model_of(params).run.retina
        return dataclasses.replace(own, width_um=self.retina.width_um, height_um=self.retina.height_um)

    def _retina_key(self) -> tuple:
        """What decides the simulated movies (not how electrodes fire): arrays with equal keys see the same retinas."""
        movie = dataclasses.replace(self.simulation, electrodes="poisson", rate_hz=20.0,
                                    **{name: None for name in RECORDED_ELECTRODE_SETTINGS["synchronous"]})
        return (self.retina.width_um, self.retina.height_um, self.readout, movie, self.warm_cache)

    def spike_model(self) -> dict:
        """The arguments of :func:`~wavesim.analysis.electrodes.electrode_spikes` that the settings give.

        Raises
        ------
        ParameterError
            If a value the electrode model needs is None (an Objective takes those from its recording).
        """
        s = self.simulation
        missing = [name for name in RECORDED_ELECTRODE_SETTINGS.get(s.electrodes, ()) if getattr(s, name) is None]
        if missing:
            raise ParameterError(f"{s.electrodes} electrodes need {missing} (an Objective takes them from its "
                                 f"recording); give them, or use electrodes='poisson'.")
        if s.electrodes == "poisson":
            return {"mode": "poisson", "rate_hz": s.rate_hz}
        model = {"mode": s.electrodes, "rate_hz": s.burst_rate_hz, "burst_decay_s": s.burst_decay_s}
        if s.electrodes == "synchronous":
            model["synchrony"] = SharedSynchrony(s.sync_gain_variance, s.sync_length_um, s.sync_time_s)
        return model

    def recording(self, electrode_frames: np.ndarray, retina_index: int) -> MEARecording:
        """Virtual spike trains of one retina from its electrode pixels, (n_frames, n_pixels).

        Identical to :func:`wavesim.analysis.virtual_electrodes` on the full
        movie, which reads only the electrodes' pixels.
        """
        s = self.simulation
        model = self.spike_model()
        threshold = 0 if self.activity_threshold is None else self.activity_threshold  # the readout is binary
        active = electrode_frames[:, self._electrode_pixel] > threshold
        seed = self.retina_seeds[retina_index]
        trains = electrode_spikes(active, s.frame_period_s, self.positions_um, seed=seed, **model)
        settings = {k: (dataclasses.asdict(v) if k == "synchrony" else v) for k, v in model.items()}
        return MEARecording(trains, self.positions_um, "virtual", None, electrode_frames.shape[0] * s.frame_period_s,
                            metadata={"virtual": {**settings, "seed": seed, "um_per_pixel": s.um_per_pixel,
                                                  "frame_period_s": s.frame_period_s}}, source=None)

    def recordings(self, params) -> list[MEARecording]:
        """Virtual recordings of one parameter set, one per retina (e.g. a synthetic ground truth)."""
        frames = self.simulate([params])
        return [self.recording(frames[r], r) for r in range(self.simulation.n_retinas)]


def simulate_arrays(arrays: Sequence[VirtualArray], candidates: Sequence) -> list[np.ndarray]:
    """Activity at each array's electrode pixels, simulating each distinct retina once.

    Arrays on retinas of one size with the same settings (e.g. recordings of
    one MEA type, whose layouts differ only by the channels kept) share one
    batch: it reads the union of their pixels for the longest of their
    durations, and each array takes its own pixels and frames. The movies
    are those each array would simulate alone (the same seeds; a shorter
    movie is the start of a longer one).

    Parameters
    ----------
    arrays : sequence of VirtualArray
    candidates : sequence of parameter sets of one registered model

    Returns
    -------
    list of ndarray
        Per array, (k * n_retinas, n_frames, n_pixels) uint8, as :meth:`VirtualArray.simulate`.
    """
    groups: dict[tuple, list[int]] = {}
    for index, array in enumerate(arrays):
        groups.setdefault(array._retina_key(), []).append(index)
    out: list[np.ndarray] = [np.empty(0)] * len(arrays)
    for members in groups.values():
        first = arrays[members[0]]
        s = first.simulation
        codes = np.unique(np.concatenate([arrays[m].pixel_codes for m in members]))
        rows, cols = np.divmod(codes, first._width_px)
        n_frames = max(arrays[m].n_frames for m in members)
        params = [p for p in candidates for _ in range(s.n_retinas)]
        sim = Simulation(params, first.retina_seeds * len(candidates), retina=first.retina_for(params[0]),
                         readout=first.readout, backend=s.backend)
        warm_up(sim, sim.steps_for(s.warmup_s), default_warm_cache(first.warm_cache))
        frames = np.empty((len(params), n_frames, codes.size), dtype=np.uint8)
        for start, chunk in sim.frames(n_frames, chunk_frames=256, pixels=(rows, cols)):
            frames[:, start:start + chunk.shape[1]] = sim.to_host(chunk)
        for m in members:
            columns = np.searchsorted(codes, arrays[m].pixel_codes)
            out[m] = frames[:, :arrays[m].n_frames, columns]
    return out

