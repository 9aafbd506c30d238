"""Generation on a real Dask LocalCluster (2 worker processes of 1 thread, shared by the module's tests).

Every store written through the cluster is compared, file by file and byte
for byte, with one written by a single process.
"""

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import wavesim.io.store as store_module
from helpers import small_spec
from wavesim.cli import main
from wavesim.errors import ClusterError
from wavesim.generate import generate_store
from wavesim.io.store import open_store

pytest.importorskip("distributed", reason="needs the distributed extra: pip install 'wavesim[distributed]'")
from wavesim.cluster import generate_store_distributed, numba_threads_per_worker, open_client  # noqa: E402

#: 4 movies of 30 frames of 16 x 20 px in chunks of 10 frames (with CHUNK_BYTES patched), so a task writes 3 chunks.
SPEC = small_spec(n_movies=4, backend="cpu-events")
CLI_SPEC = ["--movies", "4", "--width-um", "500", "--height-um", "400", "--um-per-pixel", "25",
            "--frame-period-s", "0.2", "--duration-s", "6", "--warmup-s", "5", "--seed", "3",
            "--backend", "cpu-events", "--no-progress"]
SMALL_CHUNK_BYTES = 3200
DEFAULT_CHUNK_BYTES = store_module.CHUNK_BYTES
#: Provenance that differs between two runs of one dataset.
RUN_ATTRS = ("command_line", "created_utc")


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    # Only the client creates stores, so patching it here sets the chunking the workers follow.
    monkeypatch.setattr(store_module, "CHUNK_BYTES", SMALL_CHUNK_BYTES)


ENVIRONMENT_BEFORE = os.environ.get("NUMBA_NUM_THREADS")


@pytest.fixture(scope="module")
def client():
    """A client of a LocalCluster of 2 worker processes, started as ``wavesim generate --workers 2`` starts it."""
    with open_client(n_workers=2) as client:
        yield client


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The store a single process writes."""
    path = tmp_path_factory.mktemp("one_process") / "one.zarr"
    saved, store_module.CHUNK_BYTES = store_module.CHUNK_BYTES, SMALL_CHUNK_BYTES
    try:
        generate_store(path, SPEC, progress=False)
    finally:
        store_module.CHUNK_BYTES = saved
    return path


def assert_same_store(path, reference):
    """Every file of the two stores holds the same bytes; the root's provenance differs only in RUN_ATTRS."""
    files = sorted(p.relative_to(path) for p in path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(reference) for p in reference.rglob("*") if p.is_file())
    root = [json.loads((p / "zarr.json").read_text()) for p in (path, reference)]
    for doc in root:
        for key in RUN_ATTRS:
            doc["attributes"].pop(key)
    assert root[0] == root[1]
    differ = [str(f) for f in files if str(f) != "zarr.json" and (path / f).read_bytes() != (reference / f).read_bytes()]
    assert differ == []
    assert open_store(path).complete_movies() == list(range(SPEC.n_movies))


def test_a_local_cluster_fills_the_same_store_as_one_process(client, reference, tmp_path):
    path = tmp_path / "cluster.zarr"
    # Without the warm-state cache, which the reference filled, the workers simulate every warm-up themselves;
    # given the scheduler's address, the call connects a client of its own.
    store = generate_store_distributed(path, SPEC, client.scheduler.address, progress=False,
                                       warm_cache=False)
    assert store.chunk_frames == 10 and store.movies.nchunks == SPEC.n_movies * 3
    assert_same_store(path, reference)


def test_starting_a_local_cluster_leaves_this_process_environment_as_it_was(client):
    # The nanny sets its workers' pre-spawn environment in this process too; it is put back (a restarted worker
    # sets it again until the cluster closes).
    assert os.environ.get("NUMBA_NUM_THREADS") == ENVIRONMENT_BEFORE


def _arm_kill(movie, marker):
    """In a worker: die (SIGKILL) right after the second chunk of ``movie`` is written, once (``marker``)."""
    from wavesim.io.store import WaveStore

    write_frames = WaveStore.write_frames

    def dying_write_frames(self, m, first, frames):
        write_frames(self, m, first, frames)
        if m == movie and first > 0 and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)

    dying_write_frames.original = write_frames
    WaveStore.write_frames = dying_write_frames


