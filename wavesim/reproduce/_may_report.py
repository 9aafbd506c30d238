"""May et al. (2025): the results of a finished run as tables next to the paper's numbers, tests and a figure."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..train.evaluate.stats import comparison_table, paired_comparisons, per_clip_comparisons
from ._may_config import CONDITIONS, MATCHED_TOTAL_EPOCHS, PAPER_FAMILY, matched_target_epoch
from ._may_run import MayRun


def _mean_sd(values, digits=1) -> str:
    values = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if values.size == 0:
        return "-"
    sd = values.std(ddof=1) if values.size > 1 else 0.0
    return f"{values.mean():.{digits}f} +- {sd:.{digits}f}"


def _at(errors, epoch):
    return errors[epoch] if epoch < len(errors) else None


def collect(run: MayRun) -> dict:
    """Per condition and replicate, the target result; per wave set and replicate, the pre-training result."""
    reps = range(run.config.repetitions)
    targets = {c.name: [run.load_job(f"target-{c.name}-{r}")["result"] for r in reps] for c in CONDITIONS}
    pretrain = {w: [run.load_job(f"pretrain-{w}-{r}")["result"] for r in reps]
                for w in {c.waves for c in CONDITIONS if c.waves}}
    analysis = {n: [run.load_job(f"analysis-{n}-{r}")["result"] for r in reps] for n in run.analysed}
    return {"targets": targets, "pretrain": pretrain, "analysis": analysis, "sources": dict(run.analysed)}


def _validation_losses(results, epoch_of):
    """(keys, losses) pooled over replicates: keys (replicate, clip id), each replicate's losses at its epoch."""
    keys, losses = [], []
    for r, res in enumerate(results):
        epoch = epoch_of(res)
        keys += [(r, i) for i in res["validation_ids"]]
        losses += list(res["validation_losses_by_epoch"][epoch])
    return keys, losses


def _test_losses(results, label):
    keys, losses = [], []
    for r, res in enumerate(results):
        keys += [(r, i) for i in res["test_ids"]]
        losses += list(res["test_losses"][label])
    return keys, losses


def condition_rows(data: dict) -> list[dict]:
    """One summary row per condition (per-replicate values and their mean +- SD)."""
    rows = []
    for c in CONDITIONS:
        results = data["targets"][c.name]
        errors = [r["validation_error_by_epoch"] for r in results]
        matched = matched_target_epoch(c)
        row = {"condition": c.name, "label": c.label, "authors_folder": c.authors_folder,
               "paper_epoch_1": c.paper_epoch_1,
               "epoch_0": [e[0] for e in errors], "epoch_1": [e[1] for e in errors],
               "matched_epoch": matched, "matched": [_at(e, matched) for e in errors],
               "best": [r["best_validation_error"] for r in results], "best_epoch": [r["best_epoch"] for r in results],
               "target_epochs": [len(e) - 1 for e in errors],
               "test_epoch_1": [float(np.mean(r["test_losses"]["epoch_1"])) if r["test_losses"] else None
                                for r in results]}
        if c.waves and c.start != "epochs":
            pre = data["pretrain"][c.waves]
            row["pretrain_best_epoch"] = [p["best_epoch"] for p in pre]
            row["pretrain_epochs"] = [len(p["validation_error_by_epoch"]) - 1 for p in pre]
        rows.append(row)
    return rows


def tests(data: dict, n_reps: int) -> dict:
    """The per-clip paired tests (and the per-replicate ones beside them), family by family."""
    targets = data["targets"]
    out = {}
    family = {name: _validation_losses(targets[name], lambda res: 1) for name in PAPER_FAMILY}
    out["paper_family_validation"] = per_clip_comparisons(family)
    if all(targets[name][0]["test_losses"] for name in PAPER_FAMILY):
        out["paper_family_test"] = per_clip_comparisons({n: _test_losses(targets[n], "epoch_1") for n in PAPER_FAMILY})
    if n_reps >= 2:
        out["paper_family_per_replicate"] = paired_comparisons(
            {n: [r["validation_error_by_epoch"][1] for r in targets[n]] for n in PAPER_FAMILY})
    matched = {c.name: _validation_losses(targets[c.name], lambda res, c=c: matched_target_epoch(c))
               for c in CONDITIONS if c.start == "epochs"}
    matched["not_pretrained"] = _validation_losses(targets["not_pretrained"], lambda res: MATCHED_TOTAL_EPOCHS)
    out["time_matched_validation"] = per_clip_comparisons(
        matched, pairs=[(name, "not_pretrained") for name in matched if name != "not_pretrained"])
    out["directed_vs_undirectional_validation"] = per_clip_comparisons(
        {n: _validation_losses(targets[n], lambda res: 1)
         for n in ("directed_prop", "not_directed_prop_undirectional")})
    return out


