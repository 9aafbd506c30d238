"""wavesim sweep: designs, the table against separately simulated points, resume, recordings, bad input."""

import csv
import json
import math
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fit_setup import QUICK_GEOMETRY, quick_recording
from helpers import fast_params

import wavesim as ws
from wavesim.analysis import AnalysisParams, summarize
from wavesim.cli import main
from wavesim.errors import ParameterError
from wavesim.fit.objective import Objective, SimulationSettings
from wavesim.io.recordings import Movie
from wavesim.models import get_model
from wavesim.sweep import STATISTIC_NAMES, SweepDesign, SweepLockedError, SweepMismatchError, grid_values, plot_sweep, run_sweep

TESTS = Path(__file__).resolve().parents[1]

#: A sheet of 8 x 8 pixels where fast_params() gives several waves a minute.
RETINA = ws.Retina(width_um=400.0, height_um=400.0)
READOUT = ws.Readout(um_per_pixel=50.0, frame_period_s=0.5)
TIMING = ws.Timing(duration_s=60.0, warmup_s=5.0)
# cpu-events: the same frames as cpu (tests/backends/test_events_engine.py), far faster on sheets this small
SMALL = dict(run=ws.RunSpec(retina=RETINA, readout=READOUT, timing=TIMING, backend="cpu-events"), n_retinas=2, seed=3,
             progress=False)
CLI_SMALL = ["--width-um", "400", "--um-per-pixel", "50", "--frame-period-s", "0.5", "--duration-s", "60",
             "--warmup-s", "5", "--retinas", "2", "--backend", "cpu-events", "--no-progress"]


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --- designs -------------------------------------------------------------------------------------------------


def test_grid_is_every_combination_last_parameter_fastest():
    base = fast_params()
    d = SweepDesign.grid(base, {"H2": [0.5, 1.0], "P_s": grid_values(2.0, 4.0, 3)})
    assert d.kind == "grid" and d.n_points == 6 and d.parameters == ("H2", "P_s")
    assert [tuple(p.values()) for p in d.points] == [(0.5, 2.0), (0.5, 3.0), (0.5, 4.0),
                                                     (1.0, 2.0), (1.0, 3.0), (1.0, 4.0)]
    assert d.params(base, 4) == ws.AmacrineParams(P_s=3.0, H2=1.0, spont_rate_hz=0.02)
    assert d.varied() == ("H2", "P_s")
    assert grid_values(10, 1000, 3, "log") == [10.0, 100.0, 1000.0]
    assert SweepDesign.grid(base, {"P_s": [10.0, 100.0, 1000.0]}).is_log("P_s")
    assert not SweepDesign.grid(base, {"P_s": [10.0, 20.0, 30.0]}).is_log("P_s")


def test_random_design_is_a_seeded_latin_hypercube():
    base = fast_params()
    ranges = {"H1": (2.0, 6.0), "P_s": (10.0, 1000.0, "log")}
    d = SweepDesign.random(base, ranges, n_points=8, design_seed=5)
    assert d.points == SweepDesign.random(base, ranges, n_points=8, design_seed=5).points
    assert d.points != SweepDesign.random(base, ranges, n_points=8, design_seed=6).points
    h1 = np.array([p["H1"] for p in d.points])
    log_p = np.log10([p["P_s"] for p in d.points])
    # one point in each of the 8 strata of each range (equal widths, equal ratios on the log scale)
    assert sorted(np.floor((h1 - 2.0) / 4.0 * 8).astype(int)) == list(range(8))
    assert sorted(np.floor((log_p - 1.0) / 2.0 * 8).astype(int)) == list(range(8))
    assert d.is_log("P_s") and not d.is_log("H1")


def test_random_design_of_a_whole_number_parameter_hits_each_value_once():
    base = get_model("directional").preset()
    d = SweepDesign.random(base, {"initiation_margin_cells": (0, 8), "q": (1.0, 3.0)}, n_points=9, design_seed=0)
    values = [p["initiation_margin_cells"] for p in d.points]
    assert all(isinstance(v, int) for v in values) and sorted(values) == list(range(9))
    assert d.model == "directional"


