"""The distance between a recording's wave statistics and a simulation's.

A candidate parameter set is simulated on several retinas; each retina is
sampled by virtual electrodes at the recording's own electrode positions
(the layout centred on the retina) and goes through the same analysis as the
recording. The distance of one retina is a weighted mean of per-statistic
terms, each scaled so that 1 means "clearly different":

========================  =========  ==========================================
term                      statistic  distance
========================  =========  ==========================================
``iwi``                   median inter-wave interval per electrode (s)
                                     ``|ln(sim / rec)| / ratio_scale``
``burst_duration``        median burst duration (s)     ``|ln ratio| / ratio_scale``
``speed``                 median wave speed (um/s)      ``|ln ratio| / ratio_scale``
``size``                  mean wave size (fraction of electrodes)
                                     ``|sim - rec| / fraction_scale``
``participation``         fraction of electrodes in any wave
                                     ``|sim - rec| / fraction_scale``
``ci``                    correlation index against distance: the mean over
                          shared distance bins of ``|ln(sim / rec)| / ratio_scale``
========================  =========  ==========================================

Medians, not means: single slow waves or long pauses dominate means (see
docs/compare_with_recordings.md). The CI uses only channels firing at least
``min_channel_rate_hz``: nearly silent channels give huge, meaningless CIs.

Simulation noise: every candidate is simulated with the same retina seeds
and the same virtual-electrode seeds (common random numbers), so two nearby
candidates differ mostly by their parameters, not by their noise; the
distance's standard error over the retinas is reported with it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..backends import backend_choices
from ..errors import ParameterError, WavesimError
from ..lattice import Retina
from ..parameters import ValidatedParams, choice_field, field, field_like
from ..readout import Readout
from ..io.recordings import MEARecording, Movie
from ..run import Timing
from ..simulate import Simulation, movie_seeds
from ..warm_cache import default_warm_cache, warm_up
from ..analysis import (
    AnalysisParams,
    ci_by_distance,
    correlation_index,
    detect_mea_waves,
    detect_spike_bursts,
    estimate_burst_electrodes,
    inter_wave_intervals,
    virtual_electrodes,
)

#: (term, statistic, kind): "ratio" terms compare positive quantities by log-ratio,
#: "fraction" terms compare fractions by difference.
TERMS: tuple[tuple[str, str, str], ...] = (
    ("iwi", "median_iwi_s", "ratio"),
    ("burst_duration", "median_burst_duration_s", "ratio"),
    ("size", "mean_size_fraction", "fraction"),
    ("speed", "median_speed_um_per_s", "ratio"),
    ("participation", "participation_fraction", "fraction"),
    ("ci", "ci_profile", "ratio"),
)
TERM_NAMES = tuple(t[0] for t in TERMS)
DEFAULT_WEIGHTS = {name: 1.0 for name in TERM_NAMES}


class UnfittableRecordingError(WavesimError, ValueError):
    """A recording holds too little activity (e.g. too few waves) to fit a model to."""


@dataclasses.dataclass(frozen=True)
class ObjectiveSettings(ValidatedParams):
    """How simulated and recorded statistics are compared.

    Parameters
    ----------
    weights : mapping of str to float
        Weight of each term (names in :data:`TERM_NAMES`); missing names get 1,
        0 switches a term off. The distance is the weighted mean of the terms.
    ratio_scale : float
        Log-ratio counted as a distance of 1 (default ln 2: a factor of 2).
    fraction_scale : float
        Difference of fractions counted as a distance of 1 (default 0.2).
    missing_penalty : float
        Term distance when the recording defines a statistic that the
        simulation does not (e.g. a retina without waves): large and finite,
        so the search can still rank such candidates.
    min_channel_rate_hz : float (1/s)
        Channels firing less than this (spikes over the recording) are left
        out of the CI.
    min_ci_pairs : int
        A distance bin enters the CI term only if both profiles hold at
        least this many channel pairs in it.
    min_recorded_waves : int
        Fewest waves the recording must hold to be fitted.
    """

    weights: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    ratio_scale: float = field(math.log(2.0), unit="1", low=0.01, high=100.0,
                               doc="log-ratio counted as a distance of 1")
    fraction_scale: float = field(0.2, unit="1", low=0.001, high=1.0, doc="difference of fractions counted as 1")
    missing_penalty: float = field(10.0, unit="1", low=0.001, high=1e6,
                                   doc="term distance of a statistic the simulation lacks")
    min_channel_rate_hz: float = field(0.01, unit="1/s", low=0.0, high=1000.0,
                                       doc="slowest channel that enters the CI")
    min_ci_pairs: int = field(3, unit="1", low=1, high=1e6, integer=True, doc="fewest channel pairs per CI bin")
    min_recorded_waves: int = field(5, unit="1", low=1, high=1e6, integer=True,
                                    doc="fewest recorded waves to fit")

    def _check_relations(self) -> None:
        unknown = sorted(set(self.weights) - set(TERM_NAMES))
        if unknown:
            raise ParameterError(f"Unknown objective term(s) {unknown} in weights; known terms are {list(TERM_NAMES)}.")
        weights = dict(DEFAULT_WEIGHTS)
        for name, value in self.weights.items():
            value = float(value)
            if not (math.isfinite(value) and value >= 0):
                raise ParameterError(f"the weight of term {name!r} must be finite and >= 0, got {value!r}.")
            weights[name] = value
        if sum(weights.values()) <= 0:
            raise ParameterError("at least one objective weight must be > 0.")
        object.__setattr__(self, "weights", weights)


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
    electrodes : {"burst", "poisson"}
        How a virtual electrode fires while its pixel is active: as a
        ganglion cell's burst, at a rate that starts at ``burst_rate_hz``
        when the pixel turns active and decays with ``burst_decay_s``
        (:func:`~wavesim.analysis.virtual_electrodes`, ``mode="burst"``); or
        at the constant Poisson rate ``rate_hz``.
    rate_hz : float (1/s)
        Poisson rate of a virtual electrode on an active pixel (``electrodes="poisson"``).
    burst_rate_hz : float or None (1/s)
        Rate at a burst's start; None: the recording's
        (:func:`~wavesim.analysis.estimate_burst_electrodes`).
    burst_decay_s : float or None (s)
        Decay time of the burst rate; None: the recording's.
    backend : {"auto", "cpu", "cpu-events", "cuda"}
    """

    n_retinas: int = field(2, unit="1", low=1, high=100_000, integer=True, doc="retinas per candidate")
    seed: int = field(0, unit="1", low=0, high=2**63 - 1, integer=True, doc="seed of retinas and electrodes")
    margin_um: float = field(500.0, unit="um", low=0.0, high=100_000.0, doc="retina beyond the electrode layout")
    um_per_pixel: float = field_like(Readout, "um_per_pixel", 34.0)
    frame_period_s: float = field_like(Readout, "frame_period_s", 0.25)
    warmup_s: float = field_like(Timing, "warmup_s", 900.0)
    duration_s: float | None = field_like(Timing, "duration_s", None, optional=True)
    electrodes: str = choice_field("burst", choices=("burst", "poisson"), doc="virtual electrode spike model")
    rate_hz: float = field(20.0, unit="1/s", low=0.001, high=10_000.0, doc="virtual electrode rate on an active pixel")
    burst_rate_hz: float | None = field(None, unit="1/s", low=0.001, high=10_000.0, optional=True,
                                        doc="virtual electrode rate at a burst's start (None: the recording's)")
    burst_decay_s: float | None = field(None, unit="s", low=0.005, high=100.0, optional=True,
                                        doc="decay time of the burst rate (None: the recording's)")
    backend: str = choice_field("auto", choices=backend_choices(), doc="simulation backend")


