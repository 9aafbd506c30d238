"""Bookkeeping of a resumable reproduction: its results file, training checkpoints and wall-clock budget."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from ..errors import ParameterError

#: Exit status of a run that stopped at its --max-minutes budget with work left (sysexits' EX_TEMPFAIL: try again).
EXIT_RESUME = 75


class Budget:
    """A wall-clock budget that stops work at a clean point, but only after some progress in this process.

    Parameters
    ----------
    max_minutes : float or None
        Wall time of this process's work; None: no limit.
    """

    def __init__(self, max_minutes: float | None):
        if max_minutes is not None and not (isinstance(max_minutes, (int, float)) and max_minutes >= 0
                                            and math.isfinite(max_minutes)):
            raise ParameterError(f"--max-minutes must be a number >= 0, got {max_minutes!r}")
        self.limit_s = math.inf if max_minutes is None else 60.0 * max_minutes
        self.started = time.monotonic()
        self.progressed = False

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def progress(self) -> None:
        """Record that a unit of work (a batch, an analysis) was done."""
        self.progressed = True

    def exhausted(self, expected_s: float = 0.0) -> bool:
        """Whether work expected to take ``expected_s`` more seconds would overrun, once something was done."""
        return self.progressed and self.elapsed_s + expected_s > self.limit_s


class RunFolder:
    """The output folder of a reproduction: ``results.json`` (settings, results, timings) and checkpoints.

    ``results.json`` is rewritten atomically after every unit of work, so an
    interrupted run loses at most the unit in progress.
    """

    def __init__(self, path, settings: dict[str, Any], *, resume: bool):
        self.path = Path(path)
        self.results_file = self.path / "results.json"
        if self.path.exists() and not self.path.is_dir():
            raise ParameterError(f"--out {self.path} is a file; give a folder (it is made if missing).")
        if self.results_file.exists():
            if not resume:
                raise ParameterError(f"--out {self.path} holds a run already: add --resume to carry it on, or give "
                                     f"another folder.")
            self.results = json.loads(self.results_file.read_text())
            changed = {key: (self.results["settings"].get(key), value) for key, value in settings.items()
                       if self.results["settings"].get(key) != value}
            if changed:
                detail = "; ".join(f"{key}: {old!r} then, {new!r} now" for key, (old, new) in changed.items())
                raise ParameterError(f"--resume: the run in {self.path} was started with other settings ({detail}); "
                                     f"resume it with the same options, or give another --out.")
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self.results = {"settings": settings, "runs": {}, "timings": {}}
        (self.path / "checkpoints").mkdir(exist_ok=True)

    def save(self) -> None:
        partial = self.results_file.with_name(self.results_file.name + ".partial")
        partial.write_text(json.dumps(self.results, indent=1, default=float))
        os.replace(partial, self.results_file)

    def done(self, seed: int, network: str) -> bool:
        return network in self.results["runs"].get(str(seed), {})

    def record(self, seed: int, network: str, result: dict[str, Any]) -> None:
        self.results["runs"].setdefault(str(seed), {})[network] = result
        self.save()

    def checkpoint(self, seed: int, condition: str) -> Path:
        return self.path / "checkpoints" / f"seed{seed}_{condition}.pt"
