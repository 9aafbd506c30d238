"""``wavesim pretrain`` and ``wavesim evaluate``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..errors import ParameterError
from ._paths import check_output_file, check_output_folder


def _settings(args, **overrides):
    from ..train.protocols import TrainSettings

    values = dict(learning_rate=args.lr, batch_size=args.batch_size, device=args.device, seed=args.seed)
    values.update(overrides)
    return TrainSettings(**values)


def _wave_source(args):
    from ..data import LiveWaves, WaveClips, WavePairs

    size = args.size_px
    if args.task == "contrastive":
        if args.live:
            raise ParameterError("contrastive pre-training needs a store: its pairs come from waves detected in stored movies.")
        return WavePairs(args.store, batch_size=args.batch_size, size_px=32, seed=args.seed)
    if args.live:
        n_retinas = max(args.batch_size, args.live_retinas)
        n_retinas -= n_retinas % args.batch_size
        return LiveWaves(n_retinas=n_retinas, batch_size=args.batch_size, clip_frames=11, size_px=size,
                         backend=args.backend, seed=args.seed, warmup_s=args.warmup_s)
    return WaveClips(args.store, clip_frames=11, batch_size=args.batch_size, size_px=size, seed=args.seed)


def run_pretrain(args) -> int:
    from ..train.checkpoint import save_checkpoint
    from ..train.models import ContrastiveNet, RecurrentPredictor
    from ..train.protocols import (RunLog, pair_batches, pretrain_contrastive, pretrain_next_frame, resolve_device,
                            wave_clip_batches)

    import torch

    if not args.live and not args.store:
        raise ParameterError("give the waves: --store PATH [PATH ...] or --live.")
    if args.updates < 1:
        raise ParameterError(f"--updates must be at least 1 (Adam steps), got {args.updates}.")
    if args.live_retinas < 1:
        raise ParameterError(f"--live-retinas must be at least 1, got {args.live_retinas}.")
    _settings(args)  # checks --batch-size, --lr and --seed before any data is made
    check_output_file(args.out, "--out")
    if args.log_dir:
        check_output_folder(args.log_dir, "--log-dir")
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    log = RunLog()
    started = time.perf_counter()
    source = _wave_source(args)
    if args.task == "next_frame":
        config = {"cell": args.cell, "hidden_channels": args.hidden_channels}
        model = RecurrentPredictor(**config).to(device)
        batches = wave_clip_batches(source, device, shuffle_frames=args.shuffle_frames, seed=args.seed)
        pretrain_next_frame(model, batches, args.updates, _settings(args), log, progress=True)
    else:
        config = {}
        model = ContrastiveNet().to(device)
        settings = _settings(args, weight_decay=1e-6)
        pretrain_contrastive(model, pair_batches(source, device), args.updates, settings, log, progress=True)
    metadata = {"updates": args.updates, "seed": args.seed, "data": [str(s) for s in args.store or []] or "live",
                "shuffle_frames": bool(getattr(args, "shuffle_frames", False)),
                "wall_time_s": time.perf_counter() - started}
    path = save_checkpoint(args.out, model, task=args.task, model_config=config, metadata=metadata)
    written = log.write(args.log_dir or Path(args.out).with_suffix(""))
    print(f"checkpoint {path}; log {written['log.csv']}; curves {written['learning_curves.png']}")
    return 0


def run_evaluate(args) -> int:
    from ..train.checkpoint import build_model, load_checkpoint
    from ..train.protocols import RunLog, contrastive_evaluation, resolve_device, train_next_frame_target

    if (args.checkpoint is None) == (args.random_init is None):
        raise ParameterError("give a checkpoint, or --random-init TASK, but not both.")
    if args.epochs < 1:
        raise ParameterError(f"--epochs must be at least 1, got {args.epochs}.")
    _settings(args)
    out = check_output_folder(args.out, "--out")
    device = resolve_device(args.device)
    if args.random_init:
        import torch

        torch.manual_seed(args.seed)
        task, model, source = args.random_init, build_model(args.random_init, {}).to(device), "random init"
    else:
        model, payload = load_checkpoint(args.checkpoint, device)
        task, source = payload["task"], str(args.checkpoint)
    log = RunLog()
    started = time.perf_counter()
    if task == "next_frame":
        from ..train.targets import target_clips

        train, validation = target_clips(args.target, n_movies=args.movies, n_frames=args.frames, size_px=args.size_px,
                                         seed=args.seed, validation_fraction=0.2)
        result = train_next_frame_target(model, train, validation, _settings(args), log, max_epochs=args.epochs,
                                         progress=True)
        result["target"] = args.target
    else:
        result = contrastive_evaluation(model, seed=args.seed)
    result.update(task=task, weights=source, wall_time_s=time.perf_counter() - started)
    out.mkdir(parents=True, exist_ok=True)  # only now: a refused run leaves no folder behind
    (out / "metrics.json").write_text(json.dumps(result, indent=2, default=float))
    if log.rows:
        log.write(out)
    print(json.dumps(result, indent=2, default=float))
    return 0


def _common(parser) -> None:
    parser.add_argument("--batch-size", type=int, default=16, help="clips or pairs per update (default 16)")
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (default 1e-4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ... (default auto)")
    parser.add_argument("--size-px", type=int, default=64, help="frame size of next-frame clips (default 64)")


def register(subparsers) -> None:
    p = subparsers.add_parser("pretrain", help="pre-train a network on waves (next-frame or contrastive)",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--task", choices=("next_frame", "contrastive"), default="next_frame")
    p.add_argument("--store", nargs="+", default=None, help="wavesim stores to read waves from")
    p.add_argument("--live", action="store_true", help="simulate the waves while training (next_frame only)")
    p.add_argument("--backend", default="auto", help="backend of --live")
    p.add_argument("--live-retinas", type=int, default=256, help="retinas simulated at once with --live")
    p.add_argument("--warmup-s", type=float, default=900.0, help="warm-up of --live retinas, s")
    p.add_argument("--updates", type=int, default=1000, help="optimiser updates")
    p.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="rnn", help="recurrent cell (next_frame)")
    p.add_argument("--hidden-channels", type=int, default=64, help="channels of the recurrent layers (next_frame)")
    p.add_argument("--shuffle-frames", action="store_true", help="control: shuffle each clip's frames (next_frame)")
    p.add_argument("--out", required=True, help="checkpoint file to write")
    p.add_argument("--log-dir", default=None, help="folder of the CSV/JSON log and curves (default: beside --out)")
    _common(p)
    p.set_defaults(func=run_pretrain)

    e = subparsers.add_parser("evaluate", help="evaluate a checkpoint: next-frame target training, or probes",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    e.add_argument("checkpoint", nargs="?", help="checkpoint from wavesim pretrain")
    e.add_argument("--random-init", choices=("next_frame", "contrastive"), default=None,
                   help="evaluate a randomly initialised network of this task instead of a checkpoint")
    e.add_argument("--target", default="corridor", help="corridor, natural, a .npy video or a folder of frames")
    e.add_argument("--epochs", type=int, default=1, help="target training epochs (next_frame)")
    e.add_argument("--movies", type=int, default=20, help="target movies to make (next_frame)")
    e.add_argument("--frames", type=int, default=60, help="frames per target movie (next_frame)")
    e.add_argument("--out", required=True, help="folder for metrics.json, the log and the curves")
    _common(e)
    e.set_defaults(func=run_evaluate)

