"""How fast a fit gets how close: today's code beside a baseline, run alternately on the same machine.

Each run is ``wavesim fit`` in a process of its own (warm-state cache off,
so every warm-up is simulated), first with the baseline's Python (another
checkout's environment, e.g. the commit before multi-fidelity search), then
with this one's, for each sampler seed in turn (``--simultaneous``: both at
once, so that a machine shared with other work loads both alike). From each study journal the
script reads when every trial finished (wall time since its process
started), its state and its distance, and prints per run: the wall time,
the trials complete and pruned, the best distance, and when the run first
reached the baseline's best distance of the same seed. With ``--hold-out``
each fit scores its final best on the held-out recordings; with
``--held-out-curve`` too, this script scores, with this checkout's
objective, each parameter set that was a run's best at some moment, so the
held-out distance can be read against wall time. ``--figure`` draws the best
distance so far against wall time.

The 20-trial fit of one Kirkby recording:

    python benchmarks/bench_fit.py --baseline-python ../harness/fit-baseline/.venv/bin/python \\
        --seeds 0 1 2 --json fit_p5.json --figure docs/fit_speed_kirkby_p5.png \\
        -- ../shared/recordings/Kirkby2013_02_WT_P5.h5 --trials 20

The pooled fit of docs/fit_examples.md (the new side given twice the trials, to see what the same wall time buys):

    python benchmarks/bench_fit.py --baseline-python ../harness/fit-baseline/.venv/bin/python --seeds 0 \\
        --hold-out ../shared/recordings/Kirkby2013_09_WT_P6.h5 ../shared/recordings/Kirkby2013_1[01]_WT_*.h5 \\
        --new-args="--trials 128" --json fit_pooled.json --figure docs/fit_speed_pooled.png \\
        -- ../shared/recordings/Kirkby2013_0[1-8]_WT_*.h5 --trials 64 --batch-size 4 --duration-s 600

Arguments after ``--`` go to ``wavesim fit`` on both sides (``--out``,
``--sampler-seed``, ``--no-warm-cache`` and ``--no-progress`` are added).
Report the machine's load (``uptime``) with the table: the ratios are only
meaningful side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start_fit(python: str, fit_args: list[str], seed: int, out: Path) -> dict:
    """Start one ``wavesim fit`` in its own process (see :func:`finish_fit`).

    The process runs in a folder of its own: ``python -m`` puts the working
    directory first on the import path, so a run started in a checkout would
    import that checkout's wavesim whatever ``python`` is.
    """
    command = [python, "-m", "wavesim", "fit", *fit_args, "--out", str(out), "--sampler-seed", str(seed),
               "--no-warm-cache", "--no-progress"]
    out.mkdir(parents=True)
    log = open(out / "fit.log", "w+")
    return {"python": python, "seed": seed, "out": out, "command": command, "log": log,
            "started_unix": time.time(), "started": time.perf_counter(),
            "process": subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=out)}


def finish_fit(run: dict) -> dict:
    """Wait for a fit; its trials as (finished since its start s, state, distance, parameters), and more."""
    import optuna

    # wait4: the CPU time of the fit and of the worker processes it waited for, whatever else loads the machine
    _, status, usage = os.wait4(run["process"].pid, 0)
    returncode = os.waitstatus_to_exitcode(status)
    run["process"].returncode = returncode
    wall_s = time.perf_counter() - run["started"]
    run["log"].seek(0)
    output = run["log"].read()
    run["log"].close()
    if returncode != 0:
        raise RuntimeError(f"{shlex.join(run['command'])} failed:\n{output[-4000:]}")
    out = run["out"]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(out / "study.journal")))
    study = optuna.load_study(study_name="wavesim-fit", storage=storage)
    trials = sorted(({"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
                      "finished_s": t.datetime_complete.timestamp() - run["started_unix"]}
                     for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")), key=lambda t: t["finished_s"])
    report = json.loads((out / "report.json").read_text())
    version = subprocess.run([run["python"], "-c", "import wavesim; print(wavesim.__file__)"], capture_output=True,
                             text=True, cwd=out).stdout.strip()
    return {"python": run["python"], "wavesim": version, "seed": run["seed"], "wall_s": wall_s,
            "cpu_s": usage.ru_utime + usage.ru_stime, "trials": trials,
            "best": report["best_distance"],
            "held_out": (report.get("held_out") or {}).get("fitted", {}).get("distance"),
            "stdout": output[-1500:]}


def run_fit(python: str, fit_args: list[str], seed: int, out: Path) -> dict:
    """One ``wavesim fit``, waited for (:func:`start_fit`, :func:`finish_fit`)."""
    return finish_fit(start_fit(python, fit_args, seed, out))


def best_so_far(run: dict) -> list[tuple[float, float, dict]]:
    """(time s, best complete distance, its parameters) at each improvement."""
    out, best = [], float("inf")
    for t in run["trials"]:
        if t["state"] == "COMPLETE" and t["value"] < best:
            best = t["value"]
            out.append((t["finished_s"], best, t["params"]))
    return out


def reached_s(run: dict, target: float) -> float | None:
    """When ``run`` first held a complete trial at ``target`` or below (None: never)."""
    return next((s for s, value, _ in best_so_far(run) if value <= target + 1e-12), None)


def score_held_out(runs: list[dict], fit_args: list[str], hold_out: list[str]) -> None:
    """Each run's best parameters over time, scored on the held-out recordings with this checkout's objective."""
    import dataclasses

    import wavesim as ws
    from wavesim.fit import PooledObjective, SimulationSettings
    from wavesim.io.recordings import load_recording

    duration = float(fit_args[fit_args.index("--duration-s") + 1]) if "--duration-s" in fit_args else None
    objective = PooledObjective([load_recording(p) for p in hold_out],
                                simulation=SimulationSettings(duration_s=duration), warm_cache=False)
    base = ws.preset("mouse")
    for run in runs:
        points = best_so_far(run)
        evaluations = objective.evaluate([dataclasses.replace(base, **params) for _, _, params in points])
        run["held_out_curve"] = [(s, e.distance, e.distance_sem) for (s, _, _), e in zip(points, evaluations)]


def print_table(runs: list[dict]) -> None:
    baselines = {r["seed"]: r for r in runs if r["side"] == "baseline"}
    print(f"{'side':<9} {'seed':>4} {'wall s':>8} {'cpu s':>8} {'complete':>8} {'pruned':>6} {'best':>7} "
          f"{'reached baseline best at s':>26} {'ratio':>6}")
    for r in runs:
        target = baselines[r["seed"]]["best"]
        at = reached_s(r, target)
        n_complete = sum(t["state"] == "COMPLETE" for t in r["trials"])
        n_pruned = sum(t["state"] == "PRUNED" for t in r["trials"])
        base_wall = baselines[r["seed"]]["wall_s"]
        ratio = f"{base_wall / at:.2f}" if at else "-"
        print(f"{r['side']:<9} {r['seed']:>4} {r['wall_s']:>8.1f} {r.get('cpu_s', float('nan')):>8.1f} {n_complete:>8} "
              f"{n_pruned:>6} {r['best']:>7.4f} "
              f"{(f'{at:.1f}' if at is not None else 'never'):>26} {ratio:>6}")
        if r.get("held_out") is not None:
            print(f"          held out, final best: {r['held_out']:.3f}")
        if "held_out_curve" in r:
            print("          held out against wall time: " + ", ".join(
                f"{s:.0f} s {d:.3f}" for s, d, _ in r["held_out_curve"]))


def plot(runs: list[dict], path: str, title: str) -> None:
    from matplotlib.figure import Figure

    curves = [("best_so_far", "best distance so far (fitted recordings)")]
    if any("held_out_curve" in r for r in runs):
        curves.append(("held_out_curve", "held-out distance of the best so far"))
    fig = Figure(figsize=(6.5 * len(curves), 4.5))
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    colours = {"baseline": "tab:orange", "new": "tab:blue"}
    for ax, (key, label) in zip(axes, curves):
        for r in runs:
            points = best_so_far(r) if key == "best_so_far" else r.get(key, [])
            if not points:
                continue
            xs = [p[0] for p in points] + [r["wall_s"]]
            ys = [p[1] for p in points] + [points[-1][1]]
            name = "baseline (before)" if r["side"] == "baseline" else "multi-fidelity, 2 workers"
            ax.step(xs, ys, where="post", color=colours[r["side"]], alpha=0.8,
                    label=f"{name}, seed {r['seed']}" if len(runs) > 2 else name)
            if key == "best_so_far":
                pruned = [t for t in r["trials"] if t["state"] == "PRUNED"]
                ax.plot([t["finished_s"] for t in pruned], [ys[0] * 1.02] * len(pruned), "|",
                        color=colours[r["side"]], alpha=0.5)
        ax.set_xlabel("wall time since the fit started (s)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-python", required=True, help="Python of the baseline checkout's environment")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--hold-out", nargs="+", default=None, help="held-out recordings (also passed to the fits)")
    parser.add_argument("--held-out-curve", action="store_true",
                        help="with --hold-out: score every best-so-far parameter set on the held-out recordings "
                             "(otherwise only each fit's final best, which the fit scores itself)")
    parser.add_argument("--new-args", default="", help="extra `wavesim fit` arguments for this checkout only")
    parser.add_argument("--json", default=None, help="write the runs to this JSON file")
    parser.add_argument("--figure", default=None, help="draw the best distance against wall time into this PNG")
    parser.add_argument("--title", default="", help="the figure's title")
    parser.add_argument("--simultaneous", action="store_true",
                        help="run both sides of a seed at the same time rather than one after the other")
    parser.add_argument("fit_args", nargs=argparse.REMAINDER, help="after --: the `wavesim fit` arguments")
    args = parser.parse_args()
    # the runs start in folders of their own; abspath, not resolve: a venv's python is a link to keep
    args.baseline_python = os.path.abspath(args.baseline_python)

    def absolute(paths):
        return [str(Path(a).resolve()) if a.endswith((".h5", ".nwb")) else a for a in paths]

    fit_args = absolute(a for a in args.fit_args if a != "--")
    if args.hold_out:
        args.hold_out = absolute(args.hold_out)
        fit_args += ["--hold-out", *args.hold_out]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        # compile (or load from Numba's cache) both sides' engines before anything is timed
        recording = next(a for a in fit_args if a.endswith((".h5", ".nwb")))
        for side, python in (("baseline", args.baseline_python), ("new", sys.executable)):
            run_fit(python, [recording, "--trials", "1", "--duration-s", "30", "--warmup-s", "5"], 0,
                    Path(tmp) / f"compile-{side}")
        for seed in args.seeds:
            sides = (("baseline", args.baseline_python, []), ("new", sys.executable, shlex.split(args.new_args)))
            if args.simultaneous:  # both sides at once: the same load at the same moments
                started = [(side, start_fit(python, fit_args + extra, seed, Path(tmp) / f"{side}-{seed}"))
                           for side, python, extra in sides]
                done = [(side, finish_fit(run)) for side, run in started]
            else:
                done = [(side, run_fit(python, fit_args + extra, seed, Path(tmp) / f"{side}-{seed}"))
                        for side, python, extra in sides]
            for side, run in done:
                run["side"] = side
                runs.append(run)
                print(f"{side} seed {seed}: {run['wall_s']:.1f} s, best {run['best']:.4f} "
                      f"({os.getloadavg()[0]:.1f} load; {run['wavesim']})", flush=True)
    if args.hold_out and args.held_out_curve:
        score_held_out(runs, fit_args, args.hold_out)
    print_table(runs)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    if args.figure:
        plot(runs, args.figure, args.title)


if __name__ == "__main__":
    main()
