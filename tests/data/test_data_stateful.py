"""Resume through torchdata's StatefulDataLoader: the same batches as an uninterrupted epoch, with 0, 1 and 2 workers.

StatefulDataLoader asks each worker's copy of the dataset for its state after
every batch and, on resume, gives every worker its own state back before it
starts; the datasets answer for the copy they are (a worker's place in the
epoch in a worker, the rank's in the training process).
"""

import pytest

torch = pytest.importorskip("torch")
torchdata = pytest.importorskip("torchdata", reason="needs torchdata (pip install torchdata, in the test extra)")
from torchdata.stateful_dataloader import StatefulDataLoader  # noqa: E402

from wavesim.data import WaveClips, WavePairs  # noqa: E402
from wavesim.errors import ParameterError  # noqa: E402

EPOCH = 2
DATASETS = {
    "clips": (WaveClips, dict(clip_frames=5, batch_size=3, shuffle_window=6, seed=5), "clip_id"),
    "pairs": (WavePairs, dict(batch_size=2, shuffle_window=4, seed=5), "wave_id"),
}


def make(kind, path):
    cls, kwargs, _ = DATASETS[kind]
    return cls(path, **kwargs)


def ids(kind, batches):
    key = DATASETS[kind][2]
    return [(int(b["epoch"]), i) for b in batches for i in b[key].tolist()]


def epoch_ids(kind, path, num_workers, epoch=EPOCH):
    ds = make(kind, path)
    ds.set_epoch(epoch)
    return ids(kind, StatefulDataLoader(ds, batch_size=None, num_workers=num_workers))


@pytest.fixture(scope="module")
def uninterrupted(small_store):
    """``{(kind, num_workers): (ids of epoch EPOCH, ids of epoch EPOCH + 1)}`` of uninterrupted runs."""
    path, _ = small_store
    return {(kind, n): (epoch_ids(kind, path, n), epoch_ids(kind, path, n, EPOCH + 1))
            for kind in DATASETS for n in (0, 1, 2)}


@pytest.mark.parametrize("kind", list(DATASETS))
@pytest.mark.parametrize("num_workers", [0, 1, 2])
def test_a_resumed_epoch_yields_exactly_the_batches_an_uninterrupted_one_does(kind, num_workers, small_store,
                                                                               uninterrupted):
    path, _ = small_store
    whole, next_epoch = uninterrupted[(kind, num_workers)]
    ds = make(kind, path)
    ds.set_epoch(EPOCH)
    loader = StatefulDataLoader(ds, batch_size=None, num_workers=num_workers)
    first = []
    for batch in loader:
        first.append(batch)
        if len(first) == 3:
            state = loader.state_dict()
            break
    del loader, ds  # training stops here; a new process builds everything anew
    ds = make(kind, path)
    ds.set_epoch(EPOCH)  # what a training loop over epochs does before resuming
    loader = StatefulDataLoader(ds, batch_size=None, num_workers=num_workers)
    loader.load_state_dict(state)
    rest = ids(kind, loader)
    assert ids(kind, first) + rest == whole
    assert len(set(whole)) == len(whole)
    ds.set_epoch(EPOCH + 1)
    assert ids(kind, loader) == next_epoch  # the next epoch is whole


@pytest.mark.parametrize("kind", list(DATASETS))
def test_resume_with_two_workers_from_every_batch_and_without_set_epoch(kind, small_store, uninterrupted):
    """From several points of the epoch (before a worker has handed out a batch, halfway, after the last batch),
    with persistent workers and snapshots every other step; the saved state alone names the epoch."""
    path, _ = small_store
    whole, _ = uninterrupted[(kind, 2)]
    ds = make(kind, path)
    ds.set_epoch(EPOCH)
    loader = StatefulDataLoader(ds, batch_size=None, num_workers=2, persistent_workers=True,
                                snapshot_every_n_steps=2)
    states, seen = [], []
    for batch in loader:
        seen.append(batch)
        states.append(loader.state_dict())
    assert ids(kind, seen) == whole
    for k in (1, len(states) // 2, len(states)):
        resumed = StatefulDataLoader(make(kind, path), batch_size=None, num_workers=2, persistent_workers=True,
                                     snapshot_every_n_steps=2)
        resumed.load_state_dict(states[k - 1])
        rest = ids(kind, resumed)
        assert ids(kind, seen[:k]) + rest == whole, k  # after the last batch: nothing is left of the epoch
        assert sorted(ids(kind, resumed)) == sorted((0, i) for _, i in whole)  # then a whole pass (epoch 0)


def test_a_state_saved_with_two_workers_does_not_resume_with_one(small_store):
    path, _ = small_store
    ds = make("clips", path)
    loader = StatefulDataLoader(ds, batch_size=None, num_workers=2)
    next(iter(loader))
    state = loader.state_dict()
    worker_state = state["_snapshot"]["_worker_snapshots"]["worker_0"]["dataset_state"]
    assert worker_state["scope"] == "worker" and worker_state["n_workers"] == 2
    with pytest.raises(ParameterError, match=r"saved with 2 DataLoader worker\(s\) but now runs with 1"):
        make("clips", path).load_state_dict(worker_state)
    with pytest.raises(ParameterError, match=r"batch_size: saved 3, now 4"):
        WaveClips(path, **dict(DATASETS["clips"][1], batch_size=4)).load_state_dict(worker_state)
    with pytest.raises(ParameterError, match="a worker's state needs .*; it lacks batches"):
        make("clips", path).load_state_dict({k: v for k, v in worker_state.items() if k != "batches"})