@pytest.mark.parametrize("make, message", [
    (lambda b: SweepDesign.grid(b, {"H3": [1.0]}), r"Unknown AmacrineParams parameter\(s\) \['H3'\] to sweep; known"),
    (lambda b: SweepDesign.grid(b, {"H1": [4.0, 60.0]}),
     r"AmacrineParams.H1 = 60.0 is outside the allowed range \[0.05, 50.0\]"),
    (lambda b: SweepDesign.grid(b, {"P_s": [2.0, 2.0]}), r"repeats 2.0"),
    (lambda b: SweepDesign.grid(b, {"P_s": []}), r"holds no value"),
    (lambda b: SweepDesign.grid(b, {"dt_s": [0.01, 0.02]}), r"dt_s cannot be swept"),
    (lambda b: SweepDesign.grid(b, {}), r"at least one parameter"),
    (lambda b: SweepDesign.grid(b, {"tau_K_s": [0.01, 0.1]}),
     r"sweep point 0 \(tau_K_s=0.01\): AmacrineParams.tau_K_s = 0.01 s is shorter than dt_s"),
    (lambda b: SweepDesign.random(b, {"P_s": (5.0, 3000.0)}, n_points=3),
     r"AmacrineParams.P_s = 3000.0 s is outside the allowed range \[1.0, 2000.0\] s"),
    (lambda b: SweepDesign.random(b, {"P_s": (5.0, 3.0)}, n_points=3), r"needs low < high, got 5 to 3"),
    (lambda b: SweepDesign.random(b, {"P_s": (3.0, 5.0, "cubic")}, n_points=3), r"scale .* got 'cubic'"),
    (lambda b: SweepDesign.random(b, {"P_s": (3.0, 5.0)}, n_points=0),
     r"n_points must be a positive integer \(points of the random design\), got 0"),
    (lambda b: SweepDesign.random(b, {"H2": (0.0, 1.0, "log")}, n_points=3), r"log-scaled range .* low > 0"),
])
def test_bad_designs_name_the_parameter_and_what_is_allowed(make, message):
    with pytest.raises(ParameterError, match=message):
        make(fast_params())


def test_a_choice_parameter_goes_in_a_grid_not_a_random_design():
    base = get_model("directional").preset()
    d = SweepDesign.grid(base, {"directionality": ["directional", "undirectional"]})
    assert d.params(base, 1).directionality == "undirectional"
    with pytest.raises(ParameterError, match=r"must be one of .*got 'sideways'"):
        SweepDesign.grid(base, {"directionality": ["sideways"]})
    with pytest.raises(ParameterError, match=r"DirectionalParams.mode takes one of .* list its values in a grid"):
        SweepDesign.random(base, {"mode": (0, 1)}, n_points=2)


# --- the table -----------------------------------------------------------------------------------------------


def test_rows_equal_separately_simulated_points(tmp_path):
    """Three points in batches of 2: each row is the mean and sd of its retinas simulated alone, bit for bit."""
    base = fast_params()
    design = SweepDesign.grid(base, {"P_s": [2.0, 3.0, 5.0]})
    result = run_sweep(design, base, tmp_path, batch_size=2, **SMALL)
    assert result.n_simulated == 3 and result.backend == "cpu-events"
    rows = _csv(tmp_path / "sweep.csv")
    assert [int(r["point"]) for r in rows] == [0, 1, 2] and [float(r["P_s"]) for r in rows] == [2.0, 3.0, 5.0]
    seeds = [int(s) for s in ws.movie_seeds(3, range(2))]
    for i in (0, 2):
        summaries = []
        for seed in seeds:  # one retina per simulation: no batch in common with the sweep's
            sim = ws.Simulation(design.params(base, i), [seed], retina=RETINA, readout=READOUT, backend="cpu-events")
            sim.advance_s(TIMING.warmup_s)
            frames = np.concatenate([sim.to_host(c) for _, c in sim.frames(120, chunk_frames=50)], axis=1)[0]
            summaries.append(summarize(Movie(frames, 50.0, 0.5), AnalysisParams()))
        assert summaries[0].n_waves >= 2, "the test needs waves to compare"
        for name in STATISTIC_NAMES:
            values = np.array([float(getattr(s, name)) for s in summaries])
            values = values[np.isfinite(values)]
            mean = float(values.mean()) if values.size else math.nan
            sd = float(values.std(ddof=1)) if values.size > 1 else math.nan
            for column, want in ((f"{name}_mean", mean), (f"{name}_sd", sd)):
                got = float(rows[i][column]) if rows[i][column] else math.nan
                assert got == want or (math.isnan(got) and math.isnan(want)), (i, column, got, want)
        assert int(rows[i]["n_retinas_with_waves"]) == sum(s.n_waves > 0 for s in summaries)
    # the rows differ by their parameter, not their noise alone: slower refractory recovery, fewer waves
    assert float(rows[0]["wave_frequency_per_min_mean"]) > float(rows[2]["wave_frequency_per_min_mean"])
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert doc["identity"]["design"]["points"] == [{"P_s": 2.0}, {"P_s": 3.0}, {"P_s": 5.0}]
    assert doc["retina_seeds"] == seeds and doc["n_points_done"] == 3
    assert doc["columns"]["median_speed_um_per_s_mean"]["unit"] == "um/s"
    assert doc["columns"]["P_s"]["unit"] == "s"


