"""One worker of a shared fit study (run by tests/fit/test_fit.py as a separate process).

Usage: python fit_worker.py STORAGE N_TRIALS LOG_DIR [BATCH_SIZE [WORKERS]]

Every candidate this process starts to simulate is appended to LOG_DIR/<pid>.log,
so the test can check that no trial was simulated twice. With the
environment variable FIT_WORKER_HANG set, the process logs its first batch
and then waits to be killed. With WORKERS, the
process compiles the simulation first and then waits until WORKERS workers
are ready, so that start-up time cannot let one worker take every trial.
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit_setup import quick_objective, quick_ranges  # noqa: E402
from helpers import fast_params  # noqa: E402

import wavesim as ws  # noqa: E402
from wavesim.fit import run_search  # noqa: E402
from wavesim.fit.staged import StagedEvaluator  # noqa: E402


def wait_for_peers(log_dir: Path, workers: int, timeout_s: float = 300.0) -> None:
    ws.Simulation(fast_params(), [0], retina=ws.Retina(width_um=300, height_um=300), backend="cpu").advance(2)
    (log_dir / f"{os.getpid()}.ready").touch()
    deadline = time.monotonic() + timeout_s
    while len(list(log_dir.glob("*.ready"))) < workers:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {workers} workers were ready within {timeout_s} s")
        time.sleep(0.05)


def main() -> int:
    storage, n_trials, log_dir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    batch_size = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    objective = quick_objective()
    if len(sys.argv) > 5:
        wait_for_peers(log_dir, int(sys.argv[5]))
    start = StagedEvaluator.start

    def logged(self, candidates):
        with open(log_dir / f"{os.getpid()}.log", "a") as log:
            for c in candidates:
                log.write(json.dumps({k: getattr(c, k) for k in quick_ranges()}) + "\n")
        if os.environ.get("FIT_WORKER_HANG"):  # stand still mid-batch until the test kills this process
            time.sleep(600)
        return start(self, candidates)

    StagedEvaluator.start = logged
    run_search(objective, quick_ranges(), fast_params(spont_rate_hz=0.0), storage, "shared", n_trials,
               batch_size=batch_size, progress=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
