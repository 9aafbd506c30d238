"""Run a sweep: simulate its points in batches, analyse each retina's movie, append rows to the table.

Every point is simulated on the same ``n_retinas`` retina seeds (common
random numbers, as in ``wavesim fit``), so that two points differ by their
parameters, not by their noise. A batch holds several points, one parameter
set per batch element; each element's movie depends only on its parameters
and seed, so a point's row is the same whatever batch it ran in, and a
resumed sweep gives the table an uninterrupted one gives.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..analysis import AnalysisParams, summarize
from ..backends import engine_class, resolve_backend
from ..errors import ParameterError
from ..io.recordings import Movie
from ..lattice import Retina
from ..models import model_of
from ..readout import Readout
from ..run import RunSpec, Timing
from ..simulate import Simulation, movie_seeds, n_frames
from ..validate import check_int
from . import table
from .design import SweepDesign

__all__ = ["SweepResult", "point_statistics", "run_sweep", "simulate_point_summaries"]


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` leaves.

    Attributes
    ----------
    out_dir : Path
    rows : list of dict
        The table, one row per point in design order (column -> value; nan where undefined).
    columns : list of str
    n_simulated : int
        Points simulated by this call (the others were in the table already).
    backend : str
        The backend that ran them.
    files : list of Path
        The files written (table, JSON).
    """

    out_dir: Path
    rows: list[dict[str, Any]]
    columns: list[str]
    n_simulated: int
    backend: str
    files: list[Path]


def point_statistics(summaries: Sequence) -> dict[str, float]:
    """Mean and sd over retinas of each table statistic (over the retinas where it is defined).

    Parameters
    ----------
    summaries : sequence of wavesim.analysis.Summary
        One per retina of a point.

    Returns
    -------
    dict
        ``{stat}_mean`` and ``{stat}_sd`` for each of :data:`wavesim.sweep.table.STATISTIC_NAMES`
        (nan where undefined; sd with ddof 1, nan with fewer than 2 values) and
        ``n_retinas_with_waves``.
    """
    out: dict[str, float] = {}
    for name in table.STATISTIC_NAMES:
        values = np.array([float(getattr(s, name)) for s in summaries])
        values = values[np.isfinite(values)]
        out[f"{name}_mean"] = float(values.mean()) if values.size else math.nan
        out[f"{name}_sd"] = float(values.std(ddof=1)) if values.size > 1 else math.nan
    out["n_retinas_with_waves"] = sum(1 for s in summaries if s.n_waves > 0)
    return out


def _movie_analysis(analysis: AnalysisParams | None, readout: Readout) -> AnalysisParams:
    analysis = analysis or AnalysisParams()
    if analysis.activity_threshold is None and readout.kind == "calcium":
        # as `wavesim stats` on a calcium store: half the uint8 scale
        analysis = dataclasses.replace(analysis, activity_threshold=127.0)
    return analysis


def simulate_point_summaries(params: Sequence, seeds: Sequence[int], retina: Retina, readout: Readout,
                             timing: Timing, analysis: AnalysisParams, backend: str) -> list:
    """Simulate ``params[i]`` on retina seed ``seeds[i]`` in one batch and summarise each movie.

    Returns
    -------
    list of wavesim.analysis.Summary
        One per batch element, in order.
    """
    sim = Simulation(list(params), list(seeds), retina=retina, readout=readout, backend=backend)
    sim.advance_s(timing.warmup_s)
    count = n_frames(timing, readout)
    frames = np.empty((sim.batch_size, count, *sim.frame_shape), dtype=np.uint8)
    for first, chunk in sim.frames(count, chunk_frames=64):
        frames[:, first:first + chunk.shape[1]] = sim.to_host(chunk)
    return [summarize(Movie(frames[b], readout.um_per_pixel, readout.frame_period_s), analysis,
                      name=f"retina {b}") for b in range(sim.batch_size)]