def analysis_rows(data: dict, size_px: int) -> list[dict]:
    """Per analysed network: receptive-field area and strength (of the field averaged over replicates, as the
    paper's five-model average) and each layer's pooled SD of grating-evoked changes (mean +- SD over replicates)."""
    from ..train.evaluate import receptive_field_size

    rows = []
    for name, results in data["analysis"].items():
        field = np.mean([np.asarray(r["field"]) for r in results], axis=0)
        size = receptive_field_size(field, (size_px // 2, 3 * size_px // 4), radius_px=max(1, round(13 * size_px / 64)))
        layers = list(results[0]["gratings"])
        rows.append({"network": name, "source": data["sources"][name], "rf_area_px": size["area_px"].tolist(),
                     "rf_strength": [float(v) for v in size["strength"]],
                     "pooled_std": {layer: [r["gratings"][layer]["pooled_std"] for r in results] for layer in layers}})
    return rows


def markdown(rows, test_rows, analysis, config) -> str:
    """The tables of docs/paper_experiments.md."""
    lines = ["| condition | paper, after 1 epoch | after 1 epoch | per replicate | before target training | "
             f"at {MATCHED_TOTAL_EPOCHS} epochs in all (target epoch) | best (epoch) | test, after 1 epoch | "
             "pre-training epochs (best) |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        paper = f"{row['paper_epoch_1'][0]} +- {row['paper_epoch_1'][1]}" if row["paper_epoch_1"] else "-"
        pre = "-"
        if "pretrain_epochs" in row:
            pre = ", ".join(f"{n} ({b})" for n, b in zip(row["pretrain_epochs"], row["pretrain_best_epoch"]))
        elif row["matched_epoch"] < MATCHED_TOTAL_EPOCHS:
            pre = f"{MATCHED_TOTAL_EPOCHS - row['matched_epoch']} (fixed)"
        lines.append(
            f"| {row['label']} | {paper} | {_mean_sd(row['epoch_1'])} | "
            f"{', '.join(f'{v:.1f}' for v in row['epoch_1'])} "
            f"| {_mean_sd(row['epoch_0'])} | {_mean_sd(row['matched'])} ({row['matched_epoch']}) | "
            f"{_mean_sd(row['best'])} ({', '.join(map(str, row['best_epoch']))}) | {_mean_sd(row['test_epoch_1'])} "
            f"| {pre} |")
    titles = {"paper_family_validation": "Per-clip paired t-tests after one target epoch, validation clips of all "
                                         "replicates pooled (p x 6)",
              "paper_family_test": "The same on the test clips, scored by every replicate (p x 6)",
              "paper_family_per_replicate": "The same on the per-replicate mean errors (n = replicates, p x 6)",
              "time_matched_validation": f"Time-matched: each variant against NotPretrained at {MATCHED_TOTAL_EPOCHS} "
                                         "epochs in all, per clip (p x 3)",
              "directed_vs_undirectional_validation": "DirectedProp against NotDirectedProp (may2025-undirectional) "
                                                      "after one target epoch, per clip"}
    for key, title in titles.items():
        if key in test_rows:
            lines += ["", f"{title}:", "", comparison_table(test_rows[key])]
    layers = list(analysis[0]["pooled_std"]) if analysis else []
    if analysis:
        lines += ["", f"Receptive fields ({config.rf_trials} trials x {config.rf_steps} steps, batch norms in "
                      f"{config.batch_norm} mode; field averaged over replicates) and grating responses (SD of all "
                      "changes, units and gratings pooled; mean +- SD over replicates):", "",
                  "| network | RF area, frame 1 / 10 (px) | RF strength, frame 10 | " + " | ".join(layers) + " |",
                  "|---|---|---|" + "---|" * len(layers)]
        for a in analysis:
            stds = " | ".join(_mean_sd(a["pooled_std"][layer], digits=4) for layer in layers)
            lines.append(f"| {a['network']} ({a['source']}) | {a['rf_area_px'][0]} / {a['rf_area_px'][-1]} | "
                         f"{a['rf_strength'][-1]:.3f} | {stds} |")
    return "\n".join(lines)


def plot_validation(data: dict, path: Path) -> None:
    """Validation error against epoch per condition, mean +- SD over replicates; the time-matched variants
    shifted by their wave epochs, as the authors plot them."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for c in CONDITIONS:
        curves = [r["validation_error_by_epoch"] for r in data["targets"][c.name]]
        length = max(len(e) for e in curves)
        mean = np.array([np.mean([e[i] for e in curves if i < len(e)]) for i in range(length)])
        sd = np.array([np.std([e[i] for e in curves if i < len(e)]) for i in range(length)])
        x = np.arange(length) + c.pretrain_epochs
        ax.plot(x[1:], mean[1:], marker="o", markersize=3, label=c.label)
        ax.fill_between(x[1:], (mean - sd)[1:], (mean + sd)[1:], alpha=0.2)
    ax.set_xlabel("training epoch (target; time-matched variants: waves + target)")
    ax.set_ylabel("validation error (squared error per clip)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def write_report(run: MayRun, wall_s: float | None = None) -> str:
    """Write ``results.json``, ``table.md`` and ``validation_error.png`` into the run's folder; return the tables."""
    data = collect(run)
    rows = condition_rows(data)
    test_rows = tests(data, run.config.repetitions)
    analysis = analysis_rows(data, run.config.size_px)
    text = markdown(rows, test_rows, analysis, run.config)
    plot_validation(data, run.out / "validation_error.png")
    results = dict(run.describe(), conditions=rows, tests=test_rows, analysis=analysis,
                   pretraining=data["pretrain"],
                   validation_error_by_epoch={c: [r["validation_error_by_epoch"] for r in res]
                                              for c, res in data["targets"].items()})
    if wall_s is not None:
        results["wall_s_last_step"] = wall_s
    (run.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    (run.out / "table.md").write_text(text + "\n")
    return text

