"""Next-frame prediction (May, Dauphin & Gjorgjieva 2025): pre-training, target training and one experiment.

A recurrent convolutional predictor sees 10 frames and predicts the 11th;
loss the squared error summed over pixels, averaged over clips; Adam,
learning rate 1e-4, batch 16; an epoch 0 that only measures the validation
error, then epochs until 5 in a row bring no better validation error, and
the best weights are kept (:func:`fit_next_frame`, for the waves and for
the target alike). Their summed loss over a batch and wavesim's mean over
its clips differ by the constant batch size, which Adam's normalised steps
ignore (but for its epsilon).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from ...errors import ParameterError
from ...validate import check_int
from ..clip_sets import EpochBatches, clips_of, shuffle_clip_frames, wave_clip_batches
from ..ddp import share_buffers, sum_over_ranks, unwrap
from ..losses import next_frame_loss
from ..models import RecurrentPredictor, shuffle_weights
from ..run_log import RunLog
from ..settings import TrainSettings, resolve_device
from ..waves import PAPER_MAX_EPOCHS
from .conditions import NEXT_FRAME_CONDITIONS, SHUFFLED_WEIGHTS

__all__ = ["fit_next_frame", "next_frame_experiment", "next_frame_step", "next_frame_validation",
           "pretrain_next_frame"]


def next_frame_step(model, optimizer, clips: torch.Tensor) -> float:
    """One update on (B, 11, H, W) clips: frames 0-9 in, frame 10 the target."""
    model.train()
    prediction = model(clips[:, :-1])
    loss = next_frame_loss(prediction, clips[:, -1:])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def next_frame_validation(model, batches: Iterable[torch.Tensor], device: torch.device, *,
                          shuffle_frames_seed: int | None = None) -> float:
    """Mean next-frame loss over validation batches of (B, T, H, W) clips (eval mode).

    With ``shuffle_frames_seed`` each clip's frames are shuffled first, the
    same way at every call. With ``model`` in DistributedDataParallel every
    rank must call this together: ``batches`` are the rank's share, and the
    error is that of all the ranks' clips, with rank 0's batch-norm statistics.
    """
    # Under DDP each rank validates its share with the bare network (no collective per batch, so shares may
    # differ in length) and the sums are added up over the ranks: every rank gets the same error.
    share_buffers(model)
    net = unwrap(model)
    net.eval()
    generator = torch.Generator().manual_seed(shuffle_frames_seed) if shuffle_frames_seed is not None else None
    total, n = 0.0, 0
    for clips in batches:
        clips = clips_of(clips)
        if generator is not None:
            clips = shuffle_clip_frames(clips, generator)
        clips = clips.to(device)
        total += float(next_frame_loss(net(clips[:, :-1]), clips[:, -1:])) * clips.shape[0]
        n += clips.shape[0]
    total, n = sum_over_ranks(model, total, n)
    if n == 0:
        raise ParameterError("the validation set yielded no clip.")
    return total / n


def pretrain_next_frame(model, batches: Iterator[torch.Tensor], updates: int, settings: TrainSettings,
                        log: RunLog, *, phase: str = "pretrain", log_every: int = 10, progress: bool = False) -> None:
    """``updates`` Adam steps of next-frame prediction on a stream of wave clips (no validation, no epochs)."""
    updates = check_int("updates", updates, low=1, what="Adam steps")
    optimizer = settings.optimizer(model)
    running = []
    for update in tqdm(range(1, updates + 1), desc=phase, disable=not progress, leave=False):
        running.append(next_frame_step(model, optimizer, next(batches)))
        if update % log_every == 0 or update == updates:
            log.add(phase=phase, metric="train loss", update=update, value=float(np.mean(running)))
            running = []


def fit_next_frame(model, train_clips, val_clips, settings: TrainSettings, log: RunLog, *,
                   max_epochs: int = PAPER_MAX_EPOCHS, max_updates: int | None = None, phase: str = "target",
                   shuffle_frames: bool = False, progress: bool = False) -> dict[str, Any]:
    """May et al.'s training loop: validation-only epoch 0, epochs with early stopping, best weights kept.

    Epoch 0 measures the validation error of the untrained (or pre-trained)
    network. Each later epoch is one pass over the training clips in
    shuffled batches of ``settings.batch_size``, then a validation pass.
    Training stops after ``settings.patience_epochs`` epochs in a row
    without a validation error below the best so far (epoch 0 included),
    after ``max_epochs``, or after ``max_updates`` updates; the weights of
    the best epoch (epoch 0's if none improved) are then restored.

    Parameters
    ----------
    model : RecurrentPredictor
        Trained in place; under torchrun wrapped in DistributedDataParallel
        (:func:`~wavesim.train.ddp.distribute`): a map-style training
        set is then shared among the ranks, and the validation error is summed
        over them, so every rank stops at the same epoch.
    train_clips, val_clips
        Clip sets: map-style datasets of (T, H, W) clips (:class:`ClipSet`,
        :class:`~wavesim.train.targets.TargetClips`), or iterables of
        batches, one pass per epoch (:class:`~wavesim.data.WaveClips`;
        ``set_epoch`` is called when they have it).
    settings : TrainSettings
    log : RunLog
    max_epochs : int
        Training epochs at most (May et al.: 200).
    max_updates : int, optional
        Updates at most, over all epochs.
    phase : str
        Name of the phase in the log.
    shuffle_frames : bool
        Shuffle each clip's frames, in training and validation alike (the
        ``shuffled_frames`` control).
    progress : bool

    Returns
    -------
    dict
        ``validation_error_by_epoch`` (epoch 0 first), ``train_loss_by_epoch``
        (mean over clips; epoch 1 first), ``best_epoch``,
        ``best_validation_error``, ``updates`` and ``stopped`` (``"early"``,
        ``"max_epochs"`` or ``"max_updates"``).
    """
    max_epochs = check_int("max_epochs", max_epochs, low=0)
    max_updates = check_int("max_updates", max_updates, low=0, optional=True)
    device = next(model.parameters()).device
    optimizer = settings.optimizer(model)
    distributed = unwrap(model) is not model
    train_batches = EpochBatches(train_clips, settings.batch_size, settings.seed, training=True, distributed=distributed)
    val_batches = EpochBatches(val_clips, settings.batch_size, settings.seed, training=False, distributed=distributed)
    frame_seed = settings.seed if shuffle_frames else None
    frame_generator = torch.Generator().manual_seed(settings.seed + 1)

    def validate(epoch):
        return next_frame_validation(model, val_batches(epoch), device, shuffle_frames_seed=frame_seed)

    errors, train_losses = [validate(0)], []
    log.add(phase=phase, metric="validation error", update=0, epoch=0, value=errors[0])
    best, best_epoch, since_best, update, stopped = errors[0], 0, 0, 0, "max_epochs"
    best_state = _state_copy(model)
    for epoch in range(1, max_epochs + 1):
        if max_updates is not None and update >= max_updates:
            stopped = "max_updates"
            break
        total, n = 0.0, 0
        for clips in tqdm(train_batches(epoch), desc=f"{phase} epoch {epoch}", disable=not progress, leave=False):
            if max_updates is not None and update >= max_updates:
                break
            if shuffle_frames:
                clips = shuffle_clip_frames(clips, frame_generator)
            loss = next_frame_step(model, optimizer, clips.to(device))
            update += 1
            total, n = total + loss * clips.shape[0], n + clips.shape[0]
            log.add(phase=phase, metric="train loss", update=update, epoch=epoch, value=loss)
        train_losses.append(total / max(n, 1))
        errors.append(validate(epoch))
        log.add(phase=phase, metric="validation error", update=update, epoch=epoch, value=errors[-1])
        if errors[-1] < best:
            best, best_epoch, since_best = errors[-1], epoch, 0
            best_state = _state_copy(model)
        else:
            since_best += 1
            if since_best >= settings.patience_epochs:
                stopped = "early"
                break
    else:
        if max_updates is not None and update >= max_updates:
            stopped = "max_updates"
    if best_epoch != len(errors) - 1:
        model.load_state_dict(best_state)
    return {"validation_error_by_epoch": errors, "train_loss_by_epoch": train_losses, "best_epoch": best_epoch,
            "best_validation_error": best, "updates": update, "stopped": stopped}


def _state_copy(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def next_frame_experiment(condition: str, waves, target_train, target_val, *, pretrain_updates: int | None = None,
                          pretrain_epochs: int = PAPER_MAX_EPOCHS, target_epochs: int = 1,
                          settings: TrainSettings | None = None, model_kwargs: dict | None = None,
                          log: RunLog | None = None, progress: bool = False) -> dict[str, Any]:
    """One run of the next-frame protocol under ``condition`` (module docstring).

    Pre-training runs one of two ways:

    - ``waves`` a pair ``(training, validation)`` of clip sets (e.g. from
      :func:`~wavesim.train.clip_sets.make_clip_sets`): May et al.'s :func:`fit_next_frame`,
      up to ``pretrain_epochs`` epochs with early stopping, best weights kept;
    - ``waves`` a stream (:class:`~wavesim.data.WaveClips`,
      :class:`~wavesim.data.LiveWaves`): ``pretrain_updates`` updates, no
      validation (``time_matched`` needs this way: its budget is in updates).

    Target training follows :func:`fit_next_frame` for ``target_epochs``.
    Returns the target validation error after each target epoch
    (``validation_error_by_epoch[1]`` is the papers' one-epoch figure), the
    updates spent in each phase and, for epoch pre-training, its result
    under ``pretraining``. The best target weights are restored as in
    :func:`fit_next_frame`, which leaves the errors reported unchanged.
    """
    if condition not in NEXT_FRAME_CONDITIONS:
        raise ParameterError(f"condition must be one of {NEXT_FRAME_CONDITIONS}, got {condition!r}.")
    in_epochs = isinstance(waves, tuple)
    if in_epochs and (len(waves) != 2 or condition == "time_matched"):
        raise ParameterError("waves as clip sets must be a pair (training, validation), and the time_matched "
                             "condition needs a stream of waves with pretrain_updates (its budget is in updates).")
    if not in_epochs and condition != "random_init":
        if pretrain_updates is None:
            raise ParameterError("pre-training on a stream of waves needs pretrain_updates, a positive number of "
                                 "updates, got None.")
        pretrain_updates = check_int("pretrain_updates", pretrain_updates, low=1,
                                     what="updates of pre-training on a stream of waves")
    settings = settings or TrainSettings()
    log = log if log is not None else RunLog()
    device = resolve_device(settings.device)
    generator = torch.Generator().manual_seed(settings.seed)
    model = RecurrentPredictor(**(model_kwargs or {}), generator=generator).to(device)
    updates_per_epoch = math.ceil(len(target_train) / settings.batch_size)
    target_updates = None
    spent = 0
    pretraining = None
    if condition != "random_init":
        shuffle_frames = condition == "shuffled_frames"
        if in_epochs:
            pretraining = fit_next_frame(model, waves[0], waves[1], settings, log, max_epochs=pretrain_epochs,
                                         phase="pretrain", shuffle_frames=shuffle_frames, progress=progress)
            spent = pretraining["updates"]
        else:
            spent = pretrain_updates
            if condition == "time_matched":
                spent = min(pretrain_updates, updates_per_epoch * target_epochs // 2)
                target_updates = updates_per_epoch * target_epochs - spent
            batches = wave_clip_batches(waves, device, shuffle_frames=shuffle_frames, seed=settings.seed)
            pretrain_next_frame(model, batches, spent, settings, log, progress=progress)
        if condition in SHUFFLED_WEIGHTS:
            model = shuffle_weights(model, settings.seed, scope=SHUFFLED_WEIGHTS[condition])
    result = fit_next_frame(model, target_train, target_val, settings, log, max_epochs=target_epochs,
                            max_updates=target_updates, progress=progress)
    result.update(condition=condition, seed=settings.seed, pretrain_updates=spent)
    if pretraining is not None:
        result["pretraining"] = pretraining
    return result

