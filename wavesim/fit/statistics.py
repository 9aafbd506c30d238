"""The statistics a fit compares: of a recording, and of each simulated retina seen through virtual electrodes."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..analysis import (
    AnalysisParams,
    ci_by_distance,
    correlation_index,
    detect_mea_waves,
    detect_spike_bursts,
    inter_wave_intervals,
)
from ..io.recordings import MEARecording

__all__ = ["FitStatistics", "fit_statistics", "mean_statistics"]


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
    """The statistics of the objective's terms for one MEA recording (real or virtual).

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
