"""The conditions of the two protocols: pre-trained, and the papers' controls.

``pretrained``
    pre-trained on waves, then trained or evaluated on the target;
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

__all__ = ["CONTRASTIVE_CONDITIONS", "NEXT_FRAME_CONDITIONS", "SHUFFLED_WEIGHTS"]

NEXT_FRAME_CONDITIONS = ("pretrained", "random_init", "shuffled_entries", "shuffled_filters", "time_matched",
                         "shuffled_frames")
CONTRASTIVE_CONDITIONS = ("pretrained", "random_init", "shuffled_entries", "shuffled_filters")
#: Scope of :func:`~wavesim.train.models.shuffle_weights` for each shuffled-weights condition.
SHUFFLED_WEIGHTS = {"shuffled_entries": "entries", "shuffled_filters": "filters"}
