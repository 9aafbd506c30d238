"""Evaluations of pre-trained networks, one module each.

- :mod:`~wavesim.train.evaluate.features`: running a network for evaluation
  (:func:`extract_features`);
- :mod:`~wavesim.train.evaluate.probes`: linear probes and the digits probe
  (Ligeralde et al. 2023);
- :mod:`~wavesim.train.evaluate.translation`: the translation test, exemplars
  recognised at unseen shifts (Ligeralde et al. 2023);
- :mod:`~wavesim.train.evaluate.layer_capacity`: capacity, radius and
  dimension of the translation manifolds in every layer;
- :mod:`~wavesim.train.evaluate.next_frame`: the next-frame error on
  held-out target clips (May et al. 2025);
- :mod:`~wavesim.train.evaluate.receptive_fields`: receptive fields by
  activation maximisation (May et al. 2025);
- :mod:`~wavesim.train.evaluate.gratings`: responses to static gratings
  (May et al. 2025);
- :mod:`~wavesim.train.evaluate.stats`: paired t-tests between conditions
  over replicates or clips, Bonferroni-corrected (May et al. 2025).

The probes run on material that ships with scikit-learn and scikit-image,
so everything runs offline.
"""

from .features import BATCH_NORM_MODES, extract_features
from .gratings import grating_responses, static_gratings
from .layer_capacity import plot_translation_manifolds, translation_manifolds
from .next_frame import next_frame_error
from .probes import digits_probe, linear_probe
from .receptive_fields import activation_maximisation, receptive_field, receptive_field_size
from .stats import align_by_key, comparison_table, paired_comparisons, per_clip_comparisons
from .translation import translation_invariance

__all__ = [
    "BATCH_NORM_MODES",
    "activation_maximisation",
    "align_by_key",
    "comparison_table",
    "digits_probe",
    "extract_features",
    "grating_responses",
    "linear_probe",
    "next_frame_error",
    "paired_comparisons",
    "per_clip_comparisons",
    "plot_translation_manifolds",
    "receptive_field",
    "receptive_field_size",
    "static_gratings",
    "translation_invariance",
    "translation_manifolds",
]
