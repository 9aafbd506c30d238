"""Ligeralde et al. (2023) as their code ran it: ``wavesim reproduce ligeralde2023 --size cpu|paper --out DIR``.

Ligeralde, Kuang, Yerxa, Pitcher, Feller & Chung (2023, arXiv:2312.02791)
pre-train a ResNet-9 with a SimCLR loss on retinal waves and find that its
layers separate translation manifolds better than a random network's, and
better than networks pre-trained on waves whose frames were shuffled in
time, in space, or both. This command runs that comparison on wavesim
waves, as their released code (chung-neuroai-lab/retinal_waves_learning at
f39aa6d) runs it:

* waves: wavesim's mouse waves at 32 x 32 pixels (theirs: unreleased
  recordings), z-scored per pixel and min-max scaled over the recording;
  10 % of the waves held out for a validation loss;
* pre-training (:mod:`wavesim.train.wave_batches`, :mod:`wavesim.train.wave_training`):
  batches of whole consecutive waves of about 3,000 frames in one forward
  pass, both neighbouring frames positive, other waves' frames the
  negatives, temperature 0.5; Adam, learning rate 1e-4, weight decay 1e-6,
  100 epochs; their ResNet-9 and 8192-8192-8192 projector;
* conditions, per seed (42, 43, 44 as theirs): pre-trained on the waves;
  pre-trained on waves shuffled in time, in space, and both (their
  controls); random initialisation (the same initial weights); the
  pre-trained weights shuffled (wavesim's controls, entries and filters);
* analysis (:mod:`wavesim.train.layer_manifolds`, :mod:`wavesim.train.cifar`):
  50 CIFAR-100 test images (``--cifar100 PATH``; else crops of the photographs
  scikit-image ships), each under 20 random shifts of at most 3 px; the
  mean-field capacity, radius and dimension at the input and every ReLU
  and Linear layer, n_t = 500.

``--size cpu`` runs the same protocol smaller (a narrower ResNet-9 and
projector, fewer waves and epochs) in under an hour on two cores;
``--size paper`` at their sizes, for a GPU. Every batch and every analysis
leaves the run in a state it resumes from exactly: ``--max-minutes M``
stops at the first clean point after M minutes (exit status 75, "run again
with --resume"). Results go to ``DIR/results.json``, tables to
``DIR/tables.md`` and a figure of capacity against layer to ``DIR/capacity.png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ._progress import EXIT_RESUME, Budget, RunFolder

#: The two sizes. ``paper``: theirs (README command, configs/default_configs.py, submit_experiments_command_line.sh).
SIZES = {
    "cpu": {
        # a few dozen waves of about 30 frames: 2 movies of 30 min at 0.5 s per frame
        "waves": {"movies": 2, "duration_s": 1800.0, "frame_period_s": 0.5},
        "encoder_width": 16, "projector_dims": (512, 512, 512), "epochs": 15, "frame_limit": 120,
        "pair_batch_size": 16, "seeds": (42, 43, 44),
        "images": 50, "translations": 20, "n_t": 500, "max_features": 5000,
    },
    "paper": {
        # about 20,000 frames of waves (their recording: 20,000 frames) of 25-180 frames each
        "waves": {"movies": 24, "duration_s": 1000.0, "frame_period_s": 0.2},
        "encoder_width": 64, "projector_dims": (8192, 8192, 8192), "epochs": 100, "frame_limit": 3000,
        "pair_batch_size": 256, "seeds": (42, 43, 44),
        "images": 50, "translations": 20, "n_t": 500, "max_features": 5000,
    },
}
#: Simulated waves: the mouse preset on a 3.2 mm square, 100 um pixels (32 x 32 frames), binary readout.
WAVE_PRESET, FIELD_UM, UM_PER_PIXEL, WARMUP_S, WAVE_SEED = "mouse", 3200.0, 100.0, 900.0, 2023
#: Their TRAIN_PROP in the README's command.
TRAIN_FRACTION = 0.9
#: Pre-training conditions: network name -> data shuffle.
TRAINED = {"pretrained": "unshuffled", "temporal_shuffle": "temporal", "spatial_shuffle": "spatial",
           "spatiotemporal_shuffle": "spatiotemporal"}
#: Every network analysed, in the tables' order.
NETWORKS = ("pretrained", "temporal_shuffle", "spatial_shuffle", "spatiotemporal_shuffle", "random_init",
            "shuffled_entries", "shuffled_filters")
_WEIGHT_SHUFFLES = {"shuffled_entries": "entries", "shuffled_filters": "filters"}
# Salts of the seeds derived from a run's seed.
_SPLIT, _SHUFFLE, _IMAGES = 1, 2, 3


def _add(parser: argparse.ArgumentParser, *flags, **kwargs) -> None:
    """Add an option unless the ``reproduce`` command already gives it to every paper (--size, --out, ...)."""
    if not any(flag in parser._option_string_actions for flag in flags):
        parser.add_argument(*flags, **kwargs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``wavesim reproduce ligeralde2023``."""
    _add(parser, "--size", choices=tuple(SIZES), default="cpu",
         help="cpu: the same protocol smaller, under an hour on two cores; paper: their sizes (use a GPU) "
              "(default %(default)s)")
    _add(parser, "--out", type=Path, required=True, help="folder of the run: results.json, tables.md, capacity.png")
    _add(parser, "--resume", action="store_true", help="carry on the run in --out where it stopped")
    _add(parser, "--max-minutes", type=float, default=None,
         help="stop at the first clean point after this many minutes (exit status 75); carry on with --resume")
    _add(parser, "--device", default="auto",
         help="auto (a GPU where there is one), cpu or cuda (default %(default)s)")
    _add(parser, "--cifar100", type=Path, default=None, metavar="PATH",
         help="CIFAR-100's python version (the cifar-100-python folder, its parent or its 'test' file) for the "
              "manifold images; without it, crops of scikit-image's photographs")
    _add(parser, "--waves", type=Path, nargs="+", default=None, metavar="STORE",
         help="wavesim stores to pre-train on instead of the simulated mouse waves")
    _add(parser, "--seeds", type=int, nargs="+", default=None, help="seeds (default: theirs, 42 43 44)")
    _add(parser, "--encoder", choices=("resnet9", "resnet18", "resnet50"), default="resnet9",
         help="resnet9: theirs in the README's command; resnet18, resnet50: torchvision's, as their "
              "sweeps use them (the --size sets only the ResNet-9's width) (default %(default)s)")
    _add(parser, "--batching", choices=("waves", "pairs"), default="waves",
         help="waves: their batches of whole waves in one forward pass; pairs: wavesim's earlier pairs, "
              "one per wave, NT-Xent on two forward passes (default %(default)s)")
    _add(parser, "--save-weights", action="store_true",
         help="keep every pre-trained network as a wavesim checkpoint in DIR/weights")


