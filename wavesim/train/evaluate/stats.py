"""Statistics across replicates and clips: paired t-tests between conditions, Bonferroni-corrected.

May, Dauphin & Gjorgjieva (2025) compare conditions by paired t-tests:
:func:`paired_comparisons` pairs replicate ``i`` of one condition with
replicate ``i`` of another. Their Fig 2 pairs the losses of single clips:
the 1,000 validation clips of the 5 folds pooled (each scored by the
replicate that did not train on it), or the test clips scored by every
replicate, the p-values multiplied by the number of comparisons (6 for
their 4 conditions). A pair must be one clip under two conditions:
:func:`per_clip_comparisons` pairs losses by key (replicate, clip id) and
refuses sets whose keys differ. (The authors' loaders shuffled the clips
anew at each pass, so their pairs were not the same clips; see
docs/paper_experiments.md.)
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from wavesim.errors import ParameterError
from wavesim.validate import check_number

__all__ = ["align_by_key", "comparison_table", "paired_comparisons", "per_clip_comparisons"]


def _significance(p):
    if not p < 0.05:  # also for NaN
        return "n.s."
    return "***" if p < 0.001 else "**" if p < 0.01 else "*"


def paired_comparisons(scores, *, pairs=None, alpha=0.05):
    """Paired t-tests between conditions over replicates, Bonferroni-corrected (May et al. 2025).

    Replicate ``i`` of every condition is paired with replicate ``i`` of the
    others (in wavesim's protocols, the runs of one seed: same initial
    weights, same data order). Each pair of conditions gets a two-sided
    paired t-test (``scipy.stats.ttest_rel``) on the per-replicate scores;
    its p-value is multiplied by the number of comparisons m (Bonferroni)
    and capped at 1. By default every pair of conditions is compared,
    m = k (k - 1) / 2 for k conditions, as in the paper's figures.

    Parameters
    ----------
    scores : mapping of str -> sequence of float
        Per-replicate scores of each condition (e.g. validation error after
        one epoch), all of the same length n >= 2, finite, in replicate order.
        At least two conditions.
    pairs : sequence of (str, str), optional
        The comparisons to make (m = len(pairs)); default all pairs, in the
        order of ``scores``.
    alpha : float
        Family-wise significance level in (0, 1), applied to the corrected p-values.

    Returns
    -------
    list of dict
        One row per comparison: ``a``, ``b`` (condition names), ``n``,
        ``mean_a``, ``mean_b``, ``mean_difference`` (a - b) and
        ``sd_difference`` (ddof 1) of the paired differences, ``t``, ``df``
        (n - 1), ``p`` (uncorrected), ``p_bonferroni``, ``significant``
        (``p_bonferroni < alpha``) and ``stars`` (``***`` < 0.001, ``**`` < 0.01,
        ``*`` < 0.05, else ``n.s.``, on the corrected p-value). When all
        differences are equal, t is infinite (p = 0) or, if they are all
        zero, undefined (t and p NaN, not significant).

    Examples
    --------
    >>> rows = paired_comparisons({"pretrained": [1.0, 2.0, 3.0], "random": [2.0, 4.0, 5.0]})
    >>> rows[0]["mean_difference"], rows[0]["df"]
    (-1.6666666666666667, 2)
    """
    if not hasattr(scores, "items") or len(scores) < 2:
        raise ParameterError(f"scores must map at least two condition names to their per-replicate scores, "
                             f"got {scores!r}")
    alpha = check_number("alpha", alpha)
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be in (0, 1), got {alpha!r}")
    values = {}
    for name, per_replicate in scores.items():
        array = np.asarray(per_replicate, dtype=np.float64)
        if array.ndim != 1 or array.size < 2 or not np.isfinite(array).all():
            raise ParameterError(f"scores[{name!r}] must be at least two finite numbers (one per replicate), "
                                 f"got {per_replicate!r}")
        values[name] = array
    lengths = {name: array.size for name, array in values.items()}
    if len(set(lengths.values())) != 1:
        raise ParameterError(f"every condition needs the same number of replicates to pair them, got {lengths}")
    pairs = list(itertools.combinations(values, 2)) if pairs is None else [tuple(pair) for pair in pairs]
    if not pairs:
        raise ParameterError("pairs must name at least one pair of conditions")
    for pair in pairs:
        if len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= set(values):
            raise ParameterError(f"each of pairs must be two different conditions of scores ({sorted(values)}), "
                                 f"got {pair!r}")
    rows = []
    for a, b in pairs:
        difference = values[a] - values[b]
        with warnings.catch_warnings():
            # All-equal differences: scipy warns of a precision loss and returns inf or NaN, as documented above.
            warnings.simplefilter("ignore", RuntimeWarning)
            t, p = stats.ttest_rel(values[a], values[b])
        p_corrected = min(1.0, float(p) * len(pairs)) if not math.isnan(p) else math.nan
        rows.append({
            "a": a, "b": b, "n": int(difference.size),
            "mean_a": float(values[a].mean()), "mean_b": float(values[b].mean()),
            "mean_difference": float(difference.mean()), "sd_difference": float(difference.std(ddof=1)),
            "t": float(t), "df": int(difference.size - 1), "p": float(p), "p_bonferroni": p_corrected,
            "significant": bool(p_corrected < alpha), "stars": _significance(p_corrected),
        })
    return rows


def comparison_table(rows):
    """The rows of :func:`paired_comparisons` as a Markdown table (one line per comparison)."""
    lines = ["| a | b | n | mean a | mean b | mean a - b | t | p | p (Bonferroni) | |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['a']} | {r['b']} | {r['n']} | {r['mean_a']:.4g} | {r['mean_b']:.4g} | "
                     f"{r['mean_difference']:.4g} | {r['t']:.3g} | {r['p']:.3g} | {r['p_bonferroni']:.3g} | "
                     f"{r['stars']} |")
    return "\n".join(lines)


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
