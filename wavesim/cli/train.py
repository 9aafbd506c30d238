"""``wavesim pretrain`` and ``wavesim evaluate``."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import ParameterError
from ._output import show_progress
from ._paths import check_output_file, check_output_folder


def _settings(args, **overrides):
    from ..train.settings import TrainSettings

    values = dict(learning_rate=args.lr, batch_size=args.batch_size, device=args.device, seed=args.seed)
    values.update(overrides)
    return TrainSettings(**values)


def _wave_config(args):
    from ..train.waves import WaveSource

    return WaveSource(wave_model=args.wave_model, wave_preset=args.wave_preset, warmup_s=args.warmup_s,
                      size_px=args.size_px, training_clips=args.training_clips,
                      validation_clips=args.validation_clips, n_retinas=args.retinas)


def _contrastive_config(args):
    """The --config set-up with the options given on the command line changed."""
    from ..train.contrastive import contrastive_config

    changes = {name: value for name, value in (
        ("encoder", args.encoder), ("stem", args.stem), ("projector_dims", args.projector_dims),
        ("frame_separation_frames", args.frame_separation), ("epochs", args.epochs),
        ("learning_rate", args.lr), ("batch_size", args.batch_size)) if value is not None}
    return contrastive_config(args.config, **changes)


def _pair_sources(args):
    """The stores (--store) or user movies (--movie) of contrastive pre-training."""
    from ..data import UserMovie

    if args.movie and args.store:
        raise ParameterError("give --store or --movie, not both (WavePairs takes either; convert one to the other's "
                             "frame shape first to mix them).")
    movie_options = (args.frame_rate_hz, args.um_per_pixel, args.train_frame_rate_hz, args.train_um_per_pixel)
    if not args.movie:
        if any(v is not None for v in movie_options):
            raise ParameterError("--frame-rate-hz, --um-per-pixel, --train-frame-rate-hz and --train-um-per-pixel "
                                 "describe a --movie; give the movie too.")
        if args.live or not args.store:
            raise ParameterError("contrastive pre-training needs a store (--store) or a movie of your own (--movie): "
                                 "its pairs come from waves detected in recorded frames.")
        return args.store
    if args.frame_rate_hz is None or args.um_per_pixel is None:
        raise ParameterError("a --movie needs its frame rate and pixel size: --frame-rate-hz HZ --um-per-pixel UM.")
    return [UserMovie(path, args.frame_rate_hz, args.um_per_pixel, train_frame_rate_hz=args.train_frame_rate_hz,
                      train_um_per_pixel=args.train_um_per_pixel) for path in args.movie]


def _stream(args, waves, shard, contrastive=None):
    """The stream of batches for --updates pre-training (no epochs, no validation): ``shard`` holds this rank and
    the world size; pairs of ``contrastive``'s set-up for contrastive pre-training."""
    from ..analysis import AnalysisParams
    from ..data import WaveClips, WavePairs

    if args.task == "contrastive":
        analysis = AnalysisParams(activity_threshold=args.activity_threshold)
        # drop_last: NT-Xent needs two pairs, and the batch norms of a projector two samples, in every batch
        return WavePairs(_pair_sources(args), batch_size=contrastive.batch_size, size_px=32, seed=args.seed,
                         analysis=analysis, drop_last=True, remainder=args.remainder, **shard,
                         **contrastive.pair_options())
    if args.live:
        return waves.live_waves(batch_size=args.batch_size, seed=args.seed, backend=args.backend, **shard)
    if not args.store:
        raise ParameterError("--updates pre-training streams its waves: give --store PATH [PATH ...] or --live.")
    return WaveClips(args.store, clip_frames=waves.clip_frames, batch_size=args.batch_size, size_px=args.size_px,
                     seed=args.seed, remainder=args.remainder, **shard)


def _epoch_sets(args, waves, shard, progress: bool):
    """Training and validation clip sets of May et al.'s epochs: from stores, or simulated from the wave source.

    Simulated sets are the same on every rank; training shares them out batch by batch.
    """
    from ..data import WaveClips

    if args.store:
        if not args.validation_store:
            raise ParameterError("with --store, give the validation waves too: --validation-store PATH [PATH ...] "
                                 "(other movies than the training ones).")
        common = dict(clip_frames=waves.clip_frames, batch_size=args.batch_size, size_px=args.size_px,
                      seed=args.seed, **shard)
        return (WaveClips(args.store, remainder=args.remainder, **common),
                # every validation clip counts once: padded repeats are left out of the validation error
                WaveClips(args.validation_store, shuffle=False, remainder="pad", **common))
    if args.validation_store:
        raise ParameterError("--validation-store goes with --store (the training waves).")
    from ..train.clip_sets import make_clip_sets

    return make_clip_sets(waves, args.seed, backend=args.backend, progress=progress)


