"""Summary statistics of a recording or movie, and pooled summaries of several."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np
from tqdm.auto import tqdm

from wavesim.analysis.correlation import (CIProfile, _bin_pairs, _no_bar, ci_by_distance, correlation_index,
                                          spike_time_tiling)
from wavesim.analysis.electrodes import electrode_grid, virtual_electrodes
from wavesim.analysis.params import AnalysisParams
from wavesim.analysis.waves import _electrodes, detect_mea_waves, detect_movie_waves, inter_wave_intervals
from wavesim.errors import ParameterError
from wavesim.io.recordings import MEARecording, Movie

__all__ = ["Summary", "combine_summaries", "summarize"]


def _nan_mean(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else math.nan


def _nan_median(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else math.nan


def _nan_sd(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.std(ddof=1)) if values.size > 1 else math.nan


@dataclass(frozen=True, eq=False)
class Summary:
    """Summary statistics of one movie or recording (or a pooled set).

    Scalars carry their unit in their name; ``nan`` marks a statistic that
    is undefined (e.g. no waves). Arrays hold the distributions behind them:
    per wave (``wave_*``, in order of onset; positions (x, y) in um with
    pixel (row 0, col 0) at the origin for movies, +y down) and per site
    (``site_*``: pixels of a movie, distinct electrode positions of a
    recording). Two kinds of interval: ``wave_interval_s``, between the
    onsets of consecutive waves of one movie or recording (one per wave
    after the first), and ``iwi_s``, between consecutive waves at each site
    (one per site and wave that recruited it), which ``mean_iwi_s`` and
    ``median_iwi_s`` summarise. ``to_dict`` gives a JSON-ready dict.
    """

    name: str
    kind: str
    n_sites: int
    duration_s: float
    n_waves: int
    wave_frequency_per_min: float
    mean_iwi_s: float
    median_iwi_s: float
    sd_iwi_s: float
    mean_wave_duration_s: float
    mean_speed_um_per_s: float
    median_speed_um_per_s: float
    n_waves_with_speed: int
    mean_size_fraction: float
    participation_fraction: float
    fraction_bursts_in_waves: float
    direction_bias: float
    ci_closest_distance_um: float
    ci_closest: float
    sttc_closest: float
    n_bursts: int
    n_bursts_in_waves: int
    n_sites_participating: int
    iwi_s: np.ndarray = field(repr=False)
    wave_onset_s: np.ndarray = field(repr=False)
    wave_duration_s: np.ndarray = field(repr=False)
    wave_size_fraction: np.ndarray = field(repr=False)
    wave_speed_um_per_s: np.ndarray = field(repr=False)
    wave_direction_rad: np.ndarray = field(repr=False)
    wave_area_um2: np.ndarray = field(repr=False)
    wave_centroid_um: np.ndarray = field(repr=False)
    wave_initiation_um: np.ndarray = field(repr=False)
    site_positions_um: np.ndarray = field(repr=False)
    site_n_waves: np.ndarray = field(repr=False)
    ci_profile: CIProfile = field(repr=False)
    sttc_profile: CIProfile = field(repr=False)
    params: dict[str, Any] = field(repr=False, default_factory=dict)
    wave_interval_s: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    SCALARS: ClassVar[tuple[str, ...]] = (
        "n_sites", "duration_s", "n_waves", "wave_frequency_per_min", "mean_iwi_s", "median_iwi_s",
        "sd_iwi_s", "mean_wave_duration_s", "mean_speed_um_per_s", "median_speed_um_per_s",
        "n_waves_with_speed", "mean_size_fraction", "participation_fraction",
        "fraction_bursts_in_waves", "direction_bias", "ci_closest_distance_um", "ci_closest", "sttc_closest",
    )

    @property
    def site_participation(self) -> np.ndarray:
        """Fraction of the waves in which each site takes part, (n_sites,); nan without waves.

        Aligned with ``site_positions_um``; empty for a pooled summary of
        inputs whose sites lie in different places.
        """
        if not self.n_waves:
            return np.full(self.site_n_waves.shape, np.nan)
        return self.site_n_waves / self.n_waves

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: scalars, distributions and the CI and STTC profiles; nan as None."""
        def clean(values: Any) -> Any:
            array = np.asarray(values, dtype=float)
            out = [None if not math.isfinite(v) else v for v in array.ravel().tolist()]
            return out if array.ndim else out[0]

        result: dict[str, Any] = {"name": self.name, "kind": self.kind}
        for name in self.SCALARS:
            value = getattr(self, name)
            result[name] = int(value) if isinstance(value, (int, np.integer)) else clean(value)
        result["waves"] = {
            "onset_s": clean(self.wave_onset_s),
            "duration_s": clean(self.wave_duration_s),
            "size_fraction": clean(self.wave_size_fraction),
            "speed_um_per_s": clean(self.wave_speed_um_per_s),
            "direction_rad": clean(self.wave_direction_rad),
            "area_um2": clean(self.wave_area_um2),
            "centroid_x_um": clean(self.wave_centroid_um[:, 0]),
            "centroid_y_um": clean(self.wave_centroid_um[:, 1]),
            "initiation_x_um": clean(self.wave_initiation_um[:, 0]),
            "initiation_y_um": clean(self.wave_initiation_um[:, 1]),
        }
        result["sites"] = {
            "x_um": clean(self.site_positions_um[:, 0]),
            "y_um": clean(self.site_positions_um[:, 1]),
            "n_waves": [int(n) for n in self.site_n_waves],
        }
        result["iwi_s"] = clean(self.iwi_s)
        result["wave_interval_s"] = clean(self.wave_interval_s)
        result["ci_vs_distance"] = {
            "distance_um": clean(self.ci_profile.distance_um),
            "mean_ci": clean(self.ci_profile.mean_ci),
            "sd_ci": clean(self.ci_profile.sd_ci),
            "n_pairs": [int(n) for n in self.ci_profile.n_pairs],
        }
        result["sttc_vs_distance"] = {
            "distance_um": clean(self.sttc_profile.distance_um),
            "mean_sttc": clean(self.sttc_profile.mean_ci),
            "sd_sttc": clean(self.sttc_profile.sd_ci),
            "n_pairs": [int(n) for n in self.sttc_profile.n_pairs],
        }
        result["params"] = self.params
        return result


