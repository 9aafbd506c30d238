"""Both papers' protocols on wavesim waves, with their controls, over several seeds; prints the tables.

Run::

    python examples/paper_experiments.py                # CPU-sized, 5 replicates (about an hour on 2 cores)
    python examples/paper_experiments.py --full         # the papers' sizes (64 x 64, 64 channels; use a GPU)
    python examples/paper_experiments.py --quick        # a smoke run of a minute

Next-frame (May et al. 2025): a recurrent predictor pre-trained on wave
clips, then trained for one epoch on the procedural corridor; the table is
the corridor validation error (squared error summed over pixels, mean over
clips) after that epoch, per condition, mean +- sd over replicates (5, as
in the paper; replicate i of every condition shares seed i), then paired
t-tests between every two conditions, Bonferroni-corrected, as they report.
May et al. report about 49 pre-trained against 123 from scratch at full size.

Contrastive (Ligeralde et al. 2023): a ResNet-18 pre-trained with NT-Xent on
pairs of frames within waves, against random initialisation (and shuffled
weights); digit linear-probe accuracy and the translation-invariance score
of the frozen features, and the mean-field capacity of the translation
manifolds in every layer (docs/manifold_analysis.md).

The CPU-sized run shrinks frames to 32 x 32 and the predictor to 16
channels, and trains for fewer updates: its numbers show the direction of
the effects, not the papers' magnitudes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import wavesim as ws
from wavesim.data import WaveClips, WavePairs
from wavesim.generate import generate_store
from wavesim.io.store import DatasetSpec
from wavesim.train.evaluate import comparison_table, paired_comparisons
from wavesim.train.targets import target_clips
from wavesim.train.protocols import (CONTRASTIVE_CONDITIONS, NEXT_FRAME_CONDITIONS, RunLog, TrainSettings,
                                     contrastive_experiment, next_frame_experiment)

SIZES = {
    "quick": dict(size_px=32, hidden=8, pretrain_updates=20, target_movies=6, target_frames=30, wave_movies=4,
                  wave_duration_s=120, pair_movies=8, pair_duration_s=240, contrastive_updates=3, seeds=2),
    "cpu": dict(size_px=32, hidden=16, pretrain_updates=300, target_movies=20, target_frames=60, wave_movies=8,
                wave_duration_s=240, pair_movies=24, pair_duration_s=300, contrastive_updates=40, seeds=5),
    "full": dict(size_px=64, hidden=64, pretrain_updates=5000, target_movies=100, target_frames=110, wave_movies=64,
                 wave_duration_s=600, pair_movies=256, pair_duration_s=600, contrastive_updates=2000, seeds=5),
}


def make_store(path: Path, movies: int, duration_s: float, seed: int) -> Path:
    spec = DatasetSpec(params=ws.preset("mouse"), retina=ws.Retina(width_um=3200, height_um=3200, shape="rectangle"),
                       readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5),
                       timing=ws.Timing(duration_s=duration_s, warmup_s=900), seed=seed, n_movies=movies)
    if not path.exists():
        generate_store(path, spec, backend="auto")
    return path


def mean_sd(values, digits=1) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.{digits}f} +- {values.std(ddof=1) if values.size > 1 else 0.0:.{digits}f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--full", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("paper_experiments"))
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    cfg = SIZES["quick" if args.quick else "full" if args.full else "cpu"]
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    waves_store = make_store(args.out / "waves.zarr", cfg["wave_movies"], cfg["wave_duration_s"], seed=1)
    pairs_store = make_store(args.out / "pair_waves.zarr", cfg["pair_movies"], cfg["pair_duration_s"], seed=2)
    results = {"config": cfg, "next_frame": [], "contrastive": []}

    for seed in range(cfg["seeds"]):
        train, validation = target_clips("corridor", n_movies=cfg["target_movies"], n_frames=cfg["target_frames"],
                                         size_px=cfg["size_px"], seed=100 + seed, validation_fraction=0.2)
        waves = WaveClips(waves_store, clip_frames=11, clip_step=2, batch_size=16, size_px=cfg["size_px"], seed=seed)
        for condition in NEXT_FRAME_CONDITIONS:
            log = RunLog()
            result = next_frame_experiment(condition, waves, train, validation,
                                           pretrain_updates=cfg["pretrain_updates"], target_epochs=1,
                                           settings=TrainSettings(seed=seed, device=args.device),
                                           model_kwargs={"hidden_channels": cfg["hidden"]}, log=log, progress=True)
            log.write(args.out / "next_frame" / f"{condition}_seed{seed}")
            results["next_frame"].append(result)
            (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float))
            print(f"next-frame seed {seed} {condition}: corridor validation error after 1 epoch "
                  f"{result['validation_error_by_epoch'][1]:.1f}", flush=True)

    pairs = WavePairs(pairs_store, batch_size=32, size_px=32, seed=0)
    print(f"contrastive: {pairs.n_items} waves with pairs", flush=True)
    for seed in range(max(2, cfg["seeds"] - 1)):
        for condition in CONTRASTIVE_CONDITIONS:
            log = RunLog()
            result = contrastive_experiment(condition, pairs, updates=cfg["contrastive_updates"],
                                            settings=TrainSettings(seed=seed, device=args.device, weight_decay=1e-6,
                                                                   batch_size=32),
                                            log=log, progress=True)
            if log.rows:
                log.write(args.out / "contrastive" / f"{condition}_seed{seed}")
            results["contrastive"].append(result)
            (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float))
            print(f"contrastive seed {seed} {condition}: digits {result['digits']['accuracy']:.3f}, "
                  f"translation {result['translation']['score']:.3f}", flush=True)

    results["wall_time_s"] = time.perf_counter() - started
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"\nNext-frame, corridor validation error after 1 epoch ({cfg['seeds']} seeds, mean +- sd):")
    print("| condition | error after 1 epoch | error before target training | pre-training updates |")
    print("|---|---|---|---|")
    for condition in NEXT_FRAME_CONDITIONS:
        rows = [r for r in results["next_frame"] if r["condition"] == condition]
        print(f"| {condition} | {mean_sd([r['validation_error_by_epoch'][1] for r in rows])} | "
              f"{mean_sd([r['validation_error_by_epoch'][0] for r in rows])} | {rows[0]['pretrain_updates']} |")
    print("\nPaired t-tests on the error after 1 epoch (two-sided, Bonferroni over all pairs):")
    print(comparison_table(paired_comparisons({
        condition: [r["validation_error_by_epoch"][1] for r in results["next_frame"] if r["condition"] == condition]
        for condition in NEXT_FRAME_CONDITIONS})))
    print("\nContrastive ResNet-18 (mean +- sd over seeds):")
    print("| condition | digit linear probe accuracy | translation-invariance score |")
    print("|---|---|---|")
    for condition in CONTRASTIVE_CONDITIONS:
        rows = [r for r in results["contrastive"] if r["condition"] == condition]
        digits = mean_sd([100 * r["digits"]["accuracy"] for r in rows])
        translation = mean_sd([100 * r["translation"]["score"] for r in rows])
        print(f"| {condition} | {digits} % | {translation} % |")
    layers = list(results["contrastive"][0]["manifolds"]["layers"])
    print("\nTranslation-manifold capacity alpha_M per layer (mean-field theory; mean +- sd over seeds):")
    print("| condition | " + " | ".join(layers) + " | pixels |")
    print("|---|" + "---|" * (len(layers) + 1))
    for condition in CONTRASTIVE_CONDITIONS:
        rows = [r["manifolds"] for r in results["contrastive"] if r["condition"] == condition]
        cells = [mean_sd([r["layers"][layer]["capacity"] for r in rows], digits=3) for layer in layers]
        print(f"| {condition} | " + " | ".join(cells) + f" | {rows[0]['pixels']['capacity']:.3f} |")
    print("\nPaired t-tests on the digit probe accuracy (two-sided, Bonferroni over all pairs):")
    print(comparison_table(paired_comparisons({
        condition: [r["digits"]["accuracy"] for r in results["contrastive"] if r["condition"] == condition]
        for condition in CONTRASTIVE_CONDITIONS})))
    print(f"\nwall time {results['wall_time_s'] / 60:.1f} min; results in {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