def run_pretrain(args) -> int:
    """Pre-train; under torchrun every rank trains its share through DistributedDataParallel and rank 0 writes."""
    from ..train.ddp import process_group, rank_device, torchrun_launch

    if args.updates is not None and args.updates < 1:
        raise ParameterError(f"--updates must be at least 1 (Adam steps), got {args.updates}.")
    contrastive = None
    if args.task == "contrastive":
        contrastive = _contrastive_config(args)
        if args.updates is None and contrastive.epochs is None:
            raise ParameterError(f"contrastive pre-training with --config {args.config} runs a fixed number of steps: "
                                 f"give --updates N (or --epochs N).")
    else:
        contrastive_only = [f"--{name.replace('_', '-')}" for name in
                            ("config", "encoder", "stem", "projector_dims", "frame_separation", "epochs", "movie")
                            if getattr(args, name) not in (None, "default")]
        if contrastive_only:
            raise ParameterError(f"{', '.join(contrastive_only)} set(s) contrastive pre-training: add --task contrastive.")
        args.batch_size = 16 if args.batch_size is None else args.batch_size
        args.lr = 1e-4 if args.lr is None else args.lr
    if args.live and args.updates is None:
        raise ParameterError("--live streams new waves without end: give --updates N (without --updates, "
                             "pretrain simulates fixed training and validation sets and trains in epochs).")
    if args.retinas < 1:
        raise ParameterError(f"--retinas must be at least 1, got {args.retinas}.")
    if contrastive is None:
        _settings(args)  # checks --batch-size, --lr and --seed before any data is made
    check_output_file(args.out, "--out")
    if args.log_dir:
        check_output_folder(args.log_dir, "--log-dir")
    launch = torchrun_launch()
    device = rank_device(args.device, launch)
    if device.type == "cuda" and device.index is not None:
        import torch

        torch.cuda.set_device(device)  # LiveWaves simulates on the current device: this rank's
    is_main = launch is None or launch.is_main
    progress = is_main and show_progress(args)  # rank 0 alone draws bars
    shard = {"rank": 0, "world_size": 1} if launch is None else {"rank": launch.rank, "world_size": launch.world_size}
    # The data comes first: a world size it cannot be shared by fails on every rank before any of them waits
    # for the others.
    waves = _wave_config(args)
    if args.task == "next_frame" and args.updates is None:
        data = _epoch_sets(args, waves, shard, progress=progress)
    else:
        data = _stream(args, waves, shard, contrastive)
        if contrastive is not None and len(data) < 1:
            raise ParameterError(f"the {data.n_items} waves found make no batch of {contrastive.batch_size} pairs "
                                 f"per rank; lower --batch-size or give more movies.")
    with process_group(launch, device):
        return _pretrain(args, waves, data, device, is_main, contrastive)


def _pretrain(args, waves, data, device, is_main: bool, contrastive) -> int:
    import torch

    from ..train.checkpoint import save_checkpoint
    from ..train.clip_sets import pair_batches, wave_clip_batches
    from ..train.ddp import distribute, unwrap
    from ..train.models import ContrastiveNet, RecurrentPredictor
    from ..train.protocols import fit_next_frame, pretrain_contrastive, pretrain_epochs_updates, pretrain_next_frame
    from ..train.run_log import RunLog

    progress = is_main and show_progress(args)  # rank 0 alone draws bars
    generator = torch.Generator().manual_seed(args.seed)  # the same initial weights on every rank
    log = RunLog()
    started = time.perf_counter()
    metadata = {"seed": args.seed, "waves": waves.to_dict(),
                "data": [str(s) for s in args.store or []] or ("live" if args.live else "simulated"),
                "shuffle_frames": bool(args.shuffle_frames), "world_size": _world_size()}
    if args.task == "next_frame":
        config = {"cell": args.cell, "hidden_channels": args.hidden_channels,
                  "frame_shape": (args.size_px, args.size_px)}
        model = distribute(RecurrentPredictor(**config, generator=generator).to(device), device)
        settings = _settings(args, patience_epochs=args.patience)
        if args.updates is None:
            result = fit_next_frame(model, *data, settings, log, max_epochs=args.max_epochs, phase="pretrain",
                                    shuffle_frames=args.shuffle_frames, progress=progress)
            metadata.update(result)
            summary = (f"best validation error {result['best_validation_error']:.4g} at epoch {result['best_epoch']} "
                       f"of {len(result['validation_error_by_epoch']) - 1} ({result['stopped']}); ")
        else:
            batches = wave_clip_batches(data, device, shuffle_frames=args.shuffle_frames, seed=args.seed)
            pretrain_next_frame(model, batches, args.updates, settings, log, progress=progress)
            metadata["updates"] = args.updates
            summary = ""
    else:
        settings = contrastive.settings(device=args.device, seed=args.seed)
        updates = args.updates or pretrain_epochs_updates(data, contrastive.epochs)
        model = distribute(ContrastiveNet.from_config(contrastive, generator=generator).to(device), device)
        pretrain_contrastive(model, pair_batches(data, device), updates, settings, log,
                             temperature=contrastive.temperature, progress=progress)
        metadata.update(updates=updates, contrastive_config=args.config, contrastive=contrastive.to_dict(),
                        waves_per_epoch=data.n_items)
        if args.movie:
            metadata["data"] = [repr(source.user_movie) for source in data.sources]
        config = unwrap(model).config
        summary = f"{updates} updates ({updates / len(data):.3g} passes over {data.n_items} waves); "
    if not is_main:
        return 0
    metadata["wall_time_s"] = time.perf_counter() - started
    path = save_checkpoint(args.out, unwrap(model), task=args.task, model_config=config, metadata=metadata)
    written = log.write(args.log_dir or Path(args.out).with_suffix(""))
    print(f"{summary}checkpoint {path}; log {written['log.csv']}; curves {written['learning_curves.png']}")
    return 0