def _direction_bias(direction_rad: np.ndarray) -> float:
    direction_rad = direction_rad[np.isfinite(direction_rad)]
    return float(np.abs(np.exp(1j * direction_rad).mean())) if direction_rad.size else math.nan


def _closest_ci(profile: CIProfile) -> tuple[float, float]:
    if profile.distance_um.size == 0:
        return math.nan, math.nan
    return float(profile.distance_um[0]), float(profile.mean_ci[0])


def _make_summary(name: str, kind: str, n_sites: int, duration_s: float, n_bursts: int,
                  n_bursts_in_waves: int, n_participating: int, iwi_s: np.ndarray,
                  onset_s: np.ndarray, wave_duration_s: np.ndarray, size_fraction: np.ndarray,
                  speed: np.ndarray, direction: np.ndarray, profile: CIProfile, sttc_profile: CIProfile,
                  params: dict[str, Any], *, area_um2: np.ndarray, centroid_um: np.ndarray,
                  initiation_um: np.ndarray, site_positions_um: np.ndarray, site_n_waves: np.ndarray,
                  wave_interval_s: np.ndarray) -> Summary:
    distance_um, ci = _closest_ci(profile)
    _, sttc = _closest_ci(sttc_profile)
    return Summary(
        name=name, kind=kind, n_sites=int(n_sites), duration_s=float(duration_s),
        n_waves=int(onset_s.size),
        wave_frequency_per_min=onset_s.size / duration_s * 60.0,
        mean_iwi_s=_nan_mean(iwi_s), median_iwi_s=_nan_median(iwi_s), sd_iwi_s=_nan_sd(iwi_s),
        mean_wave_duration_s=_nan_mean(wave_duration_s),
        mean_speed_um_per_s=_nan_mean(speed), median_speed_um_per_s=_nan_median(speed),
        n_waves_with_speed=int(np.count_nonzero(np.isfinite(speed))),
        mean_size_fraction=_nan_mean(size_fraction),
        participation_fraction=n_participating / n_sites if n_sites else math.nan,
        fraction_bursts_in_waves=n_bursts_in_waves / n_bursts if n_bursts else math.nan,
        direction_bias=_direction_bias(direction),
        ci_closest_distance_um=distance_um, ci_closest=ci, sttc_closest=sttc,
        n_bursts=int(n_bursts), n_bursts_in_waves=int(n_bursts_in_waves),
        n_sites_participating=int(n_participating),
        iwi_s=iwi_s, wave_onset_s=onset_s, wave_duration_s=wave_duration_s,
        wave_size_fraction=size_fraction, wave_speed_um_per_s=speed,
        wave_direction_rad=direction, wave_area_um2=area_um2, wave_centroid_um=centroid_um.reshape(-1, 2),
        wave_initiation_um=initiation_um.reshape(-1, 2), site_positions_um=site_positions_um.reshape(-1, 2),
        site_n_waves=site_n_waves, ci_profile=profile, sttc_profile=sttc_profile, params=params,
        wave_interval_s=wave_interval_s,
    )


