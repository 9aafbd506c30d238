"""WaveClips: clips from stores through real DataLoaders, workers and ranks."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import wavesim as ws  # noqa: E402
from wavesim.data import WaveClips, pixel_statistics  # noqa: E402
from wavesim.errors import ParameterError, StoreNotFoundError  # noqa: E402
from wavesim.io.recordings import Movie  # noqa: E402
from wavesim.analysis import frame_wave_labels  # noqa: E402
from wavesim.io.store import open_store  # noqa: E402

CLIPS = dict(clip_frames=5, batch_size=3, shuffle_window=6, seed=5)
N_CLIPS = 6 * 8  # 6 movies of 40 frames, non-overlapping clips of 5


def ids_of(batches):
    return [i for b in batches for i in b["clip_id"].tolist()]


def test_clips_are_the_stored_frames(small_store):
    path, _ = small_store
    ds = WaveClips(path, clip_frames=4, frame_stride=2, clip_step=3, batch_size=7, shuffle=False)
    store = open_store(path)
    assert ds.n_items == 6 * ((40 - 7) // 3 + 1)
    for batch in ds:
        for k in range(len(batch["clip_id"])):
            movie, first = int(batch["movie"][k]), int(batch["first_frame"][k])
            expected = store.read_movie(movie)[first : first + 7 : 2]
            assert torch.equal(batch["clips"][k], torch.from_numpy(expected).float())
    assert ds.clip(0) == {"store": str(path), "movie": 0, "first_frame": 0, "frames": [0, 2, 4, 6]}


def test_two_workers_by_two_ranks_yield_every_clip_once_with_equal_counts(small_store):
    path, _ = small_store
    per_rank = []
    for rank in range(2):
        ds = WaveClips(path, rank=rank, world_size=2, **CLIPS)
        batches = list(ds.loader(num_workers=2))
        assert len(batches) == len(ds)
        per_rank.append(ids_of(batches))
        assert {b["worker"] for b in batches} == {0, 1}
    assert len(per_rank[0]) == len(per_rank[1]) == N_CLIPS // 2
    assert sorted(per_rank[0] + per_rank[1]) == list(range(N_CLIPS))


def test_uneven_split_drops_or_pads_to_equal_counts(small_store):
    path, _ = small_store
    dropped = [ids_of(WaveClips(path, rank=r, world_size=5, **CLIPS)) for r in range(5)]
    assert {len(x) for x in dropped} == {N_CLIPS // 5}
    assert len(set(sum(dropped, []))) == 5 * (N_CLIPS // 5)
    padded = [list(WaveClips(path, rank=r, world_size=5, remainder="pad", **CLIPS)) for r in range(5)]
    assert {len(ids_of(x)) for x in padded} == {-(-N_CLIPS // 5)}
    assert set(sum(map(ids_of, padded), [])) == set(range(N_CLIPS))
    assert sum(int(b["padded"].sum()) for x in padded for b in x) == 5 * -(-N_CLIPS // 5) - N_CLIPS
    with pytest.raises(ParameterError, match=r"48 items do not divide evenly over 5 ranks \(remainder='error'\): 3 would"):
        WaveClips(path, rank=0, world_size=5, remainder="error", **CLIPS)
    strict = [ids_of(WaveClips(path, rank=r, world_size=4, remainder="error", **CLIPS)) for r in range(4)]
    assert sorted(sum(strict, [])) == list(range(N_CLIPS))


def test_order_and_crops_depend_only_on_seed_epoch_and_clip(small_store):
    path, _ = small_store
    kw = dict(CLIPS, crop_px=(8, 10))
    one = list(WaveClips(path, **kw))
    again = list(WaveClips(path, **kw).loader(num_workers=2))
    assert sorted(ids_of(one)) == sorted(ids_of(again))
    crops = {i: c for b in one for i, c in zip(b["clip_id"].tolist(), b["clips"])}
    for b in again:  # another sharding, same crop of each clip
        for i, c in zip(b["clip_id"].tolist(), b["clips"]):
            assert torch.equal(crops[i], c)
    assert ids_of(one) == ids_of(WaveClips(path, **kw))
    ds = WaveClips(path, **kw)
    ds.set_epoch(1)
    other = list(ds)
    assert ids_of(other) != ids_of(one) and sorted(ids_of(other)) == sorted(ids_of(one))
    assert any(not torch.equal(crops[i], c) for b in other for i, c in zip(b["clip_id"].tolist(), b["clips"]))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_mid_epoch_neither_repeats_nor_skips(small_store, num_workers):
    path, _ = small_store
    ds = WaveClips(path, **CLIPS)
    ds.set_epoch(3)
    whole = ids_of(ds.loader(num_workers=num_workers))
    ds = WaveClips(path, **CLIPS)
    ds.set_epoch(3)
    loader = ds.loader(num_workers=num_workers)
    first = []
    for batch in loader:
        first.append(batch)
        if len(first) == 5:
            state = loader.state_dict()
            break
    del loader  # as if training stopped here
    resumed = WaveClips(path, **CLIPS)  # a fresh process would build it anew
    resumed.load_state_dict(state)
    assert resumed.epoch == 3
    rest = ids_of(resumed.loader(num_workers=num_workers))
    assert ids_of(first) + rest == whole
    assert ids_of(resumed.loader(num_workers=num_workers)) == whole  # the next pass is whole again


def test_persistent_pinned_workers_follow_set_epoch_and_resume(small_store):
    path, _ = small_store
    ds = WaveClips(path, **CLIPS)
    loader = ds.loader(num_workers=2, persistent_workers=True, pin_memory=torch.cuda.is_available())
    epoch0 = ids_of(loader)
    loader.set_epoch(1)
    epoch1 = ids_of(loader)
    assert epoch0 != epoch1 and sorted(epoch0) == sorted(epoch1) == list(range(N_CLIPS))
    loader.set_epoch(0)
    assert ids_of(loader) == epoch0
    partial = []
    for batch in loader:
        partial.append(batch)
        if len(partial) == 3:
            state = loader.state_dict()
            break
    loader.load_state_dict(state)
    assert ids_of(partial) + ids_of(loader) == epoch0


def test_spawned_workers(small_store):
    path, _ = small_store
    ds = WaveClips(path, **CLIPS)
    assert sorted(ids_of(ds.loader(num_workers=1, multiprocessing_context="spawn"))) == list(range(N_CLIPS))


def test_resume_state_is_checked(small_store):
    path, _ = small_store
    ds = WaveClips(path, **CLIPS)
    state = ds.state_dict()
    with pytest.raises(ParameterError, match="batch_size: saved 3, now 4"):
        WaveClips(path, **dict(CLIPS, batch_size=4)).load_state_dict(state)
    loader = ds.loader(num_workers=2)
    next(iter(loader))
    state = loader.state_dict()
    other = WaveClips(path, **CLIPS)
    other.load_state_dict(state)
    with pytest.raises(ParameterError, match="saved with 2 DataLoader worker"):
        list(other)
    with pytest.raises(ParameterError, match="worker_batches"):
        other.load_state_dict({"version": 1})


def test_unfinished_movie_is_not_read(unfinished_store):
    path, _ = unfinished_store
    ds = WaveClips(path, **CLIPS)
    movies = {m for b in ds for m in b["movie"].tolist()}
    assert movies == {0, 2, 3}
    assert ds.n_items == 3 * 8


def test_unit_reads_are_shared_by_clips(small_store):
    path, _ = small_store
    ds = WaveClips(path, clip_frames=5, clip_step=1, batch_size=8, shuffle_window=64)
    # chunks of 10 frames: clips whose first frames share a chunk are one unit
    assert ds._unit_sizes.tolist() == [10, 10, 10, 6] * 6
    assert len(ids_of(ds)) == 6 * 36


def test_zscore_and_resize(small_store):
    path, _ = small_store
    mean, std = pixel_statistics(path)
    frames = np.concatenate([open_store(path).read_movie(m) for m in range(6)]).astype(np.float64)
    assert np.allclose(mean, frames.mean(0), atol=1e-6)
    clips = torch.cat([b["clips"] for b in WaveClips(path, zscore=True, **CLIPS)])
    flat = clips.reshape(-1, 16, 20)
    assert torch.allclose(flat.mean(0), torch.zeros(16, 20), atol=1e-4)
    varying = torch.from_numpy(frames.std(0) > 0)
    assert torch.allclose(flat.std(0, unbiased=False)[varying], torch.ones(int(varying.sum())), atol=1e-3)
    small = next(iter(WaveClips(path, size_px=(8, 10), **CLIPS)))["clips"]
    assert small.shape == (3, 5, 8, 10) and 0 <= small.min() and small.max() <= 1


def test_calcium_store_is_scaled_to_unit_range(tmp_path):
    from conftest import _small_store

    path, _ = _small_store(tmp_path / "ca.zarr", 2, kind="calcium", calcium_tau_s=0.5)
    clips = torch.cat([b["clips"] for b in WaveClips(path, **CLIPS)])
    stored = np.concatenate([open_store(path).read_movie(m) for m in range(2)])
    assert stored.max() > 1 and clips.max() <= 1.0 and clips.max() == pytest.approx(stored.max() / 255)


def test_wave_labels_follow_the_statistics_module(small_store):
    path, _ = small_store
    store = open_store(path)
    labels = {m: frame_wave_labels(Movie(store.read_movie(m), 50, 0.5)) for m in range(6)}
    for batch in WaveClips(path, wave_labels=True, **CLIPS):
        for m, f, wave in zip(batch["movie"].tolist(), batch["first_frame"].tolist(), batch["wave"]):
            assert wave.tolist() == labels[m][f : f + 5].tolist()


def test_bad_input_is_named(small_store, tmp_path):
    path, _ = small_store
    with pytest.raises(StoreNotFoundError, match="does not exist"):
        WaveClips(tmp_path / "nowhere.zarr")
    with pytest.raises(ParameterError, match="shorter than one clip"):
        WaveClips(path, clip_frames=41)
    with pytest.raises(ParameterError, match="crop_px"):
        WaveClips(path, crop_px=(17, 4))
    with pytest.raises(ParameterError, match="crop must be one of"):
        WaveClips(path, crop_px=4, crop="corner")
    with pytest.raises(ParameterError, match="batch_size"):
        WaveClips(path, batch_size=0)
    with pytest.raises(ParameterError, match="rank and world_size"):
        WaveClips(path, rank=1)
    with pytest.raises(ParameterError, match="set batch_size on the dataset"):
        WaveClips(path).loader(batch_size=4)


def test_live_frames_equal_stored_frames(small_store):
    from wavesim.data import LiveWaves

    path, spec = small_store
    live = LiveWaves(spec.params, retina=spec.retina, readout=spec.readout, warmup_s=spec.timing.warmup_s,
                     n_retinas=6, batch_size=3, clip_frames=5, seed=spec.seed, backend="cpu", batches_per_epoch=12)
    stored = {(m, f): c for b in WaveClips(path, clip_frames=5, batch_size=6, shuffle=False)
              for m, f, c in zip(b["movie"].tolist(), b["first_frame"].tolist(), b["clips"])}
    batches = list(live)
    assert len(batches) == 12
    for batch in batches:
        assert batch["clips"].shape == (3, 5, 16, 20)
        for g, f, clip in zip(batch["retina"].tolist(), batch["first_frame"].tolist(), batch["clips"]):
            assert torch.equal(clip, stored[(g, f)])
    more = next(iter(live))  # a new epoch continues the same running retinas
    assert more["first_frame"][0] == 30
    assert isinstance(ws.__version__, str)