def _settings(args, size: dict) -> dict:
    """What must stay the same for a run to be resumed (JSON-able)."""
    return {"paper": "ligeralde2023", "size": args.size, "size_values": {k: list(v) if isinstance(v, tuple) else v
                                                                           for k, v in size.items()},
            "seeds": list(args.seeds or size["seeds"]), "batching": args.batching, "encoder": args.encoder,
            "cifar100": None if args.cifar100 is None else str(args.cifar100),
            "waves": None if args.waves is None else [str(p) for p in args.waves]}


def _generator(*words: int):
    import torch

    return torch.Generator().manual_seed(int(np.random.SeedSequence(list(words)).generate_state(1)[0]))


def _config(size: dict, encoder: str):
    from ..train.contrastive import contrastive_config

    width = size["encoder_width"] if encoder == "resnet9" else None
    return contrastive_config("ligeralde2023", encoder=encoder, encoder_width=width,
                              projector_dims=tuple(size["projector_dims"]), epochs=size["epochs"])


def _wave_frames(folder: RunFolder, size: dict, args):
    """The waves, loaded once (simulated first, unless --waves gives stores) and cached as DIR/wave_frames.pt."""
    import torch

    from ..train.wave_batches import WaveFrames, load_wave_frames

    cache = folder.path / "wave_frames.pt"
    if cache.exists():
        saved = torch.load(cache, weights_only=True)
        return WaveFrames(saved["frames"], saved["wave"].numpy(), saved["time"].numpy(), saved["source"])
    stores = args.waves
    if stores is None:
        stores = [_simulate_waves(folder.path / "waves.zarr", size["waves"])]
    waves = load_wave_frames(stores)
    partial = cache.with_name(cache.name + ".partial")
    torch.save({"frames": waves.frames, "wave": torch.from_numpy(waves.wave), "time": torch.from_numpy(waves.time),
                "source": waves.source}, partial)
    partial.replace(cache)
    return waves


