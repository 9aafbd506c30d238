"""Per-clip paired t-tests between conditions, as May et al. (2025) test their networks.

Their Fig 2 compares conditions by paired t-tests on the losses of single
clips: the 1,000 validation clips of the 5 folds pooled (each scored by the
replicate that did not train on it), or the test clips scored by every
replicate, the p-values multiplied by the number of comparisons (6 for
their 4 conditions). A pair must be one clip under two conditions:
:func:`per_clip_comparisons` pairs losses by key (replicate, clip id) and
refuses sets whose keys differ. (The authors' loaders shuffled the clips
anew at each pass, so their pairs were not the same clips; see
docs/paper_experiments.md.)
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from .evaluate import paired_comparisons

__all__ = ["align_by_key", "per_clip_comparisons"]


def _keys_of(name: str, keys) -> list[tuple]:
    keys = [tuple(np.atleast_1d(np.asarray(k)).tolist()) for k in keys]
    if len(set(keys)) != len(keys):
        raise ParameterError(f"losses[{name!r}] has repeated keys; every (replicate, clip) must appear once.")
    return keys


def align_by_key(losses: Mapping[str, tuple[Sequence, Sequence[float]]]) -> tuple[list[tuple], dict[str, np.ndarray]]:
    """Put every condition's per-clip losses in one order of keys.

    Parameters
    ----------
    losses : mapping of str -> (keys, values)
        Per condition, the key of each loss (e.g. ``(replicate, clip_id)``,
        any hashable or array of integers) and the losses, in any order.

    Returns
    -------
    keys : list of tuple
        The keys, sorted.
    values : dict of str -> numpy.ndarray
        Each condition's losses in the order of ``keys``.

    Raises
    ------
    wavesim.errors.ParameterError
        If a condition has a key twice, keys and losses differ in number, or
        the conditions do not hold the same keys (naming a few that differ).
    """
    if not hasattr(losses, "items") or len(losses) < 2:
        raise ParameterError(f"losses must map at least two conditions to (keys, losses), got {losses!r}.")
    table, reference = {}, None
    for name, pair in losses.items():
        try:
            keys, values = pair
        except (TypeError, ValueError):
            raise ParameterError(f"losses[{name!r}] must be a (keys, losses) pair.") from None
        keys = _keys_of(name, keys)
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(keys),):
            raise ParameterError(f"losses[{name!r}]: {len(keys)} keys but losses of shape {values.shape}.")
        table[name] = dict(zip(keys, values))
        if reference is None:
            reference = (name, set(keys))
        elif set(keys) != reference[1]:
            differ = sorted(set(keys) ^ reference[1])[:3]
            raise ParameterError(f"losses[{name!r}] and losses[{reference[0]!r}] hold different clips (e.g. "
                                 f"{differ}); per-clip pairs need the same (replicate, clip) keys on both sides.")
    keys = sorted(reference[1])
    return keys, {name: np.array([by_key[k] for k in keys]) for name, by_key in table.items()}


def per_clip_comparisons(losses: Mapping[str, tuple[Sequence, Sequence[float]]], *,
                         pairs: Sequence[tuple[str, str]] | None = None, alpha: float = 0.05) -> list[dict]:
    """Paired t-tests on per-clip losses, pairs matched by key, Bonferroni over the comparisons made.

    Parameters
    ----------
    losses : mapping of str -> (keys, values)
        See :func:`align_by_key`.
    pairs : sequence of (str, str), optional
        The comparisons (m = len(pairs)); default every pair of conditions,
        m = k (k - 1) / 2 (6 for May et al.'s 4 conditions).
    alpha : float
        Family-wise level applied to the corrected p-values.

    Returns
    -------
    list of dict
        :func:`~wavesim.train.evaluate.paired_comparisons`'s rows (``n`` is
        the number of clips), p-values times m, capped at 1.

    Examples
    --------
    >>> keys = [(0, 3), (0, 1), (1, 3)]
    >>> rows = per_clip_comparisons({"a": (keys, [1.0, 2.0, 3.5]), "b": (keys[::-1], [2.0, 1.0, 0.5])})
    >>> rows[0]["n"], rows[0]["mean_difference"]
    (3, 1.0)
    """
    _, values = align_by_key(losses)
    return paired_comparisons(values, pairs=pairs, alpha=alpha)
