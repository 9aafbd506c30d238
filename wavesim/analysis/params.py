"""Parameters of burst, wave and correlation analysis, with units and allowed ranges."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from wavesim.errors import ParameterError
from wavesim.parameters import ValidatedParams, check_value, choice_field, field

__all__ = ["SPEED_METHODS", "AnalysisParams"]

#: Wave speed estimators: "local" (median of local plane fits), "front" (one plane or circle per wave).
SPEED_METHODS = ("local", "front")


@dataclasses.dataclass(frozen=True)
class AnalysisParams(ValidatedParams):
    """Parameters of burst, wave and correlation analysis (units in each field's spec).

    Parameters
    ----------
    max_isi_start_s : float (s)
        Max-interval bursts: largest inter-spike interval that starts a burst.
    max_isi_end_s : float (s)
        Largest inter-spike interval inside a burst; at least ``max_isi_start_s``.
    min_ibi_s : float (s)
        Bursts of one channel closer than this merge.
    min_burst_spikes : int
        Fewest spikes in a burst.
    min_burst_duration_s : float (s)
        Shortest burst.
    neighbour_radius_um : float or None (um)
        MEA waves: electrodes at most this far apart are neighbours; None
        means 2.5 times the array pitch (the 20 nearest electrodes of a
        square array, 18 of a hexagonal one), so that a silent electrode
        between two recruited ones does not split a wave.
    max_onset_lag_s : float (s)
        MEA waves: largest onset difference that links bursts of
        neighbouring electrodes.
    min_size_fraction : float
        Smallest fraction of sites (pixels or electrodes) that an event must
        recruit to count as a wave (and at least 3 sites).
    speed_method : {"local", "front"}
        How a wave's speed is measured: ``"local"``, the median over its
        sites of local plane fits of the onsets within
        ``local_speed_radius_um`` (:func:`~wavesim.analysis.fronts.local_speeds`);
        ``"front"``, one plane or circle fitted to the whole wave, which
        overstates curved and irregular fronts.
    local_speed_radius_um : float or None (um)
        Neighbourhood of the local plane fits; None means 2.5 times the
        array pitch for MEA recordings (the 20 nearest electrodes of a
        square array) and 4 pixels, at least 150 um, for movies. Simulated
        fronts are rough at the scale of a few cells, so their local speed
        grows with the radius (turtle preset, 2 x 2 mm, 34 um pixels: median
        219, 248 and 308 um/s at 100, 150 and 250 um): compare speeds
        measured with one radius.
    min_fit_r2 : float
        Smallest adjusted R^2 of the better whole-wave front model for its
        speed to be defined.
    initiation_fraction : float
        Fraction of a wave's onset span whose sites define its initiation
        point; 0 keeps only the sites of the first onset.
    activity_threshold : float or None (frame value)
        Movies: a pixel is active where its value exceeds this; None means
        > 0 for binary movies and > 127 for uint8 movies with values above 1
        (calcium readout, 0..255).
    ci_window_s : float (s)
        Correlation index coincidence window dt; 0.1 s as in Wong et al. 1993.
    sttc_window_s : float (s)
        Spike time tiling coefficient window dt (Cutts & Eglen 2014); 0.05 s,
        the 50 ms window of the field's retinal-wave analyses.
    ci_bin_width_um : float (um)
        Width of the electrode-distance bins of the CI and STTC profiles.
    ci_grid_pitch_um : float (um)
        Movies: pitch of the centred 8 x 8 grid of virtual electrodes used
        for the CI (100 um, like the MCS arrays); widened to one pixel if
        pixels are larger.
    virtual_rate_hz : float (1/s)
        Firing rate of virtual electrodes on active pixels.
    seed : int
        Seed of the virtual spike trains.

    Examples
    --------
    >>> AnalysisParams(min_size_fraction=0.1).min_size_fraction
    0.1
    >>> AnalysisParams(max_onset_lag_s=0)
    Traceback (most recent call last):
    ...
    wavesim.errors.ParameterError: AnalysisParams.max_onset_lag_s = 0.0 s is outside the allowed range [0.001, 600.0] s.
    """

    # 0.1 ms is far below a neuron's refractory period (about 1 ms): the lower bounds of the
    # intervals exclude only values that no spike train can meet.
    max_isi_start_s: float = field(0.5, unit="s", low=1e-4, high=60.0, doc="largest ISI that starts a burst")
    max_isi_end_s: float = field(1.0, unit="s", low=1e-4, high=60.0, doc="largest ISI inside a burst")
    min_ibi_s: float = field(2.0, unit="s", low=0.0, high=3600.0, doc="bursts of a channel closer than this merge")
    min_burst_spikes: int = field(3, unit="1", low=1, high=1_000_000, integer=True, doc="fewest spikes in a burst")
    min_burst_duration_s: float = field(0.05, unit="s", low=0.0, high=3600.0, doc="shortest burst")
    neighbour_radius_um: float | None = field(None, unit="um", low=1.0, high=1e6, optional=True,
                                              doc="MEA: neighbouring electrodes lie within this; None: 2.5 x pitch")
    max_onset_lag_s: float = field(2.0, unit="s", low=0.001, high=600.0,
                                   doc="MEA: largest onset lag linking bursts of neighbouring electrodes")
    min_size_fraction: float = field(0.05, unit="1", low=0.0, high=1.0, doc="smallest fraction of sites in a wave")
    speed_method: str = choice_field("local", choices=SPEED_METHODS,
                                     doc="wave speed: local plane fits (median) or one whole-wave front fit")
    local_speed_radius_um: float | None = field(None, unit="um", low=1.0, high=1e6, optional=True,
                                                doc="radius of the local plane fits; None: 2.5 x pitch (MEA), "
                                                    "4 pixels and >= 150 um (movies)")
    min_fit_r2: float = field(0.5, unit="1", low=0.0, high=1.0,
                              doc="smallest adjusted R^2 for a defined whole-wave front speed")
    initiation_fraction: float = field(0.1, unit="1", low=0.0, high=1.0,
                                       doc="fraction of the onset span that defines the initiation point")
    # any finite value: float movies (e.g. dF/F) may be thresholded below 0
    activity_threshold: float | None = field(None, unit="1", low=-math.inf, high=math.inf, optional=True,
                                             doc="movie pixels above this are active; None: > 0 binary, > 127 calcium")
    ci_window_s: float = field(0.1, unit="s", low=0.001, high=60.0, doc="correlation index coincidence window")
    sttc_window_s: float = field(0.05, unit="s", low=0.001, high=60.0, doc="spike time tiling coefficient window")
    ci_bin_width_um: float = field(50.0, unit="um", low=1.0, high=1e6, doc="width of the CI distance bins")
    ci_grid_pitch_um: float = field(100.0, unit="um", low=1.0, high=1e6, doc="pitch of the virtual CI grid of movies")
    virtual_rate_hz: float = field(20.0, unit="1/s", low=0.001, high=10_000.0,
                                   doc="virtual electrode rate on an active pixel")
    seed: int = field(0, unit="1", low=0, high=2**63 - 1, integer=True, doc="seed of the virtual spike trains")

    def _check_relations(self) -> None:
        if self.max_isi_end_s < self.max_isi_start_s:
            raise ParameterError(
                f"AnalysisParams.max_isi_end_s = {self.max_isi_end_s} s is shorter than "
                f"max_isi_start_s = {self.max_isi_start_s} s; a burst cannot continue on longer "
                f"intervals than start it."
            )


#: Specs of function arguments that have no AnalysisParams field of their own.
_ARGUMENT_SPECS: dict[str, dict[str, Any]] = {
    # one frame of the fastest readout (1 ms) up to about four months
    "duration_s": {"unit": "s", "low": 0.001, "high": 1e7},
    "count": {"unit": "1", "low": 1, "high": 1_000_000, "integer": True},
    # decay time of a virtual electrode's burst rate: a few ms (a spike doublet) up to nearly constant
    "burst_decay_s": {"unit": "s", "low": 0.005, "high": 100.0},
    # shared timing of virtual electrodes (wavesim.analysis.synchrony): gain variance, its length and time scale
    "sync_gain_variance": {"unit": "1", "low": 0.0, "high": 100.0},
    "sync_length_um": {"unit": "um", "low": 1.0, "high": 1e6},
    "sync_time_s": {"unit": "s", "low": 0.005, "high": 10.0},
}


def spec_range(spec: str) -> tuple[float, float]:
    """The allowed (low, high) of a spec that :func:`check_argument` takes."""
    meta = _ARGUMENT_SPECS.get(spec) or AnalysisParams.field_specs()[spec]
    return meta["low"], meta["high"]


def check_argument(owner: str, name: str, value: Any, spec: str) -> float:
    """Check a function argument like the parameter fields, with the same messages.

    Parameters
    ----------
    owner : str
        The function, named in the message.
    name : str
        The argument.
    value : Any
    spec : str
        An :class:`AnalysisParams` field whose unit and range apply, or
        ``"duration_s"`` or ``"count"``.

    Returns
    -------
    float or int
        ``value`` as :func:`wavesim.parameters.check_value` returns it.

    Raises
    ------
    ParameterError
        If ``value`` is not a number or lies outside the allowed range.
    """
    meta = _ARGUMENT_SPECS.get(spec) or AnalysisParams.field_specs()[spec]
    return check_value(owner, name, value, meta)