@dataclasses.dataclass(frozen=True)
class FitStatistics:
    """The statistics the objective compares, of one recording or virtual recording.

    Attributes
    ----------
    n_waves : int
    median_iwi_s, median_burst_duration_s, median_speed_um_per_s : float
        nan where undefined (e.g. no waves).
    mean_size_fraction, participation_fraction : float
        Fractions of the electrodes.
    ci_distance_um, ci_mean : ndarray
        CI profile: bin start (multiples of the bin width, um) and mean CI.
    ci_n_pairs : ndarray of int
    """

    n_waves: int
    median_iwi_s: float
    median_burst_duration_s: float
    mean_size_fraction: float
    median_speed_um_per_s: float
    participation_fraction: float
    ci_distance_um: np.ndarray
    ci_mean: np.ndarray
    ci_n_pairs: np.ndarray

    SCALARS = ("n_waves", "median_iwi_s", "median_burst_duration_s", "mean_size_fraction",
               "median_speed_um_per_s", "participation_fraction")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: nan as None."""
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        out = {name: clean(getattr(self, name)) for name in self.SCALARS}
        out["ci_distance_um"] = [float(d) for d in self.ci_distance_um]
        out["ci_mean"] = [clean(float(c)) for c in self.ci_mean]
        out["ci_n_pairs"] = [int(n) for n in self.ci_n_pairs]
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "FitStatistics":
        def num(v):
            return math.nan if v is None else float(v)

        return cls(
            n_waves=int(values["n_waves"]),
            **{name: num(values[name]) for name in cls.SCALARS[1:]},
            ci_distance_um=np.asarray(values["ci_distance_um"], dtype=float),
            ci_mean=np.array([num(v) for v in values["ci_mean"]], dtype=float),
            ci_n_pairs=np.asarray(values["ci_n_pairs"], dtype=np.int64),
        )


def _median(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else math.nan


def fit_statistics(recording: MEARecording, analysis: AnalysisParams, min_channel_rate_hz: float) -> FitStatistics:
    """The statistics of :data:`TERMS` for one MEA recording (real or virtual).

    Parameters
    ----------
    recording : MEARecording
    analysis : AnalysisParams
        Burst, wave and CI settings, the same for recording and simulation.
    min_channel_rate_hz : float (1/s)
        Channels below this mean rate are left out of the CI.

    Returns
    -------
    FitStatistics
    """
    bursts = detect_spike_bursts(recording.spike_times_s, analysis)
    waves = detect_mea_waves(recording, analysis, bursts=bursts)
    _, iwi_s = inter_wave_intervals(waves)
    # participation over distinct electrode positions, as in stats.summarize
    _, electrode = np.unique(recording.positions_um, axis=0, return_inverse=True)
    electrode = electrode.ravel()
    n_electrodes = int(electrode.max()) + 1
    participating = np.unique(electrode[waves.member_site]).size if len(waves) else 0
    rates_hz = np.array([t.size for t in recording.spike_times_s]) / recording.duration_s
    keep = np.flatnonzero(rates_hz >= min_channel_rate_hz)
    ci_distance, ci_mean, ci_n = np.zeros(0), np.zeros(0), np.zeros(0, np.int64)
    if keep.size >= 2:
        ci = correlation_index([recording.spike_times_s[k] for k in keep], recording.duration_s,
                               analysis.ci_window_s)
        profile = ci_by_distance(ci, recording.positions_um[keep], analysis.ci_bin_width_um)
        # bins named by their start so that two profiles share bin labels
        ci_distance = np.floor(profile.distance_um / analysis.ci_bin_width_um) * analysis.ci_bin_width_um
        ci_mean, ci_n = profile.mean_ci, profile.n_pairs
    return FitStatistics(
        n_waves=len(waves),
        median_iwi_s=_median(iwi_s),
        median_burst_duration_s=_median(bursts.end_s - bursts.onset_s),
        mean_size_fraction=float(waves.size_fraction.mean()) if len(waves) else math.nan,
        median_speed_um_per_s=_median(waves.speed_um_per_s),
        participation_fraction=participating / n_electrodes,
        ci_distance_um=ci_distance, ci_mean=ci_mean, ci_n_pairs=ci_n,
    )


def _ci_term(sim: FitStatistics, rec: FitStatistics, settings: ObjectiveSettings) -> float:
    """Mean |ln CI ratio| over the distance bins both profiles hold; nan if none is shared."""
    rec_bins = {d: (c, n) for d, c, n in zip(rec.ci_distance_um, rec.ci_mean, rec.ci_n_pairs)}
    ratios = []
    for d, c, n in zip(sim.ci_distance_um, sim.ci_mean, sim.ci_n_pairs):
        if d in rec_bins:
            c_rec, n_rec = rec_bins[d]
            if min(n, n_rec) >= settings.min_ci_pairs and c > 0 and c_rec > 0:
                ratios.append(abs(math.log(c / c_rec)))
    return float(np.mean(ratios)) if ratios else math.nan


def term_distances(sim: FitStatistics, rec: FitStatistics, settings: ObjectiveSettings) -> dict[str, float]:
    """Scaled distance of each term; ``missing_penalty`` where the simulation lacks a recorded statistic.

    Terms the recording itself leaves undefined are nan (and left out of the total).
    """
    out = {}
    for name, stat, kind in TERMS:
        if name == "ci":
            rec_defined = rec.ci_mean.size > 0
            value = _ci_term(sim, rec, settings) / settings.ratio_scale if rec_defined else math.nan
        else:
            s, r = getattr(sim, stat), getattr(rec, stat)
            rec_defined = math.isfinite(r) and (kind == "fraction" or r > 0)
            if not rec_defined:
                value = math.nan
            elif kind == "ratio":
                value = abs(math.log(s / r)) / settings.ratio_scale if math.isfinite(s) and s > 0 else math.nan
            else:
                value = abs(s - r) / settings.fraction_scale if math.isfinite(s) else math.nan
        if rec_defined and not math.isfinite(value):
            value = settings.missing_penalty
        out[name] = value
    return out


def total_distance(terms: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Weighted mean of the defined terms."""
    pairs = [(weights[k], v) for k, v in terms.items() if math.isfinite(v) and weights[k] > 0]
    total_weight = sum(w for w, _ in pairs)
    return sum(w * v for w, v in pairs) / total_weight if total_weight > 0 else math.nan


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The objective of one candidate over its retinas.

    Attributes
    ----------
    distance : float
        Mean over retinas of each retina's distance.
    distance_sem : float
        Standard error of that mean (0 with one retina).
    retina_distances : list of float
    terms : dict of str to float
        Mean over retinas of each term.
    statistics : list of FitStatistics
        One per retina (and per recording, for a pooled objective).
    recordings : dict of str to Evaluation
        A pooled objective's evaluation of each recording, by recording
        name; empty for one recording.
    """

    distance: float
    distance_sem: float
    retina_distances: list[float]
    terms: dict[str, float]
    statistics: list[FitStatistics]
    recordings: dict[str, "Evaluation"] = dataclasses.field(default_factory=dict)


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

    def _retina_key(self) -> tuple:
        """What decides the simulated movies (not how electrodes fire): arrays with equal keys see the same retinas."""
        movie = dataclasses.replace(self.simulation, electrodes="poisson", rate_hz=20.0, burst_rate_hz=None,
                                    burst_decay_s=None)
        return (self.retina.width_um, self.retina.height_um, self.readout, movie, self.warm_cache)

    def recording(self, electrode_frames: np.ndarray, retina_index: int) -> MEARecording:
        """Virtual spike trains of one retina from its electrode pixels, (n_frames, n_pixels).

        Identical to :func:`wavesim.analysis.virtual_electrodes` on the full
        movie, which reads only the electrodes' pixels.
        """
        s = self.simulation
        movie = Movie(electrode_frames[:, None, :], s.um_per_pixel, s.frame_period_s)
        # electrode e reads column electrode_pixel[e] of the one-row movie
        lined_up = np.column_stack([self._electrode_pixel * s.um_per_pixel, np.zeros(self._electrode_pixel.size)])
        if s.electrodes == "burst":
            if s.burst_rate_hz is None or s.burst_decay_s is None:
                raise ParameterError("burst electrodes need burst_rate_hz and burst_decay_s (an Objective takes them "
                                     "from its recording); or use electrodes='poisson'.")
            spikes = {"mode": "burst", "rate_hz": s.burst_rate_hz, "burst_decay_s": s.burst_decay_s}
        else:
            spikes = {"mode": "poisson", "rate_hz": s.rate_hz}
        virtual = virtual_electrodes(movie, lined_up, seed=self.retina_seeds[retina_index],
                                     threshold=self.activity_threshold, **spikes)
        return dataclasses.replace(virtual, positions_um=self.positions_um)

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
        sim = Simulation(params, first.retina_seeds * len(candidates), retina=first.retina,
                         readout=first.readout, backend=s.backend)
        warm_up(sim, sim.steps_for(s.warmup_s), default_warm_cache(first.warm_cache))
        frames = np.empty((len(params), n_frames, codes.size), dtype=np.uint8)
        for start, chunk in sim.frames(n_frames, chunk_frames=256, pixels=(rows, cols)):
            frames[:, start:start + chunk.shape[1]] = sim.to_host(chunk)
        for m in members:
            columns = np.searchsorted(codes, arrays[m].pixel_codes)
            out[m] = frames[:, :arrays[m].n_frames, columns]
    return out


class Objective:
    """Distance between a recording and candidate parameter sets, simulated in batches.

    Parameters
    ----------
    recording : MEARecording
    settings : ObjectiveSettings, optional
    simulation : SimulationSettings, optional
    analysis : AnalysisParams, optional
        The same analysis for recording and simulation.
    warm_cache : bool
        As for :class:`VirtualArray`.

    Raises
    ------
    UnfittableRecordingError
        If the recording holds fewer than ``settings.min_recorded_waves`` waves.
    """

    def __init__(self, recording: MEARecording, settings: ObjectiveSettings | None = None,
                 simulation: SimulationSettings | None = None, analysis: AnalysisParams | None = None,
                 warm_cache: bool = True):
        self.recording = recording
        self.settings = settings or ObjectiveSettings()
        self.simulation = simulation or SimulationSettings()
        self.analysis = analysis or AnalysisParams()
        self.recorded = fit_statistics(recording, self.analysis, self.settings.min_channel_rate_hz)
        if self.recorded.n_waves < self.settings.min_recorded_waves:
            raise UnfittableRecordingError(
                f"recording {recording.name} holds {self.recorded.n_waves} wave(s) over "
                f"{recording.duration_s:g} s; fitting needs at least {self.settings.min_recorded_waves} "
                f"(ObjectiveSettings.min_recorded_waves). Use a longer recording, or check the analysis "
                f"settings (burst detection, min_size_fraction)."
            )
        self.simulation = _with_recorded_electrodes(self.simulation, recording, self.analysis)
        self.array = VirtualArray(recording.positions_um, self.simulation.duration_s or recording.duration_s,
                                  self.simulation, self.analysis.activity_threshold, warm_cache=warm_cache)

    @property
    def name(self) -> str:
        """The recording's name."""
        return self.recording.name

    @property
    def label(self) -> str:
        """The recording's file (or name), for reports."""
        return str(self.recording.source or self.recording.name)

    def recorded_statistics(self) -> dict[str, Any]:
        """The recording's statistics, JSON-ready."""
        return FitStatistics.to_dict(self.recorded)

    def describe(self) -> dict[str, Any]:
        """Everything that defines the objective (stored with a study so that all workers agree)."""
        return {
            "recording": self.recording.name,
            "objective": self.settings.to_dict(),
            "simulation": self.simulation.to_dict(),
            "analysis": dataclasses.asdict(self.analysis),
            "retina_um": [self.array.retina.width_um, self.array.retina.height_um],
            "duration_s": self.array.duration_s,
        }

    def evaluate(self, candidates: Sequence) -> list[Evaluation]:
        """Simulate the candidates in one batch and score each.

        Parameters
        ----------
        candidates : sequence of parameter sets of one registered model
            All with the same ``dt_s``.

        Returns
        -------
        list of Evaluation
            One per candidate, in order.
        """
        frames = self.array.simulate(candidates)
        return [self.score(frames, c) for c in range(len(candidates))]

    def score(self, frames: np.ndarray, candidate: int) -> Evaluation:
        """The evaluation of candidate ``candidate`` from the electrode frames of a batch (:meth:`VirtualArray.simulate`)."""
        n = self.simulation.n_retinas
        stats = [fit_statistics(self.array.recording(frames[candidate * n + r], r), self.analysis,
                                self.settings.min_channel_rate_hz) for r in range(n)]
        terms = [term_distances(st, self.recorded, self.settings) for st in stats]
        distances = [total_distance(t, self.settings.weights) for t in terms]
        return Evaluation(float(np.mean(distances)), _sem(distances), distances, _mean_terms(terms), stats)