def _simulate_waves(path: Path, spec: dict) -> Path:
    import wavesim as ws

    from ..generate import generate_store
    from ..io.store import DatasetSpec

    run = ws.RunSpec(retina=ws.Retina(width_um=FIELD_UM, height_um=FIELD_UM, shape="rectangle"),
                     readout=ws.Readout(um_per_pixel=UM_PER_PIXEL, frame_period_s=spec["frame_period_s"]),
                     timing=ws.Timing(duration_s=spec["duration_s"], warmup_s=WARMUP_S))
    dataset = DatasetSpec(params=ws.preset(WAVE_PRESET), run=run, seed=WAVE_SEED, n_movies=spec["movies"])
    print(f"simulating {spec['movies']} movies of {spec['duration_s']:g} s of {WAVE_PRESET} waves into {path}",
          flush=True)
    generate_store(path, dataset, resume=path.exists(), progress=False)
    return path


def _image_set(args, size: dict):
    """(description, function of seed -> (P, 3, 32, 32) uint8 images)."""
    from ..train.cifar import NATURAL_PHOTOGRAPHS, natural_images, read_cifar100_test, sample_images

    if args.cifar100 is not None:
        images, _ = read_cifar100_test(args.cifar100)
        return (f"CIFAR-100 test set ({len(images)} images, {args.cifar100}): {size['images']} drawn per seed",
                lambda seed: sample_images(images, size["images"], seed))
    return (f"no --cifar100 given: {size['images']} crops of 32 x 32 px of scikit-image's photographs "
            f"({', '.join(NATURAL_PHOTOGRAPHS)}) per seed, in place of CIFAR-100",
            lambda seed: natural_images(size["images"], seed))