def test_an_interrupted_sweep_resumes_to_the_same_table(tmp_path):
    base = fast_params()
    design = SweepDesign.random(base, {"P_s": (2.0, 5.0), "H2": (0.5, 1.0)}, n_points=4, design_seed=1)
    whole = run_sweep(design, base, tmp_path / "whole", batch_size=2, **SMALL)

    def stop_after_first_batch(done, total):
        assert (done, total) == (1, 4)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(design, base, tmp_path / "cut", batch_size=1, on_batch=stop_after_first_batch, **SMALL)
    assert len(_csv(tmp_path / "cut" / "sweep.csv")) == 1
    resumed = run_sweep(design, base, tmp_path / "cut", batch_size=3, **SMALL)
    assert resumed.n_simulated == 3
    assert (tmp_path / "cut" / "sweep.csv").read_bytes() == (tmp_path / "whole" / "sweep.csv").read_bytes()
    doc = json.loads((tmp_path / "cut" / "sweep.json").read_text())
    assert [run["points"] for run in doc["runs"]] == [1, 3]
    again = run_sweep(design, base, tmp_path / "cut", **SMALL)
    assert again.n_simulated == 0 and again.rows == resumed.rows
    pq = pytest.importorskip("pyarrow.parquet")
    resumed_parquet = pq.read_table(tmp_path / "cut" / "sweep.parquet")
    assert resumed_parquet.schema.equals(pq.read_table(tmp_path / "whole" / "sweep.parquet").schema)
    assert _same_rows(resumed_parquet.to_pylist(), whole.rows)


def _same_rows(a, b):
    """Rows equal value for value, nan equal to nan."""
    return len(a) == len(b) and all(
        x.keys() == y.keys() and all(x[k] == y[k] or (x[k] != x[k] and y[k] != y[k]) for k in x) for x, y in zip(a, b))


def test_a_different_sweep_in_the_same_folder_is_refused(tmp_path):
    base = fast_params()
    design = SweepDesign.grid(base, {"P_s": [2.0, 3.0]})
    run_sweep(design, base, tmp_path, **SMALL)
    before = (tmp_path / "sweep.csv").read_bytes()
    other = SweepDesign.grid(base, {"P_s": [2.0, 4.0]})
    with pytest.raises(SweepMismatchError, match=r"another design or settings \(design.axes.P_s.1: 3.0 there, 4.0 now\)"):
        run_sweep(other, base, tmp_path, **SMALL)
    with pytest.raises(SweepMismatchError, match=r"timing.duration_s: 60.0 there, 30.0 now"):
        run_sweep(design, base, tmp_path, **{**SMALL, "run": SMALL["run"].updated(duration_s=30.0)})
    assert (tmp_path / "sweep.csv").read_bytes() == before
    # the backend and batch size do not change a row, so they may change on resume
    assert run_sweep(design, base, tmp_path, **{**SMALL, "run": SMALL["run"].updated(backend="cpu")}).n_simulated == 0
    replaced = run_sweep(other, base, tmp_path, overwrite=True, **SMALL)
    assert replaced.n_simulated == 2 and [r["P_s"] for r in replaced.rows] == [2.0, 4.0]


def test_a_sweep_another_process_is_filling_is_refused(tmp_path):
    base = fast_params()
    design = SweepDesign.grid(base, {"P_s": [2.0]})
    lock = tmp_path / "sweep.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": "then"}))
    with pytest.raises(SweepLockedError, match=rf"being filled by process {os.getpid()} on .* \(since then\)"):
        run_sweep(design, base, tmp_path, **SMALL)
    assert not (tmp_path / "sweep.json").exists()
    # a lock whose process has died is taken over, and released at the end
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(json.dumps({"pid": int(gone.stdout), "host": socket.gethostname(), "since": "then"}))
    assert run_sweep(design, base, tmp_path, **SMALL).n_simulated == 1
    assert not lock.exists()


