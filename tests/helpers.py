"""Shared test helpers (importable as ``helpers`` since pytest puts tests/ on sys.path)."""

import pickle

import numpy as np

import wavesim as ws


def fast_params(**overrides):
    """Parameters under which a tiny lattice shows activity within a few hundred steps."""
    values = dict(P_s=3.0, spont_rate_hz=0.02)
    values.update(overrides)
    return ws.AmacrineParams(**values)


def small_spec(n_movies=3, backend="cpu", **overrides):
    """A store of tiny, quick movies: 30 frames of 16 x 20 px of fast waves (``overrides``: run settings too)."""
    from wavesim.io.store import DatasetSpec

    run = dict(retina=ws.Retina(width_um=500, height_um=400), readout=ws.Readout(um_per_pixel=25, frame_period_s=0.2),
               timing=ws.Timing(duration_s=6.0, warmup_s=5.0), backend=backend)
    values = dict(params=fast_params(), seed=3, n_movies=n_movies)
    run.update({k: overrides.pop(k) for k in list(overrides) if k in run or k == "batch_size"})
    values.update(overrides)
    return DatasetSpec(run=ws.RunSpec(**run), **values)


def assert_cuda_matches_cpu(params, seeds, retina, readout, warm_steps, n_frames, chunk_frames):
    """Run the same batch on ``cuda`` and ``cpu``; assert equal states and frames; return (sim, frames, state)."""
    import numpy as np

    results = []
    for backend in ("cuda", "cpu"):
        sim = ws.Simulation(params, seeds, retina=retina, readout=readout, backend=backend)
        assert sim.backend == backend
        sim.advance(warm_steps)
        frames = np.concatenate([sim.to_host(c) for _, c in sim.frames(n_frames, chunk_frames)], axis=1)
        results.append((sim, frames, sim.state()))
    (gpu, frames_gpu, state_gpu), (_, frames_cpu, state_cpu) = results
    for name in state_cpu:
        assert np.array_equal(state_gpu[name], state_cpu[name]), name
    assert np.array_equal(frames_gpu, frames_cpu)
    return gpu, frames_cpu, state_cpu


def write_cifar(folder, n=12, seed=0):
    """A tiny CIFAR-100 test file in the python version's layout: cifar-100-python/test."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 100, size=n).tolist()
    (folder / "cifar-100-python").mkdir(parents=True, exist_ok=True)
    with open(folder / "cifar-100-python" / "test", "wb") as handle:
        pickle.dump({b"filenames": [b"x.png"] * n, b"fine_labels": labels, b"coarse_labels": labels, b"data": data},
                    handle, protocol=2)
    return data, labels