def _world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def run_evaluate(args) -> int:
    from ..train.checkpoint import build_model, load_checkpoint
    from ..train.protocols import contrastive_evaluation, fit_next_frame
    from ..train.run_log import RunLog
    from ..train.settings import resolve_device

    if (args.checkpoint is None) == (args.random_init is None):
        raise ParameterError("give a checkpoint, or --random-init TASK, but not both.")
    if args.checkpoint is not None and (args.config != "default" or args.encoder or args.stem):
        raise ParameterError("--config, --encoder and --stem build a --random-init network; a checkpoint "
                             "carries its own.")
    if args.epochs < 1:
        raise ParameterError(f"--epochs must be at least 1, got {args.epochs}.")
    _settings(args)
    out = check_output_folder(args.out, "--out")
    device = resolve_device(args.device)
    if args.random_init:
        import torch

        model_config = {}
        if args.random_init == "contrastive":
            from ..train.contrastive import contrastive_config

            changes = {name: getattr(args, name) for name in ("encoder", "stem") if getattr(args, name)}
            model_config = contrastive_config(args.config, **changes).model_config()
        elif args.config != "default" or args.encoder or args.stem:
            raise ParameterError("--config, --encoder and --stem choose a contrastive network: use --random-init "
                                 "contrastive.")
        # the weights contrastive_experiment and control_manifolds draw for random_init of this seed
        generator = torch.Generator().manual_seed(args.seed)
        task, source = args.random_init, "random init"
        model = build_model(task, model_config, generator=generator).to(device)
    else:
        model, payload = load_checkpoint(args.checkpoint, device)
        task, source = payload["task"], str(args.checkpoint)
    log = RunLog()
    started = time.perf_counter()
    if task == "next_frame":
        from ..train.targets import target_clips

        train, validation = target_clips(args.target, n_movies=args.movies, n_frames=args.frames, size_px=args.size_px,
                                         seed=args.seed, validation_fraction=0.2)
        result = fit_next_frame(model, train, validation, _settings(args), log, max_epochs=args.epochs,
                                progress=show_progress(args))
        result["target"] = args.target
    else:
        from ..train.evaluate import plot_translation_manifolds
        from ..train.protocols import control_manifolds

        translation_set = dict(n_exemplars=args.exemplars, n_translations=args.shifts)
        result = contrastive_evaluation(model, seed=args.seed, **translation_set)
        # The capacity of the translation manifolds means something only against the controls of this network.
        by_condition = {"random_init" if args.random_init else "pretrained": result["manifolds"]}
        if not args.random_init:
            result["manifold_controls"] = control_manifolds(model, seed=args.seed, **translation_set)
            by_condition.update(result["manifold_controls"])
    result.update(task=task, weights=source, wall_time_s=time.perf_counter() - started)
    out.mkdir(parents=True, exist_ok=True)  # only now: a refused run leaves no folder behind
    (out / "metrics.json").write_text(json.dumps(result, indent=2, default=float))
    if log.rows:
        log.write(out)
    if task != "next_frame":
        plot_translation_manifolds(by_condition, out / "translation_manifolds.png")
    print(json.dumps(result, indent=2, default=float))
    return 0


