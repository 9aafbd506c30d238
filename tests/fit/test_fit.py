"""wavesim fit: parameter recovery, shared and resumed studies, outputs, bad input."""

import datetime
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fit_setup import QUICK_GEOMETRY, RECORDED_ELECTRODES, quick_objective, quick_ranges, quick_recording
from helpers import fast_params

import wavesim as ws
import wavesim.fit.study as fit_module
from wavesim.models import load_params_file
from wavesim.errors import ParameterError
from wavesim.fit import fit, near_best_spread, parameter_ranges, run_search, study_timing
from wavesim.models import write_params_file
from wavesim.fit.objective import (
    Objective,
    ObjectiveSettings,
    SimulationSettings,
    UnfittableRecordingError,
    VirtualArray,
    fit_statistics,
    term_distances,
)
from wavesim.fit.staged import StagedEvaluator
from wavesim.io.recordings import MEARecording
from wavesim.analysis import AnalysisParams, electrode_grid

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402

TESTS = Path(__file__).resolve().parents[1]


def _complete(storage, name="shared"):
    study = optuna.load_study(study_name=name, storage=fit_module._storage(storage))
    return study, study.get_trials(states=(TrialState.COMPLETE,))


def _not_strict_json(constant):
    raise AssertionError(f"{constant} in a report: strict JSON has no NaN or Infinity")


def test_parameter_recovery(tmp_path):
    """Waves of known H1, P_s, D_s seen through a 5 x 5 array of burst electrodes: the identifiable
    combinations come back within 15%.

    The recording (800 s, one retina of seed 777) and the fit's retinas
    (3 x 300 s, seeds from 1: common random numbers) differ in their noise.
    Its electrodes fire bursts (30 Hz at the start, decaying in 1.5 s); the
    fit's take their rate and decay from the recording. CMA-ES over +-50%
    ranges, 40 trials in batches of 4, with pruning (the default): each
    candidate is first scored on the first 100 s of its recording.

    H1 is only weakly identified: the statistics pin the decay rate H1/P_s
    and hardly change along it (docs/fit_examples.md, "Identifiability"),
    so the test holds H1/P_s and D_s to 15%, not H1 and P_s apart. Sampler
    seed 0 lands at 9% and 4% (13 of the 40 trials pruned). ``examples/fit_recovery.py`` runs more seeds:
    seed 1 stops 17% off in H1/P_s at the truth's distance (the noise of 3
    retinas x 300 s); with 6 retinas both seeds land within 10%.
    """
    import numba

    # One thread: a tiny lattice gains nothing from more, and on a busy 2-core machine Numba's
    # parallel loops then wait for descheduled threads at every step (measured: 74 s vs 441 s).
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        _recover(tmp_path, sampler_seed=0)
    finally:
        numba.set_num_threads(threads)


