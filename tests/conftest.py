import os
import tempfile

import numpy as np
import pytest

import wavesim as ws

# Scripts that the tests run in their own processes (torchrun ranks, fit workers, CUDA-simulator runs):
# importing them for their doctests would run them.
collect_ignore = ["ddp_worker.py", "fit_worker.py", "cuda_scripts"]


def pytest_configure(config):
    # Warmed-up retinas go to a cache of this session, never the user's (~/.cache/wavesim/warm).
    os.environ["WAVESIM_CACHE"] = tempfile.mkdtemp(prefix="wavesim-test-cache-")


@pytest.fixture(scope="session")
def mouse_movie():
    """One warmed-up mouse-preset movie: 3.4 mm square, 34 um pixels, 4 frames/s, 150 s."""
    sim = ws.Simulation(
        ws.preset("mouse"),
        seeds=[11],
        retina=ws.Retina(width_um=3400, height_um=3400),
        readout=ws.Readout(um_per_pixel=34, frame_period_s=0.25),
        backend="cpu-events",  # the same bits as cpu (the conformance suite), several times faster
    )
    sim.advance_s(900)
    movie = np.concatenate([chunk for _, chunk in sim.frames(600, 200)], axis=1)[0]
    return movie


def _small_store(path, n_movies, movies=None, chunk_bytes=3200, **readout):
    """A store of 16 x 20-pixel movies of 40 frames in chunks of 10 frames."""
    import wavesim.io.store as store_module
    from helpers import fast_params
    from wavesim.generate import generate_store

    run = ws.RunSpec(retina=ws.Retina(width_um=1000, height_um=800),
                     readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5, **readout),
                     timing=ws.Timing(duration_s=20, warmup_s=20), backend="cpu-events")
    spec = store_module.DatasetSpec(params=fast_params(), run=run, seed=3, n_movies=n_movies)
    saved, store_module.CHUNK_BYTES = store_module.CHUNK_BYTES, chunk_bytes
    try:
        generate_store(path, spec, movies=movies, progress=False)
    finally:
        store_module.CHUNK_BYTES = saved
    return path, spec


@pytest.fixture(scope="session")
def small_store(tmp_path_factory):
    """(path, spec) of a complete 6-movie store."""
    return _small_store(tmp_path_factory.mktemp("stores") / "small.zarr", 6)


@pytest.fixture(scope="session")
def unfinished_store(tmp_path_factory):
    """(path, spec) of a 4-movie store whose movie 1 was never written (as after an interrupted run)."""
    return _small_store(tmp_path_factory.mktemp("stores") / "unfinished.zarr", 4, movies=[0, 2, 3])
