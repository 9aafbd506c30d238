"""Translation-manifold capacity of contrastive networks pre-trained on waves, against random and shuffled weights.

Run::

    python examples/translation_capacity.py            # CPU-sized: both set-ups, 3 seeds (about 40 min on one core)
    python examples/translation_capacity.py --quick    # a smoke run of a few minutes
    python examples/translation_capacity.py --full     # their projector, 100 epochs, more waves (use a GPU)

Ligeralde et al. (2023) find that networks pre-trained on retinal waves
separate translation manifolds (one image under many shifts) better than
random networks. For each contrastive set-up (wavesim's ``default``:
ResNet-18, 512 -> 128 projector, positives up to 2 frames apart; their
``ligeralde2023``: ResNet-9, a three-layer batch-normed projector,
positives exactly one frame apart), each seed pre-trains one network on
pairs of frames within waves (:class:`~wavesim.data.WavePairs`) and
measures the mean-field capacity of the translation manifolds in every
layer (:func:`~wavesim.train.evaluate.translation_manifolds`: 24 photograph
crops under the same 25 shifts of up to 8 px) for the pre-trained weights,
the same network's initial weights (random init), and its pre-trained
weights shuffled (entries, or filters). The table gives the capacity at
the last layer and at the layer where pre-trained and random init differ
most, mean +- sd over seeds.

The CPU size is that of ``examples/paper_experiments.py``'s contrastive
table (pairs from 24 mouse-preset movies of 300 s, 40 updates of 32
pairs); the ``ligeralde2023`` projector is shrunk there from 8192 to 2048
units per layer (an update with theirs takes 21 s on one core, 5x longer).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from _stores import make_store, mean_sd
from wavesim.data import WavePairs
from wavesim.train.contrastive import contrastive_config
from wavesim.train.evaluate import translation_manifolds
from wavesim.train.protocols import RunLog, control_manifolds, pair_batches, pretrain_contrastive, resolve_device

CONDITIONS = ("pretrained", "random_init", "shuffled_entries", "shuffled_filters")
SIZES = {
    "quick": dict(pair_movies=8, pair_duration_s=240, updates=3, batch_size=8, seeds=2, exemplars=8, shifts=9,
                  projector=(256, 256, 256)),
    "cpu": dict(pair_movies=24, pair_duration_s=300, updates=40, batch_size=32, seeds=3, exemplars=24, shifts=25,
                projector=(2048, 2048, 2048)),
    # updates None: the config's epochs (100 for ligeralde2023; default has none, so 2000 updates)
    "full": dict(pair_movies=256, pair_duration_s=600, updates=None, batch_size=256, seeds=3, exemplars=24, shifts=25,
                 projector=None),
}


def run_seed(config, store, seed, cfg, device, out):
    pairs = WavePairs(store, batch_size=cfg["batch_size"], size_px=32, seed=seed, drop_last=True,
                      **config.pair_options())
    updates = cfg["updates"] or (config.epochs * len(pairs) if config.epochs else 2000)
    settings = config.settings(seed=seed, device=str(device))
    torch.manual_seed(seed)  # the same initial weights as control_manifolds' random_init
    net = config.build_net().to(device)
    log = RunLog()
    pretrain_contrastive(net, pair_batches(pairs, device), updates, settings, log, temperature=config.temperature,
                         progress=True)
    log.write(out)
    translation_set = dict(n_exemplars=cfg["exemplars"], n_translations=cfg["shifts"])
    manifolds = {"pretrained": translation_manifolds(net.layer_responses, seed=seed, **translation_set)}
    manifolds.update(control_manifolds(net, seed=seed, **translation_set))
    return {"seed": seed, "updates": updates, "waves": pairs.n_items,
            "final_nt_xent": log.rows[-1]["value"], "manifolds": manifolds}


def capacities(runs, condition, layer):
    return [r["manifolds"][condition]["layers"][layer]["capacity"] for r in runs]


def print_tables(name, config, runs):
    layers = list(runs[0]["manifolds"]["pretrained"]["layers"])
    difference = {layer: np.mean(np.subtract(capacities(runs, "pretrained", layer),
                                             capacities(runs, "random_init", layer))) for layer in layers}
    largest = max(layers, key=lambda layer: abs(difference[layer]))
    print(f"\n{name}: {config.encoder}, projector {'-'.join(map(str, config.projector_dims))}, "
          f"{runs[0]['updates']} updates on the pairs of {runs[0]['waves']} waves, {len(runs)} seeds")
    print(f"| condition | capacity at the last layer ({layers[-1]}) | capacity at {largest} (largest difference) |")
    print("|---|---|---|")
    for condition in CONDITIONS:
        print(f"| {condition} | {mean_sd(capacities(runs, condition, layers[-1]), 4)} | "
              f"{mean_sd(capacities(runs, condition, largest), 4)} |")
    print(f"\nEvery layer (capacity, mean +- sd; pixels {runs[0]['manifolds']['pretrained']['pixels']['capacity']:.4f}):")
    print("| condition | " + " | ".join(layers) + " |")
    print("|---|" + "---|" * len(layers))
    for condition in CONDITIONS:
        print(f"| {condition} | " + " | ".join(mean_sd(capacities(runs, condition, layer), 4) for layer in layers) + " |")
    paired = {layer: np.subtract(capacities(runs, "pretrained", layer), capacities(runs, "random_init", layer))
              for layer in layers}
    print("| pretrained - random_init, per seed | " + " | ".join(
        ", ".join(f"{d:+.4f}" for d in paired[layer]) for layer in layers) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--full", action="store_true")
    parser.add_argument("--configs", nargs="+", default=["default", "ligeralde2023"])
    parser.add_argument("--out", type=Path, default=Path("translation_capacity"))
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    cfg = SIZES["quick" if args.quick else "full" if args.full else "cpu"]
    args.out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(args.device)
    started = time.perf_counter()
    store = make_store(args.out / "pair_waves.zarr", cfg["pair_movies"], cfg["pair_duration_s"], seed=2)
    results, configs = {"size": cfg, "configs": {}}, {}
    for name in args.configs:
        config = contrastive_config(name, batch_size=cfg["batch_size"])
        if name == "ligeralde2023" and cfg["projector"] is not None:
            config = config.replace(projector_dims=cfg["projector"])
        configs[name] = config
        runs = []
        for seed in range(cfg["seeds"]):
            runs.append(run_seed(config, store, seed, cfg, device, args.out / name / f"seed{seed}"))
            last = list(runs[-1]["manifolds"]["pretrained"]["layers"])[-1]
            print(f"{name} seed {seed}: " + ", ".join(
                f"{c} {runs[-1]['manifolds'][c]['layers'][last]['capacity']:.4f}" for c in CONDITIONS), flush=True)
            results["configs"][name] = {"config": config.to_dict(), "runs": runs}
            (args.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    results["wall_time_s"] = time.perf_counter() - started
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    for name, result in results["configs"].items():
        print_tables(name, configs[name], result["runs"])
    print(f"\nwall time {results['wall_time_s'] / 60:.1f} min; results in {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