def _ci_grid(movie: Movie, params: AnalysisParams) -> np.ndarray:
    """A centred square grid of up to 8 x 8 virtual electrodes inside the movie."""
    _, height, width = movie.frames.shape
    pitch_um = max(params.ci_grid_pitch_um, movie.um_per_pixel)
    n_cols = min(8, int((width - 1) * movie.um_per_pixel // pitch_um) + 1)
    n_rows = min(8, int((height - 1) * movie.um_per_pixel // pitch_um) + 1)
    centre = np.array([(width - 1) / 2, (height - 1) / 2]) * movie.um_per_pixel
    extent = np.array([n_cols - 1, n_rows - 1]) * pitch_um
    return electrode_grid(n_rows, n_cols, pitch_um, origin_um=tuple(centre - extent / 2))


def summarize(data: MEARecording | Movie, params: AnalysisParams | None = None, *,
              name: str | None = None, progress: bool | None = False) -> Summary:
    """Detect waves and compute the summary statistics of a recording or movie.

    Parameters
    ----------
    data : MEARecording or Movie
        For a movie, the correlation index and the STTC are computed on a centred grid of
        up to 8 x 8 virtual electrodes (``ci_grid_pitch_um`` apart, Poisson
        spikes at ``virtual_rate_hz``, seed ``seed``).
    params : AnalysisParams, optional
    name : str, optional
        Label for tables and plots; default the file stem or ``"movie"``.
    progress : bool or None
        Show progress bars (None: only on a terminal).

    Returns
    -------
    Summary
        With ``wave_frequency_per_min``, ``mean_iwi_s``, ``mean_speed_um_per_s``,
        ``mean_size_fraction``, ``participation_fraction``, ``direction_bias``,
        ``ci_closest`` and ``sttc_closest`` (the CI and the STTC of the nearest
        distance bin) and more.
    """
    params = params or AnalysisParams()
    steps = tqdm(total=4, desc=name or "summary", disable=_no_bar(progress),
                 leave=False)
    if isinstance(data, Movie):
        kind, label = "movie", name or "movie"
        waves = detect_movie_waves(data, params)
        _, height, width = data.frames.shape
        site_group = np.arange(height * width)
        row, col = np.divmod(site_group, width)
        site_positions_um = np.column_stack([col, row]) * data.um_per_pixel  # as detect_movie_waves places pixels
        steps.update()
        spikes = virtual_electrodes(data, _ci_grid(data, params), rate_hz=params.virtual_rate_hz,
                                    seed=params.seed, threshold=params.activity_threshold)
    elif isinstance(data, MEARecording):
        kind, label = "mea", name or data.name
        waves = detect_mea_waves(data, params)
        site_group, site_positions_um = _electrodes(data.positions_um)
        steps.update()
        spikes = data
    else:
        raise ParameterError(f"data must be an MEARecording or a Movie, got {type(data).__name__}")
    _, iwi_s = inter_wave_intervals(waves)
    steps.update()
    ci = correlation_index(spikes.spike_times_s, spikes.duration_s, params.ci_window_s, progress=progress)
    profile = ci_by_distance(ci, spikes.positions_um, params.ci_bin_width_um)
    steps.update()
    sttc = spike_time_tiling(spikes.spike_times_s, spikes.duration_s, params.sttc_window_s, progress=progress)
    sttc_profile = ci_by_distance(sttc, spikes.positions_um, params.ci_bin_width_um)
    steps.update()
    steps.close()
    return _make_summary(
        label, kind, waves.n_site_groups, waves.recording_duration_s, waves.n_bursts,
        waves.n_bursts_in_waves, waves.participating_groups(site_group), iwi_s, waves.onset_s,
        waves.duration_s, waves.size_fraction, waves.speed_um_per_s, waves.direction_rad, profile, sttc_profile,
        params.to_dict(), area_um2=waves.area_um2, centroid_um=waves.centroid_um, initiation_um=waves.initiation_um,
        site_positions_um=site_positions_um,
        site_n_waves=waves.waves_per_group(site_group, len(site_positions_um)),
        wave_interval_s=np.diff(np.sort(waves.onset_s)),
    )


def combine_summaries(summaries: Sequence[Summary], name: str) -> Summary:
    """Pool several summaries (e.g. the movies of one store) into one.

    Counts and durations add up; distributions (intervals, waves, CI pairs)
    are concatenated and the statistics recomputed from them.

    Parameters
    ----------
    summaries : sequence of Summary
        At least one, all of one kind.
    name : str
        Label of the pooled summary.

    Returns
    -------
    Summary
    """
    if not summaries:
        raise ParameterError("summaries must hold at least one Summary, got none")
    kinds = {s.kind for s in summaries}
    if len(kinds) > 1:
        raise ParameterError(f"summaries must all be of one kind, got {sorted(kinds)}")

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(s, attr) for s in summaries])

    width = summaries[0].params.get("ci_bin_width_um", AnalysisParams.ci_bin_width_um)
    profile, sttc_profile = (
        _bin_pairs(np.concatenate([getattr(s, name).pair_distance_um for s in summaries]),
                   np.concatenate([getattr(s, name).pair_ci for s in summaries]), width)
        for name in ("ci_profile", "sttc_profile")
    )
    # per-site maps pool only over inputs whose sites lie in the same places (e.g. the movies of one store)
    positions_um = summaries[0].site_positions_um
    if all(s.site_positions_um.shape == positions_um.shape and np.array_equal(s.site_positions_um, positions_um)
           for s in summaries):
        site_n_waves = np.sum([s.site_n_waves for s in summaries], axis=0)
    else:
        positions_um, site_n_waves = np.zeros((0, 2)), np.zeros(0, np.int64)
    return _make_summary(
        name, summaries[0].kind, sum(s.n_sites for s in summaries), sum(s.duration_s for s in summaries),
        sum(s.n_bursts for s in summaries), sum(s.n_bursts_in_waves for s in summaries),
        sum(s.n_sites_participating for s in summaries), cat("iwi_s"), cat("wave_onset_s"),
        cat("wave_duration_s"), cat("wave_size_fraction"), cat("wave_speed_um_per_s"),
        cat("wave_direction_rad"), profile, sttc_profile, summaries[0].params, area_um2=cat("wave_area_um2"),
        centroid_um=cat("wave_centroid_um"), initiation_um=cat("wave_initiation_um"),
        site_positions_um=positions_um, site_n_waves=site_n_waves, wave_interval_s=cat("wave_interval_s"),
    )
