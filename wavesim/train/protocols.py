"""The two papers' protocols: pre-train on waves, then train or evaluate on a target, with controls.

Next-frame prediction (May, Dauphin & Gjorgjieva 2025): a recurrent
convolutional predictor sees 10 frames and predicts the 11th; loss the
squared error summed over pixels, averaged over clips; Adam, learning rate
1e-4, batch 16; an epoch 0 that only measures the validation error, then
epochs until 5 in a row bring no better validation error, and the best
weights are kept (:func:`fit_next_frame`, for the waves and for the target
alike). The headline: after one epoch on the corridor, the validation
error of a wave-pre-trained network is far below that of one trained from
scratch. Their summed loss over a batch and wavesim's mean over its clips
differ by the constant batch size, which Adam's normalised steps ignore
(but for its epsilon).

Contrastive pre-training (Ligeralde et al. 2023): by default a ResNet-18
with a 512 -> 128 projector, NT-Xent at temperature 0.5 on pairs of nearby
frames of one wave (other waves are the negatives), Adam 1e-4 with weight
decay 1e-6; their own set-up (ResNet-9, a 8192-8192-8192 projector,
positives one frame apart, 100 epochs) is the ``ligeralde2023``
:class:`~wavesim.train.contrastive.ContrastiveConfig`. Then linear probes,
the translation-invariance test and the capacity of the translation
manifolds in every layer, on frozen features.

Controls, as in the papers:

``random_init``
    no pre-training;
``shuffled_entries``
    pre-trained weights with the entries of every tensor permuted as one
    flat list (same distribution of weights, all structure destroyed);
``shuffled_filters``
    May et al.'s shuffled control: every tensor of the pre-trained state
    permuted along its first axis only (filters intact, the correspondence
    between channels broken; :func:`~wavesim.train.models.shuffle_weights`);
``time_matched``
    (next-frame) pre-training plus target training take as many updates as
    target training alone does for ``random_init``;
``shuffled_frames``
    (next-frame) pre-training on waves whose frames are shuffled within
    each clip, which keeps their spatial statistics and destroys their motion.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch

from ..errors import ParameterError
from ..parameters import ValidatedParams, field
from .distributed import share_buffers, sum_over_ranks, unwrap
from .losses import next_frame_loss, nt_xent_loss
from .models import ContrastiveNet, RecurrentPredictor, shuffle_weights
from .waves import PAPER_MAX_EPOCHS

NEXT_FRAME_CONDITIONS = ("pretrained", "random_init", "shuffled_entries", "shuffled_filters", "time_matched",
                         "shuffled_frames")
CONTRASTIVE_CONDITIONS = ("pretrained", "random_init", "shuffled_entries", "shuffled_filters")
#: Scope of :func:`~wavesim.train.models.shuffle_weights` for each shuffled-weights condition.
SHUFFLED_WEIGHTS = {"shuffled_entries": "entries", "shuffled_filters": "filters"}

def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"`` or None: the GPU when torch sees one, else the CPU; otherwise a torch device name.

    Raises
    ------
    ParameterError
        For a name torch does not know, or a CUDA device where torch sees none.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ParameterError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N' (any torch device), got {device!r}.") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device {device!r}: torch sees no CUDA GPU here; use 'cpu' or 'auto'.")
    return resolved


@dataclasses.dataclass(frozen=True)
class TrainSettings(ValidatedParams):
    """Optimiser and schedule settings shared by the protocols (defaults from the papers).

    Parameters
    ----------
    learning_rate : float
        Adam's learning rate (1e-4 in both papers).
    weight_decay : float
        Adam's weight decay (0 for next-frame; Ligeralde et al. use 1e-6).
    batch_size : int
        Clips or pairs per update (16 in May et al.).
    patience_epochs : int
        Early stopping: epochs without a better validation error before stopping.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    seed : int
        Seeds the initial weights and every shuffle.
    """

    learning_rate: float = field(1e-4, unit="1", low=1e-9, high=10.0, doc="Adam's learning rate")
    weight_decay: float = field(0.0, unit="1", low=0.0, high=1.0, doc="Adam's weight decay")
    batch_size: int = field(16, unit="1", low=1, high=1_000_000, integer=True, doc="clips or pairs per update")
    patience_epochs: int = field(5, unit="1", low=1, high=1_000_000, integer=True,
                                 doc="epochs without improvement before stopping")
    device: str = "auto"
    seed: int = field(0, unit="1", low=0, high=2**63 - 1, integer=True, doc="seed of weights and shuffles")

    def _check_relations(self) -> None:
        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError):
                raise ParameterError(f"TrainSettings.device must be 'auto' or a torch device such as 'cpu', "
                                     f"'cuda' or 'cuda:1', got {self.device!r}.") from None

    def optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(model.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)


class RunLog:
    """Metrics of a run, one row per logged step or epoch; written as CSV and JSON, plotted as learning curves."""

    def __init__(self):
        self.rows: list[dict[str, Any]] = []

    def add(self, **row) -> None:
        self.rows.append(row)

    def write(self, folder) -> dict[str, str]:
        """Write ``log.csv``, ``log.json`` and ``learning_curves.png`` into ``folder``; return their paths."""
        import csv
        import json
        from pathlib import Path

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        keys = sorted({k for row in self.rows for k in row})
        with open(folder / "log.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.rows)
        (folder / "log.json").write_text(json.dumps(self.rows, indent=1))
        self.plot(folder / "learning_curves.png")
        return {name: str(folder / name) for name in ("log.csv", "log.json", "learning_curves.png")}

    def plot(self, path) -> None:
        # a bare Figure draws with Agg on savefig, without pyplot switching the process's backend
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
        for (phase, metric), rows in itertools.groupby(
            sorted((r for r in self.rows if "value" in r), key=lambda r: (r["phase"], r["metric"])),
            key=lambda r: (r["phase"], r["metric"]),
        ):
            rows = list(rows)
            ax.plot([r["update"] for r in rows], [r["value"] for r in rows], label=f"{phase}: {metric}",
                    marker="o" if len(rows) < 30 else None)
        ax.set_xlabel("update")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=120)


# ---------------------------------------------------------------------- wave clips


class ClipSet(torch.utils.data.Dataset):
    """A fixed set of clips held in memory; item ``i`` is clip ``i``, a (T, H, W) float32 tensor.

    Parameters
    ----------
    clips : torch.Tensor or array_like
        (N, T, H, W) clips.
    """

    def __init__(self, clips):
        clips = torch.as_tensor(clips, dtype=torch.float32)
        if clips.dim() != 4 or clips.shape[0] < 1 or clips.shape[1] < 2:
            raise ParameterError(f"clips must have shape (N, T, H, W) with N >= 1 and T >= 2, got {tuple(clips.shape)}")
        self.clips = clips

    def __len__(self) -> int:
        return self.clips.shape[0]

    def __getitem__(self, index):
        return self.clips[index]


def wave_clip_batches(source: Iterable, device: torch.device, *, shuffle_frames: bool = False,
                      seed: int = 0) -> Iterator[torch.Tensor]:
    """(B, T, H, W) float clips on ``device`` from a WaveClips/LiveWaves iterable (repeated without end).

    With ``shuffle_frames`` each clip's frames come in a random order (the
    ``shuffled_frames`` control), drawn from ``seed``.
    """
    generator = torch.Generator().manual_seed(seed)
    for batch in _epochs(source):
        clips = _clips_of(batch)
        if shuffle_frames:
            clips = _shuffle_frames(clips, generator)
        yield clips.to(device, non_blocking=True)


def _clips_of(batch) -> torch.Tensor:
    return batch["clips"] if isinstance(batch, dict) else batch


def _shuffle_frames(clips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    order = torch.argsort(torch.rand(clips.shape[:2], generator=generator), dim=1).to(clips.device)
    return torch.gather(clips, 1, order[:, :, None, None].expand_as(clips))


def _epochs(source: Iterable) -> Iterator:
    """The batches of ``source``, epoch after epoch (``set_epoch`` where it has one), without end."""
    epoch = 0
    while True:
        if hasattr(source, "set_epoch"):
            source.set_epoch(epoch)
        got_any = False
        for batch in source:
            got_any = True
            yield batch
        if not got_any:
            raise ParameterError("the data source yielded no batch.")
        epoch += 1


class _EpochBatches:
    """One pass over a clip set per call: a map-style dataset through a seeded DataLoader, or a
    batch iterable (WaveClips...) with ``set_epoch``.

    Training batches come shuffled. With ``distributed``, a map-style set is
    shared among the ranks: for training by a DistributedSampler, which pads
    with repeats so that every rank takes as many steps; for validation each
    clip once, as validation runs no collective per batch. Iterable sets
    shard themselves; validation leaves out the repeats they flag as padded.
    """

    def __init__(self, clips, settings: TrainSettings, seed: int, *, training: bool, distributed: bool = False):
        self.clips = clips
        self.training = training
        self.loader = self.sampler = None
        if isinstance(clips, torch.utils.data.Dataset) and not isinstance(clips, torch.utils.data.IterableDataset):
            if len(clips) == 0:
                raise ParameterError("a clip set is empty.")
            order = dict(shuffle=training, generator=torch.Generator().manual_seed(seed))
            if distributed:
                import torch.distributed as dist

                rank, world_size = dist.get_rank(), dist.get_world_size()
                if training:
                    self.sampler = torch.utils.data.DistributedSampler(clips, world_size, rank, shuffle=True, seed=seed)
                    order = dict(sampler=self.sampler)
                else:
                    order = dict(sampler=range(rank, len(clips), world_size))
            self.loader = torch.utils.data.DataLoader(clips, batch_size=settings.batch_size, **order)

    def __call__(self, epoch: int) -> Iterator[torch.Tensor]:
        if self.loader is not None:
            if self.sampler is not None:
                self.sampler.set_epoch(epoch)
            yield from self.loader
            return
        if hasattr(self.clips, "set_epoch"):
            self.clips.set_epoch(epoch)
        got_any = False
        for batch in self.clips:
            got_any = True
            clips = _clips_of(batch)
            if not self.training and isinstance(batch, dict) and "padded" in batch:
                clips = clips[~batch["padded"].to(torch.bool)]
                if clips.shape[0] == 0:
                    continue
            yield clips
        if not got_any:
            raise ParameterError("a clip source yielded no batch in an epoch.")


# ---------------------------------------------------------------------- next-frame


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
        clips = _clips_of(clips)
        if generator is not None:
            clips = _shuffle_frames(clips, generator)
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
    if not isinstance(updates, int) or updates < 1:
        raise ParameterError(f"updates must be a positive integer (Adam steps), got {updates!r}.")
    from tqdm.auto import tqdm

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
        (:func:`~wavesim.train.distributed.distribute`): a map-style training
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
    from tqdm.auto import tqdm

    if not isinstance(max_epochs, int) or isinstance(max_epochs, bool) or max_epochs < 0:
        raise ParameterError(f"max_epochs must be a non-negative integer, got {max_epochs!r}.")
    if max_updates is not None and (not isinstance(max_updates, int) or max_updates < 0):
        raise ParameterError(f"max_updates must be a non-negative integer or None, got {max_updates!r}.")
    device = next(model.parameters()).device
    optimizer = settings.optimizer(model)
    distributed = unwrap(model) is not model
    train_batches = _EpochBatches(train_clips, settings, settings.seed, training=True, distributed=distributed)
    val_batches = _EpochBatches(val_clips, settings, settings.seed, training=False, distributed=distributed)
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
                clips = _shuffle_frames(clips, frame_generator)
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
      :meth:`WaveSource.make_clips`): May et al.'s :func:`fit_next_frame`,
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
    if not in_epochs and condition != "random_init" and (not isinstance(pretrain_updates, int) or pretrain_updates < 1):
        raise ParameterError(f"pre-training on a stream of waves needs pretrain_updates, a positive number of "
                             f"updates, got {pretrain_updates!r}.")
    settings = settings or TrainSettings()
    log = log if log is not None else RunLog()
    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    model = RecurrentPredictor(**(model_kwargs or {})).to(device)
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


# ---------------------------------------------------------------------- contrastive


def pair_batches(source: Iterable, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(anchor, positive) (B, H, W) frames on ``device`` from a WavePairs iterable, repeated without end."""
    for batch in _epochs(source):
        frames = batch["frames"].to(device, non_blocking=True)
        yield frames[:, 0], frames[:, 1]


