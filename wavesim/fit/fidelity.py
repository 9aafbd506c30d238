"""Multi-fidelity fits: which short simulations score a candidate before the full one.

A candidate's retinas are simulated once, from the start of the warm-up to
the end of the recording, and scored at a few points on the way: its
*rungs*. A rung scores a window of the candidate's own run as a recording
``fraction`` times as long as the full objective's. Where it fits, the
window lies inside the warm-up, so that the rung also sees a warm-up
``fraction`` times as long (the cheapest rung: the run goes on to the full
warm-up anyway); where it does not (a warm-up short against the recording),
the window is the start of the full recording, after the full warm-up. The
last rung is the full objective (the warm-up, then the recording's
duration). Nothing is simulated twice: a candidate that passes a rung
continues from where that rung stopped, and one that the pruner stops has
cost only the simulated time up to its last rung.

Rung fractions grow by ``reduction_factor`` from ``first_rung_fraction``
(1/3 and 1 by default). A rung whose recording window would span fewer than
``min_rung_intervals`` of the recording's median inter-wave intervals (of
the median recording, in a pooled fit) is left out: its statistics would
rest on one or two waves per electrode.

Examples
--------
The Kirkby2013_02_WT_P5 fit: 900 s of warm-up, a 989 s recording whose
median inter-wave interval is 71 s:

>>> rung_schedule(900.0, [989.0], [71.0], PruningSettings())
(Rung(start_s=300.0, fraction=0.3333333333333333, end_s=629.6666666666666), Rung(start_s=900.0, fraction=1.0, end_s=1889.0))
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Sequence

import numpy as np

from ..parameters import ValidatedParams, choice_field, field

__all__ = ["PRUNERS", "PruningSettings", "Rung", "rung_schedule"]

#: "halving": successive halving over the rungs, within the objective's standard error; "none": every
#: candidate runs the full objective.
PRUNERS = ("halving", "none")


@dataclasses.dataclass(frozen=True)
class PruningSettings(ValidatedParams):
    """How a fit scores candidates on short simulations first and stops clearly worse ones.

    Parameters
    ----------
    pruner : {"halving", "none"}
        ``"halving"``: at each rung a candidate goes on if it is among the
        best ``1 / reduction_factor`` of the candidates scored there before
        it, or within ``n_sem`` standard errors of the best of them
        (:class:`~wavesim.fit.pruning.HalvingPruner`); ``"none"``: every
        candidate is simulated in full.
    first_rung_fraction : float
        Length of the first rung's warm-up and recording, as a fraction of
        the full objective's.
    reduction_factor : int
        Successive halving's factor: each rung is this many times longer
        than the one before, and keeps at least the best 1 / this of the
        candidates.
    n_sem : float
        How many standard errors of the difference of two distances make a
        candidate clearly worse than the best at a rung; the standard error
        of each is at least the median over the candidates scored there.
    min_rung_intervals : float
        Fewest median recorded inter-wave intervals a rung's recording must
        span (those of the median recording, in a pooled fit); shorter rungs
        are left out.
    """

    pruner: str = choice_field("halving", choices=PRUNERS, doc="stop clearly worse candidates on short simulations")
    first_rung_fraction: float = field(1 / 3, unit="1", low=0.001, high=1.0,
                                       doc="first rung's warm-up and recording as a fraction of the full ones")
    reduction_factor: int = field(3, unit="1", low=2, high=100, integer=True,
                                  doc="successive halving's factor between rungs")
    n_sem: float = field(2.0, unit="1", low=0.0, high=100.0,
                         doc="standard errors of a difference that make a candidate clearly worse")
    min_rung_intervals: float = field(2.5, unit="1", low=0.0, high=1e6,
                                      doc="fewest recorded inter-wave intervals in a rung's recording")


@dataclasses.dataclass(frozen=True)
class Rung:
    """One fidelity: a window of a candidate's run that is scored as a recording.

    Attributes
    ----------
    start_s : float (s)
        Simulated time at which the window starts (the rung's warm-up).
    fraction : float
        Each recording's window is this fraction of its duration (1: the full objective).
    end_s : float (s)
        Simulated time at which the longest window ends.
    """

    start_s: float
    fraction: float
    end_s: float

    @property
    def step(self) -> int:
        """The rung's step in the Optuna study: its end in whole simulated seconds."""
        return int(math.ceil(self.end_s - 1e-9))

    @property
    def full(self) -> bool:
        """Whether this is the full objective."""
        return self.fraction == 1.0


def rung_schedule(warmup_s: float, durations_s: Sequence[float], recorded_iwis_s: Sequence[float],
                  settings: PruningSettings, recording_starts: bool = True) -> tuple[Rung, ...]:
    """The rungs of a fit, the full objective last.

    Parameters
    ----------
    warmup_s : float (s)
        The full objective's warm-up.
    durations_s : sequence of float (s)
        The full objective's recording duration of each recording fitted.
    recorded_iwis_s : sequence of float (s)
        Each recording's median inter-wave interval (nan where undefined:
        that recording is left out of the minimum).
    settings : PruningSettings
    recording_starts : bool
        Whether a rung may score the start of the full recording (where a
        window does not fit inside the warm-up). The recording then goes on
        from where the rung stopped, which reads the same frames only if a
        frame period is a whole number of model steps.

    Returns
    -------
    tuple of Rung
        In increasing order of their ends: rungs inside the warm-up, each
        after the one before, then rungs at the start of the recording,
        then ``Rung(warmup_s, 1.0, warmup_s + max(durations_s))``.
    """
    longest_s = max(durations_s)
    full = Rung(float(warmup_s), 1.0, float(warmup_s) + longest_s)
    if settings.pruner == "none":
        return (full,)
    # intervals a fraction 1 of each recording spans; a pooled fit goes by the median recording
    spans = [d / iwi for d, iwi in zip(durations_s, recorded_iwis_s) if math.isfinite(iwi) and iwi > 0]
    spanned = float(np.median(spans)) if spans else math.inf
    rungs: list[Rung] = []
    previous_end_s = 0.0
    for k in itertools.count():
        fraction = settings.first_rung_fraction * settings.reduction_factor ** k
        if fraction >= 1.0 - 1e-9:
            break
        if fraction * spanned < settings.min_rung_intervals:
            continue
        length_s = fraction * longest_s
        # scaled with the full run where that fits inside the warm-up, else ending where the warm-up ends
        start_s = min(max(fraction * warmup_s, previous_end_s), warmup_s - length_s)
        if start_s >= previous_end_s:
            rungs.append(Rung(start_s, fraction, start_s + length_s))
        elif recording_starts:
            rungs.append(Rung(float(warmup_s), fraction, warmup_s + length_s))
        else:
            continue
        previous_end_s = rungs[-1].end_s
    return (*rungs, full)
