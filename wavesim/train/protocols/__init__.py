"""The two papers' protocols: pre-train on waves, then train or evaluate on a target, with controls.

- :mod:`~wavesim.train.protocols.next_frame`: next-frame prediction (May,
  Dauphin & Gjorgjieva 2025). The headline: after one epoch on the
  corridor, the validation error of a wave-pre-trained network is far
  below that of one trained from scratch.
- :mod:`~wavesim.train.protocols.contrastive`: contrastive pre-training
  (Ligeralde et al. 2023), then linear probes, the translation-invariance
  test and the capacity of the translation manifolds in every layer.
- :mod:`~wavesim.train.protocols.conditions`: the conditions, pre-trained
  and the papers' controls.

Every run draws its initial weights and every shuffle from generators
seeded by ``TrainSettings.seed``; no protocol touches torch's global
random state.
"""

from .conditions import CONTRASTIVE_CONDITIONS, NEXT_FRAME_CONDITIONS, SHUFFLED_WEIGHTS
from .contrastive import (contrastive_evaluation, contrastive_experiment, control_manifolds, pretrain_contrastive,
                          pretrain_epochs_updates)
from .next_frame import (fit_next_frame, next_frame_experiment, next_frame_step, next_frame_validation,
                         pretrain_next_frame)

__all__ = ["CONTRASTIVE_CONDITIONS", "NEXT_FRAME_CONDITIONS", "SHUFFLED_WEIGHTS", "contrastive_evaluation",
           "contrastive_experiment", "control_manifolds", "fit_next_frame", "next_frame_experiment",
           "next_frame_step", "next_frame_validation", "pretrain_contrastive", "pretrain_epochs_updates",
           "pretrain_next_frame"]
