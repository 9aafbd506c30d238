"""Pre-training on retinal waves and evaluation, after May et al. (2025) and Ligeralde et al. (2023).

Needs torch, scikit-image and scikit-learn (``pip install wavesim[train]``).

- ``models``: the networks: recurrent next-frame predictor, ResNet-9/18/50
  encoders, contrastive net; counting and shuffling their weights;
- ``losses``, ``weight_init`` (torch's, torchvision's and Ligeralde et al.'s
  initial weights), ``checkpoint``;
- what to train on: ``waves`` (the wave source of pre-training),
  ``clip_sets`` (fixed clip sets and the batches of wave streams),
  ``targets`` (target movies), ``folds`` (target clips in cross-validation folds);
- how to train: ``settings`` (optimiser, schedule, device), ``run_log``,
  ``contrastive`` (the named contrastive set-ups: default and
  ``ligeralde2023``), ``protocols`` (pre-training, target training,
  controls), ``resumable`` (May et al.'s early-stopping loop, resumable at
  any update), ``ddp`` (torchrun and DistributedDataParallel);
- Ligeralde et al.'s own data flow: ``wave_batches`` (whole waves, their
  batches, loss and shuffle controls), ``wave_training`` (resumable
  pre-training on them), ``cifar`` (CIFAR-100 or shipped photographs, their
  shifts) and ``layer_manifolds`` (capacity at every ReLU and Linear layer);
- ``evaluate``: probes, translation test, translation manifolds per layer,
  receptive fields, grating responses and paired t-tests;
  ``manifolds``: mean-field manifold capacity, radius and dimension.

The ``pretrain`` and ``evaluate`` commands are :mod:`wavesim.cli.train`.
The public names below import on first use, so that ``wavesim``'s command
line does not load torch until a training command runs.
"""

import importlib

_EXPORTS = {
    "RecurrentPredictor": "models",
    "ContrastiveNet": "models",
    "ResNet9": "models",
    "ResNet18": "models",
    "ResNet50": "models",
    "resnet18": "models",
    "ContrastiveConfig": "contrastive",
    "CONTRASTIVE_CONFIGS": "contrastive",
    "contrastive_config": "contrastive",
    "shuffle_weights": "models",
    "next_frame_loss": "losses",
    "nt_xent_loss": "losses",
    "corridor_movie": "targets",
    "natural_motion_movie": "targets",
    "load_video": "targets",
    "make_target_movies": "targets",
    "TargetClips": "targets",
    "split_movies": "targets",
    "target_clips": "targets",
    "TrainSettings": "settings",
    "RunLog": "run_log",
    "WaveSource": "waves",
    "ClipSet": "clip_sets",
    "make_clip_sets": "clip_sets",
    "PAPER_WAVES": "waves",
    "fit_next_frame": "protocols",
    "next_frame_experiment": "protocols",
    "contrastive_experiment": "protocols",
    "control_manifolds": "protocols",
    "digits_probe": "evaluate",
    "linear_probe": "evaluate",
    "translation_invariance": "evaluate",
    "translation_manifolds": "evaluate",
    "plot_translation_manifolds": "evaluate",
    "manifold_geometry": "manifolds",
    "empirical_capacity": "manifolds",
    "ball_capacity": "manifolds",
    "ManifoldGeometry": "manifolds",
    "next_frame_error": "evaluate",
    "paired_comparisons": "evaluate",
    "comparison_table": "evaluate",
    "activation_maximisation": "evaluate",
    "receptive_field": "evaluate",
    "receptive_field_size": "evaluate",
    "static_gratings": "evaluate",
    "grating_responses": "evaluate",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "WaveFrames": "wave_batches",
    "load_wave_frames": "wave_batches",
    "shuffle_frames": "wave_batches",
    "wave_contrastive_loss": "wave_batches",
    "WaveContrastiveTrainer": "wave_training",
    "WaveTrainingSettings": "wave_training",
    "initialise": "weight_init",
    "read_cifar100_test": "cifar",
    "translated_images": "cifar",
    "layer_manifold_geometry": "layer_manifolds",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
