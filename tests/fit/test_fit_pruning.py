"""Multi-fidelity fits: the rungs, the pruner, staged simulation, and what pruning must keep."""

import functools
import math

import pytest
from fit_setup import QUICK_GEOMETRY, quick_ranges, quick_recording
from helpers import fast_params

from wavesim.errors import ParameterError
from wavesim.fit import Objective, PruningSettings, Rung, SimulationSettings, fit, run_search, rung_schedule, search_plan
from wavesim.fit.staged import StagedEvaluator

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState, create_trial  # noqa: E402

from wavesim.fit.pruning import RUNG_SEM_ATTR, HalvingPruner  # noqa: E402
from wavesim.fit.study import ORDER_ATTR, START_ATTR, _storage  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


@functools.lru_cache(maxsize=None)
def two_retina_objective(warmup_s=60.0):
    """The quick problem with 2 retinas of 120 s: enough for a standard error, so pruning runs."""
    geometry = {**QUICK_GEOMETRY, "warmup_s": warmup_s}
    return Objective(quick_recording(), simulation=SimulationSettings(n_retinas=2, seed=1, duration_s=120.0,
                                                                       **geometry))


#: The quick recording holds waves every ~20 s: a rung of 40 s spans 2 of its intervals.
QUICK_PRUNING = PruningSettings(min_rung_intervals=1.0)


def test_rungs_lie_inside_the_warm_up_where_they_fit():
    kirkby = rung_schedule(900.0, [989.0], [71.0], PruningSettings())
    assert kirkby == (Rung(300.0, 1 / 3, 300.0 + 989.0 * (1 / 3)), Rung(900.0, 1.0, 1889.0))
    assert [r.step for r in kirkby] == [630, 1889] and [r.full for r in kirkby] == [False, True]
    # a recording twice as long as the warm-up: the rung ends where the warm-up ends
    assert rung_schedule(900.0, [2400.0], [100.0], PruningSettings())[0] == Rung(100.0, 1 / 3, 900.0)
    # a short warm-up: the rung is the start of the recording, or none where the frames would not line up
    assert rung_schedule(30.0, [300.0], [20.0], PruningSettings())[0] == Rung(30.0, 1 / 3, 130.0)
    assert rung_schedule(30.0, [300.0], [20.0], PruningSettings(), recording_starts=False) == (
        Rung(30.0, 1.0, 330.0),)
    # too few inter-wave intervals in a third of the recording, or pruning off: the full objective only
    assert rung_schedule(900.0, [300.0], [71.0], PruningSettings()) == (Rung(900.0, 1.0, 1200.0),)
    assert rung_schedule(900.0, [989.0], [71.0], PruningSettings(pruner="none")) == (Rung(900.0, 1.0, 1889.0),)
    # three rungs: each after the one before
    rungs = rung_schedule(900.0, [3000.0], [60.0], PruningSettings(first_rung_fraction=0.1))
    assert [round(r.fraction, 6) for r in rungs] == [0.1, 0.3, 0.9, 1.0]
    assert all(a.end_s <= b.start_s or b.start_s == 900.0 for a, b in zip(rungs, rungs[1:]))


def _study_with(values, sems=None, step=10):
    """A study whose trials 0.. reported ``values`` (with standard errors ``sems``) at ``step``."""
    study = optuna.create_study(pruner=HalvingPruner(3, 2.0))
    for number, value in enumerate(values):
        sem = 0.05 if sems is None else sems[number]
        study.add_trial(create_trial(state=TrialState.PRUNED, value=value, intermediate_values={step: value},
                                     user_attrs={RUNG_SEM_ATTR: {str(step): sem}}))
    return study


def _judge(study, value, sem=0.05, step=10, **user_attrs):
    trial = study.ask()
    for k, v in {RUNG_SEM_ATTR: {str(step): sem}, **user_attrs}.items():
        trial.set_user_attr(k, v)
    trial.report(value, step)
    return trial.should_prune()


def test_halving_pruner_stops_only_clearly_worse_candidates():
    study = _study_with([0.50, 0.60, 0.70, 0.80, 0.90, 1.00])
    assert not _judge(study, 0.55)  # within 2 x sqrt(2) x 0.05 = 0.14 of the best, and among the best two
    assert not _judge(study, 0.62)  # within the noise of the best, though outside the best third
    assert _judge(study, 0.95)  # outside the best third and clearly worse
    assert not _judge(study, 0.95, sem=0.5)  # the same distance with a large standard error: within noise
    assert not _judge(study, 5.0, **{START_ATTR: True})  # the start always goes on
    assert _judge(study, math.nan)
    assert not _judge(_study_with([]), 5.0)  # the first at a rung has nothing to lose against
    # the standard errors are at least their median: a lucky small one does not make a candidate look certain
    assert not _judge(_study_with([0.5, 0.6, 0.7], sems=[0.001, 0.3, 0.3]), 0.85, sem=0.001)


def test_halving_pruner_compares_with_trials_before_in_number_order():
    """A retried trial keeps its place: only trials before that place count, whatever finished first."""
    study = _study_with([0.9, 0.3, 0.3, 0.3])  # trial 0 is the best before place 1
    assert not _judge(study, 0.95, **{ORDER_ATTR: 1})
    assert _judge(study, 0.95)  # in its own place, behind the three trials at 0.3


