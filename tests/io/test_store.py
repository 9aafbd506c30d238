import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import wavesim as ws
from wavesim.errors import StoreError, StoreExistsError, StoreNotFoundError
from wavesim.generate import generate_store
from wavesim.io.store import open_store
from helpers import small_spec


def test_round_trip_with_provenance(tmp_path):
    spec = small_spec()
    generate_store(tmp_path / "s.zarr", spec, progress=False, command_line=["wavesim", "test"])
    store = open_store(tmp_path / "s.zarr")
    assert store.complete_movies() == [0, 1, 2]
    assert store.spec == spec
    a = store.attrs
    assert a["parameters"]["P_s"] == {"value": 3.0, "unit": "s"}
    assert a["dt_s"] == 0.025 and a["frame_period_s"] == 0.2 and a["um_per_pixel"] == 25.0
    assert a["readout_kind"] == "binary" and a["warmup_s"] == 5.0 and a["seed"] == 3
    assert a["command_line"] == ["wavesim", "test"] and a["created_utc"] and a["wavesim_version"]
    assert store.movies.shape == (3, 30, 16, 20)
    assert store.movies.metadata.dimension_names == ("movie", "time", "y", "x")
    # The store holds exactly what a Simulation of the same seeds gives.
    sim = ws.Simulation(spec.params, ws.movie_seeds(3, [0, 1, 2]), retina=spec.retina, readout=spec.readout,
                        backend="cpu")
    sim.advance_s(5.0)
    expected = np.concatenate([c for _, c in sim.frames(30)], axis=1)
    for m in range(3):
        assert np.array_equal(store.read_movie(m), expected[m])
    assert expected.any()


def test_existing_store_is_refused_unless_resume_or_overwrite(tmp_path):
    path = tmp_path / "s.zarr"
    spec = small_spec(n_movies=1)
    generate_store(path, spec, progress=False)
    with pytest.raises(StoreExistsError, match="already exists. Pass --resume to finish it, or --overwrite"):
        generate_store(path, spec, progress=False)
    generate_store(path, spec, progress=False, resume=True)
    other = small_spec(n_movies=1, seed=4)
    with pytest.raises(StoreError, match=r"holds a different dataset \(seed: store has 3, this run 4\)"):
        generate_store(path, other, progress=False, resume=True)
    generate_store(path, other, progress=False, overwrite=True)
    assert open_store(path).attrs["seed"] == 4


def test_overwrite_refuses_to_delete_foreign_folders(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"x")
    with pytest.raises(StoreExistsError, match="is not a wavesim store; refusing to delete"):
        generate_store(folder, small_spec(1), progress=False, overwrite=True)
    assert (folder / "cat.jpg").exists()


def test_reader_errors(tmp_path):
    with pytest.raises(StoreNotFoundError, match="No wavesim store at"):
        open_store(tmp_path / "missing.zarr")
    path = tmp_path / "s.zarr"
    generate_store(path, small_spec(1), progress=False)
    meta = path / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"]["format_version"] = 99
    meta.write_text(json.dumps(doc))
    with pytest.raises(StoreError, match="format version 99; this wavesim reads versions 1, 2"):
        open_store(path)
    import zarr

    zarr.open_group(str(tmp_path / "plain.zarr"), mode="w")
    with pytest.raises(StoreError, match="not a wavesim store"):
        open_store(tmp_path / "plain.zarr")


def test_incomplete_movie_is_not_readable(tmp_path):
    path = tmp_path / "s.zarr"
    generate_store(path, small_spec(3), movies=[1], progress=False)
    store = open_store(path)
    assert store.complete_movies() == [1]
    with pytest.raises(StoreError, match="movie 0 of .* is not completely written"):
        store.read_movie(0)
    with pytest.raises(IndexError, match="movie 3 is outside .*, which holds movies 0 to 2"):
        store.read_movie(3)


def test_split_runs_in_parallel_equal_one_run(tmp_path):
    spec_args = ["--movies", "4", "--duration-s", "4", "--warmup-s", "3", "--width-um", "400",
                 "--um-per-pixel", "25", "--frame-period-s", "0.2", "--params", str(_params_file(tmp_path)),
                 "--backend", "cpu", "--no-progress", "--seed", "2"]
    split = tmp_path / "split.zarr"
    procs = [
        subprocess.Popen([sys.executable, "-m", "wavesim.cli", "generate", str(split), "--movie-range", r, *spec_args])
        for r in ("0:2", "2:4")
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    whole = tmp_path / "whole.zarr"
    assert subprocess.run([sys.executable, "-m", "wavesim.cli", "generate", str(whole), *spec_args]).returncode == 0
    a, b = open_store(split), open_store(whole)
    assert a.complete_movies() == b.complete_movies() == [0, 1, 2, 3]
    assert np.array_equal(a.movies[:], b.movies[:])


def _params_file(tmp_path):
    f = tmp_path / "fast.toml"
    f.write_text("[parameters]\nP_s = 3.0\nspont_rate_hz = 0.02\n")
    return f


def test_killed_run_resumed_equals_uninterrupted_run(tmp_path):
    args = ["--movies", "6", "--duration-s", "30", "--warmup-s", "20", "--width-um", "800",
            "--um-per-pixel", "20", "--frame-period-s", "0.05", "--params", str(_params_file(tmp_path)),
            "--backend", "cpu", "--batch-size", "1", "--no-progress"]
    killed = tmp_path / "killed.zarr"
    proc = subprocess.Popen([sys.executable, "-m", "wavesim.cli", "generate", str(killed), *args])
    flag = killed / "complete" / "c" / "1"
    deadline = time.time() + 240
    while not flag.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = open_store(killed).complete_movies()
    assert 0 in done_before
    resumed = subprocess.run([sys.executable, "-m", "wavesim.cli", "generate", str(killed), "--resume", *args])
    assert resumed.returncode == 0
    whole = tmp_path / "whole.zarr"
    assert subprocess.run([sys.executable, "-m", "wavesim.cli", "generate", str(whole), *args]).returncode == 0
    a, b = open_store(killed), open_store(whole)
    assert a.complete_movies() == list(range(6))
    assert np.array_equal(a.movies[:], b.movies[:])
    assert a.spec == b.spec


def test_the_store_records_its_model_and_reads_it_back(tmp_path):
    import zarr

    path = tmp_path / "s.zarr"
    generate_store(path, small_spec(1), progress=False)
    store = open_store(path)
    assert store.attrs["model"] == "amacrine" and ws.model_of(store.spec.params) is ws.get_model("amacrine")
    zarr.open_group(str(path), mode="r+").attrs["model"] = "nosuch"
    with pytest.raises(StoreError, match=r"s.zarr: the store's provenance cannot be read back: Unknown model 'nosuch'"):
        open_store(path)
    root = zarr.open_group(str(path), mode="r+")
    root.attrs["model"] = "amacrine"
    root.attrs["parameters"] = {"a": 1, "b": 2}
    with pytest.raises(StoreError, match=r"provenance cannot be read back: Unknown AmacrineParams parameter\(s\) \['a', 'b'\]"):
        open_store(path)
