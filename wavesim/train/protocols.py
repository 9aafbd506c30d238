"""The two papers' protocols: pre-train on waves, then train or evaluate on a target, with controls.

Next-frame prediction (May, Dauphin & Gjorgjieva 2025): a recurrent
convolutional predictor sees 10 frames and predicts the 11th; loss the
squared error summed over pixels, averaged over clips; Adam, learning rate
1e-4, batch 16; early stopping after 5 epochs without improvement. The
headline: after one epoch on the corridor, the validation error of a
wave-pre-trained network is far below that of one trained from scratch.

Contrastive pre-training (Ligeralde et al. 2023): a ResNet-18 with a
512 -> 128 projector, NT-Xent at temperature 0.5 on pairs of nearby frames
of one wave (other waves are the negatives), Adam 1e-4 with weight decay
1e-6; then linear probes and the translation-invariance test on frozen
features.

Controls, as in the papers:

``random_init``
    no pre-training;
``shuffled_weights``
    pre-trained weights with the entries of every tensor permuted (same
    distribution of weights, structure destroyed);
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
from .losses import next_frame_loss, nt_xent_loss
from .models import ContrastiveNet, RecurrentPredictor, shuffle_weights

NEXT_FRAME_CONDITIONS = ("pretrained", "random_init", "shuffled_weights", "time_matched", "shuffled_frames")
CONTRASTIVE_CONDITIONS = ("pretrained", "random_init", "shuffled_weights")


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


# ---------------------------------------------------------------------- batches


def wave_clip_batches(source: Iterable, device: torch.device, *, shuffle_frames: bool = False,
                      seed: int = 0) -> Iterator[torch.Tensor]:
    """(B, T, H, W) float clips on ``device`` from a WaveClips/LiveWaves iterable (repeated without end).

    With ``shuffle_frames`` each clip's frames come in a random order (the
    ``shuffled_frames`` control), drawn from ``seed``.
    """
    generator = torch.Generator().manual_seed(seed)
    for batch in _epochs(source):
        clips = batch["clips"] if isinstance(batch, dict) else batch
        if shuffle_frames:
            order = torch.argsort(torch.rand(clips.shape[:2], generator=generator), dim=1).to(clips.device)
            clips = torch.gather(clips, 1, order[:, :, None, None].expand_as(clips))
        yield clips.to(device, non_blocking=True)


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


def _target_loader(clips: torch.utils.data.Dataset, settings: TrainSettings, shuffle: bool, seed: int):
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(clips, batch_size=settings.batch_size, shuffle=shuffle, generator=generator)


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
def next_frame_validation(model, loader, device: torch.device) -> float:
    """Mean next-frame loss over a validation loader."""
    model.eval()
    total, n = 0.0, 0
    for clips in loader:
        clips = clips.to(device)
        total += float(next_frame_loss(model(clips[:, :-1]), clips[:, -1:])) * clips.shape[0]
        n += clips.shape[0]
    return total / max(n, 1)


def pretrain_next_frame(model, batches: Iterator[torch.Tensor], updates: int, settings: TrainSettings,
                        log: RunLog, *, phase: str = "pretrain", log_every: int = 10, progress: bool = False) -> None:
    """``updates`` Adam steps of next-frame prediction on wave clips."""
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


def train_next_frame_target(model, train_clips, val_clips, settings: TrainSettings, log: RunLog, *,
                            max_epochs: int = 1, max_updates: int | None = None, phase: str = "target",
                            progress: bool = False) -> dict[str, Any]:
    """Train on target clips for up to ``max_epochs`` (early stopping) or ``max_updates``.

    Returns the validation error before training and after each epoch, and
    the best weights are restored when early stopping ends training.
    """
    from tqdm.auto import tqdm

    device = next(model.parameters()).device
    optimizer = settings.optimizer(model)
    train_loader = _target_loader(train_clips, settings, True, settings.seed)
    val_loader = _target_loader(val_clips, settings, False, settings.seed)
    errors = [next_frame_validation(model, val_loader, device)]
    log.add(phase=phase, metric="validation error", update=0, epoch=0, value=errors[0])
    best, best_state, since_best, update = errors[0], None, 0, 0
    for epoch in range(1, max_epochs + 1):
        for clips in tqdm(train_loader, desc=f"{phase} epoch {epoch}", disable=not progress, leave=False):
            if max_updates is not None and update >= max_updates:
                break
            loss = next_frame_step(model, optimizer, clips.to(device))
            update += 1
            log.add(phase=phase, metric="train loss", update=update, epoch=epoch, value=loss)
        errors.append(next_frame_validation(model, val_loader, device))
        log.add(phase=phase, metric="validation error", update=update, epoch=epoch, value=errors[-1])
        if errors[-1] < best:
            best, since_best = errors[-1], 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
            if since_best >= settings.patience_epochs:
                break
        if max_updates is not None and update >= max_updates:
            break
    if best_state is not None and errors[-1] > best:
        model.load_state_dict(best_state)
    return {"validation_error_by_epoch": errors, "updates": update, "best_validation_error": best}


def next_frame_experiment(condition: str, waves: Iterable, target_train, target_val, *, pretrain_updates: int,
                          target_epochs: int = 1, settings: TrainSettings | None = None,
                          model_kwargs: dict | None = None, log: RunLog | None = None,
                          progress: bool = False) -> dict[str, Any]:
    """One run of the next-frame protocol under ``condition`` (module docstring).

    Returns the target validation error after each target epoch
    (``validation_error_by_epoch[1]`` is the papers' one-epoch figure) and
    the updates spent in each phase.
    """
    if condition not in NEXT_FRAME_CONDITIONS:
        raise ParameterError(f"condition must be one of {NEXT_FRAME_CONDITIONS}, got {condition!r}.")
    settings = settings or TrainSettings()
    log = log if log is not None else RunLog()
    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    model = RecurrentPredictor(**(model_kwargs or {})).to(device)
    updates_per_epoch = math.ceil(len(target_train) / settings.batch_size)
    target_updates = None
    spent = 0
    if condition != "random_init":
        spent = pretrain_updates
        if condition == "time_matched":
            spent = min(pretrain_updates, updates_per_epoch * target_epochs // 2)
            target_updates = updates_per_epoch * target_epochs - spent
        batches = wave_clip_batches(waves, device, shuffle_frames=condition == "shuffled_frames", seed=settings.seed)
        pretrain_next_frame(model, batches, spent, settings, log, progress=progress)
        if condition == "shuffled_weights":
            model = shuffle_weights(model, settings.seed)
    result = train_next_frame_target(model, target_train, target_val, settings, log, max_epochs=target_epochs,
                                     max_updates=target_updates, progress=progress)
    result.update(condition=condition, seed=settings.seed, pretrain_updates=spent)
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


def contrastive_evaluation(net: ContrastiveNet, seed: int = 0, pixel_reference: bool = True) -> dict[str, Any]:
    """Digit linear-probe accuracy and translation-invariance score of the frozen backbone's features.

    ``pixel_reference`` also scores raw pixels on the translation test (the
    same for every network of a seed, and slow on a CPU).
    """
    from .evaluate import digits_probe, translation_invariance

    net.eval()
    features = _feature_fn(net)
    digits = digits_probe(features, seed=seed)
    translation = translation_invariance(features, seed=seed, pixel_reference=pixel_reference)
    return {"digits": digits, "translation": translation}


def _feature_fn(net: ContrastiveNet) -> Callable:
    device = next(net.parameters()).device

    def features(images):
        with torch.no_grad():
            return net.features(torch.as_tensor(images, dtype=torch.float32, device=device))

    return features


def contrastive_experiment(condition: str, pairs: Iterable, *, updates: int, settings: TrainSettings | None = None,
                           log: RunLog | None = None, pixel_reference: bool = False,
                           progress: bool = False) -> dict[str, Any]:
    """One run of the contrastive protocol under ``condition``: pre-train (or not), then evaluate."""
    if condition not in CONTRASTIVE_CONDITIONS:
        raise ParameterError(f"condition must be one of {CONTRASTIVE_CONDITIONS}, got {condition!r}.")
    settings = settings or TrainSettings(weight_decay=1e-6, batch_size=256)
    log = log if log is not None else RunLog()
    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    net = ContrastiveNet().to(device)
    if condition != "random_init":
        pretrain_contrastive(net, pair_batches(pairs, device), updates, settings, log, progress=progress)
        if condition == "shuffled_weights":
            net = shuffle_weights(net, settings.seed)
    result = contrastive_evaluation(net, seed=settings.seed, pixel_reference=pixel_reference)
    result.update(condition=condition, seed=settings.seed, pretrain_updates=0 if condition == "random_init" else updates)
    return result