def _disarm():
    """Undo _arm_kill or _arm_failure."""
    from wavesim.io.store import WaveStore

    WaveStore.write_frames = getattr(WaveStore.write_frames, "original", WaveStore.write_frames)


def test_a_worker_killed_mid_task_leaves_a_store_that_resume_completes(client, reference, tmp_path):
    path, marker = tmp_path / "killed.zarr", tmp_path / "killed-once"
    scheduler = client.cluster.scheduler
    client.run(_arm_kill, 1, str(marker))
    # No retries, so the run ends with the death and leaves the store as it was.
    saved, scheduler.allowed_failures = scheduler.allowed_failures, 0
    try:
        with pytest.raises(ClusterError, match=r"movie\(s\) of .*killed.zarr failed on the cluster. movies? (\d, )*1"
                                               r"(, \d)*: KilledWorker: each worker that ran it died .* rerun with "
                                               r"--resume to finish"):
            generate_store_distributed(path, SPEC, client, progress=False)
    finally:
        scheduler.allowed_failures = saved
        client.run(_disarm)
        client.wait_for_workers(2, timeout=60)  # the nanny restarts the dead one; leave the cluster as found
    assert marker.exists()
    store = open_store(path)
    complete = store.complete_movies()
    assert 1 not in complete
    # The dead task wrote movie 1's first two chunks; its flag was never set.
    assert [d.first_frame for d in store.chunk_damage(1, decode=False)] == [20]
    for m in complete:
        assert store.chunk_damage(m) == []
    assert main(["generate", str(path), "--params", str(_params_file(tmp_path)), *CLI_SPEC, "--resume",
                 "--scheduler", client.scheduler.address]) == 0
    assert_same_store(path, reference)


def _params_file(tmp_path):
    f = tmp_path / "fast.toml"
    f.write_text("[parameters]\nP_s = 3.0\nspont_rate_hz = 0.02\n")
    return f


def test_two_clients_writing_disjoint_ranges_through_one_cluster_equal_one_run(client, tmp_path, monkeypatch,
                                                                              capsys):
    # Command lines create their stores with the default chunks (one per movie here), so the reference does too.
    monkeypatch.setattr(store_module, "CHUNK_BYTES", DEFAULT_CHUNK_BYTES)
    one = tmp_path / "one.zarr"
    generate_store(one, SPEC, progress=False)
    path = tmp_path / "two.zarr"
    # Two command lines, each with its own client, race to create the store; one does, the other joins it as a
    # split run does. Threads of this process rather than processes, to save two start-ups of Python.
    argv = [["generate", str(path), "--params", str(_params_file(tmp_path)), *CLI_SPEC, "--movie-range", movies,
             "--scheduler", client.scheduler.address] for movies in ("0:2", "2:4")]
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(main, argv)) == [0, 0]
    assert capsys.readouterr().err.count("2 worker(s), 2 thread(s)") == 2
    assert_same_store(path, one)


