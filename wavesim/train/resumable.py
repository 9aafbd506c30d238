"""Next-frame training to early stopping that can stop after any update and resume exactly.

:class:`EarlyStoppingFit` follows the training loop of May et al.'s
``train_cli.py``: an epoch 0 that only measures the validation error, then
epochs of Adam (learning rate 1e-4, batch 16) on the squared error summed
over pixels and over the clips of a batch (their ``MSELoss(reduction="sum")``),
a shuffled order each epoch, the last batch partial; after each epoch the
validation error (summed squared error per clip, averaged over the clips,
eval mode); training stops when ``patience`` epochs in a row bring no error
below the best so far (epoch 0 included), or after ``max_epochs``; the best
weights are kept.

Everything that decides what comes next is in :meth:`EarlyStoppingFit.state_dict`:
the weights, Adam's moments, the best weights, the weights at the epochs
asked for (``snapshot_epochs``), the epoch and batch reached, the running
training loss and the early-stopping bookkeeping. An epoch's clip order is
drawn from ``(seed, epoch)`` alone, so a run stopped in mid-epoch (a wall
budget, :meth:`EarlyStoppingFit.run`'s ``deadline``) and resumed from its
state dict takes the very same updates as one that never stopped.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from ..errors import ParameterError
from ..validate import check_int, check_number, check_seed
from .waves import PAPER_MAX_EPOCHS

__all__ = ["EarlyStoppingFit", "epoch_order", "per_clip_losses"]

#: May et al.'s early-stopping patience (epochs).
PAPER_PATIENCE = 5


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The order of ``n`` training clips in ``epoch``: a permutation drawn from ``(seed, epoch)`` only."""
    state = np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1, np.uint64)[0] >> np.uint64(1)
    return torch.randperm(n, generator=torch.Generator().manual_seed(int(state)))


@torch.no_grad()
def per_clip_losses(model: torch.nn.Module, clips: torch.Tensor, *, batch_size: int = 64) -> np.ndarray:
    """Squared error summed over the pixels of each clip's last frame, predicted from the others (eval mode).

    Parameters
    ----------
    model : torch.nn.Module
        Maps (B, T - 1, H, W) clips to (B, 1, H, W) predictions; left in eval mode.
    clips : torch.Tensor
        (N, T, H, W) clips.
    batch_size : int
        Clips per forward pass (eval-mode batch norms make the result independent of it).

    Returns
    -------
    numpy.ndarray
        (N,) float64 losses, in the order of ``clips``.
    """
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, clips.shape[0], batch_size):
        batch = clips[start: start + batch_size].to(device)
        error = (model(batch[:, :-1]) - batch[:, -1:]).square().flatten(1).sum(dim=1)
        out.append(error.double().cpu())
    return torch.cat(out).numpy()


def _copy(state: dict) -> dict:
    return {k: v.detach().clone() for k, v in state.items()}