class _Run:
    """One invocation: the run folder, the budget, the data and the networks' analyses, seed after seed."""

    def __init__(self, args, size: dict, folder: RunFolder, budget: Budget, device):
        self.args, self.size, self.folder, self.budget, self.device = args, size, folder, budget, device
        self.config = _config(size, args.encoder)
        self.waves = None

    def analyse(self, seed: int, network: str, net, manifolds, extra: dict) -> bool:
        """Analyse ``net`` and record it; False where the budget leaves no time for it."""
        from ..train.layer_manifolds import layer_manifold_geometry

        expected = self.folder.results["timings"].get("analysis_s", 0.0)
        if self.budget.exhausted(expected):
            return False
        started = time.perf_counter()
        geometry = layer_manifold_geometry(net, manifolds, n_t=self.size["n_t"], max_features=self.size["max_features"],
                                           seed=seed, device=self.device)
        self.folder.results["timings"]["analysis_s"] = time.perf_counter() - started
        self.folder.record(seed, network, {"manifolds": geometry, **extra})
        self.budget.progress()
        last = list(geometry["layers"])[-1]
        print(f"seed {seed} {network}: capacity {geometry['layers'][last]['capacity']:.4f} at {last} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
        return True

    def trained(self, seed: int, network: str, train, validation):
        """The trainer of ``network`` after its pre-training, or None where the budget stopped it (checkpointed)."""
        import torch

        from ..train.models import ContrastiveNet
        from ..train.wave_batches import shuffle_frames
        from ..train.wave_training import WaveContrastiveTrainer, WaveTrainingSettings

        shuffle = TRAINED[network]
        index = list(TRAINED).index(network)
        train = shuffle_frames(train, shuffle, _generator(seed, _SHUFFLE, index, 0))
        validation = shuffle_frames(validation, shuffle, _generator(seed, _SHUFFLE, index, 1))
        net = ContrastiveNet.from_config(self.config, generator=_generator(seed)).to(self.device)
        settings = WaveTrainingSettings(epochs=self.config.epochs, learning_rate=self.config.learning_rate,
                                        weight_decay=self.config.weight_decay, temperature=self.config.temperature,
                                        frame_separation=self.config.frame_separation_frames,
                                        batching=self.args.batching, frame_limit=self.size["frame_limit"],
                                        pair_batch_size=self.size["pair_batch_size"], seed=seed)
        trainer = WaveContrastiveTrainer(net, train, validation, settings)
        checkpoint = self.folder.checkpoint(seed, network)
        if checkpoint.exists():
            trainer.load_state_dict(torch.load(checkpoint, map_location=self.device, weights_only=True))
        if trainer.done:
            return trainer
        print(f"seed {seed} {network}: pre-training, epoch {trainer.epoch + 1} of {settings.epochs}, "
              f"{trainer.batches_per_epoch} batches per epoch", flush=True)
        last, logged = [time.perf_counter()], [len(trainer.log)]

        def should_stop() -> bool:
            self.budget.progress()
            now = time.perf_counter()
            step_s, last[0] = now - last[0], now
            if len(trainer.log) > logged[0]:
                logged[0] = len(trainer.log)
                row = trainer.log[-1]
                validation = "" if row["validation_loss"] is None else f", validation {row['validation_loss']:.3f}"
                print(f"seed {seed} {network}: epoch {row['epoch']} loss {row['loss']:.3f}{validation}", flush=True)
            return self.budget.exhausted(step_s)

        finished = trainer.run(should_stop)
        self.budget.progress()  # the last batch of a run is not followed by a should_stop call
        partial = checkpoint.with_name(checkpoint.name + ".partial")
        torch.save(trainer.state_dict(), partial)
        partial.replace(checkpoint)
        return trainer if finished else None

    def seed(self, seed: int, manifolds) -> bool:
        """Every network of ``seed``; False where the budget stopped the run."""
        from ..train.models import ContrastiveNet, shuffle_weights
        from ..train.wave_batches import split_waves

        folder = self.folder
        if not folder.done(seed, "random_init"):
            net = ContrastiveNet.from_config(self.config, generator=_generator(seed)).to(self.device)
            if not self.analyse(seed, "random_init", net, manifolds, {}):
                return False
        train, validation = split_waves(self.waves, TRAIN_FRACTION, np.random.default_rng([seed, _SPLIT]))
        for network in TRAINED:
            derived = [network, *(_WEIGHT_SHUFFLES if network == "pretrained" else ())]
            if all(folder.done(seed, name) for name in derived):
                continue
            trainer = self.trained(seed, network, train, validation)
            if trainer is None:
                return False
            for name in derived:
                if folder.done(seed, name):
                    continue
                net = trainer.net if name == network else shuffle_weights(trainer.net, seed, _WEIGHT_SHUFFLES[name])
                extra = {"training": trainer.log, "trained": network, "train_waves": train.n_waves,
                         "validation_waves": validation.n_waves, "batches_per_epoch": trainer.batches_per_epoch}
                if not self.analyse(seed, name, net, manifolds, extra):
                    return False
            if self.args.save_weights:
                from ..train.checkpoint import save_checkpoint

                save_checkpoint(folder.path / "weights" / f"seed{seed}_{network}.pt", trainer.net, task="contrastive",
                                model_config=trainer.net.config, metadata={"seed": seed, "condition": network})
            folder.checkpoint(seed, network).unlink(missing_ok=True)
        return True

    def run(self) -> bool:
        from ..train.cifar import translated_images

        description, images_of = _image_set(self.args, self.size)
        print(f"manifold images: {description}", flush=True)
        self.folder.results["images"] = description
        self.waves = _wave_frames(self.folder, self.size, self.args).to(self.device)
        self.folder.results["waves"] = {"source": self.waves.source, "waves": self.waves.n_waves,
                                        "frames": int(self.waves.frames.shape[0])}
        print(f"waves: {self.waves.n_waves} waves, {self.waves.frames.shape[0]} frames ({self.waves.source})",
              flush=True)
        for seed in self.folder.results["settings"]["seeds"]:
            if all(self.folder.done(seed, name) for name in NETWORKS):
                continue
            manifolds, _ = translated_images(images_of(seed), self.size["translations"],
                                             generator=_generator(seed, _IMAGES))
            if not self.seed(seed, manifolds):
                return False
        return True


def run(args) -> int:
    """Run (or carry on) the comparison; 0 when it is complete, 75 when --max-minutes stopped it."""
    from ..train.settings import resolve_device
    from ._ligeralde_report import write_report

    if args.size not in SIZES:
        raise ParameterError(f"--size must be one of {tuple(SIZES)}, got {args.size!r}")
    size = SIZES[args.size]
    if args.seeds is not None and (not args.seeds or len(set(args.seeds)) != len(args.seeds)
                                   or min(args.seeds) < 0):
        raise ParameterError(f"--seeds must be distinct integers >= 0, got {args.seeds}")
    budget = Budget(args.max_minutes)
    folder = RunFolder(args.out, _settings(args, size), resume=args.resume)
    device = resolve_device(args.device)
    started, cpu_started = time.perf_counter(), time.process_time()
    complete = _Run(args, size, folder, budget, device).run()
    timings = folder.results["timings"]
    timings["wall_s"] = timings.get("wall_s", 0.0) + time.perf_counter() - started
    # CPU time of all this process's threads: what the run costs whatever else the machine runs
    timings["cpu_s"] = timings.get("cpu_s", 0.0) + time.process_time() - cpu_started
    timings["invocations"] = timings.get("invocations", 0) + 1
    folder.save()
    if not complete:
        print(f"stopped after {budget.elapsed_s / 60:.1f} min (--max-minutes {args.max_minutes:g}) at a clean point; "
              f"run again with --resume to carry on.", flush=True)
        return EXIT_RESUME
    print(write_report(folder.path, folder.results), flush=True)
    return 0
