"""Contrastive pre-training on whole waves (Ligeralde et al. 2023), one batch at a time, resumable exactly.

:class:`WaveContrastiveTrainer` holds the network, its Adam optimiser and
the position in the run (epoch, batch); :meth:`~WaveContrastiveTrainer.state_dict`
and :meth:`~WaveContrastiveTrainer.load_state_dict` carry all of it, and
every batch is a pure function of the data and (seed, epoch), so a run
stopped between two batches and resumed from its state gives the same
weights, bit for bit on a CPU, as one that ran through.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import torch

from wavesim.errors import ParameterError
from wavesim.validate import check_int, check_number, check_seed

from .losses import nt_xent_loss
from .wave_batches import WaveFrames, wave_batches, wave_contrastive_loss, wave_pair_batches

__all__ = ["BATCHINGS", "WaveTrainingSettings", "WaveContrastiveTrainer"]

#: ``waves``: their whole-wave batches, one forward pass; ``pairs``: wavesim's earlier pairs (one per wave).
BATCHINGS = ("waves", "pairs")


@dataclasses.dataclass(frozen=True)
class WaveTrainingSettings:
    """How to pre-train (their values by default: ``configs/default_configs.py`` and their README's command).

    Attributes
    ----------
    epochs : int
        Passes over the training waves (100).
    learning_rate, weight_decay : float
        Adam's (1e-4, 1e-6).
    temperature : float
        Of the loss (0.5).
    frame_separation : int
        Positives this many frames from their anchor (1).
    batching : {"waves", "pairs"}
        Their batches of whole waves, or one pair per wave (NT-Xent on two forward passes).
    frame_limit : int
        Frames after which a batch of waves closes (3000).
    pair_batch_size : int
        Waves (pairs) per batch with ``batching="pairs"``.
    seed : int
        Seed of the pairs' draws and order (``pairs`` only; whole-wave batches are fixed).
    """

    epochs: int = 100
    learning_rate: float = 1e-4
    weight_decay: float = 1e-6
    temperature: float = 0.5
    frame_separation: int = 1
    batching: str = "waves"
    frame_limit: int = 3000
    pair_batch_size: int = 256
    seed: int = 0

    def __post_init__(self):
        if self.batching not in BATCHINGS:
            raise ParameterError(f"batching must be one of {BATCHINGS}, got {self.batching!r}")
        for name in ("epochs", "frame_separation", "frame_limit", "pair_batch_size"):
            check_int(f"WaveTrainingSettings.{name}", getattr(self, name), low=1)
        for name in ("learning_rate", "temperature"):
            check_number(f"WaveTrainingSettings.{name}", getattr(self, name), low=0, low_open=True)
        check_number("WaveTrainingSettings.weight_decay", self.weight_decay, low=0)
        check_seed("WaveTrainingSettings.seed", self.seed)


class WaveContrastiveTrainer:
    """Pre-trains a :class:`~wavesim.train.models.ContrastiveNet` on waves, batch by batch.

    Parameters
    ----------
    net : ContrastiveNet
        Trained in place.
    train : WaveFrames
        Training waves (on the network's device).
    validation : WaveFrames or None
        Held-out waves: their loss is logged after every epoch, in eval
        mode, as theirs (none where they make no batch).
    settings : WaveTrainingSettings
    """

    def __init__(self, net, train: WaveFrames, validation: WaveFrames | None, settings: WaveTrainingSettings):
        self.net = net
        self.train = train
        self.validation = validation
        self.settings = settings
        self.optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate,
                                          weight_decay=settings.weight_decay)
        self.epoch, self.batch = 0, 0
        self.log: list[dict] = []
        self._running: list[float] = []
        self._wave_batches = wave_batches(train.lengths, settings.frame_limit) if settings.batching == "waves" else None

    def _batches(self, epoch: int) -> list:
        if self._wave_batches is not None:
            return self._wave_batches
        return wave_pair_batches(self.train, self.settings.pair_batch_size, seed=self.settings.seed, epoch=epoch,
                                 frame_separation=self.settings.frame_separation)

    @property
    def batches_per_epoch(self) -> int:
        return len(self._batches(0))

    @property
    def done(self) -> bool:
        return self.epoch >= self.settings.epochs

    def _loss(self, waves: WaveFrames, batch) -> torch.Tensor:
        s = self.settings
        if self._wave_batches is None:
            anchor, positive = (torch.from_numpy(i).to(waves.frames.device) for i in batch)
            return nt_xent_loss(self.net(waves.frames[anchor]), self.net(waves.frames[positive]), s.temperature)
        starts = np.concatenate([[0], np.cumsum(waves.lengths)])
        rows = slice(int(starts[batch[0]]), int(starts[batch[1]]))
        return wave_contrastive_loss(self.net(waves.frames[rows]), waves.wave[rows], waves.time[rows],
                                     temperature=s.temperature, frame_separation=s.frame_separation)

    def validation_loss(self) -> float | None:
        """Mean loss over the validation waves' batches in eval mode; None without a validation batch."""
        if self.validation is None or self.validation.n_waves < 3:
            return None
        try:
            batches = wave_batches(self.validation.lengths, self.settings.frame_limit)
        except ParameterError:
            return None
        self.net.eval()
        with torch.no_grad():
            losses = [float(self._loss(self.validation, batch)) for batch in batches]
        return float(np.mean(losses))

    def step(self) -> None:
        """One Adam update on the next batch; after an epoch's last batch, the epoch's log line."""
        if self.done:
            raise ParameterError(f"the run is complete ({self.settings.epochs} epochs)")
        batches = self._batches(self.epoch)
        self.net.train()
        loss = self._loss(self.train, batches[self.batch])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._running.append(float(loss.detach()))
        self.batch += 1
        if self.batch == len(batches):
            self.log.append({"epoch": self.epoch + 1, "loss": float(np.mean(self._running)),
                             "last_batch_loss": self._running[-1], "validation_loss": self.validation_loss()})
            self.epoch, self.batch, self._running = self.epoch + 1, 0, []

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Train until done, or until ``should_stop()`` is true after a batch; returns whether the run is done."""
        while not self.done:
            self.step()
            if not self.done and should_stop():
                return False
        return True

    def state_dict(self) -> dict:
        """Weights, optimiser and position: what :meth:`load_state_dict` resumes from."""
        return {"model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(), "epoch": self.epoch,
                "batch": self.batch, "log": list(self.log), "running": list(self._running)}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])
        self.log, self._running = list(state["log"]), list(state["running"])