def pretrain_contrastive(net: ContrastiveNet, batches, updates: int, settings: TrainSettings, log: RunLog, *,
                         temperature: float = 0.5, log_every: int = 10, progress: bool = False) -> None:
    """``updates`` Adam steps of NT-Xent on pairs of frames within waves."""
    if not isinstance(updates, int) or updates < 1:
        raise ParameterError(f"updates must be a positive integer (Adam steps), got {updates!r}.")
    from tqdm.auto import tqdm

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
    from .evaluate import digits_probe, translation_invariance, translation_manifolds

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
    of ``net``'s configuration drawn after ``torch.manual_seed(seed)`` (as
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
    from .evaluate import translation_manifolds

    device = next(net.parameters()).device
    torch.manual_seed(seed)
    controls = {"random_init": ContrastiveNet(**net.config).to(device)}
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
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ParameterError(f"epochs must be a positive integer, got {epochs!r}.")
    per_epoch = len(pairs)
    if per_epoch < 1:
        raise ParameterError(f"the pairs make no batch in an epoch ({pairs.n_items} waves, batch_size "
                             f"{pairs.batch_size}, drop_last={pairs.drop_last}); lower the batch size.")
    return epochs * per_epoch


def contrastive_experiment(condition: str, pairs: Iterable, *, updates: int | None = None,
                           settings: TrainSettings | None = None, config=None, log: RunLog | None = None,
                           pixel_reference: bool = False, progress: bool = False) -> dict[str, Any]:
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
    from .contrastive import contrastive_config

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
    torch.manual_seed(settings.seed)
    net = config.build_net().to(device)
    if condition != "random_init":
        pretrain_contrastive(net, pair_batches(pairs, device), updates, settings, log, temperature=config.temperature,
                             progress=progress)
        if condition in SHUFFLED_WEIGHTS:
            net = shuffle_weights(net, settings.seed, scope=SHUFFLED_WEIGHTS[condition])
    result = contrastive_evaluation(net, seed=settings.seed, pixel_reference=pixel_reference)
    result.update(condition=condition, seed=settings.seed, config=config.to_dict(),
                  pretrain_updates=0 if condition == "random_init" else updates)
    return result
