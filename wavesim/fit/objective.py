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

from ..analysis import AnalysisParams, estimate_burst_electrodes
from ..analysis.synchrony import estimate_shared_synchrony
from ..errors import ParameterError, WavesimError
from ..io.recordings import MEARecording
from ..parameters import ValidatedParams, field
from .statistics import FitStatistics, fit_statistics, mean_statistics
from .virtual import RECORDED_ELECTRODE_SETTINGS, SimulationSettings, VirtualArray, simulate_arrays

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
        self.simulation = _with_recorded_electrodes(self.simulation, recording, self.analysis,
                                                    self.settings.min_channel_rate_hz)
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

    @property
    def parts(self) -> tuple["Objective", ...]:
        """The single-recording objectives this one is made of: itself."""
        return (self,)

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
        return self.evaluation([[fit_statistics(self.array.recording(frames[candidate * n + r], r), self.analysis,
                                                self.settings.min_channel_rate_hz) for r in range(n)]])

    def evaluation(self, statistics: Sequence[Sequence[FitStatistics]]) -> Evaluation:
        """The evaluation of one candidate from the statistics of its retinas: ``statistics[0][r]`` of retina r.

        (One list per part, :attr:`parts`; a single recording has one.)
        """
        stats = list(statistics[0])
        terms = [term_distances(st, self.recorded, self.settings) for st in stats]
        distances = [total_distance(t, self.settings.weights) for t in terms]
        return Evaluation(float(np.mean(distances)), _sem(distances), distances, _mean_terms(terms), stats)


def _with_recorded_electrodes(simulation: SimulationSettings, recording: MEARecording, analysis: AnalysisParams,
                              min_channel_rate_hz: float) -> SimulationSettings:
    """``simulation`` with the electrode values it leaves to the recording (None) estimated from the recording."""
    missing = {name for name in RECORDED_ELECTRODE_SETTINGS.get(simulation.electrodes, ())
               if getattr(simulation, name) is None}
    recorded = {}
    if missing & {"burst_rate_hz", "burst_decay_s"}:
        burst = estimate_burst_electrodes(recording.spike_times_s, analysis)
        recorded.update(burst_rate_hz=burst.rate_hz, burst_decay_s=burst.decay_s)
    if missing & {"sync_gain_variance", "sync_length_um", "sync_time_s"}:
        sync = estimate_shared_synchrony(recording.spike_times_s, recording.positions_um, recording.duration_s,
                                         analysis, min_rate_hz=min_channel_rate_hz)
        recorded.update(sync_gain_variance=sync.gain_variance, sync_length_um=sync.length_um,
                        sync_time_s=sync.time_s)
    return dataclasses.replace(simulation, **{name: recorded[name] for name in missing})


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

    @property
    def parts(self) -> tuple[Objective, ...]:
        """The objective of each recording."""
        return tuple(self.objectives)

    def recorded_statistics(self) -> dict[str, Any]:
        """Mean over the recordings of each recorded statistic (and of the CI per distance bin)."""
        return mean_statistics([o.recorded for o in self.objectives])

    def describe(self) -> dict[str, Any]:
        return {"pooled": [o.describe() for o in self.objectives]}

    def evaluate(self, candidates: Sequence) -> list[Evaluation]:
        """Simulate the candidates (one batch per distinct retina) and score each against every recording."""
        frames = simulate_arrays([o.array for o in self.objectives], candidates)
        return [_pooled({o.name: o.score(f, c) for o, f in zip(self.objectives, frames)})
                for c in range(len(candidates))]

    def evaluation(self, statistics: Sequence[Sequence[FitStatistics]]) -> Evaluation:
        """The evaluation of one candidate from its statistics: ``statistics[i][r]`` of recording i, retina r."""
        return _pooled({o.name: o.evaluation([s]) for o, s in zip(self.objectives, statistics)})


def _pooled(parts: Mapping[str, Evaluation]) -> Evaluation:
    """A candidate's pooled evaluation from its evaluation against each recording."""
    distances = [float(d) for d in np.mean([p.retina_distances for p in parts.values()], axis=0)]
    terms = _mean_terms([p.terms for p in parts.values()])
    stats = [st for p in parts.values() for st in p.statistics]
    return Evaluation(float(np.mean(distances)), _sem(distances), distances, terms, stats, dict(parts))