class EarlyStoppingFit:
    """One next-frame training run to early stopping (module docstring), resumable at any update.

    Parameters
    ----------
    model : torch.nn.Module
        The network, on its device, with its starting weights.
    clips : torch.Tensor
        (N, T, H, W) clips that ``train_ids`` and ``validation_ids`` index (on any device).
    train_ids, validation_ids : array_like of int
        The training and validation clips.
    seed : int
        Seeds every epoch's clip order (:func:`epoch_order`).
    max_epochs : int
        Training epochs at most (May et al.: 200).
    patience : int
        Epochs without a new best validation error before stopping (5).
    batch_size : int
        Clips per update (16).
    learning_rate : float
        Adam's learning rate (1e-4).
    snapshot_epochs : sequence of int
        Epochs after which to keep a copy of the weights (0 for the starting weights).
    """

    def __init__(self, model: torch.nn.Module, clips: torch.Tensor, train_ids, validation_ids, *, seed: int,
                 max_epochs: int = PAPER_MAX_EPOCHS, patience: int = PAPER_PATIENCE, batch_size: int = 16,
                 learning_rate: float = 1e-4, snapshot_epochs=()):
        for name, value, low in (("max_epochs", max_epochs, 0), ("patience", patience, 1),
                                 ("batch_size", batch_size, 1)):
            if check_int(name, value) < low:
                raise ParameterError(f"{name} must be an integer >= {low}, got {value!r}.")
        learning_rate = check_number("learning_rate", learning_rate, low=0, low_open=True)
        self.train_ids = torch.as_tensor(np.asarray(train_ids, dtype=np.int64))
        self.validation_ids = torch.as_tensor(np.asarray(validation_ids, dtype=np.int64))
        if len(self.train_ids) < 1 or len(self.validation_ids) < 1:
            raise ParameterError("the training and validation sets need at least one clip each.")
        self.model, self.clips, self.seed = model, clips, check_seed("seed", seed)
        self.max_epochs, self.patience, self.batch_size = max_epochs, patience, batch_size
        self.snapshot_epochs = sorted({int(e) for e in snapshot_epochs})
        self.optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
        self.best_state: dict | None = None
        self.snapshots: dict[int, dict] = {}
        self.progress = {"batch": 0, "updates": 0, "train_total": 0.0, "validation_error": [],
                         "validation_losses": [], "train_loss": [], "best_error": math.inf, "best_epoch": -1,
                         "since_best": 0, "stopped": None}

    @property
    def done(self) -> bool:
        """Whether training has stopped (early, or at ``max_epochs``)."""
        return self.progress["stopped"] is not None

    def run(self, deadline: float | None = None) -> bool:
        """Train until stopped, or until ``time.monotonic()`` passes ``deadline`` (checked before each update).

        Returns
        -------
        bool
            True when training has stopped; False when the deadline came
            first (the state is then a clean point to save and resume from).
        """
        p = self.progress
        if not p["validation_error"]:
            self._validate()
        n, size = len(self.train_ids), self.batch_size
        device = next(self.model.parameters()).device
        while not self.done:
            epoch = len(p["validation_error"])
            order = self.train_ids[epoch_order(self.seed, epoch, n)]
            while p["batch"] * size < n:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                batch = self.clips[order[p["batch"] * size: (p["batch"] + 1) * size]].to(device)
                self.model.train()
                loss = (self.model(batch[:, :-1]) - batch[:, -1:]).square().sum()
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                p["train_total"] += float(loss.detach())
                p["batch"] += 1
                p["updates"] += 1
            p["train_loss"].append(p["train_total"] / n)
            p["batch"], p["train_total"] = 0, 0.0
            self._validate()
        return True

    def _validate(self) -> None:
        p = self.progress
        epoch = len(p["validation_error"])
        losses = per_clip_losses(self.model, self.clips[self.validation_ids])
        p["validation_losses"].append(losses.astype(np.float32).tolist())
        p["validation_error"].append(float(losses.mean()))
        if epoch in self.snapshot_epochs:
            self.snapshots[epoch] = _copy(self.model.state_dict())
        if p["validation_error"][-1] < p["best_error"]:
            p["best_error"], p["best_epoch"], p["since_best"] = p["validation_error"][-1], epoch, 0
            self.best_state = _copy(self.model.state_dict())
        else:
            p["since_best"] += 1
            if p["since_best"] >= self.patience:
                p["stopped"] = "early"
        if p["stopped"] is None and epoch >= self.max_epochs:
            p["stopped"] = "max_epochs"

    def state_dict(self) -> dict:
        """Everything a resumed run needs (tensors and plain Python values; loads with ``weights_only``)."""
        return {"model": _copy(self.model.state_dict()), "optimizer": self.optimizer.state_dict(),
                "best_state": self.best_state, "snapshots": self.snapshots, "progress": dict(self.progress),
                "seed": self.seed, "train_ids": self.train_ids.clone(), "validation_ids": self.validation_ids.clone()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict` of a run with the same data, seed and settings.

        Raises
        ------
        wavesim.errors.ParameterError
            If the saved run used another seed or other clips.
        """
        if (state["seed"] != self.seed or not torch.equal(state["train_ids"].cpu(), self.train_ids)
                or not torch.equal(state["validation_ids"].cpu(), self.validation_ids)):
            raise ParameterError("this saved training state belongs to a run with another seed or other clips; "
                                 "resume with the settings it was started with, or start afresh.")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.best_state, self.snapshots = state["best_state"], dict(state["snapshots"])
        self.progress = dict(state["progress"])

    def best_weights(self) -> dict:
        """The weights of the epoch with the lowest validation error (the starting weights if none improved)."""
        if self.best_state is None:
            raise ParameterError("no epoch has been validated yet; call run() first.")
        return self.best_state

    def result(self) -> dict:
        """Validation error per epoch (epoch 0 first), per-clip validation losses per epoch, training loss per
        epoch (epoch 1 first), best epoch and error, updates, and why training stopped."""
        p = self.progress
        return {"validation_error_by_epoch": list(p["validation_error"]),
                "validation_losses_by_epoch": [list(v) for v in p["validation_losses"]],
                "train_loss_by_epoch": list(p["train_loss"]), "best_epoch": p["best_epoch"],
                "best_validation_error": p["best_error"], "updates": p["updates"], "stopped": p["stopped"]}
