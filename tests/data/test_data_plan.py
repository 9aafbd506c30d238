"""The epoch plan: exactly once, equal counts per rank, determinism, resume (no torch, no I/O)."""

import itertools

import numpy as np
import pytest

from wavesim.data._plan import EpochPlan, hash_uniform
from wavesim.errors import ParameterError


def make_plan(sizes, **kw):
    values = dict(seed=7, epoch=0, shuffle=True, rank=0, world_size=1, n_workers=1, batch_size=4, window=8,
                  remainder="drop", drop_last=False)
    values.update(kw)
    return EpochPlan(unit_sizes=np.asarray(sizes), **values)


def epoch_items(sizes, world_size, n_workers, **kw):
    """Every (rank, worker, batch, ids, padded) of one epoch."""
    out = []
    for rank in range(world_size):
        plan = make_plan(sizes, rank=rank, world_size=world_size, n_workers=n_workers, **kw)
        for worker in range(n_workers):
            for index, _, positions in plan.batches(worker):
                ids, padded = plan.item_ids(positions)
                out.append((rank, worker, index, ids, padded))
    return out


SIZES = [5, 0, 7, 3, 9, 1, 4]  # 29 items, one empty unit


@pytest.mark.parametrize("world_size,n_workers,batch_size,window", list(itertools.product([1, 2, 3], [1, 2, 3], [1, 4], [1, 6, 50])))
def test_drop_yields_each_item_at_most_once_and_equal_counts(world_size, n_workers, batch_size, window):
    runs = epoch_items(SIZES, world_size, n_workers, batch_size=batch_size, window=window)
    ids = np.concatenate([r[3] for r in runs])
    assert len(np.unique(ids)) == len(ids) == (29 // world_size) * world_size
    per_rank = [sum(len(r[3]) for r in runs if r[0] == rank) for rank in range(world_size)]
    assert len(set(per_rank)) == 1
    batches = [sum(1 for r in runs if r[0] == rank) for rank in range(world_size)]
    assert len(set(batches)) == 1
    assert not np.concatenate([r[4] for r in runs]).any()


@pytest.mark.parametrize("world_size,n_workers", [(2, 2), (3, 1), (4, 3)])
def test_pad_covers_every_item_and_flags_repeats(world_size, n_workers):
    runs = epoch_items(SIZES, world_size, n_workers, remainder="pad")
    ids = np.concatenate([r[3] for r in runs])
    padded = np.concatenate([r[4] for r in runs])
    assert set(ids) == set(range(29))
    assert len(ids) == -(-29 // world_size) * world_size
    assert len(np.unique(ids[~padded])) == 29 and padded.sum() == len(ids) - 29


def test_exactly_once_when_evenly_divisible():
    sizes = [6, 6, 4]  # 16 items, 2 ranks x 2 workers
    runs = epoch_items(sizes, 2, 2, batch_size=2, window=4)
    assert sorted(np.concatenate([r[3] for r in runs]).tolist()) == list(range(16))


def test_drop_last_leaves_out_only_short_batches():
    runs = epoch_items(SIZES, 2, 2, drop_last=True)
    assert all(len(r[3]) == 4 for r in runs)
    assert sum(len(r[3]) for r in runs) == 24  # 14 per rank, 3 full batches each


def test_order_is_a_pure_function_of_seed_and_epoch():
    def order(**kw):
        return np.concatenate([r[3] for r in epoch_items(SIZES, 1, 1, **kw)]).tolist()

    assert order() == order()
    assert order() != order(epoch=1)
    assert order() != order(seed=8)
    assert order(shuffle=False) == list(range(29))


def test_window_shuffle_mixes_units():
    plan = make_plan([100] * 10, window=400, batch_size=400)
    ids, _ = plan.item_ids(plan.window_positions(0))
    assert len(np.unique(ids // 100)) == 4  # a window spans several units, in mixed order
    assert (np.diff(ids) != 1).mean() > 0.9


@pytest.mark.parametrize("n_workers", [1, 3])
def test_skip_resumes_exactly(n_workers):
    plan = make_plan(SIZES, n_workers=n_workers, batch_size=2, window=4)
    for worker in range(n_workers):
        whole = list(plan.batches(worker))
        for skip in range(len(whole) + 1):
            rest = list(plan.batches(worker, skip))
            assert [b[0] for b in rest] == [b[0] for b in whole[skip:]]
            assert all(np.array_equal(a[2], b[2]) for a, b in zip(rest, whole[skip:]))


def test_counts_agree_with_batches():
    plan = make_plan(SIZES, world_size=2, n_workers=3, batch_size=3, window=3)
    for worker in range(3):
        batches = list(plan.batches(worker))
        assert len(batches) == plan.worker_batches(worker)
        assert sum(len(b[2]) for b in batches) == plan.worker_items(worker)
    assert plan.n_batches() == sum(plan.worker_batches(w) for w in range(3))


def test_bad_plans_are_refused():
    with pytest.raises(ParameterError, match="cannot be split over 40 ranks"):
        make_plan(SIZES, world_size=40, rank=0)
    with pytest.raises(ParameterError, match="rank must lie"):
        make_plan(SIZES, world_size=2, rank=2)
    with pytest.raises(ParameterError, match="remainder"):
        make_plan(SIZES, remainder="wrap")


def test_hash_uniform_is_pure_and_uniform():
    ids = np.arange(20000)
    u = hash_uniform(3, 1, ids, 5)
    assert np.array_equal(u, hash_uniform(3, 1, ids, 5))
    assert not np.array_equal(u, hash_uniform(3, 2, ids, 5))
    assert ((u >= 0) & (u < 1)).all()
    assert np.histogram(u, bins=10, range=(0, 1))[0].min() > 1800