def _common(parser, by_task=False) -> None:
    if by_task:
        # None: 16 and 1e-4 for next-frame, the contrastive config's (256 and 1e-4) for contrastive
        parser.add_argument("--batch-size", type=int, default=None,
                            help="clips or pairs per update (default 16 next-frame, the --config's for contrastive: "
                                 "256)")
        parser.add_argument("--lr", type=float, default=None,
                            help="Adam learning rate (default 1e-4; for contrastive the --config's, 1e-4)")
    else:
        parser.add_argument("--batch-size", type=int, default=16, help="clips or pairs per update (default %(default)s)")
        parser.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (default %(default)g)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights, the data order, simulated waves, targets and probes "
                             "(default %(default)s)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ... (default %(default)s)")
    parser.add_argument("--size-px", type=int, default=64,
                        help="frame size of next-frame clips, pixels (default %(default)s)")


def _network_choice(group, prefix="") -> None:
    from ..train.contrastive import CONTRASTIVE_CONFIGS, ENCODER_NAMES, STEM_NAMES

    group.add_argument("--config", choices=tuple(CONTRASTIVE_CONFIGS), default="default",
                       help=f"{prefix}contrastive set-up: default (ResNet-18, 512-128 projector) or ligeralde2023 "
                            f"(their code's: ResNet-9, 8192-8192-8192 batch-normed projector, positives 1 frame "
                            f"apart, Adam 1e-4, 100 epochs) (default %(default)s)")
    group.add_argument("--encoder", choices=ENCODER_NAMES, default=None,
                       help=f"{prefix}encoder instead of the config's")
    group.add_argument("--stem", choices=STEM_NAMES, default=None,
                       help=f"{prefix}stem of a ResNet-18 or -50: cifar (3x3, stride 1) or imagenet (7x7 stride 2 and a "
                            f"max-pool, as torchvision's and Ligeralde et al.'s code) (default: the config's, which "
                            f"is imagenet, theirs)")


