"""The fit under the installed Optuna: inside the supported range, no deprecated API, a named objective.

Fast, so that CI runs it with every Optuna it installs. The whole fit suite
was also run under the lowest supported Optuna (see the report of issue 28).
"""

import json
import subprocess
import sys
import warnings
from importlib.metadata import requires, version

import pytest
from fit_setup import quick_objective, quick_ranges
from helpers import fast_params

from wavesim.fit import run_search

optuna = pytest.importorskip("optuna")
packaging = pytest.importorskip("packaging.requirements")

from wavesim.fit.study import METRIC_NAME, _storage  # noqa: E402


def _optuna_requirement():
    return next(packaging.Requirement(r) for r in requires("wavesim") if r.startswith("optuna"))


def test_installed_optuna_is_inside_the_supported_range():
    requirement = _optuna_requirement()
    bounds = {spec.operator for spec in requirement.specifier}
    assert ">=" in bounds and "<" in bounds, f"state both ends of the supported Optuna range: {requirement}"
    assert requirement.specifier.contains(version("optuna")), f"optuna {version('optuna')} outside {requirement}"


@pytest.mark.parametrize("sampler", ["tpe", "cmaes"])
def test_a_fit_uses_no_deprecated_or_experimental_api_and_names_its_objective(tmp_path, sampler):
    """No FutureWarning, DeprecationWarning or ExperimentalWarning; the start is the first trial; the
    study's metric is named for optuna-dashboard."""
    if sampler == "cmaes":
        pytest.importorskip("cmaes")
    storage = tmp_path / "study.journal"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_search(quick_objective(), quick_ranges(), fast_params(spont_rate_hz=0.0, P_s=3.5, D_s=0.9), storage,
                   "s", 3, batch_size=2, sampler=sampler, progress=False, workers=1)
    from_optuna = [w for w in caught if "optuna" in str(w.filename) or "optuna" in str(w.message).lower()]
    assert not from_optuna, [f"{w.category.__name__}: {w.message}" for w in from_optuna]
    study = optuna.load_study(study_name="s", storage=_storage(storage))
    assert study.metric_names == [METRIC_NAME] == ["distance"]
    assert study.trials[0].params == {"P_s": 3.5, "D_s": 0.9} and study.trials[0].user_attrs["start"]
    finished = [t for t in study.trials if t.state != optuna.trial.TrialState.FAIL]  # one of 4 asked is surplus
    assert len(finished) == 3 and len({tuple(t.params.values()) for t in finished}) == 3


_CLAIMER = """
import json, pathlib, sys, time
import optuna
from wavesim.fit.study import _storage
optuna.logging.set_verbosity(optuna.logging.WARNING)
url, gate, n = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])
study = optuna.load_study(study_name="s", storage=_storage(url))
(gate / f"{id(study)}-{time.time_ns()}.ready").touch()
while len(list(gate.glob("*.ready"))) < 3:
    time.sleep(0.01)
print(json.dumps([study.ask().number for _ in range(n)]))
"""


def test_processes_sharing_a_sqlite_study_never_claim_the_same_waiting_trial(tmp_path):
    """Three processes asking at once from 30 enqueued trials each get their own: SQLite ignores SELECT FOR
    UPDATE, and without the study's locked transactions some trials went to two processes."""
    url, gate = f"sqlite:///{tmp_path / 'study.db'}", tmp_path / "gate"
    gate.mkdir()
    study = optuna.create_study(study_name="s", storage=_storage(url))
    for x in range(30):
        study.enqueue_trial({"x": float(x)})
    claimers = [subprocess.Popen([sys.executable, "-c", _CLAIMER, url, str(gate), "10"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
    claimed = []
    for claimer in claimers:
        out, err = claimer.communicate(timeout=120)
        assert claimer.returncode == 0, err[-2000:]
        claimed += json.loads(out)
    assert sorted(claimed) == list(range(30))