def test_distance_to_a_recording_is_the_objectives(tmp_path):
    """With an objective, each row holds Objective.evaluate's distance of its point, as a fit scores it."""
    base = fast_params(spont_rate_hz=0.0, D_s=1.0)
    # fit_setup's quick problem, on the events engine (same frames as cpu, far faster on this small retina)
    objective = Objective(quick_recording(), simulation=SimulationSettings(
        n_retinas=1, seed=1, duration_s=60.0, **{**QUICK_GEOMETRY, "backend": "cpu-events"}))
    design = SweepDesign.grid(base, {"P_s": [2.0, 3.5]})
    result = run_sweep(design, base, tmp_path, objective=objective, **{**SMALL, "n_retinas": 1})
    alone = objective.evaluate([design.params(base, 1)])[0]
    row = _csv(tmp_path / "sweep.csv")[1]
    assert float(row["distance"]) == alone.distance and float(row["distance_sem"]) == alone.distance_sem
    for term, value in alone.terms.items():
        assert row[f"distance_{term}"] == ("" if math.isnan(value) else repr(value)), term
    plot_sweep(result.rows, design, tmp_path / "d.png", ["distance", "n_waves"])
    assert (tmp_path / "d.png").stat().st_size > 0
    recording = json.loads((tmp_path / "sweep.json").read_text())["identity"]["recording"]
    assert recording["recording"] == objective.recording.name and "backend" not in recording["simulation"]


def test_figures_of_one_two_and_three_parameters(tmp_path):
    """A line per statistic for one parameter, heat maps for two (grid cells or coloured points), scatters beyond."""
    from PIL import Image

    base = fast_params()
    designs = {
        "one": SweepDesign.grid(base, {"P_s": [2.0, 20.0, 200.0]}),
        "grid2": SweepDesign.grid(base, {"P_s": [2.0, 3.0], "H2": [0.5, 0.7, 0.9]}),
        "random2": SweepDesign.random(base, {"P_s": (2.0, 200.0, "log"), "H2": (0.5, 0.9)}, n_points=5),
        "three": SweepDesign.random(base, {"P_s": (2.0, 5.0), "H2": (0.5, 0.9), "D_s": (1.0, 2.0)}, n_points=5),
    }
    rng = np.random.default_rng(0)
    for name, design in designs.items():
        rows = []
        for i, point in enumerate(design.points):
            row = {"point": i, **point}
            for stat in STATISTIC_NAMES:
                row[f"{stat}_mean"], row[f"{stat}_sd"] = float(rng.uniform(1, 2)), float(rng.uniform(0, 0.1))
            row["median_speed_um_per_s_mean"] = math.nan if i == 1 else row["median_speed_um_per_s_mean"]
            rows.append(row)
        path = plot_sweep(rows, design, tmp_path / f"{name}.png", title=name)
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] > 300
    with pytest.raises(ParameterError, match="holds no row"):
        plot_sweep([], designs["one"], tmp_path / "none.png")


# --- the command line ----------------------------------------------------------------------------------------


