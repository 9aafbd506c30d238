"""Successive halving within the objective's noise, as an Optuna pruner.

At each rung (:mod:`wavesim.fit.fidelity`) a trial reports its distance and
the distance's standard error over the retinas. :class:`HalvingPruner`
stops it only when both hold:

- successive halving (Jamieson & Talwalkar 2016; Li et al. 2020, as in
  Optuna's ``SuccessiveHalvingPruner``): it is not among the best
  ``max(1, n // reduction_factor)`` of the ``n`` trials scored at that rung,
  itself and those before it;
- it is clearly worse than the best of them: its distance exceeds the
  best's by more than ``n_sem`` standard errors of the difference,
  ``sqrt(sem_trial**2 + sem_best**2)``, each standard error at least the
  median over those trials (two retinas give a noisy standard error, and a
  lucky small one must not make a candidate look certain).

So a candidate within noise of the best always goes on. "Before it" is the
order of trial numbers (a retried trial keeps the place of the trial it
retries, :data:`~wavesim.fit.study.ORDER_ATTR`), not the order in which results arrive: a fit
run again, or resumed, prunes the same trials. The start trial is never
pruned, so that the fit's best is never worse than its start.
"""

from __future__ import annotations

import math
import statistics

import optuna
from optuna.trial import TrialState

from ..errors import ParameterError
from .study import START_ATTR, order_of

__all__ = ["HalvingPruner", "RUNG_SEM_ATTR"]

#: User attribute: {str(step): standard error} of the distance the trial reported at each rung.
RUNG_SEM_ATTR = "rung_distance_sem"


class HalvingPruner(optuna.pruners.BasePruner):
    """Stop a trial at a rung if it is outside successive halving's best and clearly worse than the best.

    Parameters
    ----------
    reduction_factor : int
        A trial goes on if it is among the best ``max(1, n // reduction_factor)``
        of the ``n`` trials scored at its rung up to it.
    n_sem : float
        A trial is clearly worse than the best when its distance exceeds the
        best's by more than this many standard errors of the difference.

    Notes
    -----
    The standard errors come from the user attribute :data:`RUNG_SEM_ATTR`
    that the fit writes next to each ``trial.report``. Trials that failed
    are left out (their retries report again).
    """

    def __init__(self, reduction_factor: int = 3, n_sem: float = 2.0):
        if int(reduction_factor) < 2 or not n_sem >= 0:
            raise ParameterError(f"need reduction_factor >= 2 and n_sem >= 0, got {reduction_factor} and {n_sem}.")
        self.reduction_factor = int(reduction_factor)
        self.n_sem = float(n_sem)

    def prune(self, study, trial) -> bool:
        step = trial.last_step
        if step is None or trial.user_attrs.get(START_ATTR):
            return False
        value = trial.intermediate_values[step]
        if math.isnan(value):
            return True
        mine = order_of(trial)
        scored = [(t.intermediate_values[step], _sem(t, step))
                  for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                                    TrialState.RUNNING))
                  if t.number != trial.number and order_of(t) < mine and step in t.intermediate_values
                  and not math.isnan(t.intermediate_values[step])]
        if not scored:
            return False
        scored.append((value, _sem(trial, step)))
        values = sorted(v for v, _ in scored)
        if value <= values[max(1, len(values) // self.reduction_factor) - 1]:
            return False
        best_value, best_sem = min(scored)
        floor = statistics.median(s for _, s in scored)
        noise = math.hypot(max(_sem(trial, step), floor), max(best_sem, floor))
        return value - best_value > self.n_sem * noise


def _sem(trial, step: int) -> float:
    """The standard error a trial reported with its distance at ``step`` (0 if none)."""
    return float((trial.user_attrs.get(RUNG_SEM_ATTR) or {}).get(str(step), 0.0))
