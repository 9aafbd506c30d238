"""Wave statistics shared by simulated movies and real recordings.

The same measures are computed on binary (or thresholded calcium) movies and
on multielectrode-array (MEA) spike trains, so that simulations can be tuned
against recordings. Data flow one way through the modules:

:mod:`~wavesim.analysis.params`
    :class:`AnalysisParams`, the settings of every step.
:mod:`~wavesim.analysis.bursts`
    Bursts of MEA channels (max-interval method) and of movie pixels.
:mod:`~wavesim.analysis.fronts`
    Wave speed from local plane fits (the default) or a whole-wave plane or
    circle fit; direction and initiation point.
:mod:`~wavesim.analysis.waves`
    Waves as space-time clusters of bursts (MEA) or connected components
    of active voxels (movies); frame labels; inter-wave intervals.
:mod:`~wavesim.analysis.correlation`
    The correlation index of Wong et al. (1993) and the spike time tiling
    coefficient of Cutts & Eglen (2014) against electrode distance.
:mod:`~wavesim.analysis.electrodes`
    Electrode grids and virtual electrodes that sample a movie.
:mod:`~wavesim.analysis.synchrony`
    Shared fine timing of electrodes: the CI beyond the bursts' envelopes,
    and a model of it for virtual electrodes.
:mod:`~wavesim.analysis.summary`
    :class:`Summary` of one input, and pooled summaries.
:mod:`~wavesim.analysis.report`
    Printed tables, JSON, figures and the ``stats``/``compare`` commands.
:mod:`~wavesim.analysis.tables`
    Per-movie wave tables written into a store (``stats --write``).
"""

from wavesim.analysis.bursts import Bursts, detect_pixel_bursts, detect_spike_bursts
from wavesim.analysis.correlation import CIProfile, ci_by_distance, correlation_index, spike_time_tiling
from wavesim.analysis.electrodes import (
    BurstElectrodes,
    centred_grid_um,
    electrode_grid,
    electrode_spikes,
    estimate_burst_electrodes,
    grid_virtual_electrodes,
    virtual_electrodes,
)
from wavesim.analysis.fronts import local_speeds, local_wave_speed
from wavesim.analysis.params import AnalysisParams
from wavesim.analysis.figure import plot_summaries, summary_figure
from wavesim.analysis.report import analyse_path, format_table, write_json
from wavesim.analysis.summary import Summary, combine_summaries, summarize
from wavesim.analysis.synchrony import SharedSynchrony, estimate_shared_synchrony, jitter_within_bursts
from wavesim.analysis.tables import movie_wave_table, write_store_wave_tables
from wavesim.analysis.waves import (
    Waves,
    detect_mea_waves,
    detect_movie_waves,
    frame_wave_labels,
    inter_wave_intervals,
)

__all__ = [
    "AnalysisParams",
    "BurstElectrodes",
    "Bursts",
    "CIProfile",
    "SharedSynchrony",
    "Summary",
    "Waves",
    "analyse_path",
    "centred_grid_um",
    "ci_by_distance",
    "combine_summaries",
    "correlation_index",
    "detect_mea_waves",
    "detect_movie_waves",
    "detect_pixel_bursts",
    "detect_spike_bursts",
    "electrode_grid",
    "electrode_spikes",
    "estimate_shared_synchrony",
    "format_table",
    "frame_wave_labels",
    "estimate_burst_electrodes",
    "grid_virtual_electrodes",
    "inter_wave_intervals",
    "jitter_within_bursts",
    "local_speeds",
    "local_wave_speed",
    "movie_wave_table",
    "plot_summaries",
    "spike_time_tiling",
    "summarize",
    "summary_figure",
    "virtual_electrodes",
    "write_json",
    "write_store_wave_tables",
]