def test_cli_grid_sweep_writes_table_json_and_heat_map(tmp_path, capsys):
    params = tmp_path / "fast.toml"
    params.write_text('model = "amacrine"\npreset = "mouse"\n[parameters]\nspont_rate_hz = 0.02\n')
    out = tmp_path / "sw"
    argv = ["sweep", "--out", str(out), "--params", str(params), "--grid", "P_s=2:4:2", "--grid", "H2=0.5,1",
            *CLI_SMALL, "--stats", "n_waves,median_iwi_s"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "4 points (4 simulated now on cpu-events, 0 already in the table)" in printed
    rows = _csv(out / "sweep.csv")
    assert [(float(r["P_s"]), float(r["H2"])) for r in rows] == [(2.0, 0.5), (2.0, 1.0), (4.0, 0.5), (4.0, 1.0)]
    assert (out / "sweep.png").stat().st_size > 0
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["identity"]["base_parameters"]["spont_rate_hz"]["value"] == 0.02
    assert doc["runs"][0]["command_line"][0] == "wavesim" and doc["runs"][0]["backend"] == "cpu-events"
    assert main(argv) == 0  # the same command again: nothing to simulate
    assert "4 points (0 simulated now on cpu-events, 4 already in the table)" in capsys.readouterr().out


def test_cli_recording_adds_the_fit_distance_per_point(tmp_path, capsys):
    recording = TESTS.parent / "datasets" / "recordings" / "Kirkby2013_02_WT_P5.h5"
    out = tmp_path / "sw"
    assert main(["sweep", "--out", str(out), "--grid", "P_s=2,3", *CLI_SMALL, "--retinas", "1",
                 "--recording", str(recording), "--recording-duration-s", "30"]) == 0
    assert "distance" in capsys.readouterr().out.splitlines()[0]
    rows = _csv(out / "sweep.csv")
    assert all(math.isfinite(float(r["distance"])) and float(r["distance"]) > 0 for r in rows)
    described = json.loads((out / "sweep.json").read_text())["identity"]["recording"]
    assert described["recording"] == "Kirkby2013_02_WT_P5" and described["duration_s"] == 30.0


BAD = [
    (["--grid", "H3=1,2"], r"Unknown AmacrineParams parameter\(s\) \['H3'\] to sweep; known ones are \["),
    (["--grid", "H1=1,60"], r"AmacrineParams.H1 = 60.0 is outside the allowed range \[0.05, 50.0\]"),
    (["--grid", "H1=2:6"], r"--grid H1=2:6: give NAME=LOW:HIGH:N\[:log\]"),
    (["--grid", "H1=2:6:x"], r"--grid H1=2:6:x: give NAME=LOW:HIGH:N"),
    (["--grid", "H1=2:6:1"], r"--grid H1=2:6:1: a grid from 2 to 6 needs at least 2 points, got 1"),
    (["--grid", "H1=6:2:3"], r"--grid H1=6:2:3: a grid needs low < high"),
    (["--grid", "H1=2:6:3:cubic"], r"the scale of a grid must be one of \('linear', 'log'\), got 'cubic'"),
    (["--grid", "H1"], r"--grid 'H1': give NAME=LOW:HIGH:N"),
    (["--grid", "H1=2,,3"], r"--grid H1=2,,3: an empty value"),
    (["--grid", "H1=abc"], r"AmacrineParams.H1 must be a number, got 'abc'"),
    (["--grid", "H1=2,3", "--grid", "H1=4,5"], r"--grid names H1 twice"),
    (["--grid", "dt_s=0.01,0.02"], r"dt_s cannot be swept"),
    (["--random", "P_s=2:6"], r"--random needs --points N"),
    (["--random", "P_s=2", "--points", "3"], r"--random P_s=2: give NAME=LOW:HIGH\[:log\]"),
    (["--random", "P_s=2:3000", "--points", "3"], r"AmacrineParams.P_s = 3000.0 s is outside the allowed range"),
    (["--random", "P_s=2:6", "--points", "0"], r"--points must be at least 1, got 0"),
    (["--random", "P_s=2:6", "--points", "3", "--grid", "H1=2,3"], r"--grid .* or with --random .*not both"),
    ([], r"give the parameters to vary with --grid .* not neither"),
    (["--grid", "P_s=2,3", "--points", "5"], r"--points 5 applies to --random designs only"),
    (["--grid", "P_s=2,3", "--stats", "nosuch"], r"unknown statistic\(s\) \['nosuch'\] to draw"),
    (["--grid", "P_s=2,3", "--stats", "distance"], r"'distance' needs a recording"),
    (["--grid", "P_s=2,3", "--retinas", "0"], r"--retinas must be at least 1, got 0"),
    (["--grid", "P_s=2,3", "--model", "nosuch"], r"Unknown model 'nosuch'"),
    (["--grid", "P_s=2,3", "--figure", "{root}/f.xyz"], r"--figure .*f.xyz: the file type must be one of"),
    (["--grid", "P_s=2,3", "--recording", "{root}/none.h5"], r"none.h5"),
    (["--grid", "P_s=2,3", "--recording-duration-s", "5"], r"--recording-duration-s applies with --recording only"),
]


@pytest.mark.parametrize("argv, message", BAD)
def test_bad_sweep_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "sw"
    argv = [a.replace("{root}", str(tmp_path)) for a in argv]
    assert main(["sweep", "--out", str(out), *CLI_SMALL, *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("wavesim sweep: error: ")
    assert re.search(message, err), err
    assert not out.exists()


def test_cli_refuses_to_resume_another_design(tmp_path, capsys):
    out = tmp_path / "sw"
    base = ["sweep", "--out", str(out), "--grid", "P_s=2,3", *CLI_SMALL, "--duration-s", "20"]
    assert main(base) == 0
    capsys.readouterr()
    assert main([*base, "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "holds a sweep of another design or settings (seed: 0 there, 1 now)" in err
