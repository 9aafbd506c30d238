"""Pre-training on each kind of wave, same budget, same target: a comparison May et al. (2025) did not make.

Run::

    python examples/wave_type_comparison.py            # CPU-sized (3 seeds; about 20 min on 2 idle cores)
    python examples/wave_type_comparison.py --quick    # a smoke run
    python examples/wave_type_comparison.py --full     # 64 x 64, 64 channels, 5 seeds (use a GPU)

The next-frame protocol of May et al.: a recurrent predictor is pre-trained
on fixed training and validation sets of wave clips (their epochs, early
stopping, best weights kept), then trained for one epoch on the procedural
corridor; the figure is the corridor validation error after that epoch.
Wave sources: the directional model as the released script runs it
(``may2025``), as published (``teh2023``), both undirectional, and the
amacrine model (mouse preset, continuous sheet after a 900 s warm-up);
against no pre-training (``random_init``) and May et al.'s shuffled-weights
control (each weight tensor of the ``may2025``-pre-trained network permuted
along its first axis). Every condition of one seed starts from the same
initial weights. Prints the table of means and the paired t-tests
(Bonferroni over all pairs).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wavesim.train.clip_sets import make_clip_sets
from wavesim.train.evaluate import comparison_table, paired_comparisons
from wavesim.train.protocols import next_frame_experiment
from wavesim.train.run_log import RunLog
from wavesim.train.settings import TrainSettings
from wavesim.train.targets import target_clips
from wavesim.train.waves import WaveSource

SOURCES = {
    "may2025": ("directional", "may2025"),
    "may2025-undirectional": ("directional", "may2025-undirectional"),
    "teh2023": ("directional", "teh2023"),
    "teh2023-undirectional": ("directional", "teh2023-undirectional"),
    "amacrine": ("amacrine", "mouse"),
}
SIZES = {
    "quick": dict(size_px=16, hidden=4, training_clips=32, validation_clips=16, max_epochs=2, target_movies=6,
                  target_frames=30, seeds=2),
    "cpu": dict(size_px=32, hidden=8, training_clips=256, validation_clips=64, max_epochs=8, target_movies=16,
                target_frames=44, seeds=3),
    "full": dict(size_px=64, hidden=64, training_clips=2048, validation_clips=256, max_epochs=200, target_movies=100,
                 target_frames=110, seeds=5),
}


def mean_sd(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.1f} +- {values.std(ddof=1) if values.size > 1 else 0.0:.1f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--full", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("wave_type_comparison"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backend", default="auto", help="backend that simulates the waves")
    args = parser.parse_args(argv)
    cfg = SIZES["quick" if args.quick else "full" if args.full else "cpu"]
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = {"config": cfg, "runs": []}
    model_kwargs = {"hidden_channels": cfg["hidden"]}
    for seed in range(cfg["seeds"]):
        settings = TrainSettings(seed=seed, device=args.device)
        train, validation = target_clips("corridor", n_movies=cfg["target_movies"], n_frames=cfg["target_frames"],
                                         size_px=cfg["size_px"], seed=100 + seed, validation_fraction=0.2)
        runs = [("random_init", "random_init", None)]
        for name, (model, preset) in SOURCES.items():
            runs.append((name, "pretrained", (model, preset)))
        runs.append(("may2025, shuffled filters", "shuffled_filters", SOURCES["may2025"]))
        for label, condition, source in runs:
            waves = None
            if source is not None:
                wave_source = WaveSource(wave_model=source[0], wave_preset=source[1], size_px=cfg["size_px"],
                                         training_clips=cfg["training_clips"],
                                         validation_clips=cfg["validation_clips"])
                waves = make_clip_sets(wave_source, seed, backend=args.backend)
            result = next_frame_experiment(condition, waves, train, validation, pretrain_epochs=cfg["max_epochs"],
                                           target_epochs=1, settings=settings, model_kwargs=model_kwargs,
                                           log=RunLog())
            error = result["validation_error_by_epoch"][1]
            results["runs"].append({"label": label, "seed": seed, "error": error,
                                    "pretrain_updates": result["pretrain_updates"]})
            (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float))
            print(f"seed {seed} {label}: corridor validation error after 1 epoch {error:.2f} "
                  f"({result['pretrain_updates']} pre-training updates)", flush=True)
    results["wall_time_s"] = time.perf_counter() - started
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float))
    labels = list(dict.fromkeys(r["label"] for r in results["runs"]))
    by_label = {label: [r["error"] for r in results["runs"] if r["label"] == label] for label in labels}
    print(f"\nCorridor validation error after 1 target epoch ({cfg['seeds']} seeds, mean +- sd; lower is better):")
    print("| pre-training | error | pre-training updates (mean) |")
    print("|---|---|---|")
    for label in labels:
        updates = np.mean([r["pretrain_updates"] for r in results["runs"] if r["label"] == label])
        print(f"| {label} | {mean_sd(by_label[label])} | {updates:.0f} |")
    print("\nPaired t-tests (two-sided, Bonferroni over all pairs):")
    print(comparison_table(paired_comparisons(by_label)))
    print(f"\nwall time {results['wall_time_s'] / 60:.1f} min; results in {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
