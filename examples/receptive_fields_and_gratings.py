"""May et al. (2025)'s two analyses of trained next-frame networks: receptive fields and grating responses.

Run::

    python examples/receptive_fields_and_gratings.py a.pt b.pt c.pt   # checkpoints of `wavesim pretrain`, one condition
    python examples/receptive_fields_and_gratings.py --random-init 5  # 5 randomly initialised networks
    python examples/receptive_fields_and_gratings.py --quick          # small random networks, a smoke run of a minute

Receptive field: for each network, 10 clips of 10 frames optimised to
maximise the output unit at (32, 48) (activation maximisation with the
paper's regularisers), averaged over the clips and then over the networks,
as in the paper; the table gives its area (pixels above 0.1 in a 27 x 27
window around the unit) and strength (95th percentile of those pixels) per
frame. Gratings: the 120 static gratings (6 orientations x 5 spatial
frequencies x 4 phases) against a grey blank; per layer, the mean over
units of the standard deviation of each unit's change in activity across
gratings (mean +- sd over networks).

At the paper's size (64 channels, 64 x 64 frames) each network's receptive
field takes 100 forward and backward passes of 10 clips through it: use a
GPU, or --quick on a CPU.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from wavesim.train.checkpoint import load_checkpoint
from wavesim.train.evaluate import activation_maximisation, grating_responses, receptive_field_size
from wavesim.train.models import RecurrentPredictor


def networks(args, device):
    if args.checkpoints:
        for path in args.checkpoints:
            model, payload = load_checkpoint(path, device)
            if payload["task"] != "next_frame":
                raise SystemExit(f"{path} holds a {payload['task']} network, not a next-frame predictor")
            yield path, model
        return
    channels, size = (8, 32) if args.quick else (64, 64)
    for seed in range(args.random_init):
        torch.manual_seed(seed)
        yield f"random init, seed {seed}", RecurrentPredictor(hidden_channels=channels,
                                                              frame_shape=(size, size)).to(device)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", help="next-frame checkpoints, analysed as one condition")
    parser.add_argument("--random-init", type=int, default=5, help="random networks when no checkpoint is given")
    parser.add_argument("--quick", action="store_true", help="8-channel networks on 32 x 32 frames, 20 steps")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if args.quick and not args.checkpoints:
        args.random_init = min(args.random_init, 2)
    steps, trials = (20, 4) if args.quick else (100, 10)
    fields, spreads = [], []
    for name, model in networks(args, args.device):
        size = model.frame_shape
        unit = (size[0] // 2, 3 * size[1] // 4)
        result = activation_maximisation(model.logits, unit=unit, frame_shape=size, n_trials=trials, steps=steps,
                                         seed=len(fields))
        fields.append(result["clips"].mean(axis=0))
        layers = grating_responses(model.layer_responses, frame_shape=size)["layers"]
        spreads.append({layer: r["mean_std"] for layer, r in layers.items()})
        print(f"{name}: best activations " + ", ".join(f"{a:.3f}" for a in result["activation"]), flush=True)

    size = receptive_field_size(np.mean(fields, axis=0), unit)
    print(f"\nReceptive field of the output unit at {unit}, averaged over {len(fields)} networks:")
    print("| frame | " + " | ".join(str(t + 1) for t in range(len(size["area_px"]))) + " |")
    print("|---|" + "---|" * len(size["area_px"]))
    print("| area (px) | " + " | ".join(str(a) for a in size["area_px"]) + " |")
    print("| strength | " + " | ".join(f"{s:.2f}" for s in size["strength"]) + " |")
    print("\nStandard deviation of the change in activity across gratings, mean over a layer's units:")
    print("| layer | mean +- sd over networks |")
    print("|---|---|")
    for layer in spreads[0]:
        values = np.array([s[layer] for s in spreads])
        sd = values.std(ddof=1) if values.size > 1 else 0.0
        print(f"| {layer} | {values.mean():.4f} +- {sd:.4f} |")


if __name__ == "__main__":
    main()