def _recover(tmp_path, sampler_seed):
    truth = fast_params(spont_rate_hz=0.0, D_s=1.0, H1=4.0, P_s=3.0)
    geometry = dict(margin_um=200.0, warmup_s=30.0, backend="cpu-events")
    recorded_electrodes = SimulationSettings(n_retinas=1, seed=777, **RECORDED_ELECTRODES, **geometry)
    recording = VirtualArray(electrode_grid(5, 5, 100.0), 800.0, recorded_electrodes).recordings(truth)[0]
    start = time.perf_counter()
    result = fit(recording, tmp_path / "out", base=fast_params(spont_rate_hz=0.0), fitted=(),
                 ranges={"H1": (2.0, 6.0), "P_s": (1.5, 4.5), "D_s": (0.5, 1.5)}, n_trials=40, batch_size=4,
                 sampler="cmaes", sampler_seed=sampler_seed,
                 simulation=SimulationSettings(n_retinas=3, seed=1, duration_s=300.0, **geometry), progress=False)
    elapsed = time.perf_counter() - start
    electrodes = result.report["objective"]["simulation"]  # estimated from the recording
    assert electrodes["electrodes"] == "burst" and electrodes["burst_decay_s"] == pytest.approx(1.5, rel=0.15)
    assert electrodes["burst_rate_hz"] == pytest.approx(30.0, rel=0.15)
    fitted = result.report["fitted_parameters"]
    identifiable = {"H1/P_s": (fitted["H1"] / fitted["P_s"], truth.H1 / truth.P_s), "D_s": (fitted["D_s"], truth.D_s)}
    errors = {k: abs(got - want) / want for k, (got, want) in identifiable.items()}
    print(f"recovery in {elapsed:.0f} s: fitted {fitted}, relative errors {errors}")
    assert all(e <= 0.15 for e in errors.values()), errors
    # pruning was on (3 retinas: a rung at the first third of the recording) and kept the recovery within 15%
    assert result.report["n_trials_complete"] + result.report["n_trials_pruned"] == 40
    assert result.report["n_trials_pruned"] > 0 and len(result.report["search"]["rungs"]) == 2
    for name in ("best_params.toml", "report.json", "comparison.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_two_processes_share_one_study(tmp_path, kind):
    """Two workers on one journal file or SQLite database finish exactly N trials, each simulated once."""
    storage = tmp_path / "study.journal" if kind == "journal" else f"sqlite:///{tmp_path / 'study.db'}"
    logs, n_trials = tmp_path / "logs", 10
    logs.mkdir()
    env = dict(os.environ, NUMBA_NUM_THREADS="1")  # two processes on a small machine: no oversubscription
    # Both compile first and start together, so neither can take every trial while the other starts up.
    workers = [subprocess.Popen([sys.executable, str(TESTS / "fit_worker.py"), str(storage), str(n_trials), str(logs),
                                 "2", "2"],
                                env=env, cwd=TESTS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
               for _ in range(2)]
    for w in workers:
        out, _ = w.communicate(timeout=300)
        assert w.returncode == 0, out.decode()[-3000:]
    study, complete = _complete(storage)
    assert len(complete) == n_trials
    # Numbers run without gaps up to the last complete trial; the only others are surplus (e.g. a start both
    # workers enqueued at the same moment, which SQLite's timing makes common).
    trials = study.get_trials()
    last = max(t.number for t in complete)
    assert [t.number for t in trials[:last + 1]] == list(range(last + 1))
    assert all(t.state == TrialState.COMPLETE or t.user_attrs.get("surplus") for t in trials[:last + 1])
    evaluated = [line for log in logs.glob("*.log") for line in log.read_text().splitlines()]
    assert len(evaluated) == n_trials  # none simulated twice, none lost
    keys = {json.dumps(t.params, sort_keys=True) for t in complete}
    assert keys == {json.dumps(json.loads(e), sort_keys=True) for e in evaluated}
    assert len({t.user_attrs["worker"] for t in complete}) == 2  # both worked
    timing = study_timing(complete)
    assert len(timing["workers"]) == 2 and 0 < timing["busy_time_s"] <= timing["span_s"]
    surplus = [t for t in study.get_trials() if t.state == TrialState.FAIL]
    assert all(t.user_attrs.get("surplus") for t in surplus)


def test_killed_fit_resumes(tmp_path):
    """A budget of 4, a trial left running by a dead process, then a budget of 8: 8 trials, the first 4 kept."""
    storage = tmp_path / "study.journal"
    objective, base = quick_objective(), fast_params(spont_rate_hz=0.0)
    run_search(objective, quick_ranges(), base, storage, "shared", 4, batch_size=2, sampler_seed=0, progress=False)
    study, first = _complete(storage)
    # a trial that a killed process left RUNNING
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = study.ask({k: optuna.distributions.FloatDistribution(*v) for k, v in quick_ranges().items()})
    orphan.set_user_attr("worker", f"{socket.gethostname()}:{dead.pid}")
    run_search(objective, quick_ranges(), base, storage, "shared", 8, batch_size=2, sampler_seed=1, progress=False)
    study, complete = _complete(storage)
    assert len(complete) == 8
    assert [(t.number, t.params, t.value) for t in complete[:4]] == [(t.number, t.params, t.value) for t in first]
    assert study.trials[orphan.number].state == TrialState.FAIL
    assert complete[0].user_attrs["distance_sem"] == 0.0 and set(complete[0].user_attrs["terms"]) >= {"iwi", "ci"}


def test_killed_workers_trials_are_retried(tmp_path):
    """A worker killed mid-batch: the next process fails its two trials and evaluates their parameters again."""
    storage, logs = tmp_path / "study.journal", tmp_path / "logs"
    logs.mkdir()
    env = dict(os.environ, NUMBA_NUM_THREADS="1", FIT_WORKER_HANG="1")
    worker = subprocess.Popen([sys.executable, str(TESTS / "fit_worker.py"), str(storage), "4", str(logs), "2"],
                              env=env, cwd=TESTS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = logs / f"{worker.pid}.log"
    deadline = time.monotonic() + 120
    while not (log.exists() and len(log.read_text().splitlines()) == 2):
        assert worker.poll() is None and time.monotonic() < deadline, worker.communicate()[0].decode()[-3000:]
        time.sleep(0.1)
    worker.kill()
    worker.wait()
    killed = [t for t in _complete(storage)[0].get_trials() if t.state == TrialState.RUNNING]
    assert [t.number for t in killed] == [0, 1] and killed[0].user_attrs["start"]
    run_search(quick_objective(), quick_ranges(), fast_params(spont_rate_hz=0.0), storage, "shared", 4,
               batch_size=2, sampler_seed=0, progress=False)
    study, complete = _complete(storage)
    assert len(complete) == 4 and [study.trials[t.number].state for t in killed] == [TrialState.FAIL] * 2
    retries = {t.user_attrs["retry_of"]: t for t in complete if "retry_of" in t.user_attrs}
    assert sorted(retries) == [0, 1]
    assert all(retries[t.number].params == t.params for t in killed)
    assert retries[0].user_attrs["start"] and not retries[1].user_attrs.get("start")  # the start is kept


def test_heartbeat_decides_when_another_machines_trial_is_stale(tmp_path):
    storage = tmp_path / "study.journal"
    run_search(quick_objective(), quick_ranges(), fast_params(spont_rate_hz=0.0), storage, "shared", 1,
               sampler_seed=0, progress=False)
    study = optuna.load_study(study_name="shared", storage=fit_module._storage(storage))
    remote = study.ask({k: optuna.distributions.FloatDistribution(*v) for k, v in quick_ranges().items()})
    remote.set_user_attr("worker", "another-host:1234")
    remote.set_user_attr(fit_module.HEARTBEAT_ATTR, time.time() - 30)
    assert fit_module.fail_stale_trials(study, 60.0) == 0  # beat 30 s ago: alive
    remote.set_user_attr(fit_module.HEARTBEAT_ATTR, time.time() - 90)
    assert fit_module.fail_stale_trials(study, 60.0) == 1
    retry = [t for t in study.get_trials() if t.state == TrialState.WAITING]
    assert len(retry) == 1 and retry[0].user_attrs["retry_of"] == remote.number
    assert retry[0].system_attrs["fixed_params"] == remote.params  # enqueued: evaluated by the next ask


def test_a_long_evaluation_keeps_beating(tmp_path, monkeypatch):
    objective = quick_objective()
    score = StagedEvaluator.score

    def slow(self, runs, k):
        time.sleep(0.5)
        return score(self, runs, k)

    monkeypatch.setattr(StagedEvaluator, "score", slow)
    run_search(objective, quick_ranges(), fast_params(spont_rate_hz=0.0), tmp_path / "study.journal", "shared", 1,
               sampler_seed=0, heartbeat_interval_s=0.05, progress=False, workers=1)
    trial = _complete(tmp_path / "study.journal")[1][0]
    assert trial.user_attrs[fit_module.HEARTBEAT_ATTR] - trial.datetime_start.timestamp() > 0.4
    with pytest.raises(ParameterError, match="heartbeat_interval_s"):
        run_search(objective, quick_ranges(), fast_params(), tmp_path / "other.journal", "shared", 1,
                   heartbeat_interval_s=60.0, stale_after_s=30.0, progress=False)


def test_two_resuming_processes_both_fail_an_orphan_without_error(tmp_path):
    """Both see the dead worker's trial running; the second to fail it finds it already failed."""
    storage = tmp_path / "study.journal"
    objective, base = quick_objective(), fast_params(spont_rate_hz=0.0)
    run_search(objective, quick_ranges(), base, storage, "shared", 1, sampler_seed=0, progress=False)
    study = optuna.load_study(study_name="shared", storage=fit_module._storage(storage))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = study.ask({k: optuna.distributions.FloatDistribution(*v) for k, v in quick_ranges().items()})
    orphan.set_user_attr("worker", f"{socket.gethostname()}:{dead.pid}")
    late = optuna.load_study(study_name="shared", storage=fit_module._storage(storage))
    seen_running = late.get_trials(deepcopy=False)  # what the second process saw before the first acted
    assert fit_module.fail_stale_trials(study, 3600.0) == 1
    late.get_trials = lambda deepcopy=False, states=None: [t for t in seen_running if states is None or t.state in states]
    assert fit_module.fail_stale_trials(late, 3600.0) == 0
    assert study.trials[orphan.number].state == TrialState.FAIL


def test_study_of_another_fit_is_refused(tmp_path):
    storage = tmp_path / "study.journal"
    base = fast_params(spont_rate_hz=0.0)
    run_search(quick_objective(), quick_ranges(), base, storage, "shared", 1, progress=False)
    with pytest.raises(ParameterError, match="was made for another fit"):
        run_search(quick_objective(), {"P_s": (2.0, 5.0)}, base, storage, "shared", 2, progress=False)


def test_common_random_numbers_make_the_objective_deterministic():
    objective = quick_objective()
    p = fast_params(spont_rate_hz=0.0, P_s=3.3)
    a, b = objective.evaluate([p, p])
    assert a.distance == b.distance and a.retina_distances == b.retina_distances


def test_bad_input_errors():
    with pytest.raises(ParameterError, match=r"Unknown AmacrineParams parameter\(s\) \['H3'\]"):
        parameter_ranges(["H3"])
    with pytest.raises(ParameterError, match="dt_s cannot be fitted"):
        parameter_ranges(["dt_s"])
    with pytest.raises(ParameterError, match=r"P_s = 5000.0 s is outside the allowed range \[1.0, 2000.0\]"):
        parameter_ranges([], {"P_s": (10, 5000)})
    with pytest.raises(ParameterError, match="low 4.0 > high 2.0"):
        parameter_ranges([], {"H1": (4, 2)})
    with pytest.raises(ParameterError, match=r"Unknown objective term\(s\) \['iwis'\]"):
        ObjectiveSettings(weights={"iwis": 1.0})
    with pytest.raises(ParameterError, match="weight of term 'ci' must be finite and >= 0"):
        ObjectiveSettings(weights={"ci": -1})
    # defaults: the model's allowed ranges, D_s and tau_K_s no shorter than dt_s
    assert parameter_ranges(["H1", "tau_K_s"]) == {"H1": (0.05, 50.0), "tau_K_s": (0.025, 20.0)}


def test_too_few_waves_is_a_clear_error():
    rng = np.random.default_rng(0)
    quiet = MEARecording(spike_times_s=[np.sort(rng.uniform(0, 100, 5)) for _ in range(9)],
                         positions_um=electrode_grid(3, 3, 100.0), array_name="test", age=5, duration_s=100.0)
    with pytest.raises(UnfittableRecordingError, match=r"holds 0 wave\(s\) over 100 s; fitting needs at least 5"):
        Objective(quiet)


def test_missing_statistic_gets_a_finite_penalty():
    settings = ObjectiveSettings()
    recorded = quick_objective().recorded
    silent = fit_statistics(MEARecording([np.zeros(0)] * 9, electrode_grid(3, 3, 100.0), "x", None, 60.0),
                            AnalysisParams(), settings.min_channel_rate_hz)
    terms = term_distances(silent, recorded, settings)
    assert terms["iwi"] == settings.missing_penalty and terms["ci"] == settings.missing_penalty
    assert all(np.isfinite(v) for v in terms.values())


@pytest.mark.parametrize("method", ["local", "front"])
def test_speed_term_uses_the_analysis_speed_method(method):
    """The speed statistic is the median wave speed of the chosen estimator (local by default)."""
    recording = quick_recording()
    analysis = AnalysisParams(speed_method=method)
    waves = ws.analysis.detect_mea_waves(recording, analysis)
    column = waves.local_speed_um_per_s if method == "local" else waves.front_speed_um_per_s
    stats = fit_statistics(recording, analysis, 0.01)
    assert stats.median_speed_um_per_s == pytest.approx(np.nanmedian(column))
    # of 12 waves on 9 electrodes, the whole-wave fit passes its R^2 threshold on 2, the local fits measure 10
    assert np.isfinite(column).sum() >= (8 if method == "local" else 2)
    if method == "local":
        assert stats.median_speed_um_per_s == fit_statistics(recording, AnalysisParams(), 0.01).median_speed_um_per_s


def test_toml_round_trips(tmp_path):
    params = ws.preset("mouse")
    fitted = ws.AmacrineParams(**{**params.to_dict(), "H1": 3.7, "P_s": 41.25, "D_s": 1.9})
    write_params_file(tmp_path / "best.toml", fitted, "mouse", "a comment\non two lines")
    assert load_params_file(tmp_path / "best.toml") == fitted


def test_cli_fit_writes_outputs(tmp_path):
    """`wavesim fit` on an .h5 file writes the three outputs; bad names fail with exit status 2."""
    h5py = pytest.importorskip("h5py")
    recording = quick_recording()
    path = tmp_path / "rec.h5"
    with h5py.File(path, "w") as f:
        f["spikes"] = np.concatenate(recording.spike_times_s)
        f["sCount"] = np.array([t.size for t in recording.spike_times_s], dtype=np.int32)
        f["epos"] = recording.positions_um.T
        f["array"] = "test_3x3_100um"
        f["meta/age"] = 5
        f["summary/duration"] = recording.duration_s
    from wavesim.cli import main

    common = ["fit", str(path), "--out", str(tmp_path / "out"), "--warmup-s", str(QUICK_GEOMETRY["warmup_s"]),
              "--margin-um", str(QUICK_GEOMETRY["margin_um"]), "--duration-s", "60", "--retinas", "1",
              "--backend", "cpu-events", "--no-progress", "--preset", "mouse"]
    assert main(common + ["--fit", "H1,H4"]) == 2
    assert main(common + ["--range", "P_s=0.5:4"]) == 2
    args = common + ["--params", str(tmp_path / "start.toml"), "--fit", "P_s,D_s", "--range", "P_s=2:4",
                     "--range", "D_s=0.6:1.4", "--trials", "3", "--sampler-seed", "0", "--weight", "speed=0.5",
                     "--speed-method", "front"]
    write_params_file(tmp_path / "start.toml", fast_params(spont_rate_hz=0.0), "mouse")
    assert main(args) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text(), parse_constant=_not_strict_json)
    assert report["n_trials_complete"] == 3 and report["weights"]["speed"] == 0.5
    # one retina per candidate: no standard error, so no pruning, and the report says why
    assert report["n_trials_pruned"] == 0 and "needs 2 retinas" in report["search"]["note"]
    assert report["objective"]["analysis"]["speed_method"] == "front"
    assert set(report["statistics"]) == {"recorded", "preset", "fitted"}
    assert 1 <= report["near_best"]["n_trials"] <= 3 and set(report["near_best"]["ranges"]) == {"P_s", "D_s"}
    assert report["study_time"]["busy_time_s"] > 0 and len(report["study_time"]["workers"]) == 1
    best = load_params_file(tmp_path / "out" / "best_params.toml")
    assert best.P_s == pytest.approx(report["fitted_parameters"]["P_s"])
    assert (tmp_path / "out" / "comparison.png").stat().st_size > 0
    # the start file's D_s = 2.3 lies outside D_s=0.6:1.4: the study starts from the clipped value
    assert report["start"]["trial"] == 0 and report["start"]["clipped"] == {"D_s": [2.3, 1.4]}
    assert report["start"]["parameters"] == {"P_s": 3.0, "D_s": 1.4}
    assert report["best_distance"] <= report["start"]["distance"]


def _quick_fit(tmp_path, base, n_trials, sampler_seed, recording=None, objective_settings=None, **simulation):
    settings = SimulationSettings(n_retinas=1, seed=1, duration_s=60.0, **QUICK_GEOMETRY, **simulation)
    return fit(recording or quick_recording(), tmp_path, base=base, fitted=(), ranges=quick_ranges(),
               n_trials=n_trials, batch_size=1, sampler_seed=sampler_seed, simulation=settings,
               objective_settings=objective_settings, progress=False)


@pytest.mark.parametrize("sampler_seed", [0, 1])
def test_budget_of_two_never_reports_worse_than_the_start(tmp_path, sampler_seed):
    """Trial 0 evaluates the start; the best of 2 trials is never worse, and best_params.toml says so."""
    start = fast_params(spont_rate_hz=0.0, P_s=3.0, D_s=1.0)  # the recording's truth: hard to beat
    result = _quick_fit(tmp_path, start, 2, sampler_seed)
    report = result.report
    study, complete = _complete(tmp_path / "study.journal", "wavesim-fit")
    assert [t.number for t in complete] == [0, 1]
    assert complete[0].user_attrs["start"] and complete[0].params == {"P_s": 3.0, "D_s": 1.0}
    assert report["start"]["trial"] == 0 and report["start"]["clipped"] == {}
    # the start trial is the objective of the start itself (common random numbers)
    assert report["start"]["distance"] == quick_objective().evaluate([start])[0].distance
    assert report["preset_distance"] == report["start"]["distance"]
    assert result.best_distance <= report["start"]["distance"]
    assert result.best_distance == min(t.value for t in complete)
    best_file = load_params_file(tmp_path / "best_params.toml")
    assert best_file == result.best_params
    assert {k: getattr(best_file, k) for k in quick_ranges()} == complete[report["best_trial"]].params
    header = (tmp_path / "best_params.toml").read_text()
    assert f"distance {result.best_distance:.4g} +- 0" in header
    assert report["start"]["beaten"] == (report["best_trial"] != 0)
    assert ("no trial beat the start" in header) == (not report["start"]["beaten"])


def test_a_start_no_trial_can_beat_is_reported_and_kept(tmp_path):
    """A recording simulated from the start with the fit's own seeds: the start scores 0 and stays the best."""
    start = fast_params(spont_rate_hz=0.0, P_s=3.3, D_s=0.9)
    settings = SimulationSettings(n_retinas=1, seed=1, duration_s=60.0, **QUICK_GEOMETRY, **RECORDED_ELECTRODES)
    recording = VirtualArray(electrode_grid(3, 3, 100.0), 60.0, settings).recordings(start)[0]
    # a minute holds two waves: enough here, where the recording is the start's own simulation, its electrodes
    # given rather than estimated
    result = _quick_fit(tmp_path, start, 3, 0, recording, ObjectiveSettings(min_recorded_waves=2),
                        **RECORDED_ELECTRODES)
    assert result.report["start"]["distance"] == 0.0 and result.report["start"]["beaten"] is False
    assert result.best_params == start and result.report["best_trial"] == 0
    assert "no trial beat the start" in (tmp_path / "best_params.toml").read_text()


def test_resumed_and_racing_studies_evaluate_the_start_once(tmp_path, monkeypatch):
    """Resuming keeps the one start; a second start enqueued by a racing process is failed unsimulated."""
    storage, objective = tmp_path / "study.journal", quick_objective()
    base = fast_params(spont_rate_hz=0.0, D_s=1.2)
    run_search(objective, quick_ranges(), base, storage, "resumed", 2, sampler_seed=0, progress=False)
    run_search(objective, quick_ranges(), base, storage, "resumed", 4, sampler_seed=1, progress=False)
    study = optuna.load_study(study_name="resumed", storage=fit_module._storage(storage))
    assert [t.number for t in study.trials if t.user_attrs.get("start")] == [0]
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 4

    # two processes that opened a fresh study at the same moment each enqueued the start
    race = optuna.create_study(study_name="race", storage=fit_module._storage(storage))
    for _ in range(2):
        race.enqueue_trial({"P_s": 3.0, "D_s": 1.2}, user_attrs={"start": True})
    evaluated = []
    start = StagedEvaluator.start
    monkeypatch.setattr(StagedEvaluator, "start", lambda self, candidates: evaluated.extend(candidates) or
                        start(self, candidates))
    run_search(objective, quick_ranges(), base, storage, "race", 3, batch_size=2, sampler_seed=0, progress=False)
    race = optuna.load_study(study_name="race", storage=fit_module._storage(storage))
    duplicate = race.trials[1]
    assert duplicate.state == TrialState.FAIL and duplicate.user_attrs["duplicate_start"]
    assert duplicate.user_attrs["surplus"]
    assert sum(c.P_s == 3.0 and c.D_s == 1.2 for c in evaluated) == 1 and len(evaluated) == 3


def _frozen(number, value, start_s, end_s, params, sem=0.0, worker="w"):
    t0 = datetime.datetime(2026, 1, 1)
    return optuna.trial.FrozenTrial(
        number=number, state=TrialState.COMPLETE, value=value,
        datetime_start=t0 + datetime.timedelta(seconds=start_s),
        datetime_complete=t0 + datetime.timedelta(seconds=end_s), params=params,
        distributions={k: optuna.distributions.FloatDistribution(0, 10) for k in params},
        user_attrs={"distance_sem": sem, "worker": worker}, system_attrs={}, intermediate_values={}, trial_id=number)


def test_study_timing_counts_overlaps_once_and_skips_pauses():
    trials = [_frozen(0, 1.0, 0, 10, {"H1": 1.0}, worker="a"), _frozen(1, 1.0, 5, 12, {"H1": 1.0}, worker="b"),
              _frozen(2, 1.0, 100, 110, {"H1": 1.0}, worker="a")]  # a pause of 88 s, then a resume
    assert study_timing(trials) == {"busy_time_s": 22.0, "span_s": 110.0, "workers": ["a", "b"]}


def test_near_best_spread_takes_trials_within_two_sem():
    trials = [_frozen(0, 0.50, 0, 1, {"H1": 4.0, "P_s": 3.0}, sem=0.001),  # a lucky small sem of the best
              _frozen(1, 0.58, 0, 1, {"H1": 6.0, "P_s": 4.0}, sem=0.05),
              _frozen(2, 0.61, 0, 1, {"H1": 2.0, "P_s": 2.0}, sem=0.05),
              _frozen(3, 0.52, 0, 1, {"H1": 3.0, "P_s": 3.5}, sem=0.07)]
    spread = near_best_spread(trials, trials[0])
    assert spread["sem"] == 0.05 and spread["n_trials"] == 3 and spread["threshold"] == pytest.approx(0.6)
    assert spread["ranges"] == {"H1": [3.0, 6.0], "P_s": [3.0, 4.0]}
