"""Shared test helpers (importable as ``helpers`` since pytest puts tests/ on sys.path)."""

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