def register(subparsers) -> None:
    from ..train.waves import PAPER_MAX_EPOCHS, PAPER_WAVES, WaveSource

    defaults = WaveSource()
    p = subparsers.add_parser(
        "pretrain",
        help="pre-train a network on waves (next-frame as May et al. 2025, or contrastive)",
        description="Next-frame pre-training follows May et al. (2025) by default: fixed training and validation "
                    "sets of 11-frame 64 x 64 wave clips (simulated from --wave-model/--wave-preset, or read from "
                    "--store and --validation-store), batches of 16, Adam 1e-4, summed squared error, a "
                    "validation-only epoch 0, early stopping after --patience epochs without a better validation "
                    "error, the best weights kept and saved. --updates N instead streams waves for N steps. Under "
                    "'torchrun --nproc_per_node N' every process trains its own share of the waves on its own "
                    "device with DistributedDataParallel, and rank 0 writes the checkpoint and the log.")
    p.add_argument("--task", choices=("next_frame", "contrastive"), default="next_frame",
                   help="next-frame prediction (May et al. 2025) or contrastive pre-training (default %(default)s)")
    p.add_argument("--wave-model", default=PAPER_WAVES["wave_model"],
                   help="registered wave model of the waves (default %(default)s)")
    p.add_argument("--wave-preset", default=None,
                   help=f"preset of --wave-model (default: {PAPER_WAVES['wave_preset']} for the paper's "
                        f"{PAPER_WAVES['wave_model']} waves, else the model's default preset)")
    p.add_argument("--training-clips", type=int, default=defaults.training_clips,
                   help="clips in the simulated training set (default %(default)s)")
    p.add_argument("--validation-clips", type=int, default=defaults.validation_clips,
                   help="clips in the simulated validation set (default %(default)s)")
    p.add_argument("--retinas", type=int, default=defaults.n_retinas,
                   help="retinas simulated together (default %(default)s)")
    p.add_argument("--warmup-s", type=float, default=None,
                   help="warm-up of simulated waves, s (default: the wave model's; 0 for the paper's single waves)")
    p.add_argument("--store", nargs="+", default=None, help="wavesim stores of training waves")
    p.add_argument("--validation-store", nargs="+", default=None, help="wavesim stores of validation waves")
    p.add_argument("--max-epochs", type=int, default=PAPER_MAX_EPOCHS,
                   help="epochs at most (next_frame) (default %(default)s)")
    p.add_argument("--patience", type=int, default=5,
                   help="epochs without improvement before stopping (default %(default)s)")
    p.add_argument("--updates", type=int, default=None,
                   help="stream waves for this many steps instead of epochs (required for contrastive and --live)")
    p.add_argument("--live", action="store_true", help="with --updates: simulate the waves while training")
    p.add_argument("--backend", default="auto", help="backend of simulated waves (default %(default)s)")
    p.add_argument("--cell", choices=("rnn", "gru", "peephole_lstm", "lstm"), default="rnn",
                   help="recurrent cell (next_frame) (default %(default)s)")
    p.add_argument("--hidden-channels", type=int, default=64,
                   help="channels of the recurrent layers (next_frame) (default %(default)s)")
    p.add_argument("--shuffle-frames", action="store_true", help="control: shuffle each clip's frames (next_frame)")
    p.add_argument("--remainder", choices=("error", "drop", "pad"), default="error",
                   help="under torchrun, clips or waves of --store that do not divide evenly among the ranks: "
                        "refuse the run, leave them out, or repeat some so every rank takes as many steps "
                        "(default %(default)s)")
    c = p.add_argument_group("contrastive set-up (--task contrastive)")
    _network_choice(c)
    c.add_argument("--projector-dims", default=None,
                   help="widths of the projector's layers, e.g. 8192-8192-8192 (default: the config's)")
    c.add_argument("--frame-separation", type=int, default=None,
                   help="positives exactly this many frames from their anchor within a wave (default: the config's; "
                        "ligeralde2023: 1; default: anywhere up to 2 frames)")
    c.add_argument("--epochs", type=int, default=None,
                   help="passes over the waves, one pair per wave each (default: the config's, ligeralde2023: 100); "
                        "--updates overrides")
    c.add_argument("--movie", nargs="+", default=None,
                   help="calcium-imaging movies of your own (TIFF stack, .npy or zarr array of shape (T, H, W)) "
                        "instead of --store")
    c.add_argument("--frame-rate-hz", type=float, default=None, help="frame rate of the --movie, Hz")
    c.add_argument("--um-per-pixel", type=float, default=None, help="pixel size of the --movie, um")
    c.add_argument("--train-frame-rate-hz", type=float, default=None,
                   help="resample the --movie to this frame rate, Hz (e.g. that of the waves you compare with)")
    c.add_argument("--train-um-per-pixel", type=float, default=None,
                   help="resample the --movie to this pixel size, um")
    c.add_argument("--activity-threshold", type=float, default=None,
                   help="wave detection: a pixel is active above this value (stored units: 0/1 binary, 0..255 "
                        "calcium and --movie frames after scaling; default 0 binary, 127 otherwise)")
    p.add_argument("--out", required=True, help="checkpoint file to write")
    p.add_argument("--log-dir", default=None, help="folder of the CSV/JSON log and curves (default: beside --out)")
    _common(p, by_task=True)
    p.set_defaults(func=run_pretrain)

    e = subparsers.add_parser(
        "evaluate", help="evaluate a checkpoint: next-frame target training, or probes and translation manifolds",
        description="A next-frame checkpoint is trained on a target (May et al. 2025). A contrastive one gets the "
                    "digits linear probe, the translation test and the mean-field capacity, radius and dimension of "
                    "the translation manifolds in every layer (Ligeralde et al. 2023), for the checkpoint and for "
                    "its controls (random init, shuffled entries, shuffled filters); metrics.json holds them all "
                    "and translation_manifolds.png plots them against layer.")
    e.add_argument("checkpoint", nargs="?", help="checkpoint from wavesim pretrain")
    e.add_argument("--random-init", choices=("next_frame", "contrastive"), default=None,
                   help="evaluate a randomly initialised network of this task instead of a checkpoint")
    e.add_argument("--target", default="corridor",
                   help="corridor, natural, a .npy video or a folder of frames (default %(default)s)")
    e.add_argument("--epochs", type=int, default=1, help="target training epochs (next_frame) (default %(default)s)")
    e.add_argument("--movies", type=int, default=20, help="target movies to make (next_frame) (default %(default)s)")
    e.add_argument("--frames", type=int, default=60, help="frames per target movie (next_frame) (default %(default)s)")
    e.add_argument("--exemplars", type=int, default=24,
                   help="images of the translation test and manifolds (contrastive) (default %(default)s)")
    e.add_argument("--shifts", type=int, default=25,
                   help="shifts of each image in the translation test and manifolds (contrastive) "
                        "(default %(default)s)")
    _network_choice(e, "with --random-init contrastive: ")
    e.add_argument("--out", required=True,
                   help="folder for metrics.json, the log and the curves (next_frame) or translation_manifolds.png "
                        "(contrastive)")
    _common(e)
    e.set_defaults(func=run_evaluate)