def test_halving_pruner_bad_input():
    with pytest.raises(ParameterError, match="need reduction_factor >= 2 and n_sem >= 0, got 1 and 2.0"):
        HalvingPruner(1, 2.0)
    with pytest.raises(ParameterError, match=r"PruningSettings.first_rung_fraction = 0.0 is outside the allowed"):
        PruningSettings(first_rung_fraction=0.0)
    with pytest.raises(ParameterError, match=r"PruningSettings.pruner must be one of \('halving', 'none'\)"):
        PruningSettings(pruner="hyperband")


@pytest.mark.parametrize("warmup_s", [60.0, 10.0])  # a rung inside the warm-up; a rung at the recording's start
def test_the_last_rung_is_the_full_objective_on_workers_or_here(warmup_s):
    """Simulated rung by rung, on two worker processes or in this one, the full distance is evaluate()'s."""
    objective = two_retina_objective(warmup_s)
    candidates = [fast_params(spont_rate_hz=0.0), fast_params(spont_rate_hz=0.0, P_s=2.5, D_s=0.8)]
    plan = search_plan(objective, candidates[0], QUICK_PRUNING)
    assert len(plan.rungs) == 2 and (plan.rungs[0].start_s < warmup_s) == (warmup_s == 60.0)
    expected = objective.evaluate(candidates)
    for workers in (1, 2):
        with StagedEvaluator(objective, plan.rungs, plan.backend, workers) as staged:
            runs = staged.start(candidates)
            for k in range(len(plan.rungs)):
                runs, evaluations = zip(*staged.score(runs, k))
            assert (staged._pool is not None) == (workers > 1)  # two workers did start processes
        assert [e.retina_distances for e in evaluations] == [e.retina_distances for e in expected]
        assert [e.terms for e in evaluations] == [e.terms for e in expected]


def _trials(storage, name):
    study = optuna.load_study(study_name=name, storage=_storage(storage))
    return [(t.number, t.state, t.params, t.value, t.intermediate_values) for t in study.trials]


def test_pruned_trials_are_recorded_as_pruned_and_a_resumed_fit_gives_the_same_trials(tmp_path):
    objective, base = two_retina_objective(), fast_params(spont_rate_hz=0.0)
    common = dict(batch_size=2, progress=False, pruning=QUICK_PRUNING, workers=1)
    whole = tmp_path / "whole.journal"
    run_search(objective, quick_ranges(), base, whole, "s", 8, **common)
    trials = _trials(whole, "s")
    states = [state for _, state, _, _, _ in trials]
    assert TrialState.PRUNED in states and set(states) == {TrialState.COMPLETE, TrialState.PRUNED}
    final = max(plan_step for plan_step in trials[0][4])
    study = optuna.load_study(study_name="s", storage=_storage(whole))
    for t in study.trials:
        if t.state == TrialState.PRUNED:  # stopped at the first rung: its distance there, never the full one
            assert list(t.intermediate_values) == [t.user_attrs["pruned_at_s"]] != [final]
            assert t.value == t.intermediate_values[t.user_attrs["pruned_at_s"]] and "terms" not in t.user_attrs
        else:
            assert t.value == t.intermediate_values[final] and set(t.user_attrs["terms"]) >= {"iwi", "ci"}
    assert study.trials[0].user_attrs["start"] and study.trials[0].state == TrialState.COMPLETE
    assert study.best_value <= study.trials[0].value

    resumed = tmp_path / "resumed.journal"
    run_search(objective, quick_ranges(), base, resumed, "s", 4, **common)
    run_search(objective, quick_ranges(), base, resumed, "s", 8, **common)
    assert _trials(resumed, "s") == trials


def test_fit_reports_pruned_trials_and_keeps_its_start(tmp_path):
    start = fast_params(spont_rate_hz=0.0)
    result = fit(quick_recording(), tmp_path, base=start, fitted=(), ranges=quick_ranges(), n_trials=6,
                 batch_size=3, simulation=two_retina_objective().simulation, progress=False, pruning=QUICK_PRUNING)
    report = result.report
    assert report["n_trials_complete"] + report["n_trials_pruned"] == 6 and report["n_trials_complete"] >= 1
    assert report["search"]["workers"] >= 1 and len(report["search"]["rungs"]) == 2
    assert report["start"]["trial"] == 0 and result.best_distance <= report["start"]["distance"]


def test_pruning_needs_two_retinas_and_workers_at_least_one():
    one = Objective(quick_recording(), simulation=SimulationSettings(n_retinas=1, seed=1, duration_s=120.0,
                                                                      **QUICK_GEOMETRY))
    plan = search_plan(one, fast_params(), QUICK_PRUNING)
    assert len(plan.rungs) == 1 and plan.rungs[0].full and "needs 2 retinas" in plan.note
    assert search_plan(one, fast_params(), workers=1).workers == 1
    for bad in (0, 1.5, True):
        with pytest.raises(ParameterError, match=rf"workers must be a positive integer \(processes; 1 simulates in "
                                                 rf"this process\), got {bad!r}"):
            search_plan(one, fast_params(), workers=bad)