def test_without_dask_the_cluster_options_name_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    args = ["generate", str(tmp_path / "s.zarr"), "--params", str(_params_file(tmp_path)), *CLI_SPEC]
    for option in (["--workers", "2"], ["--scheduler", "tcp://127.0.0.1:8786"]):
        assert main([*args, *option]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "needs Dask: pip install 'wavesim[distributed]'" in err[0], err
    assert not (tmp_path / "s.zarr").exists()


def test_a_users_error_on_a_worker_reads_as_on_the_client_and_writes_nothing(client, tmp_path):
    from wavesim.backends import cuda_status
    from wavesim.errors import BackendUnavailableError

    if client.submit(cuda_status, pure=False).result()[0]:
        pytest.skip("the workers have a usable GPU")
    with pytest.raises(BackendUnavailableError, match="backend 'cuda' is not usable here"):
        generate_store_distributed(tmp_path / "gpu.zarr", small_spec(n_movies=4, backend="cuda"), client,
                                       progress=False)
    assert not (tmp_path / "gpu.zarr").exists()


def test_the_console_script_splits_numba_threads_between_workers_after_a_run_on_the_same_numba_cache(tmp_path):
    """A spawned worker imports numba with the console script, before LocalCluster(env=...) applied
    NUMBA_NUM_THREADS: the split was silently ignored, or, when a disk-cached function ran before one that had
    to compile, every task failed ("Cannot set NUMBA_NUM_THREADS ... once the threads have been launched").

    Both runs share Numba's cache (the default one, warm from the rest of the suite: a fresh cache would spend
    minutes compiling here; the fresh-cache failure was reproduced by hand, see docs/distributed.md)."""
    script = Path(sys.executable).with_name("wavesim")
    env = {**os.environ, "WAVESIM_CACHE": str(tmp_path / "warm")}
    env.pop("NUMBA_NUM_THREADS", None)
    args = ["--params", str(_params_file(tmp_path)), *CLI_SPEC[:-3], "--no-progress"]
    one = subprocess.run([script, "generate", tmp_path / "one.zarr", *args, "--backend", "cpu"], env=env,
                         capture_output=True, text=True, timeout=900)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([script, "generate", tmp_path / "two.zarr", *args, "--backend", "cpu-events", "--workers",
                          "2"], env=env, capture_output=True, text=True, timeout=900)
    assert two.returncode == 0, two.stderr[-3000:]
    assert f"2 worker(s), 2 thread(s), Numba threads per worker: {numba_threads_per_worker(2)};" in two.stderr
    assert open_store(tmp_path / "two.zarr").complete_movies() == [0, 1, 2, 3]


def _arm_failure(movie):
    """In a worker: writing any chunk of ``movie`` raises."""
    from wavesim.io.store import WaveStore

    write_frames = WaveStore.write_frames

    def failing_write_frames(self, m, first, frames):
        if m == movie:
            raise RuntimeError(f"the disk refused movie {m}")
        write_frames(self, m, first, frames)

    failing_write_frames.original = write_frames
    WaveStore.write_frames = failing_write_frames


def test_a_failed_movie_is_one_line_with_its_traceback_in_a_log_file(client, tmp_path, capfd):
    path = tmp_path / "failing.zarr"
    client.run(_arm_failure, 2)
    try:
        code = main(["generate", str(path), "--params", str(_params_file(tmp_path)), *CLI_SPEC,
                     "--scheduler", client.scheduler.address])
    finally:
        client.run(_disarm)
    err = capfd.readouterr().err  # the workers' processes write to this process's stderr too
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2
    assert lines[-1].startswith("wavesim generate: error: 1 movie(s) of ") and "Traceback" not in err, err
    assert "Compute Failed" not in err and "distributed.worker" not in err, err
    assert "movie 2: RuntimeError: the disk refused movie 2. The 3/4 complete movies are kept" in lines[-1]
    log = Path(f"{path}.log")
    assert f"The first traceback of each error is in {log}." in lines[-1]
    text = log.read_text()
    assert "Traceback" in text and "failing_write_frames" in text and "the disk refused movie 2" in text
    assert open_store(path).complete_movies() == [0, 1, 3]


def test_progress_moves_with_each_chunk_not_only_with_each_finished_movie(client, tmp_path, monkeypatch):
    import wavesim.generate as generate_module

    updates = []

    class Bar:
        def update(self, seconds):
            updates.append(seconds)

        def set_postfix_str(self, *args, **kwargs):
            pass

        def close(self):
            pass

    monkeypatch.setattr(generate_module, "_progress_bar", lambda *args: Bar())
    generate_store_distributed(tmp_path / "p.zarr", SPEC, client, warm_cache=False)
    per_movie_s = SPEC.timing.warmup_s + SPEC.n_frames * SPEC.readout.frame_period_s
    assert sum(updates) == pytest.approx(SPEC.n_movies * per_movie_s)
    # The warm-up and each of a movie's 3 chunks are reported as they are done.
    assert len(updates) > SPEC.n_movies and min(updates) < per_movie_s