def _identity(design: SweepDesign, base, retina, readout, timing, n_retinas, seed, analysis, objective) -> dict:
    """What defines a sweep's table: a resumed sweep must match it (the backend and batch size do not change a row)."""
    recording = None
    if objective is not None:
        recording = objective.describe()
        recording["simulation"] = {k: v for k, v in recording["simulation"].items() if k != "backend"}
    return {
        "design": design.to_dict(),
        "base_parameters": base.to_dict_with_units(),
        "retina": retina.to_dict(),
        "readout": readout.to_dict(),
        "timing": timing.to_dict(),
        "n_retinas": n_retinas,
        "seed": seed,
        "analysis": analysis.to_dict(),
        "recording": recording,
    }


def run_sweep(design: SweepDesign, base, out_dir, *, run: RunSpec | None = None, n_retinas: int = 2, seed: int = 0,
              analysis: AnalysisParams | None = None, objective=None, batch_size: int | None = None,
              overwrite: bool = False, progress: bool = True,
              command_line: Sequence[str] | None = None,
              on_batch: Callable[[int, int], None] | None = None) -> SweepResult:
    """Simulate every point of ``design`` not yet in ``out_dir``'s table and append its row.

    Parameters
    ----------
    design : SweepDesign
    base : parameters of the design's model
        Values of the parameters the design does not vary.
    out_dir : path
        Folder of sweep.csv, sweep.parquet, sweep.json (made if missing). If
        it holds a sweep of the same design and settings, the points in its
        table are skipped (resume); of another, :class:`SweepMismatchError`.
    run : RunSpec, optional
        The simulated sheet, its frames, warm-up and movie duration, and the
        backend (default: the model's, ``model.run``); ``run.batch_size``,
        where set, is the retinas simulated at once.
    n_retinas : int
        Retinas per point, the same seeds for every point.
    seed : int
        Derives the retina seeds (``movie_seeds(seed, range(n_retinas))``).
    analysis : AnalysisParams, optional
        Wave detection and statistics of each movie.
    objective : wavesim.fit.objective.Objective, optional
        Also score each point against its recording: the fit's distance, its
        standard error and terms (simulated through the recording's own
        electrode layout, with the objective's own simulation settings).
    batch_size : int, optional
        Points per simulation batch (default: as many as fill the engine's
        batch of retinas, ``run.batch_size`` or the engine's default, with
        ``n_retinas`` retinas each).
    overwrite : bool
        Discard an existing sweep in ``out_dir`` and start again.
    progress : bool
    command_line : sequence of str, optional
        Recorded in sweep.json.
    on_batch : callable, optional
        ``on_batch(n_done, n_points)`` after each batch is in the table.

    Returns
    -------
    SweepResult
    """
    model = model_of(base)
    design.check_points(base)
    n_retinas = check_int("n_retinas", n_retinas, low=1)
    batch_size = check_int("batch_size", batch_size, low=1, optional=True, what="points per batch")
    seeds = [int(s) for s in movie_seeds(seed, range(n_retinas))]
    run = run or model.run
    retina, readout, timing = run.retina, run.readout, run.timing
    analysis = _movie_analysis(analysis, readout)
    chosen = resolve_backend(run.backend, model)
    if batch_size is None:
        lattice = model.lattice(retina)
        retinas = run.batch_size or engine_class(chosen, model).default_batch_size(lattice.rows * lattice.cols)
        batch_size = max(1, retinas // n_retinas)
    terms = None
    if objective is not None:
        from ..fit.objective import TERM_NAMES

        terms = list(TERM_NAMES)

    out = Path(out_dir)
    csv_path, parquet_path, json_path = (out / n for n in (table.CSV_NAME, table.PARQUET_NAME, table.JSON_NAME))
    header = table.columns(design.parameters, terms)
    specs = model.params_cls.field_specs()
    kinds = {"point": "int", "n_retinas_with_waves": "int"}
    kinds.update({n: "str" if "choices" in specs[n] else "int" if specs[n].get("integer") else "float"
                  for n in design.parameters})
    identity = _identity(design, base, retina, readout, timing, n_retinas, seed, analysis, objective)

    out.mkdir(parents=True, exist_ok=True)
    with table.sweep_lock(out):
        if overwrite:
            for path in (csv_path, parquet_path, json_path):
                path.unlink(missing_ok=True)
        table.check_output_folder_free(out)
        rows: list[dict[str, Any]] = []
        document = None
        if json_path.exists():
            try:
                document = json.loads(json_path.read_text())
                stored = document["identity"]
            except (ValueError, KeyError, TypeError):
                raise table.SweepMismatchError(f"{json_path} is not a sweep's description; give another output folder, "
                                               f"or overwrite it.") from None
            table.check_identity(json_path, stored, identity)
            if csv_path.exists():
                rows = table.read_csv(csv_path, header, kinds)
                _check_rows(csv_path, rows, design)
        if document is None:
            from .._version import __version__

            document = {
                "format": "wavesim-sweep", "format_version": 1, "wavesim_version": __version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "identity": identity, "retina_seeds": seeds,
                "columns": table.column_docs({n: specs[n] for n in design.parameters}, terms),
                "runs": [],
            }
        run_record = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                      "command_line": list(command_line or sys.argv), "backend": chosen, "batch_size": batch_size,
                      "points": 0, "busy_s": 0.0}
        document["runs"].append(run_record)
        document["n_points_done"] = len(rows)
        table.write_json(json_path, document)

        done = {r["point"] for r in rows}
        todo = [i for i in range(design.n_points) if i not in done]
        bar = tqdm(total=design.n_points, initial=len(done), desc="sweep points", disable=not progress)
        for start in range(0, len(todo), batch_size):
            tic = time.perf_counter()
            batch = todo[start:start + batch_size]
            params = [design.params(base, i) for i in batch]
            summaries = simulate_point_summaries([p for p in params for _ in range(n_retinas)], seeds * len(batch),
                                                 retina, readout, timing, analysis, chosen)
            evaluations = objective.evaluate(params) if objective is not None else None
            for k, i in enumerate(batch):
                row = {"point": i, **design.points[i]}
                row.update(point_statistics(summaries[k * n_retinas:(k + 1) * n_retinas]))
                if evaluations is not None:
                    e = evaluations[k]
                    row.update({"distance": e.distance, "distance_sem": e.distance_sem})
                    row.update({f"distance_{t}": e.terms[t] for t in terms})
                rows.append(row)
            rows.sort(key=lambda r: r["point"])
            table.write_csv(csv_path, header, rows)
            _write_parquet(parquet_path, header, rows)
            run_record["points"] += len(batch)
            run_record["busy_s"] = round(run_record["busy_s"] + time.perf_counter() - tic, 3)
            document["n_points_done"] = len(rows)
            table.write_json(json_path, document)
            bar.update(len(batch))
            if on_batch is not None:
                on_batch(len(rows), design.n_points)
        bar.close()
        if not todo:  # a finished sweep run again, perhaps where pyarrow has since been installed
            _write_parquet(parquet_path, header, rows)
        files = [csv_path, *([parquet_path] if parquet_path.exists() else []), json_path]
        return SweepResult(out, rows, header, len(todo), chosen, files)


def _write_parquet(path: Path, header, rows) -> None:
    if not table.write_parquet(path, header, rows):
        # without pyarrow, a Parquet file of an earlier run would no longer hold the whole table
        path.unlink(missing_ok=True)


def _check_rows(path: Path, rows: list[dict[str, Any]], design: SweepDesign) -> None:
    seen = set()
    for row in rows:
        i = row["point"]
        if not 0 <= i < design.n_points or i in seen:
            raise table.SweepMismatchError(f"{path}: point {i} is {'repeated' if i in seen else 'not in the design'}"
                                           f"; the table is damaged: overwrite it.")
        seen.add(i)
        for name in design.parameters:
            if row[name] != design.points[i][name]:
                raise table.SweepMismatchError(
                    f"{path}: point {i} has {name} = {row[name]!r}, but the design's point {i} has "
                    f"{design.points[i][name]!r}; the table belongs to another design: overwrite it.")
