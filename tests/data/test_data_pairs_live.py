"""WavePairs (contrastive pairs within waves) and LiveWaves (simulated in the training process)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import wavesim as ws  # noqa: E402
from helpers import fast_params  # noqa: E402
from wavesim.data import LiveWaves, WavePairs, draw_retina_params  # noqa: E402
from wavesim.data._live import resolve_cuda_device  # noqa: E402
from wavesim.errors import ParameterError, StoreError  # noqa: E402
from wavesim.io.recordings import Movie  # noqa: E402
from wavesim.analysis import AnalysisParams, frame_wave_labels  # noqa: E402
from wavesim.io.store import open_store  # noqa: E402

ANALYSIS = AnalysisParams(min_size_fraction=0.02)


def test_pairs_are_nearby_frames_of_one_wave(small_store):
    path, _ = small_store
    store = open_store(path)
    labels = {m: frame_wave_labels(Movie(store.read_movie(m), 50, 0.5), ANALYSIS) for m in range(6)}
    ds = WavePairs(path, analysis=ANALYSIS, max_offset_frames=2, batch_size=4, seed=1)
    assert ds.n_items >= 4
    seen = []
    for batch in ds:
        assert len(set(batch["wave_id"].tolist())) == len(batch["wave_id"])  # negatives are other waves
        for k in range(len(batch["wave_id"])):
            m, w = int(batch["movie"][k]), int(batch["wave"][k])
            a, p = int(batch["anchor_frame"][k]), int(batch["positive_frame"][k])
            assert labels[m][a] == labels[m][p] == w and 0 < abs(a - p) <= 2
            frames = store.read_movie(m)
            assert torch.equal(batch["frames"][k, 0], torch.from_numpy(frames[a]).float())
            assert torch.equal(batch["frames"][k, 1], torch.from_numpy(frames[p]).float())
        seen += batch["wave_id"].tolist()
    assert sorted(seen) == list(range(ds.n_items))  # one pair per wave and epoch


def test_pairs_shard_and_vary_by_epoch(small_store):
    path, _ = small_store
    kw = dict(analysis=ANALYSIS, batch_size=1, shuffle_window=2, seed=2)
    ids = []
    for rank in range(2):
        ds = WavePairs(path, rank=rank, world_size=2, **kw)
        ids.append([i for b in ds.loader(num_workers=2) for i in b["wave_id"].tolist()])
    n = WavePairs(path, **kw).n_items
    assert len(ids[0]) == len(ids[1]) == n // 2 and len(set(ids[0] + ids[1])) == 2 * (n // 2)
    ds = WavePairs(path, **kw)
    first = ds.pair_frames(np.arange(n), 0)
    assert all(np.array_equal(a, b) for a, b in zip(first, ds.pair_frames(np.arange(n), 0)))
    assert any(not np.array_equal(a, b) for a, b in zip(first, ds.pair_frames(np.arange(n), 5)))


def test_pairs_without_waves_is_an_error(small_store):
    path, _ = small_store
    with pytest.raises(StoreError, match="no wave with two frames"):
        WavePairs(path, analysis=AnalysisParams(activity_threshold=1))


LIVE = dict(retina=ws.Retina(width_um=1000, height_um=800), readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5),
            warmup_s=5, clip_frames=3, backend="cpu", batches_per_epoch=2)


def test_live_draws_parameters_per_retina_reproducibly():
    ranges = {"P_s": (2.0, 4.0), "H1": (1.0, 2.0)}
    ds = LiveWaves(fast_params(), param_ranges=ranges, n_retinas=4, seed=9, **LIVE)
    params = ds.retina_params()
    assert len({p.P_s for p in params}) == 4 and all(2.0 <= p.P_s <= 4.0 and 1.0 <= p.H1 <= 2.0 for p in params)
    again = LiveWaves(fast_params(), param_ranges=ranges, n_retinas=4, seed=9, **LIVE)
    assert again.retina_params() == params
    assert draw_retina_params(fast_params(), ranges, 9, [2]) == [params[2]]
    batches, batches_again = list(ds), list(again)
    assert all(torch.equal(a["clips"], b["clips"]) for a, b in zip(batches, batches_again))
    assert batches[0]["clips"].shape == (4, 3, 16, 20)


def test_live_ranks_simulate_disjoint_retinas_and_crop():
    a = LiveWaves(fast_params(), n_retinas=2, rank=0, world_size=2, crop_px=8, size_px=4, **LIVE)
    b = LiveWaves(fast_params(), n_retinas=2, rank=1, world_size=2, **LIVE)
    assert a.retina_indices().tolist() == [0, 1] and b.retina_indices().tolist() == [2, 3]
    assert next(iter(a))["clips"].shape == (2, 3, 4, 4)


def test_live_bad_input_is_named():
    with pytest.raises(ParameterError, match="Unknown AmacrineParams parameter 'P'"):
        LiveWaves(param_ranges={"P": (1, 2)}, **LIVE)
    with pytest.raises(ParameterError, match="outside the allowed range"):
        LiveWaves(param_ranges={"P_s": (1, 1e9)}, **LIVE)
    with pytest.raises(ParameterError, match="low 4.0 > high 2.0"):
        LiveWaves(param_ranges={"P_s": (4, 2)}, **LIVE)
    with pytest.raises(ParameterError, match="dt_s cannot vary"):
        LiveWaves(param_ranges={"dt_s": (0.01, 0.02)}, **LIVE).retina_params()
    with pytest.raises(ParameterError, match="must divide n_retinas"):
        LiveWaves(n_retinas=4, batch_size=3, **LIVE)


def test_live_simulates_on_the_current_or_named_gpu():
    # under torchrun, rank 1 has called torch.cuda.set_device(1): its current device is 1, not 0
    assert resolve_cuda_device(None, current=1, count=2) == 1
    assert resolve_cuda_device("cuda", current=1, count=2) == 1
    assert resolve_cuda_device("cuda:0", current=1, count=2) == 0
    assert resolve_cuda_device(torch.device("cuda", 1), current=0, count=2) == 1
    assert resolve_cuda_device(np.int64(1), current=0, count=2) == 1
    for bad, message in [(2, r"device 2: there is no CUDA device 2; 2 visible \(indices 0 to 1"),
                         ("cuda:5", r"device 'cuda:5': there is no CUDA device 5"),
                         (-1, r"device -1: there is no CUDA device -1"),
                         ("cpu", r"device must be None \(the current CUDA device\), an index, 'cuda' or 'cuda:N', got 'cpu'"),
                         ("gpu", r"got 'gpu'"), (True, r"got True"), (1.5, r"got 1.5")]:
        with pytest.raises(ParameterError, match=message):
            resolve_cuda_device(bad, current=0, count=2)
    with pytest.raises(ParameterError, match=r"device=0 picks the GPU of the cuda backend; this LiveWaves runs on "
                                             r"backend 'cpu'"):
        LiveWaves(fast_params(), device=0, **LIVE)
    assert LiveWaves(fast_params(), n_retinas=2, **LIVE).device is None