def _with_recorded_electrodes(simulation: SimulationSettings, recording: MEARecording,
                              analysis: AnalysisParams) -> SimulationSettings:
    """``simulation`` with the burst electrode values it leaves to the recording filled in from the recording."""
    if simulation.electrodes != "burst" or None not in (simulation.burst_rate_hz, simulation.burst_decay_s):
        return simulation
    recorded = estimate_burst_electrodes(recording.spike_times_s, analysis)
    return dataclasses.replace(
        simulation,
        burst_rate_hz=recorded.rate_hz if simulation.burst_rate_hz is None else simulation.burst_rate_hz,
        burst_decay_s=recorded.decay_s if simulation.burst_decay_s is None else simulation.burst_decay_s)


def _sem(values: Sequence[float]) -> float:
    """Standard error of the mean (0 for one value)."""
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def _mean_terms(terms: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each term over the dicts that define it; nan where none does."""
    return {k: float(np.nanmean([t[k] for t in terms])) if any(math.isfinite(t[k]) for t in terms) else math.nan
            for k in TERM_NAMES}


class PooledObjective:
    """One parameter set against several recordings, each seen through its own electrode layout.

    Each recording is compared with the simulation as by :class:`Objective`;
    the pooled distance of a retina is the mean over the recordings of that
    retina's distances (every recording counts equally, however long), and
    the candidate's distance is the mean over the retinas, with its standard
    error over the retinas. The same retina seeds serve every recording;
    recordings whose layouts need a retina of the same size share one
    simulation (:func:`simulate_arrays`).

    Parameters
    ----------
    recordings : sequence of MEARecording
        At least one; their names must differ.
    settings, simulation, analysis, warm_cache
        As for :class:`Objective`, the same for every recording.

    Raises
    ------
    ParameterError
        For no recordings, or two with one name.
    UnfittableRecordingError
        If a recording holds too few waves (the error names it).
    """

    def __init__(self, recordings: Sequence[MEARecording], settings: ObjectiveSettings | None = None,
                 simulation: SimulationSettings | None = None, analysis: AnalysisParams | None = None,
                 warm_cache: bool = True):
        recordings = list(recordings)
        if not recordings:
            raise ParameterError("a pooled objective needs at least one recording.")
        names = [r.name for r in recordings]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ParameterError(f"recording(s) {repeated} given more than once; pool each recording once.")
        self.settings = settings or ObjectiveSettings()
        self.simulation = simulation or SimulationSettings()
        self.analysis = analysis or AnalysisParams()
        self.objectives = [Objective(r, self.settings, self.simulation, self.analysis, warm_cache)
                           for r in recordings]

    @property
    def recordings(self) -> list[MEARecording]:
        return [o.recording for o in self.objectives]

    @property
    def name(self) -> str:
        return f"{len(self.objectives)} recordings"

    @property
    def label(self) -> str:
        """The recordings' names, for reports."""
        return f"{self.name}: " + ", ".join(o.name for o in self.objectives)

    def recorded_statistics(self) -> dict[str, Any]:
        """Mean over the recordings of each recorded statistic (and of the CI per distance bin)."""
        return mean_statistics([o.recorded for o in self.objectives])

    def describe(self) -> dict[str, Any]:
        return {"pooled": [o.describe() for o in self.objectives]}

    def evaluate(self, candidates: Sequence) -> list[Evaluation]:
        """Simulate the candidates (one batch per distinct retina) and score each against every recording."""
        frames = simulate_arrays([o.array for o in self.objectives], candidates)
        results = []
        for c in range(len(candidates)):
            parts = {o.name: o.score(f, c) for o, f in zip(self.objectives, frames)}
            distances = [float(d) for d in np.mean([p.retina_distances for p in parts.values()], axis=0)]
            terms = _mean_terms([p.terms for p in parts.values()])
            stats = [st for p in parts.values() for st in p.statistics]
            results.append(Evaluation(float(np.mean(distances)), _sem(distances), distances, terms, stats, parts))
        return results


def mean_statistics(stats: Sequence[FitStatistics]) -> dict[str, float]:
    """Mean over retinas of each scalar statistic (undefined values skipped), and of the CI per bin."""
    out: dict[str, Any] = {}
    for name in FitStatistics.SCALARS:
        values = np.array([getattr(s, name) for s in stats], dtype=float)
        values = values[np.isfinite(values)]
        out[name] = float(values.mean()) if values.size else None
    bins = sorted({float(d) for s in stats for d in s.ci_distance_um})
    out["ci_distance_um"] = bins
    out["ci_mean"] = [float(np.mean([c for s in stats for d, c in zip(s.ci_distance_um, s.ci_mean) if d == b]))
                      for b in bins]
    return out
