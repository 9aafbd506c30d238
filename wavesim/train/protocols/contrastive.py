"""Contrastive pre-training (Ligeralde et al. 2023) on pairs of frames within waves, and its evaluation.

By default a ResNet-18 with a 512 -> 128 projector, NT-Xent at temperature
0.5 on pairs of nearby frames of one wave (other waves are the negatives),
Adam 1e-4 with weight decay 1e-6; their own set-up (ResNet-9, a
8192-8192-8192 projector, positives one frame apart, 100 epochs) is the
``ligeralde2023`` :class:`~wavesim.train.contrastive.ContrastiveConfig`.
Then linear probes, the translation-invariance test and the capacity of
the translation manifolds in every layer, on frozen features.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import torch
from tqdm.auto import tqdm

from ...errors import ParameterError
from ...validate import check_int
from ..clip_sets import pair_batches
from ..contrastive import ContrastiveConfig, contrastive_config
from ..evaluate import digits_probe, translation_invariance, translation_manifolds
from ..losses import nt_xent_loss
from ..models import ContrastiveNet, shuffle_weights
from ..run_log import RunLog
from ..settings import TrainSettings, resolve_device
from .conditions import CONTRASTIVE_CONDITIONS, SHUFFLED_WEIGHTS

__all__ = ["contrastive_evaluation", "contrastive_experiment", "control_manifolds", "pretrain_contrastive",
           "pretrain_epochs_updates"]


def pretrain_contrastive(net: ContrastiveNet, batches, updates: int, settings: TrainSettings, log: RunLog, *,
                         temperature: float = 0.5, log_every: int = 10, progress: bool = False) -> None:
    """``updates`` Adam steps of NT-Xent on pairs of frames within waves."""
    updates = check_int("updates", updates, low=1, what="Adam steps")
    optimizer = settings.optimizer(net)
    running = []
    for update in tqdm(range(1, updates + 1), desc="contrastive", disable=not progress, leave=False):
        anchor, positive = next(batches)
        net.train()
        loss = nt_xent_loss(net(anchor), net(positive), temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running.append(float(loss.detach()))
        if update % log_every == 0 or update == updates:
            log.add(phase="pretrain", metric="NT-Xent", update=update, value=float(np.mean(running)))
            running = []


def contrastive_evaluation(net: ContrastiveNet, seed: int = 0, pixel_reference: bool = True, *,
                           n_exemplars: int = 24, n_translations: int = 25) -> dict[str, Any]:
    """Digit linear probe, translation test and per-layer translation manifolds of the frozen backbone.

    ``pixel_reference`` also scores raw pixels on the translation test (the
    same for every network of a seed, and slow on a CPU). ``manifolds`` is
    :func:`~wavesim.train.evaluate.translation_manifolds` of the backbone's
    layers (capacity, radius and dimension of the translation manifolds).
    ``n_exemplars`` and ``n_translations`` set the translation set of both.
    """
    net.eval()
    features = _feature_fn(net)
    digits = digits_probe(features, seed=seed)
    translation_set = dict(seed=seed, n_exemplars=n_exemplars, n_translations=n_translations)
    translation = translation_invariance(features, pixel_reference=pixel_reference, **translation_set)
    manifolds = translation_manifolds(net.layer_responses, **translation_set)
    return {"digits": digits, "translation": translation, "manifolds": manifolds}


def control_manifolds(net: ContrastiveNet, seed: int = 0, **manifold_kwargs) -> dict[str, dict[str, Any]]:
    """Translation manifolds of the controls of a pre-trained contrastive network, per condition.

    ``random_init`` is a fresh :class:`~wavesim.train.models.ContrastiveNet`
    of ``net``'s configuration drawn from ``torch.Generator().manual_seed(seed)`` (as
    :func:`contrastive_experiment` draws it); ``shuffled_entries`` and ``shuffled_filters`` are ``net``'s
    weights shuffled with ``seed`` (:func:`~wavesim.train.models.shuffle_weights`).

    Parameters
    ----------
    net : ContrastiveNet
        The pre-trained network; not modified.
    seed : int
        Seed of the fresh weights, the shuffles and the translation set.
    **manifold_kwargs
        Passed to :func:`~wavesim.train.evaluate.translation_manifolds` (n_exemplars, n_translations...).

    Returns
    -------
    dict
        Condition name -> :func:`~wavesim.train.evaluate.translation_manifolds` result.
    """
    device = next(net.parameters()).device
    fresh = ContrastiveNet(**net.config, generator=torch.Generator().manual_seed(seed))
    controls = {"random_init": fresh.to(device)}
    for condition, scope in SHUFFLED_WEIGHTS.items():
        controls[condition] = shuffle_weights(net, seed, scope=scope)
    return {condition: translation_manifolds(control.layer_responses, seed=seed, **manifold_kwargs)
            for condition, control in controls.items()}


def _feature_fn(net: ContrastiveNet) -> Callable:
    device = next(net.parameters()).device

    def features(images):
        with torch.no_grad():
            return net.features(torch.as_tensor(images, dtype=torch.float32, device=device))

    return features


def pretrain_epochs_updates(pairs, epochs: int) -> int:
    """Updates of ``epochs`` passes over a :class:`~wavesim.data.WavePairs` (its batches per epoch, times ``epochs``)."""
    epochs = check_int("epochs", epochs, low=1)
    per_epoch = len(pairs)
    if per_epoch < 1:
        raise ParameterError(f"the pairs make no batch in an epoch ({pairs.n_items} waves, batch_size "
                             f"{pairs.batch_size}, drop_last={pairs.drop_last}); lower the batch size.")
    return epochs * per_epoch


def contrastive_experiment(condition: str, pairs: Iterable, *, updates: int | None = None,
                           settings: TrainSettings | None = None, config: ContrastiveConfig | None = None,
                           log: RunLog | None = None, pixel_reference: bool = False,
                           progress: bool = False) -> dict[str, Any]:
    """One run of the contrastive protocol under ``condition``: pre-train (or not), then evaluate.

    Parameters
    ----------
    condition : str
        One of :data:`CONTRASTIVE_CONDITIONS`.
    pairs : WavePairs or iterable of pair batches
        Built with ``config.pair_options()`` for the set-up's positives.
    updates : int, optional
        Adam steps; None: ``config.epochs`` passes over ``pairs``.
    settings : TrainSettings, optional
        Default: ``config.settings()`` (its learning rate, weight decay and batch size).
    config : ContrastiveConfig, optional
        The set-up (network, temperature...); default ``contrastive_config("default")``.
    """
    if condition not in CONTRASTIVE_CONDITIONS:
        raise ParameterError(f"condition must be one of {CONTRASTIVE_CONDITIONS}, got {condition!r}.")
    config = config or contrastive_config("default")
    if updates is None:
        if config.epochs is None:
            raise ParameterError("give updates, or a config with epochs (e.g. contrastive_config('ligeralde2023')).")
        updates = pretrain_epochs_updates(pairs, config.epochs)
    settings = settings or config.settings()
    log = log if log is not None else RunLog()
    device = resolve_device(settings.device)
    net = ContrastiveNet.from_config(config, generator=torch.Generator().manual_seed(settings.seed)).to(device)
    if condition != "random_init":
        pretrain_contrastive(net, pair_batches(pairs, device), updates, settings, log, temperature=config.temperature,
                             progress=progress)
        if condition in SHUFFLED_WEIGHTS:
            net = shuffle_weights(net, settings.seed, scope=SHUFFLED_WEIGHTS[condition])
    result = contrastive_evaluation(net, seed=settings.seed, pixel_reference=pixel_reference)
    result.update(condition=condition, seed=settings.seed, config=config.to_dict(),
                  pretrain_updates=0 if condition == "random_init" else updates)
    return result
