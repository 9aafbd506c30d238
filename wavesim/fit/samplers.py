"""The fit's Optuna samplers, seeded afresh for every trial.

A fit must propose the same candidates when it is run again or resumed, and
processes sharing a study must not propose the same ones. Both hold if each
trial's parameters are drawn by a sampler seeded from the fit's seed, the
study name and the trial's own number (the storage hands out numbers
atomically): :class:`TrialSeededSampler` builds such a sampler in
``before_trial``, through Optuna's public sampler interface, and hands every
call to it. TPE and CMA-ES keep all else they need in the study (its trials,
and CMA-ES's search distribution in the trials' system attributes), so a
fresh sampler per trial proposes what a long-lived one would, up to its
random numbers.
"""

from __future__ import annotations

import hashlib
import warnings

import optuna

from ..errors import ParameterError
from .search import SAMPLERS

__all__ = ["TrialSeededSampler", "derived_seed", "make_sampler"]


def derived_seed(seed: int, study_name: str, trial_number: int) -> int:
    """A 32-bit sampler seed from the fit's seed, the study name and a trial number (stable across runs)."""
    digest = hashlib.sha256(f"{seed}:{study_name}:{trial_number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def make_sampler(name: str, seed: int | None):
    """The named Optuna sampler with ``seed``.

    TPE uses the constant liar (a batch of asked candidates spreads out) and
    its multivariate model. CMA-ES starts at the centre of the ranges; the
    fit's start point is its first trial (enqueued), not CMA-ES's ``x0``,
    which Optuna deprecated in 4.9.
    """
    if name == "tpe":
        with warnings.catch_warnings():  # both options are experimental before Optuna 5; chosen on purpose
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=True)
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise ParameterError("sampler 'cmaes' needs the cmaes package: pip install cmaes") from None
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    raise ParameterError(f"sampler must be one of {SAMPLERS}, got {name!r}.")


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """A sampler of kind ``name`` seeded, for each trial, by :func:`derived_seed` of the trial's number.

    Parameters
    ----------
    name : {"tpe", "cmaes"}
    seed : int
        The fit's sampler seed.
    study_name : str
    """

    def __init__(self, name: str, seed: int, study_name: str):
        self.name, self.seed, self.study_name = name, int(seed), study_name
        self._inner = make_sampler(name, derived_seed(self.seed, study_name, -1))

    def before_trial(self, study, trial) -> None:
        self._inner = make_sampler(self.name, derived_seed(self.seed, self.study_name, trial.number))
        self._inner.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self._inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        self._inner.after_trial(study, trial, state, values)
